"""RS theory of a binary student on random features of a hidden perceptron teacher [P1].

Derivation (re-derived from ``shared/physics/random_features_binary_perceptron.md``):
Gaussian equivalence makes the pre-activations $\\lambda^a = W^a\\cdot x/\\sqrt N$ and the
teacher field $\\nu$ jointly Gaussian given F, with covariances
$Q_{ab} = \\mu_1^2\\rho_{ab} + \\mu_*^2 q_{ab}$ and $\\mu_1 m_a$, where $q_{ab} = W^a\\cdot W^b/N$
and the projections $v^a = F^\\top W^a/\\sqrt N$ have overlaps $\\rho_{ab} = v^a\\cdot v^b/D$,
$m_a = v^a\\cdot w_T/D$. For fixed W the D rows of $(w_T, v^1..v^n)$ are iid
$N(0, \\mathrm{diag}(1, q))$, so the F average is the Wishart large deviation of their
sample covariance, of weight $D/N = \\alpha/\\alpha_D$. RS with $q$, $\\rho_{aa} = r$ (free,
not 1), $\\rho_{a\\ne b} = p$, $m_a = m$ gives ``free_entropy_rf``; the saddle point is its
gradient's root (autodiff Newton), thresholds are roots of augmented systems.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from atypical import RandomFeatures, TeacherStudent, checked, f64, require_x64
from atypical.gaussian import H, gauss_mean, log_2cosh, log_H
from atypical.observables import gen_error_from_overlap

from .perceptron import TSOrderParams, stability_quadrature
from ..engine import (MARGIN, ReplicaModel, SaddleSolution, Solved, Status, demote, entropy, follow,
                      raise_unconverged, saddle, solve_threshold, threshold_on_branch)


class RFOrderParams(eqx.Module):
    """RS order parameters: $q = W^a\\cdot W^b/N$ and its conjugate $\\hat q$; the projections'
    self-overlap $r = |v|^2/D$, mutual overlap $p = v^a\\cdot v^b/D$ and teacher overlap
    $m = v\\cdot w_T/D$, with $v = F^\\top W/\\sqrt N$ (no conjugates: their F-cost is explicit)."""

    q: Float[Array, ""] = eqx.field(converter=f64)
    q_hat: Float[Array, ""] = eqx.field(converter=f64)
    r: Float[Array, ""] = eqx.field(converter=f64)
    p: Float[Array, ""] = eqx.field(converter=f64)
    m: Float[Array, ""] = eqx.field(converter=f64)


# ---------------------------------------------------------------- free entropy

def wishart_rate(op: RFOrderParams) -> Float[Array, ""]:
    """$\\lim_{n\\to0}\\frac1n[\\ln\\det(\\rho - mm^\\top) - \\ln\\det Q - \\mathrm{tr}\\,Q^{-1}\\rho + n]$
    at RS: $\\ln(r-p) + \\frac{p-m^2}{r-p} - \\ln(1-q) - \\frac{q}{1-q}
    - \\frac{r(1-2q)+pq}{(1-q)^2} + 1$; zero (and stationary) at $r = 1, p = q, m = 0$."""
    # written in a = r - 1, b = p - q, where its linear part cancels analytically: at small
    # alpha_D the weight alpha/alpha_D is large and the raw form loses digits to cancellation
    q, m = op.q, op.m
    a, b = op.r - 1, op.p - op.q
    delta = 1 - q + a - b  # r - p
    return (jnp.log1p((a - b) / (1 - q)) + (b - q * a - m**2 * (1 - q)) / (delta * (1 - q))
            - (a * (1 - 2 * q) + b * q) / (1 - q) ** 2)


def _covariances(op: RFOrderParams, problem: RandomFeatures) -> tuple[Array, Array, Array]:
    """(Q0, Q1, M): variance of $\\lambda$, covariance of two replicas, covariance with $\\nu$."""
    mu1_2, ms2 = problem.mu1**2, problem.mu_star**2
    return mu1_2 * op.r + ms2, mu1_2 * op.p + ms2 * op.q, problem.mu1 * op.m


def energetic_rf(Q0: ArrayLike, Q1: ArrayLike, M: ArrayLike, kappa: ArrayLike
                 ) -> Float[Array, ""]:
    """$G = 2\\int Dt\\, H(-Mt/\\sqrt{Q_1-M^2})\\,\\ln H((\\kappa-\\sqrt{Q_1}t)/\\sqrt{Q_0-Q_1})$:
    log-probability that a replica with pre-activation variance $Q_0$, inter-replica
    covariance $Q_1$ and teacher covariance $M$ classifies an example with margin kappa."""
    s, d = jnp.sqrt(Q1 - M**2), jnp.sqrt(Q0 - Q1)
    return gauss_mean(lambda t: 2 * H(-M * t / s) * log_H((kappa - jnp.sqrt(Q1) * t) / d))


def free_entropy_rf(op: RFOrderParams, problem: RandomFeatures) -> Float[Array, ""]:
    """RS free entropy (quenched entropy of solutions per weight) of the random-features model:
    $\\phi = -\\hat q(1-q)/2 + E_z\\ln2\\cosh(\\sqrt{\\hat q}z)
    + \\frac{\\alpha}{2\\alpha_D} F_W(q,r,p,m) + \\alpha G(Q_0,Q_1,M)$ with
    $F_W$ = ``wishart_rate``, $G$ = ``energetic_rf`` at $Q_0 = \\mu_1^2 r + \\mu_*^2$,
    $Q_1 = \\mu_1^2 p + \\mu_*^2 q$, $M = \\mu_1 m$. Depends on sigma only through
    $(\\mu_1, \\mu_*)$; $\\mu_0$ drops out (the bias $\\mu_0\\sum_i W_i/\\sqrt N$ is pinned at 0)."""
    entropic = -op.q_hat * (1 - op.q) / 2 + gauss_mean(
        lambda z: log_2cosh(jnp.sqrt(op.q_hat) * z))
    Q0, Q1, M = _covariances(op, problem)
    return (entropic + problem.alpha / (2 * problem.alpha_D) * wishart_rate(op)
            + problem.alpha * energetic_rf(Q0, Q1, M, problem.kappa))


# -------------------------------------------------------- fixed-point map (starts only)
# (q, q_hat) couple bilinearly as in storage. (r, p, m) have no conjugates: with
# w = alpha/alpha_D, delta = r - p, c = p - m^2, the Wishart part of grad phi is
# d(r+p): (w/2)(1/delta - 1/(1-q)), dp: (w/2)(c/delta^2 - q/(1-q)^2), dm: -w m/delta,
# so grad phi = 0 reads 1/delta = 1/delta - (2/w) d(r+p) phi, c = delta^2 (c/delta^2 -
# (2/w) dp phi), m = delta (m/delta + dm phi / w): the note's section-3 equations.

def _fixed_point_rf(op: RFOrderParams, problem: RandomFeatures) -> RFOrderParams:
    # Gauss-Seidel: (r, p, m) first, then q_hat from the gradient at the updated (r, p, m).
    # At small alpha_D the Wishart weight w is large and dphi/dq = O(w (p - q)): taken at
    # p lagging q by one iteration it would throw q_hat far off (the iteration diverges).
    w = problem.alpha / problem.alpha_D
    g = jax.grad(free_entropy_rf)(op, problem)
    delta_old = op.r - op.p
    delta = 1 / (1 / delta_old - 2 * (g.r + g.p) / w)
    c = delta**2 * ((op.p - op.m**2) / delta_old**2 - 2 * g.p / w)
    m = delta * (op.m / delta_old + g.m / w)
    p = c + m**2
    op = RFOrderParams(op.q, op.q_hat, p + delta, p, m)
    g = jax.grad(free_entropy_rf)(op, problem)
    return RFOrderParams(op.q - 2 * g.q_hat, op.q_hat - 2 * g.q, op.r, op.p, op.m)


COLD_START_RF = RFOrderParams(0.01, 0.01, 1.0, 0.01, 0.01)


class _NewtonCoords(eqx.Module):
    """Newton runs in (q, q_hat, delta = r - p, c = p - m^2, m): the saddle is flat along a
    curved valley (v growing along w_T: r, p, m^2 moving together) on which Newton steps in
    (r, p, m) overshoot out of the domain; in these coordinates the valley is straight."""

    q: Array
    q_hat: Array
    delta: Array
    c: Array
    m: Array


def _to_newton(op: RFOrderParams) -> _NewtonCoords:
    return _NewtonCoords(op.q, op.q_hat, op.r - op.p, op.p - op.m**2, op.m)


def _to_physical(x: _NewtonCoords) -> RFOrderParams:
    p = x.c + x.m**2
    return RFOrderParams(x.q, x.q_hat, p + x.delta, p, x.m)


class RandomFeaturesRS(ReplicaModel):
    """RS random-features model (``free_entropy_rf``) as a model of the engine, solved in
    the valley coordinates ``_NewtonCoords``."""

    problem: RandomFeatures

    def free_entropy(self, op: RFOrderParams) -> Float[Array, ""]:
        return free_entropy_rf(op, self.problem)

    def cold_start(self) -> RFOrderParams:
        return COLD_START_RF

    def to_coords(self, op: RFOrderParams) -> _NewtonCoords:
        return _to_newton(op)

    def to_order_params(self, x: _NewtonCoords) -> RFOrderParams:
        return _to_physical(x)

    def fixed_point(self, op: RFOrderParams) -> RFOrderParams:
        return _fixed_point_rf(op, self.problem)


def saddle_rf(problem: RandomFeatures, init: RFOrderParams = COLD_START_RF, *,
              max_fp_steps: int = 200) -> SaddleSolution:
    """RS saddle point: damped fixed-point iteration from ``init``, then autodiff Newton on
    $\\nabla\\phi = 0$. Jit- and vmap-able; never throws (see ``converged``)."""
    return saddle(RandomFeaturesRS(problem), init, warm_up_steps=max_fp_steps)


# ----------------------------------------------------------------- observables

def gen_error_rf(op: RFOrderParams, problem: RandomFeatures) -> Float[Array, ""]:
    """Gibbs generalization error $\\epsilon_g = \\arccos(M/\\sqrt{Q_0})/\\pi$,
    $M/\\sqrt{Q_0} = \\mu_1 m/\\sqrt{\\mu_1^2 r + \\mu_*^2}$ (student-teacher correlation)."""
    Q0, _, M = _covariances(op, problem)
    return gen_error_from_overlap(M / jnp.sqrt(Q0))


def vote_gen_error_rf(op: RFOrderParams, problem: RandomFeatures) -> Float[Array, ""]:
    """Error of the Gibbs measure's vote, the Bayes prediction of the student model
    $\\mathrm{sign}\\langle\\mathrm{sign}(W\\cdot x)\\rangle$ (the posterior of a uniform prior
    over the students that fit the data): given the field $\\sqrt{Q_1}z$ that all replicas
    share, the vote is sign(z), and $\\epsilon_{vote} = \\arccos(M/\\sqrt{Q_1})/\\pi \\le$
    ``gen_error_rf`` ($Q_1 \\le Q_0$)."""
    _, Q1, M = _covariances(op, problem)
    return gen_error_from_overlap(M / jnp.sqrt(Q1))


def stability_quadrature_rf(op: RFOrderParams, problem: RandomFeatures, *, n: int = 4001,
                            width: float = 12.0) -> tuple[Float[Array, " n"], Float[Array, " n"]]:
    """RS density of the training stabilities of a typical solution, in the units of the
    simulations' $\\tilde\\Delta = yW\\cdot x/|x|$ (``sim.rf_sweep.normalised_stabilities``):
    points and probability weights for ``atypical.observables.local_energy``.

    $yW\\cdot x/\\sqrt N$ is the field of a teacher-student perceptron with variance $Q_0$,
    replica covariance $Q_1$ and teacher covariance M, so in units of $\\sqrt{Q_0}$ its density
    is ``binary_perceptron.stability_density`` at $q = Q_1/Q_0$, $R = M/\\sqrt{Q_0}$, margin
    $\\kappa/\\sqrt{Q_0}$; $|x|^2/N \\to E\\sigma^2 = \\mu_0^2 + \\mu_1^2 + \\mu_*^2$ rescales it."""
    Q0, Q1, M = _covariances(op, problem)
    unit = TSOrderParams(Q1 / Q0, M / jnp.sqrt(Q0), 0.0, 0.0)
    delta, weights = stability_quadrature(
        unit, TeacherStudent(problem.alpha, problem.kappa / jnp.sqrt(Q0)), n=n, width=width)
    second_moment = problem.mu0**2 + problem.mu1**2 + problem.mu_star**2
    return delta * jnp.sqrt(Q0 / second_moment), weights


def replicon_rf(op: RFOrderParams, problem: RandomFeatures) -> Float[Array, ""]:
    """Largest eigenvalue of the RS replicon form in $(\\delta q_{ab}, \\delta\\rho_{ab})$ (RS
    is stable while it is < 0; note the sign convention is opposite to ``theory.replicon``,
    and only its sign on the stable side is checked so far):
    $M_{qq} = -1/\\gamma_W + w[(1-q)^{-2} - 2(r-p)(1-q)^{-3}] + \\alpha\\gamma_E\\mu_*^4$,
    $M_{\\rho\\rho} = -w/(r-p)^2 + \\alpha\\gamma_E\\mu_1^4$,
    $M_{q\\rho} = w/(1-q)^2 + \\alpha\\gamma_E\\mu_1^2\\mu_*^2$, $w = \\alpha/\\alpha_D$,
    $\\gamma_W = E\\,\\mathrm{sech}^4(\\sqrt{\\hat q}z)$, $\\gamma_E = E_h[(\\partial_h^2
    \\ln H((\\kappa-h)/\\sqrt{Q_0-Q_1}))^2]$ (weights of ``energetic_rf``)."""
    q, r, p = op.q, op.r, op.p
    Q0, Q1, M = _covariances(op, problem)
    s = jnp.sqrt(Q1 - M**2)
    w = problem.alpha / problem.alpha_D
    gamma_W = gauss_mean(lambda z: jnp.cosh(jnp.sqrt(op.q_hat) * z) ** -4)
    second = jax.grad(jax.grad(lambda h: log_H((problem.kappa - h) / jnp.sqrt(Q0 - Q1))))
    gamma_E = gauss_mean(lambda t: 2 * H(-M * t / s) * second(jnp.sqrt(Q1) * t) ** 2)
    ms2, mu1_2 = problem.mu_star**2, problem.mu1**2
    m_qq = -1 / gamma_W + w * (1 / (1 - q) ** 2 - 2 * (r - p) / (1 - q) ** 3) \
        + problem.alpha * gamma_E * ms2**2
    m_rr = -w / (r - p) ** 2 + problem.alpha * gamma_E * mu1_2**2
    m_qr = w / (1 - q) ** 2 + problem.alpha * gamma_E * mu1_2 * ms2
    return jnp.max(jnp.linalg.eigvalsh(jnp.array([[m_qq, m_qr], [m_qr, m_rr]])))


# ----------------------------------------------------------------- public solvers

_saddle_rf_grid = eqx.filter_jit(jax.vmap(saddle_rf))


def _rf_grid(alpha, alpha_D, kappa, sigma: str, teacher: str) -> RandomFeatures:
    alpha, alpha_D, kappa = (jnp.atleast_1d(x) for x in
                             jnp.broadcast_arrays(f64(alpha), f64(alpha_D), f64(kappa)))
    return RandomFeatures(alpha, alpha_D, kappa, sigma=sigma, teacher=teacher)


def solve_rf(alpha: ArrayLike, alpha_D: ArrayLike, kappa: ArrayLike = 0.0, *,
             sigma: str = "sign", teacher: str = "gaussian") -> SaddleSolution:
    """RS saddle points of the random-features model on a grid (one jitted vmapped call).

    ``alpha``, ``alpha_D``, ``kappa`` broadcast; outputs carry a leading grid axis. Raises
    ``SaddlePointError`` naming every point where Newton did not reach |grad phi| < 1e-10.
    The teacher (Gaussian or binary w_T) does not enter the RS result (only |w_T|^2/D = 1)."""
    require_x64("solve_rf")
    problems = _rf_grid(alpha, alpha_D, kappa, sigma, teacher)
    sol = _saddle_rf_grid(problems)
    raise_unconverged(f"solve_rf(sigma={sigma!r})", sol.converged, sol.residual,
                      sol.newton_steps, status=sol.status, alpha=problems.alpha,
                      alpha_D=problems.alpha_D, kappa=problems.kappa)
    return sol


def follow_rf(alpha: ArrayLike, alpha_D: ArrayLike, kappa: ArrayLike = 0.0, *,
              sigma: str = "sign", init: RFOrderParams | None = None) -> SaddleSolution:
    """Continuation of the RS branch along a path of (alpha, alpha_D, kappa) (broadcast to
    one axis), each Newton solve warm-started from the previous one (``lax.scan``); ``init``
    defaults to the cold-start saddle at the first point. Use it where a cold start fails
    (large alpha_D: r >> 1). Past a failure ``converged`` stays False (no raise)."""
    require_x64("follow_rf")
    problems = _rf_grid(alpha, alpha_D, kappa, sigma, "gaussian")
    if init is None:
        init = saddle_rf(jax.tree.map(lambda x: x[0], problems)).order_params
    return _follow(problems, init)


@eqx.filter_jit
def _follow(problems, init):
    return follow(RandomFeaturesRS(problems), _to_newton(init))[0]


# ------------------------------------------------------ interpolation threshold

class RFThreshold(Solved):
    """The interpolation point: the alpha where the RS entropy vanishes at fixed alpha_D,
    with the order parameters there, the replicon eigenvalue and the Newton diagnostics."""

    alpha: Float[Array, ""]
    alpha_D: Float[Array, ""]
    order_params: RFOrderParams
    replicon: Float[Array, ""]
    residual: Float[Array, ""]
    newton_steps: Array
    status: Status

    @property
    def n_over_d(self) -> Array:
        """Overparameterization $N/D = \\alpha_D/\\alpha_c$ at the interpolation point."""
        return self.alpha_D / self.alpha


_INTERPOLATION_GRID = jnp.geomspace(0.02, 40.0, 160)


@eqx.filter_jit
def _interpolation(alpha_D: Array, kappa: Array, sigma: str) -> RFThreshold:
    base = RandomFeaturesRS(RandomFeatures(1.0, alpha_D, kappa, sigma=sigma))
    found = threshold_on_branch(base, _INTERPOLATION_GRID, entropy)
    replicon = replicon_rf(found.order_params,
                           RandomFeatures(found.alpha, alpha_D, kappa, sigma=sigma))
    return RFThreshold(found.alpha, alpha_D, found.order_params, replicon, found.residual,
                       found.newton_steps, found.status)


def rf_interpolation_threshold(alpha_D: ArrayLike, kappa: ArrayLike = 0.0, *,
                               sigma: str = "sign") -> RFThreshold:
    """Interpolation (SAT/UNSAT) point at fixed $\\alpha_D = P/D$: the $\\alpha_c = P/N$ where
    the RS entropy of margin-kappa solutions vanishes, found as a Newton root of
    $[\\nabla\\phi; \\phi]$ in (order params, $\\ln\\alpha$) bracketed by a sweep in alpha;
    ``n_over_d`` is $N/D = \\alpha_D/\\alpha_c$. $\\alpha_D\\to0$: Krauth-Mezard 0.833.

    ``alpha_D`` and ``kappa`` broadcast (arrays: one vmapped call). Differentiable in alpha_D
    and kappa (implicit function theorem). Valid as the true threshold if RS holds there
    (``replicon`` < 0) and the frozen-1RSB picture carries over."""
    require_x64("rf_interpolation_threshold")
    alpha_D, kappa = f64(alpha_D), f64(kappa)
    alpha_D = checked(alpha_D, lambda: ~jnp.isfinite(alpha_D) | (alpha_D <= 0),
                      "rf_interpolation_threshold(alpha_D=...): alpha_D = P/D must be "
                      "finite and > 0")
    alpha_D, kappa = jnp.broadcast_arrays(alpha_D, kappa)
    if alpha_D.ndim:  # a grid: one vmapped program
        flat = jax.vmap(lambda a, k: _interpolation(a, k, sigma))(alpha_D.ravel(),
                                                                 kappa.ravel())
        result = jax.tree.map(lambda x: x.reshape(alpha_D.shape + x.shape[1:]), flat)
    else:
        result = _interpolation(alpha_D, kappa, sigma)
    if isinstance(alpha_D, jax.core.Tracer) or isinstance(kappa, jax.core.Tracer):
        return result
    raise_unconverged(f"rf_interpolation_threshold(sigma={sigma!r})", result.converged,
                      result.residual, result.newton_steps, status=result.status,
                      alpha_D=alpha_D, kappa=kappa)
    return result


# ------------------------------------------------------------------- maximal margin

class RFMaximalMargin(Solved):
    """RS maximal margin of the random-features model at $(\\alpha, \\alpha_D)$: the kappa
    where the RS entropy of margin-kappa solutions vanishes, with the order parameters
    there and the Newton diagnostics."""

    alpha: Float[Array, ""]
    alpha_D: Float[Array, ""]
    kappa: Float[Array, ""]
    order_params: RFOrderParams
    residual: Float[Array, ""]
    newton_steps: Array
    status: Status


_KAPPA_SWEEP = jnp.linspace(-1.0, 3.0, 81)


@eqx.filter_jit
def find_rf_kappa_max(alpha: Array, alpha_D: Array, sigma: str) -> RFMaximalMargin:
    """$\\kappa_{max}(\\alpha, \\alpha_D)$ (``rf_kappa_max``); jit-able, never throws."""
    grid = _KAPPA_SWEEP
    sweep_alpha, sweep_D = jax.lax.stop_gradient((alpha, alpha_D))
    problems = RandomFeatures(jnp.full_like(grid, sweep_alpha), jnp.full_like(grid, sweep_D),
                              grid, sigma=sigma)
    first = saddle_rf(jax.tree.map(lambda x: x[0], problems)).order_params
    sweep, xs, _ = follow(RandomFeaturesRS(problems), _to_newton(first))
    # the entropy decreases with kappa: the root lies past the last point of the stretch
    # with positive entropy connected to the start (the sweep may lose the branch before
    # it, where q -> 1 and steps of 0.05 in kappa are too long for Newton)
    n_positive = jnp.sum(jnp.cumprod(sweep.converged & (sweep.free_entropy > 0)))
    i = jnp.clip(n_positive - 1, 0, grid.shape[0] - 2)
    start = (jax.tree.map(lambda x: x[i], xs), grid[i])
    base = RandomFeaturesRS(RandomFeatures(alpha, alpha_D, 0.0, sigma=sigma))
    found = solve_threshold(entropy, start, base, control=MARGIN)
    kappa = found.alpha
    bracketed = ((n_positive > 0) & (n_positive < grid.shape[0]) & (kappa >= grid[i])
                 & (kappa <= grid[-1]))
    return RFMaximalMargin(alpha, alpha_D, kappa, found.order_params, found.residual,
                           found.newton_steps,
                           demote(found.status, bracketed, Status.not_bracketed))


def rf_kappa_max(alpha: ArrayLike, alpha_D: ArrayLike, *, sigma: str = "sign"
                 ) -> RFMaximalMargin:
    """RS maximal margin $\\kappa_{max}(\\alpha, \\alpha_D)$: root in kappa of
    $\\phi_{RF}(\\alpha, \\alpha_D, \\kappa) = 0$ (Newton on $[\\nabla\\phi; \\phi]$ in (order
    params, kappa), bracketed by a continuation sweep over kappa in [-1, 3]).
    Differentiable in alpha and alpha_D (implicit function theorem); $\\alpha_D \\to 0$ gives
    the storage $\\kappa_{max}(\\alpha)$, and $\\kappa_{max} = 0$ at the interpolation point."""
    require_x64("rf_kappa_max")
    alpha, alpha_D = f64(alpha), f64(alpha_D)
    alpha = checked(alpha, lambda: ~jnp.isfinite(alpha) | (alpha <= 0),
                    "rf_kappa_max(alpha=...): alpha = P/N must be finite and > 0")
    alpha_D = checked(alpha_D, lambda: ~jnp.isfinite(alpha_D) | (alpha_D <= 0),
                      "rf_kappa_max(alpha_D=...): alpha_D = P/D must be finite and > 0")
    result = find_rf_kappa_max(alpha, alpha_D, sigma)
    if isinstance(alpha, jax.core.Tracer) or isinstance(alpha_D, jax.core.Tracer):
        return result
    raise_unconverged(f"rf_kappa_max(sigma={sigma!r})", result.converged, result.residual,
                      result.newton_steps, status=result.status, alpha=alpha,
                      alpha_D=alpha_D)
    return result
