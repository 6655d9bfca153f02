"""Finite-size data of the random-features model [P1] (DESIGN.md section 3.3), and exact
enumeration of its Gibbs (uniform over solutions) generalization error.

Latent $c \\sim N(0, I_D)$, fixed $F \\in R^{N\\times D}$ with iid N(0,1) entries, features
$x = \\sigma(Fc/\\sqrt D)$ (exact) or their Gaussian-equivalent surrogate
$x = \\mu_0 + \\mu_1 Fc/\\sqrt D + \\mu_*\\eta$, $\\eta \\sim N(0, I_N)$; labels
$y = \\mathrm{sign}(w_T\\cdot c/\\sqrt D)$ with a Gaussian or binary teacher $w_T \\in R^D$.
"""

from functools import partial

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jax.scipy.special import erf
from jaxtyping import Array, ArrayLike, DTypeLike, Float, Int, PRNGKeyArray

from atypical.observables import binary_sign, gen_error_from_overlap, local_energy
from atypical.problems import RandomFeatures

from .data import n_examples
from .enumerate import N_MAX

_ACTIVATIONS = {
    "sign": binary_sign,
    "erf": erf,
    "relu": lambda u: jnp.maximum(u, 0),
    "linear": lambda u: u,
    "quadratic": lambda u: (u * u - 1) / jnp.sqrt(jnp.asarray(2, u.dtype)),
}


class RFDataset(eqx.Module):
    """A ``sim.data.Dataset`` (fields ``xi``, ``y``, ``W_T = None``: the teacher lives in the
    latent space) plus the hidden structure: ``F`` (``N D``), teacher ``w_T`` (``D``) and the
    latents ``c`` (``P D``). ``sim.enumerate.enumerate_solutions`` accepts it as is."""

    xi: Float[Array, "P N"]
    y: Float[Array, " P"]
    F: Float[Array, "N D"]
    w_T: Float[Array, " D"]
    c: Float[Array, "P D"]
    W_T: None = None


def n_latent(problem: RandomFeatures, N: int, who: str) -> tuple[int, int]:
    """(P, D) = (round(alpha N), round(P / alpha_D)) as Python ints (concrete problem)."""
    P = n_examples(problem.alpha, N, who)
    D = round(P / float(problem.alpha_D))
    if D < 1:
        raise ValueError(f"{who}(alpha_D={float(problem.alpha_D)}, P={P}): D = round(P/alpha_D)"
                         f" = {D}, need D >= 1")
    return P, D


def rf_features(key, u, problem: RandomFeatures, surrogate: bool):
    """Features $\\sigma(u)$ of the pre-activations u, or (``surrogate``) their Gaussian
    equivalent $\\mu_0 + \\mu_1 u + \\mu_* \\eta$ with fresh noise $\\eta$ from ``key``."""
    if not surrogate:
        return _ACTIVATIONS[problem.sigma](u)
    eta = jr.normal(key, u.shape, u.dtype)
    return (jnp.asarray(problem.mu0, u.dtype) + jnp.asarray(problem.mu1, u.dtype) * u
            + jnp.asarray(problem.mu_star, u.dtype) * eta)


@partial(jax.jit, static_argnums=(2, 3, 4, 5, 6))
def _sample(key, problem, P: int, N: int, D: int, surrogate: bool, dtype) -> RFDataset:
    k_F, k_T, k_c, k_eta = jr.split(key, 4)
    F = jr.normal(k_F, (N, D), dtype)
    w_T = (jr.rademacher(k_T, (D,), dtype) if problem.teacher == "binary"
           else jr.normal(k_T, (D,), dtype))
    c = jr.normal(k_c, (P, D), dtype)
    sqrt_D = jnp.sqrt(jnp.asarray(D, dtype))
    xi = rf_features(k_eta, c @ F.T / sqrt_D, problem, surrogate)
    y = binary_sign(c @ w_T).astype(dtype)  # sign(0) -> +1 (probability 0)
    return RFDataset(xi=xi, y=y, F=F, w_T=w_T, c=c)


def sample_random_features(key: PRNGKeyArray, problem: RandomFeatures, N: int, *,
                           surrogate: bool = False, dtype: DTypeLike = jnp.float32
                           ) -> RFDataset:
    """One instance at size N: $P = \\mathrm{round}(\\alpha N)$ examples in
    $D = \\mathrm{round}(P/\\alpha_D)$ latent dimensions; exact features
    $\\sigma(Fc/\\sqrt D)$, or with ``surrogate=True`` the Gaussian-equivalent ones."""
    P, D = n_latent(problem, N, "sample_random_features")
    return _sample(key, problem, P, N, D, bool(surrogate), jnp.dtype(dtype))


def get_gen_error(data: RFDataset, W: Float[Array, "*batch N"], problem: RandomFeatures
                  ) -> Float[Array, "*batch"]:
    """Generalization error of W under Gaussian equivalence (exact for surrogate features
    with mu0 = 0): $\\arccos(\\mu_1 m_W/\\sqrt{t(\\mu_1^2 r_W + \\mu_*^2)})/\\pi$ with
    $v = F^\\top W/\\sqrt N$, $r_W = |v|^2/D$, $m_W = v\\cdot w_T/D$, $t = |w_T|^2/D$."""
    N, D = data.F.shape
    v = W @ data.F / jnp.sqrt(jnp.asarray(N, W.dtype))
    r = jnp.sum(v * v, axis=-1) / D
    m = v @ data.w_T / D
    t = jnp.sum(data.w_T**2) / D
    mu1, ms2 = jnp.asarray(problem.mu1, W.dtype), jnp.asarray(problem.mu_star**2, W.dtype)
    return gen_error_from_overlap(mu1 * m / jnp.sqrt(t * (mu1**2 * r + ms2)))


class RFEnumeration(eqx.Module):
    """Exact count of solutions of one instance and the mean over them of the GET
    generalization error (``get_gen_error``) and, if a test set was given, of the test error
    and the test error of their majority vote $\\mathrm{sign}\\sum_W \\mathrm{sign}(W\\cdot x)$
    (ties count 1/2; theory: ``theory.models.random_features.vote_gen_error_rf``); and the mean
    local energy at the distances ``d`` (``atypical.observables.local_energy`` of the
    stabilities $yW\\cdot x/|x|$; theory: ``theory.models.random_features.stability_quadrature_rf``)."""

    count: Int[Array, ""]
    gibbs_get_error: Float[Array, ""]
    gibbs_test_error: Float[Array, ""]
    vote_test_error: Float[Array, ""]
    gibbs_local_energy: Float[Array, " K"]


def enumerate_rf(data: RFDataset, problem: RandomFeatures,
                 test: RFDataset | None = None, *, d: ArrayLike = (),
                 chunk_bits: int = 14) -> RFEnumeration:
    """Enumerate all $2^N$ weights (N <= 25) of one instance: the number of solutions
    (all $y W\\cdot x/\\sqrt N \\ge \\kappa$, as ``sim.enumerate.enumerate_solutions``) and the
    Gibbs averages over solutions of the GET error, of the error on ``test`` and of the
    local energy at the flipped fractions ``d`` (in (0, 1/2])."""
    P, N = data.xi.shape
    if N > N_MAX or N < 2:
        raise ValueError(f"enumerate_rf(N={N}): N must lie in [2, {N_MAX}] (2**N configurations)")
    chunk_bits = min(chunk_bits, N)
    return _enumerate(data, problem, test, jnp.atleast_1d(jnp.asarray(d, data.xi.dtype)), N,
                      chunk_bits)


@partial(jax.jit, static_argnums=(4, 5))
def _enumerate(data, problem, test, d, N: int, chunk_bits: int) -> RFEnumeration:
    dtype = data.xi.dtype
    hi = jax.lax.Precision.HIGHEST
    xi_eff = data.y[:, None] * data.xi / jnp.sqrt(jnp.asarray(N, dtype))
    kappa = jnp.asarray(problem.kappa, dtype)
    low = jnp.arange(2**chunk_bits, dtype=jnp.int32)
    to_normalised = jnp.sqrt(jnp.asarray(N, dtype)) / jnp.linalg.norm(data.xi, axis=-1)

    def chunk(carry, high):
        count, err_sum, test_sum, votes, le_sum = carry
        idx = (high << chunk_bits) | low
        W = (2 * ((idx[:, None] >> jnp.arange(N, dtype=jnp.int32)[None, :]) & 1) - 1).astype(dtype)
        fields = jnp.matmul(W, xi_eff.T, precision=hi)
        ok = jnp.min(fields, axis=-1) >= kappa
        okf = ok.astype(dtype)
        if d.size:
            le = jax.vmap(local_energy, in_axes=(0, None))(fields * to_normalised[None, :], d)
            le_sum = le_sum + okf @ le
        err_sum = err_sum + jnp.sum(okf * get_gen_error(data, W, problem))
        if test is not None:
            agree = jnp.sign(jnp.matmul(W, test.xi.T, precision=hi)) * test.y[None, :]
            test_sum = test_sum + jnp.sum(okf * jnp.mean((agree < 0).astype(dtype), axis=-1))
            votes = votes + okf @ agree
        return (count + jnp.sum(ok, dtype=jnp.int32), err_sum, test_sum, votes, le_sum), None

    highs = jnp.arange(2 ** (N - chunk_bits), dtype=jnp.int32)
    zero = jnp.zeros((), dtype)
    votes = jnp.zeros(0 if test is None else test.y.shape[0], dtype)  # agreeing minus not
    (count, err_sum, test_sum, votes, le_sum), _ = jax.lax.scan(
        chunk, (jnp.int32(0), zero, zero, votes, jnp.zeros(d.shape, dtype)), highs)
    n = jnp.maximum(count, 1).astype(dtype)
    nan = jnp.asarray(jnp.nan, dtype)
    tested = (count > 0) & (test is not None)
    vote_error = jnp.mean(jnp.where(votes == 0, 0.5, (votes < 0).astype(dtype)))
    return RFEnumeration(count, jnp.where(count > 0, err_sum / n, nan),
                         jnp.where(tested, test_sum / n, nan), jnp.where(tested, vote_error, nan),
                         jnp.where(count > 0, le_sum / n, nan))


def sample_rf_test_set(key: PRNGKeyArray, data: RFDataset, problem: RandomFeatures,
                       P_test: int, *, surrogate: bool = False) -> RFDataset:
    """Fresh examples of the same instance (same F and w_T)."""
    if not isinstance(P_test, int) or P_test < 1:
        raise ValueError(f"sample_rf_test_set(P_test={P_test!r}): must be an int >= 1")
    return _test_set(key, data, problem, P_test, bool(surrogate))


@partial(jax.jit, static_argnums=(3, 4))
def _test_set(key, data, problem, P_test: int, surrogate: bool) -> RFDataset:
    k_c, k_eta = jr.split(key)
    N, D = data.F.shape
    dtype = data.F.dtype
    c = jr.normal(k_c, (P_test, D), dtype)
    xi = rf_features(k_eta, c @ data.F.T / jnp.sqrt(jnp.asarray(D, dtype)), problem, surrogate)
    y = binary_sign(c @ data.w_T).astype(dtype)
    return RFDataset(xi=xi, y=y, F=data.F, w_T=data.w_T, c=c)


def mean_sem(x) -> tuple[float, float, int]:
    """(mean, standard error, n) of the finite entries of x."""
    x = np.asarray(x, np.float64)
    x = x[np.isfinite(x)]
    return float(x.mean()), float(x.std(ddof=1) / np.sqrt(x.size)), int(x.size)
