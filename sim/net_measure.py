"""Flatness and margins of trained networks: the local energy under weight perturbations.

Written for one weight pytree and any network function ``forward(params, x) -> outputs``
(``sim.networks.apply`` of a spec, or a plain linear classifier); vmap for seeds.

- Continuous weights: multiplicative Gaussian noise,
  $\\delta E(\\sigma) = E_\\epsilon[E_{train}(W \\odot (1 + \\sigma\\epsilon))] - E_{train}(W)$,
  $\\epsilon_i \\sim N(0, 1)$ independent for every weight: relative noise, unchanged by the
  rescalings of the weights that leave a ReLU network's function unchanged. For a linear
  classifier its exact value is ``atypical.observables.multiplicative_noise_local_energy``.
- Binary weights: the flip-based local energy of the perceptron (``sim.measure``): flip a
  random fraction d of all the network's signs, $\\delta E(d) = E[E_{train}(W')] - E_{train}(W)$.
"""

from collections.abc import Callable

import jax
import jax.numpy as jnp
import jax.random as jr
from jax.flatten_util import ravel_pytree
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray

from atypical import checked
from atypical.problems import as_array
from atypical.observables import binary_sign, output_margins, train_error

from .measure import flip_random_weights

Forward = Callable[[object, Array], Array]


def _error(forward: Forward, params, x: Array, y: Array) -> Float[Array, ""]:
    return train_error(output_margins(forward(params, x), y))


def _strengths(values: ArrayLike, dtype, who: str, name: str, *, flips: bool) -> Array:
    values = as_array(values, dtype)
    if values.ndim != 1:
        raise ValueError(f"{who}({name}=...): must be a 1D array, got shape {values.shape}")
    if flips:
        return checked(values, lambda: ~((values > 0) & (values <= 0.5)),
                       f"{who}(d=...): the flipped fraction d must lie in (0, 1/2]")
    return checked(values, lambda: ~(values >= 0) | ~jnp.isfinite(values),
                   f"{who}(sigma=...): the relative noise sigma must be finite and >= 0")


def _check_samples(n_samples, who: str) -> None:
    if not isinstance(n_samples, int) or n_samples < 1:
        raise ValueError(f"{who}(n_samples={n_samples!r}): must be an int >= 1")


def gaussian_local_energy(key: PRNGKeyArray, forward: Forward, params, x: Array, y: Array,
                          sigma: ArrayLike, n_samples: int) -> Float[Array, "K S"]:
    """Samples of $E_{train}(W\\odot(1+\\sigma\\epsilon)) - E_{train}(W)$: ``n_samples`` noise
    draws for each of the K relative noises ``sigma`` (1D, >= 0); the local energy
    $\\delta E(\\sigma)$ is the mean over the last axis."""
    _check_samples(n_samples, "gaussian_local_energy")
    dtype = jax.tree.leaves(params)[0].dtype
    sigma = _strengths(sigma, dtype, "gaussian_local_energy", "sigma", flips=False)
    base = _error(forward, params, x, y)
    flat, unravel = ravel_pytree(params)

    def one(k, s):
        noisy = flat * (1 + s * jr.normal(k, flat.shape, flat.dtype))
        return _error(forward, unravel(noisy), x, y) - base

    keys = jr.split(key, sigma.size * n_samples).reshape(sigma.size, n_samples)
    return jax.vmap(jax.vmap(one, in_axes=(0, None)))(keys, sigma)


def flip_local_energy(key: PRNGKeyArray, forward: Forward, params, x: Array, y: Array,
                      d: ArrayLike, n_samples: int) -> Float[Array, "K S"]:
    """Samples of $E_{train}(W') - E_{train}(W)$ for a binary network (its weights are the
    signs of the latent ``params``), W' with round(d N) of its N signs flipped at random;
    ``n_samples`` draws for each Hamming fraction in ``d`` (1D, in (0, 1/2])."""
    _check_samples(n_samples, "flip_local_energy")
    flat, unravel = ravel_pytree(params)
    d = _strengths(d, flat.dtype, "flip_local_energy", "d", flips=True)
    W = binary_sign(flat)  # sign(0) = +1, as the forward pass
    base = _error(forward, unravel(W), x, y)

    def one(k, frac):
        return _error(forward, unravel(flip_random_weights(k, W, frac)), x, y) - base

    keys = jr.split(key, d.size * n_samples).reshape(d.size, n_samples)
    return jax.vmap(jax.vmap(one, in_axes=(0, None)))(keys, d)


def margin_quantiles(forward: Forward, params, x: Array, y: Array,
                     q: ArrayLike) -> Float[Array, " K"]:
    """Quantiles ``q`` (in [0, 1]) of the output margins ``output_margins(f(x), y)`` over
    the examples, normalized by the root-mean-square output $\\sqrt{\\langle f^2\\rangle}$ (the
    raw margins of a ReLU network scale with its weights)."""
    out = forward(params, x)
    margins = output_margins(out, y) / jnp.sqrt(jnp.mean(out**2))
    return jnp.quantile(margins, jnp.asarray(q, margins.dtype))
