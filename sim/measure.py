"""Measurements on finite-N binary weights: stabilities, errors, teacher overlap, local
energy by actual weight flips (beside its large-N formula), and mean/sem over replicas.

Written for one weight vector ``W`` (shape ``N``); vmap for replicas.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray

from atypical import checked
from atypical.observables import gen_error_from_overlap, local_energy, train_error
from atypical.problems import as_array

from .committee import committee_error
from .data import Dataset

_HI = jax.lax.Precision.HIGHEST  # measurements must not see TF32 matmuls on GPUs


def stabilities(W: Float[Array, " N"], data: Dataset) -> Float[Array, " P"]:
    """$\\Delta_\\mu = y_\\mu W\\cdot\\xi_\\mu/\\sqrt N$ for every example of ``data``
    (perceptron data only: a committee has one stability per hidden unit,
    ``sim.committee.hidden_fields``)."""
    if not data.is_perceptron:
        raise ValueError(f"stabilities: the data are for a K={data.K} {data.arch} committee; "
                         "use sim.committee.hidden_fields for its hidden stabilities")
    N = data.xi.shape[-1]
    if W.shape != (N,):
        raise ValueError(f"stabilities: W has shape {W.shape}, data needs ({N},)")
    W = W.astype(data.xi.dtype)
    return data.y * jnp.matmul(data.xi, W, precision=_HI) / jnp.sqrt(
        jnp.asarray(N, data.xi.dtype))


def training_error(W: Float[Array, " N"], data: Dataset) -> Float[Array, ""]:
    """Fraction of examples of ``data`` with $\\Delta_\\mu < 0$ (``observables.train_error``);
    for committee data, of examples whose committee output differs from the label."""
    if not data.is_perceptron:
        return committee_error(W, data.xi, data.y, data.K, data.arch)
    return train_error(stabilities(W, data))


def test_error(W: Float[Array, " N"], test: Dataset) -> Float[Array, ""]:
    """Empirical generalization error: misclassified fraction of a fresh test set
    (``sample_test_set``); its standard error is $\\sqrt{\\epsilon(1-\\epsilon)/P_{\\rm test}}$."""
    return training_error(W, test)


test_error.__test__ = False  # a library function, not a pytest test where it is imported


def teacher_overlap(W: Float[Array, " N"], W_T: Float[Array, " N"]) -> Float[Array, ""]:
    """Normalized teacher overlap $R = W\\cdot W_T/N$ of binary vectors."""
    if W.shape != W_T.shape or W.ndim != 1:
        raise ValueError(f"teacher_overlap: W {W.shape} and W_T {W_T.shape} must both be (N,)")
    return jnp.mean(W * W_T.astype(W.dtype))


def gen_error(W: Float[Array, " N"], W_T: Float[Array, " N"]) -> Float[Array, ""]:
    """Exact generalization error on Gaussian inputs, $\\arccos(W\\cdot W_T/N)/\\pi$."""
    return gen_error_from_overlap(teacher_overlap(W, W_T))


def _checked_d(d: ArrayLike, dtype, who: str) -> Array:
    d = as_array(d, dtype)
    return checked(d, lambda: ~((d > 0) & (d <= 0.5)),
                   f"{who}(d=...): the flipped fraction d must lie in (0, 1/2]")


def flip_random_weights(key: PRNGKeyArray, W: Float[Array, " N"],
                        d: ArrayLike) -> Float[Array, " N"]:
    """W with exactly round(d N) weights, chosen uniformly at random, flipped
    (Hamming fraction d; d may be traced, in (0, 1/2])."""
    d = _checked_d(d, W.dtype, "flip_random_weights")
    return _flip(key, W, jnp.round(d * W.shape[0]).astype(jnp.int32))


def _flip(key: PRNGKeyArray, W: Float[Array, " N"], n_flip: Array) -> Float[Array, " N"]:
    # the weights holding the n_flip smallest ranks of a random permutation: a uniformly
    # random subset of exactly n_flip weights, with a traced n_flip (no shape change)
    rank = jr.permutation(key, jnp.arange(W.shape[0], dtype=jnp.int32))
    return jnp.where(rank < n_flip, -W, W)


def _flip_increase(key: PRNGKeyArray, W: Float[Array, " N"], data: Dataset,
                   n_flip: Array, base: Float[Array, ""]) -> Float[Array, ""]:
    return training_error(_flip(key, W, n_flip), data) - base


@eqx.filter_jit
def local_energy_by_flips(key: PRNGKeyArray, W: Float[Array, " N"], data: Dataset,
                          d: ArrayLike, n_samples: int) -> Float[Array, "*D S"]:
    """Samples of the local energy [P2]: flip round(d N) weights of W chosen at random and
    record the increase of the training error, $E(W') - E(W)$; ``n_samples`` per d.
    The local energy $\\delta E(d)$ is the mean over the last axis (``mean_sem``).
    d (any shape, values in (0, 1/2]) gives the leading axes of the output."""
    if not isinstance(n_samples, int) or n_samples < 1:
        raise ValueError(f"local_energy_by_flips(n_samples={n_samples!r}): must be an int >= 1")
    dtype = data.xi.dtype
    W = W.astype(dtype)
    d = _checked_d(d, dtype, "local_energy_by_flips")
    N = W.shape[0]
    n_flip = jnp.round(d * N).astype(jnp.int32)
    base = training_error(W, data)
    keys = jr.split(key, d.size * n_samples).reshape(d.shape + (n_samples,))
    one = lambda k, n: _flip_increase(k, W, data, n, base)
    per_d = jax.vmap(one, in_axes=(0, None))  # over samples
    flat = jax.vmap(per_d)(keys.reshape(d.size, n_samples), n_flip.reshape(d.size))
    return flat.reshape(d.shape + (n_samples,))


@eqx.filter_jit
def local_energy_large_N(W: Float[Array, " N"], data: Dataset, d: ArrayLike) -> Array:
    """Large-N local energy of W from its empirical stabilities,
    $\\delta E(d) = \\frac1P\\sum_\\mu [H((1-2d)\\Delta_\\mu/(2\\sqrt{d(1-d)}))
    - \\theta(-\\Delta_\\mu)]$
    (``atypical.observables.local_energy``); d of any shape, in (0, 1/2]."""
    stab = stabilities(W, data)
    return local_energy(stab, _checked_d(d, stab.dtype, "local_energy_large_N"))


def mean_sem(x: ArrayLike, axis: int = 0) -> tuple[Array, Array, int]:
    """Mean, standard error $\\mathrm{std}_{n-1}/\\sqrt n$ and count n along ``axis``
    (sem is nan for n = 1)."""
    x = jnp.asarray(x)
    if not jnp.issubdtype(x.dtype, jnp.floating):  # solved flags, counts
        x = x.astype(jnp.result_type(float))
    n = x.shape[axis]
    if n < 1:
        raise ValueError(f"mean_sem: axis {axis} is empty")
    if n == 1:
        return jnp.mean(x, axis=axis), jnp.full(jnp.mean(x, axis=axis).shape, jnp.nan, x.dtype), 1
    sem = jnp.std(x, axis=axis, ddof=1) / jnp.sqrt(jnp.asarray(n, x.dtype))
    return jnp.mean(x, axis=axis), sem, n
