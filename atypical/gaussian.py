"""Gaussian measures and numerically stable special functions shared by theory and sim.

``H(x) = P(Z > x) = erfc(x / sqrt 2) / 2`` with ``Z ~ N(0, 1)``; ``Dz`` is the standard
Gaussian measure, integrated by Gauss-Hermite quadrature of configurable order.
"""

from collections.abc import Callable
from functools import lru_cache

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import log_ndtr, ndtr
from jaxtyping import Array, ArrayLike, Float

DEFAULT_ORDER = 161


@lru_cache(maxsize=None)
def _hermite_e(order: int) -> tuple[np.ndarray, np.ndarray]:
    nodes, weights = np.polynomial.hermite_e.hermegauss(order)
    return nodes, weights / np.sqrt(2 * np.pi)


def gauss_nodes(order: int = DEFAULT_ORDER) -> tuple[Float[Array, " n"], Float[Array, " n"]]:
    """Nodes z_i and weights w_i with sum_i w_i f(z_i) ~ E_z f(z), z ~ N(0, 1) (float64)."""
    if order < 2:
        raise ValueError(f"gauss_nodes(order={order}): order must be >= 2")
    nodes, weights = _hermite_e(order)
    return jnp.asarray(nodes, jnp.float64), jnp.asarray(weights, jnp.float64)


def gauss_mean(f: Callable[[Array], Array], order: int = DEFAULT_ORDER) -> Array:
    """$E_z f(z)$ for $z \\sim N(0,1)$ by Gauss-Hermite quadrature; f is written for one z."""
    nodes, weights = gauss_nodes(order)
    return jnp.tensordot(weights, jax.vmap(f)(nodes), axes=1)


def H(x: ArrayLike) -> Array:
    """Gaussian tail $H(x) = P(Z > x) = \\mathrm{erfc}(x/\\sqrt2)/2$."""
    return ndtr(-jnp.asarray(x))


def log_H(x: ArrayLike) -> Array:
    """$\\ln H(x)$, accurate for large positive x (log-domain tail, ``log_ndtr``)."""
    return log_ndtr(-jnp.asarray(x))


def gaussian_over_H(x: ArrayLike) -> Array:
    """$G(x)/H(x) = -d \\ln H / dx$, the inverse Mills ratio, stable for large x."""
    x = jnp.asarray(x)
    return jnp.exp(-0.5 * x**2 - 0.5 * jnp.log(2 * jnp.pi) - log_H(x))


def log_2cosh(x: ArrayLike) -> Array:
    """$\\ln 2\\cosh x$ without overflow: $|x| + \\ln(1 + e^{-2|x|})$."""
    a = jnp.abs(jnp.asarray(x))
    return a + jnp.log1p(jnp.exp(-2 * a))
