"""Gaussian smoothing $E_z f^{(k)}(x + \\sqrt v\\, z)$ of $\\ln 2\\cosh$ and $\\ln H$, with
derivatives from the heat equation.

$\\partial_v E_z f(x + \\sqrt v z) = \\frac12 E_z f''(x + \\sqrt v z)$, so the JVP needs no
$1/\\sqrt v$ and stays finite at $v = 0$, where a replica variance vanishes (Franz-Parisi
at $\\kappa = \\tilde\\kappa$, $p = \\tilde q$). Derivatives of any order recurse on k.

Quadrature. $\\ln 2\\cosh$: Gauss-Hermite (``N_HERMITE`` nodes) for
$\\sqrt v <$ ``LOG2COSH_SWITCH``; above, the kink-like part in closed form ($E|x+bz|$,
$E\\,\\mathrm{sign}(x+bz)$) plus the exponentially decaying remainder on fixed nodes in
$y = x + bz$ (composite Gauss-Legendre on $[0, 24]$, mirrored). $\\ln H$: trapezoid with
``N_TRAPEZOID_LOG_H`` nodes on $[-9, 9]$ (more accurate than Gauss-Hermite here, whose
error at $\\sqrt v = 2.5$ is 1e-8 against 4e-11), reliable up to ``LOG_H_RELIABLE``.
"""

from functools import lru_cache, partial

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import erf

from atypical.gaussian import gauss_nodes, gaussian_over_H, log_2cosh, log_H

N_HERMITE = 64
# ln 2cosh(x + b z) has poles at Im z = pi/(2b): Gauss-Hermite with 64 nodes errs by about
# exp(-2 (pi/2b) sqrt(128)) < 1e-10 for b <= 1.5; above, the mirrored-remainder rule
LOG2COSH_SWITCH = 0.8
# ln H(x + b z) has its nearest complex singularities (zeros of erfc) at Im x = 2.82, so the
# trapezoid rule in z (spacing h) errs by ~exp(-2 pi (2.82/b)/h). Measured against
# scipy.quad (max over x in [-7, 11], value and first derivative) with 64 nodes on [-9, 9]:
# 2e-13 at b = 2, 4e-11 at b = 2.5, 2e-9 at b = 3; 48 nodes (h = 0.383) reach the same
# exponent exp(-23) ~ 1e-10 at b = 2
N_TRAPEZOID_LOG_H = 48
LOG_H_RELIABLE = 2.0
ROUNDING = 1e-12
_PANELS = (0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 2.75, 3.5, 4.5, 5.5, 7.0, 8.5, 10.5, 13.0, 18.0, 24.0)
_PANEL_NODES = 12


@lru_cache(maxsize=None)
def _remainder_nodes() -> tuple[np.ndarray, np.ndarray]:
    x, w = np.polynomial.legendre.leggauss(_PANEL_NODES)
    a, b = np.array(_PANELS[:-1])[:, None], np.array(_PANELS[1:])[:, None]
    return ((b - a) / 2 * x + (a + b) / 2).ravel(), ((b - a) / 2 * w).ravel()


def _nth_derivative(f, k: int):
    for _ in range(k):
        f = jax.grad(f)
    return jnp.vectorize(f)


def _base(name: str, k: int):
    """$f^{(k)}$ elementwise: explicit low orders (no autodiff through |x|), then autodiff."""
    if name == "log2cosh":
        return (log_2cosh, jnp.tanh)[k] if k < 2 else _nth_derivative(jnp.tanh, k - 1)
    if name == "log_H":
        neg_mills = lambda x: -gaussian_over_H(x)
        return log_H if k == 0 else _nth_derivative(neg_mills, k - 1)
    raise ValueError(f"gaussian smoothing: unknown function {name!r}")


def _narrow(name: str, k: int, x, b):
    if name == "log2cosh":
        z, w = gauss_nodes(N_HERMITE, rule="hermite")
    else:
        z = np.linspace(-9.0, 9.0, N_TRAPEZOID_LOG_H)
        z, w = jnp.asarray(z), jnp.asarray(np.exp(-z**2 / 2) / np.sqrt(2 * np.pi) * (z[1] - z[0]))
    z = jnp.expand_dims(z, tuple(range(x.ndim)))  # explicit ranks (strict promotion)
    return _base(name, k)(x[..., None] + b[..., None] * z) @ w


def _log2cosh_wide(k: int, x, b):
    """$E f^{(k)}(x + bz)$ for $f = \\ln2\\cosh$, b >= LOG2COSH_SWITCH: closed-form part
    (|y| for k = 0, sign y for k = 1) plus the decaying remainder on mirrored nodes."""
    y, w = map(jnp.asarray, _remainder_nodes())
    if k == 0:
        closed = x * erf(x / (b * jnp.sqrt(2.0))) + 2 * b * jnp.exp(
            -x**2 / (2 * b**2)) / jnp.sqrt(2 * jnp.pi)
        rest = lambda v: jnp.log1p(jnp.exp(-2 * jnp.abs(v)))
    elif k == 1:
        closed = erf(x / (b * jnp.sqrt(2.0)))
        rest = lambda v: jnp.tanh(v) - jnp.sign(v)
    else:
        closed = jnp.zeros_like(x)
        rest = _base("log2cosh", k)
    y = jnp.expand_dims(y, tuple(range(x.ndim)))
    kernel = lambda v: jnp.exp(-(v - x[..., None])**2 / (2 * b[..., None]**2)) / (
        b[..., None] * jnp.sqrt(2 * jnp.pi))
    return closed + (rest(y) * kernel(y) + rest(-y) * kernel(-y)) @ w


@partial(jax.custom_jvp, nondiff_argnums=(0, 1))
def gaussian_smoothing(name: str, k: int, x, v):
    """$E_z f^{(k)}(x + \\sqrt v z)$, z ~ N(0,1), for f = ``ln 2cosh`` or ``ln H`` (``name``
    "log2cosh" or "log_H"); x, v broadcast, v >= 0 (a variance). Exact at v = 0."""
    x, v = jnp.broadcast_arrays(jnp.asarray(x, jnp.float64), jnp.asarray(v, jnp.float64))
    # a variance that vanishes exactly (a replica identity) comes out of a difference of
    # overlaps as +-1e-17: within ROUNDING of 0 it is 0; a truly negative one gives NaN
    b = jnp.sqrt(jnp.where((v < 0) & (v > -ROUNDING), 0.0, v))
    narrow = _narrow(name, k, x, b)
    if name != "log2cosh":
        return narrow
    wide = _log2cosh_wide(k, x, jnp.where(b < LOG2COSH_SWITCH, LOG2COSH_SWITCH, b))
    return jnp.where(b < LOG2COSH_SWITCH, narrow, wide)


@gaussian_smoothing.defjvp
def _gaussian_smoothing_jvp(name, k, primals, tangents):
    x, v = primals
    dx, dv = tangents
    out = gaussian_smoothing(name, k, x, v)
    # heat equation: d/dv E f(x + sqrt(v) z) = E f''(x + sqrt(v) z) / 2
    return out, (gaussian_smoothing(name, k + 1, x, v) * dx
                 + 0.5 * gaussian_smoothing(name, k + 2, x, v) * dv)
