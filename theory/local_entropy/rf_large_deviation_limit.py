"""y -> infinity large-deviation local entropy of the random-features model [P1].

$S_\\infty(d) = \\lim_{y\\to\\infty}\\Phi(y)/y$: the largest local entropy, at Hamming fraction
d, of any reference $\\tilde W$ over zero-training-error students (margin kappa), RS within
the reference measure. Written on top of the binary perceptron's limit
(``theory/large_deviation_limit.py``, its scalings and notation), with the Gaussian
equivalence and the Wishart average over F of ``theory/random_features.py``:

- binary weights: the same entropic term ``entropic_limit`` (q, $\\delta = y(q_1 - q_0)$,
  $\\hat q$, $\\hat\\sigma$, $\\hat p$); the reference is the sign of the replicas' cavity field;
- projections $v = F^\\top W/\\sqrt N$: overlaps $\\rho_{aa} = r$, cross-group $\\rho_0 = p$,
  within-group excess $\\delta_\\rho = y(\\rho_1 - \\rho_0)$, teacher overlap m; the
  reference's projection enters no constraint (its margin drops out at order y) and
  integrates out of the F average;
- Wishart rate of the $n \\times y$ replicas with a two-level (1RSB-shaped) Gram matrix, per
  replica and at $y \\to \\infty$ (eigenvalues $a - b_1$, $a - b_1 + y(b_1 - b_0)$ and the
  $n \\to 0$ limit of the last one; ``wishart_rate_limit``):
  $F_\\infty = \\ln(r-p) + \\frac{p-m^2}{r-p+\\delta_\\rho} - \\ln(1-q) - \\frac{q}{1-q+\\delta}
  - \\frac{r-p}{1-q} - \\frac{p}{1-q+\\delta} + \\frac{(r-p+\\delta_\\rho)q}{(1-q+\\delta)^2} + 1$,
  the RS ``wishart_rate`` at $\\delta = \\delta_\\rho = 0$;
- energetic: ``energetic_limit`` with field variance $Q_s = \\mu_1^2r + \\mu_*^2$,
  cross-group covariance $Q_0 = \\mu_1^2p + \\mu_*^2q$, within-group excess
  $\\Delta = \\mu_1^2\\delta_\\rho + \\mu_*^2\\delta$ and teacher covariance $M = \\mu_1m$.

$S_\\infty = $ entropic $+ \\frac{\\alpha}{2\\alpha_D}F_\\infty + \\alpha\\,$energetic, extremized in
the nine order parameters (equations by autodiff). Reductions (tests): alpha_D -> 0 forces
$r = 1$, $p = q$, $\\delta_\\rho = \\delta$, $m = 0$ and gives the storage $S_\\infty$; at
$\\delta = \\delta_\\rho = 0$ every term is the RS typical one, so the branch continued to
large d ends on the RS entropy ``free_entropy_rf``; $dS_\\infty/dd = 2\\hat p$.

[P1] diagnostic (``rf_large_deviation_threshold``): at fixed alpha_D, the alpha above which
the branch continued down from d = 0.05 no longer reaches d = 0.002 (it folds: the dense
small-d part splits off), as ``large_deviation_threshold`` for storage; N/D = alpha_D/alpha.
The caveats of the storage limit hold here too (it is reached through negative reference
entropy; 2-3% below the literature for storage).
"""

import math
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from atypical import BinaryStorage, RandomFeatures, f64, require_x64
from atypical.observables import gen_error_from_overlap

from ..engine import LineSearchModel, saddle
from ..models.random_features import rf_interpolation_threshold
from .large_deviation_limit import (DEFAULT_QUADRATURE, SEEDS, LDLimitOrderParams,
                                    LDLimitQuadrature, LimitBranch, branch_in_d,
                                    continue_limit, curve_rows, energetic_limit,
                                    entropic_limit, reach_distances)


class RFLDLimitOrderParams(LDLimitOrderParams):
    """The binary weights' (q, delta, q_hat, sigma_hat, p_hat) of the perceptron limit and
    the projections' self-overlap r, cross-group overlap p, within-group excess
    $\\delta_\\rho$ and teacher overlap m."""

    r: Float[Array, ""] = eqx.field(converter=f64)
    p: Float[Array, ""] = eqx.field(converter=f64)
    delta_rho: Float[Array, ""] = eqx.field(converter=f64)
    m: Float[Array, ""] = eqx.field(converter=f64)


def wishart_rate_limit(op: RFLDLimitOrderParams) -> Float[Array, ""]:
    """$F_\\infty$ of the module docstring: the F-average's rate per replica at y -> infinity."""
    q, delta, r, p, delta_rho, m = op.q, op.delta, op.r, op.p, op.delta_rho, op.m
    a_w, a_v = 1 - q + delta, r - p + delta_rho
    return (jnp.log(r - p) + (p - m**2) / a_v - jnp.log(1 - q) - q / a_w
            - (r - p) / (1 - q) - p / a_w + a_v * q / a_w**2 + 1)


def _covariances(op: RFLDLimitOrderParams, problem: RandomFeatures):
    """(Q_self, Q0, M, Delta) of the replicas' pre-activations."""
    mu1_2, ms2 = problem.mu1**2, problem.mu_star**2
    return (mu1_2 * op.r + ms2, mu1_2 * op.p + ms2 * op.q, problem.mu1 * op.m,
            mu1_2 * op.delta_rho + ms2 * op.delta)


def free_entropy_rf_large_deviation_limit(op: RFLDLimitOrderParams, problem: RandomFeatures,
                                          d: ArrayLike, *,
                                          quad: LDLimitQuadrature = DEFAULT_QUADRATURE
                                          ) -> Float[Array, ""]:
    """$S_\\infty$ of the module docstring at any order parameters (``problem`` gives alpha,
    alpha_D, kappa and sigma); NaN outside the admissible set."""
    Q_self, Q0, M, Delta = _covariances(op, problem)
    value = (entropic_limit(op, d, quad)
             + problem.alpha / (2 * problem.alpha_D) * wishart_rate_limit(op)
             + problem.alpha * energetic_limit(problem.kappa, Q_self, Q0, M, Delta, quad))
    admissible = ((op.q > 0) & (op.q < 1) & (op.delta > 0) & (op.q_hat > 0)
                  & (op.sigma_hat > 0) & (op.p_hat > 0) & (op.r > op.p) & (op.p > op.m**2)
                  & (op.delta_rho > 0))
    return jnp.where(admissible, value, jnp.nan)


def gen_error_rf_limit(op: RFLDLimitOrderParams, problem: RandomFeatures) -> Array:
    """Gibbs error of the solutions in the dense region, $\\arccos(M/\\sqrt{Q_s})/\\pi$."""
    Q_self, _, M, _ = _covariances(op, problem)
    return gen_error_from_overlap(M / jnp.sqrt(Q_self))


# ------------------------------------------------------------------------------- solver
# coordinates: logit q, log delta, log q_hat, log sigma_hat, p_hat, log(r - p), log(p - m^2),
# log delta_rho, m

def _to_order_params(u: Array) -> RFLDLimitOrderParams:
    p = u[8] ** 2 + jnp.exp(u[6])
    return RFLDLimitOrderParams(jax.nn.sigmoid(u[0]), jnp.exp(u[1]), jnp.exp(u[2]),
                                jnp.exp(u[3]), u[4], p + jnp.exp(u[5]), p, jnp.exp(u[7]), u[8])


def _to_coords(op: RFLDLimitOrderParams) -> Array:
    return jnp.stack([jnp.log(op.q / (1 - op.q)), jnp.log(op.delta), jnp.log(op.q_hat),
                      jnp.log(op.sigma_hat), op.p_hat, jnp.log(op.r - op.p),
                      jnp.log(op.p - op.m**2), jnp.log(op.delta_rho), op.m])


class RFLDLimitQuery(eqx.Module):
    """$S_\\infty$ of the random-features model at (alpha, ln alpha_D, ln d), margin 0; the
    continuation moves these fields."""

    alpha: Float[Array, ""] = eqx.field(converter=f64)
    log_alpha_D: Float[Array, ""] = eqx.field(converter=f64)
    log_d: Float[Array, ""] = eqx.field(converter=f64)
    sigma: str = eqx.field(static=True, default="sign")


class RFLDLimitModel(LineSearchModel):
    """$S_\\infty$ of the random-features model as a model of the engine (9 coordinates)."""

    problem: RFLDLimitQuery
    quad: LDLimitQuadrature = eqx.field(static=True)

    def free_entropy(self, op) -> Float[Array, ""]:
        p = self.problem
        problem = RandomFeatures(p.alpha, jnp.exp(p.log_alpha_D), 0.0, sigma=p.sigma)
        return free_entropy_rf_large_deviation_limit(op, problem, jnp.exp(p.log_d),
                                                     quad=self.quad)

    def cold_start(self) -> RFLDLimitOrderParams:
        """The storage seed lifted to small alpha_D: r = 1, p = q, delta_rho = delta."""
        s = SEEDS[BinaryStorage]["op"]
        return RFLDLimitOrderParams(s.q, s.delta, s.q_hat, s.sigma_hat, s.p_hat,
                                    1.0, s.q - 1e-3, s.delta, 0.01)

    def to_coords(self, op) -> Array:
        return _to_coords(op)

    def to_order_params(self, u: Array):
        return _to_order_params(u)


_saddle_jit = eqx.filter_jit(saddle)
_SEED_ALPHA_D = 0.01  # from the storage seed: r = 1, p = q, delta_rho = delta, m small
_SEED_D = 0.05


def _model(alpha, alpha_D, d, sigma, quad) -> RFLDLimitModel:
    return RFLDLimitModel(RFLDLimitQuery(alpha, math.log(alpha_D), math.log(d), sigma), quad)


def _anchor(alpha: float, alpha_D: float, d: float, sigma: str, quad: LDLimitQuadrature):
    """Saddle at (alpha, alpha_D, d): the storage seed (alpha = 0.6, d = 0.05) lifted to
    alpha_D = 0.01, continued in ln alpha_D, then in alpha, then in ln d; None if the path
    breaks."""
    alpha0 = SEEDS[BinaryStorage]["alpha"]
    model = _model(alpha0, _SEED_ALPHA_D, _SEED_D, sigma, quad)
    sol = _saddle_jit(model, warm_up_steps=0)
    if not bool(sol.converged):
        return None
    u = _to_coords(sol.order_params)
    legs = (("log_alpha_D", math.log(alpha_D), 0.25, (alpha0, _SEED_ALPHA_D)),
            ("alpha", alpha, 0.02, (alpha0, alpha_D)),
            ("log_d", math.log(d), 0.05, (alpha, alpha_D)))
    for name, stop, step, (a, a_D) in legs:
        c = continue_limit(u, _model(a, a_D, _SEED_D, sigma, quad), name, stop, step)
        if c.reached != stop:
            return None
        u = c.last
    return u


def rf_limit_branch(alpha: float, alpha_D: float, d_start: float, d_stop: float, *,
                    sigma: str = "sign", quad: LDLimitQuadrature = DEFAULT_QUADRATURE
                    ) -> LimitBranch:
    """The branch of $S_\\infty$ through the saddle at (alpha, alpha_D, ``d_start``) (reached
    from the storage seed), followed in d towards ``d_stop``; raises ``SaddlePointError``
    if the start is not reached."""
    return branch_in_d(_model(alpha, alpha_D, d_start, sigma, quad),
                       _anchor(alpha, alpha_D, d_start, sigma, quad), d_stop,
                       where=f"rf_limit_branch(alpha={alpha:g}, alpha_D={alpha_D:g}, "
                             f"d_start={d_start:g})")


class RFLargeDeviationLimitCurve(eqx.Module):
    """$S_\\infty(d)$ of the random-features model on a grid of distances (NaN where no
    saddle was reached), its slope $2\\hat p$, the generalization error of the solutions in
    the dense regions and all order parameters."""

    alpha: float
    alpha_D: float
    d: np.ndarray
    local_entropy: np.ndarray
    slope: np.ndarray
    gen_error: np.ndarray
    order_params: RFLDLimitOrderParams
    residual: np.ndarray
    converged: np.ndarray


def rf_large_deviation_limit_curve(alpha: float, alpha_D: float, d: ArrayLike, *,
                                   sigma: str = "sign",
                                   quad: LDLimitQuadrature = DEFAULT_QUADRATURE
                                   ) -> RFLargeDeviationLimitCurve:
    """$S_\\infty(d)$ at margin 0 on a grid ``d`` in (0, 1/2), every point reached by
    continuation in d from the anchor at d = 0.05 (itself continued from the storage seed in
    alpha_D and alpha); points not reached are NaN with ``converged`` False. Raises
    ``ValueError`` on bad input."""
    require_x64("rf_large_deviation_limit_curve")
    d = np.atleast_1d(np.asarray(d, np.float64))
    if d.ndim != 1 or not np.all((d > 0) & (d < 0.5)):
        raise ValueError(f"rf_large_deviation_limit_curve(d={d.tolist()}): the Hamming "
                         "fraction d must lie in (0, 1/2) (a 1-d grid)")
    for name, value in (("alpha", alpha), ("alpha_D", alpha_D)):
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"rf_large_deviation_limit_curve({name}={value}): must be "
                             "finite and > 0")
    found: dict[float, tuple] = {}
    u0 = _anchor(alpha, alpha_D, _SEED_D, sigma, quad)
    if u0 is not None:
        reach_distances(_model(alpha, alpha_D, _SEED_D, sigma, quad), u0, d, found)
    S, ops, residual, converged = curve_rows(found, d, 9, _to_order_params)
    problem = RandomFeatures(alpha, alpha_D, sigma=sigma)
    return RFLargeDeviationLimitCurve(
        alpha, alpha_D, d, S, 2 * ops.p_hat,
        np.asarray(jax.vmap(gen_error_rf_limit, in_axes=(0, None))(ops, problem)), ops,
        residual, converged)


# ------------------------------------------------------- [P1]: where dense regions appear

_D_SMALL = 0.002


def _reaches_small_d(alpha: float, alpha_D: float, sigma: str, quad) -> bool:
    u = _anchor(alpha, alpha_D, _SEED_D, sigma, quad)
    if u is None:
        return False
    model = _model(alpha, alpha_D, _SEED_D, sigma, quad)
    return continue_limit(u, model, "log_d", math.log(_D_SMALL), 0.05).reached == \
        math.log(_D_SMALL)


class RFLargeDeviationThreshold(NamedTuple):
    """The bracket [alpha_monotone, alpha_broken] of the y -> infinity threshold at alpha_D,
    and the overparameterization N/D = alpha_D/alpha at its midpoint."""

    alpha: float
    alpha_monotone: float
    alpha_broken: float
    alpha_D: float

    @property
    def n_over_d(self) -> float:
        return self.alpha_D / self.alpha


def rf_large_deviation_threshold(alpha_D: float, *,
                                 bracket: tuple[float, float] | None = None,
                                 tol: float = 1e-3, sigma: str = "sign",
                                 quad: LDLimitQuadrature = DEFAULT_QUADRATURE
                                 ) -> RFLargeDeviationThreshold:
    """The atypical transition at y -> infinity: the alpha = P/N above which the branch of
    $S_\\infty(d)$ continued down from d = 0.05 no longer reaches d = 0.002 (wide flat
    regions break up), by bisection to ``tol`` inside ``bracket`` (which must hold a
    monotone and a broken end; default (0.8, 0.98) times the interpolation point alpha_c);
    N/D = alpha_D/alpha. Measured (sign features, CPU, 2 min): alpha_D = 2: alpha = 0.9465,
    N/D = 2.113 (0.906 alpha_c; storage: 0.907 alpha_c), between the Franz-Parisi atypical
    transition (N/D = 2.2085) and the interpolation point (1.9135)."""
    require_x64("rf_large_deviation_threshold")
    if bracket is None:
        alpha_c = float(rf_interpolation_threshold(alpha_D, sigma=sigma).alpha)
        bracket = (0.8 * alpha_c, 0.98 * alpha_c)
    lo, hi = bracket
    if not (0 < lo < hi):
        raise ValueError(f"rf_large_deviation_threshold(bracket={bracket}): need 0 < lo < hi")
    if not _reaches_small_d(lo, alpha_D, sigma, quad) or _reaches_small_d(hi, alpha_D, sigma,
                                                                         quad):
        raise ValueError(f"rf_large_deviation_threshold(alpha_D={alpha_D:g}): the bracket "
                         f"{bracket} does not hold a monotone (low alpha) and a broken (high "
                         "alpha) end")
    while hi - lo > tol:
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if _reaches_small_d(mid, alpha_D, sigma, quad) else (lo, mid)
    return RFLargeDeviationThreshold((lo + hi) / 2, lo, hi, alpha_D)
