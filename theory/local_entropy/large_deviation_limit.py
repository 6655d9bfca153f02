"""y -> infinity limit of the RS large-deviation local entropy of the binary perceptron [P1]
(storage and teacher-student).

$S_\\infty(d) = \\lim_{y\\to\\infty}\\Phi(y)/y = \\max$ over references of the local entropy at
distance d (``theory/large_deviation.py`` has $\\Phi$ and its notation). Scalings, read off
the finite-y saddles (alpha = 0.6, d = 0.05, y = 3 ... 7, module docstring there): the
replicas of a group stay apart at order 1/y, $q_1 - q_0 = \\delta/y$,
$\\hat q_1 - \\hat q_0 = \\hat\\sigma/y$; $\\hat{\\tilde q}/y^2 \\to 0$ and $y(1-\\tilde q) \\to
\\infty$, so the reference's own Gaussian field and its margin constraint drop out at order y
(the reference is worth O(1) entropy against the y replicas' O(y)), and the reference is the
sign of the replicas' cross-group cavity field. The inner averages over the within-group
fields become Laplace maxima (Moreau envelopes) and, with $q = q_1 \\to q_0$,

$S_\\infty = \\mathrm{extr}\\; -\\hat q(1-q)/2 - (\\hat\\sigma q + \\hat q\\delta)/2 - \\hat pp
+ 2E_{\\nu>0}M_{\\hat\\sigma}(\\sqrt{\\hat q}\\,\\nu + \\hat p)
+ \\alpha E_z L_\\delta(\\kappa - \\sqrt q z)$,

$M_{\\hat\\sigma}(x) = \\max_u[\\ln 2\\cosh u - (u-x)^2/(2\\hat\\sigma)]$ (``_envelope_2cosh``),
$L_\\delta(c) = \\max_s[\\ln H((c-s)/\\sqrt{1-q}) - s^2/(2\\delta)]$ (``_envelope_log_H``),
p = 1 - 2d. The reference margin kappa_ref drops out with the constraint. The reference's
sign is the one that maximizes, $\\max_{\\tilde W}M(b + \\hat p\\tilde W) = M(|b| + \\hat p)$ for
$\\hat p > 0$, which d < 1/2 requires ($p = \\partial_{\\hat p}$ of the entropic term). Envelope
theorem: $dS_\\infty/dd = 2\\hat p > 0$: wherever a saddle exists the curve rises, and where
wide flat regions break up the slope's dip reaches zero and the curve folds (a gap in d).

At alpha = 0 the saddle is $\\hat q = \\hat\\sigma = 0$, $\\tanh\\hat p = p$ and $S_\\infty$ is the
counting bound $-d\\ln d - (1-d)\\ln(1-d)$ (by hand; the continuation from alpha = 0.6 does
not reach alpha <= 0.04). Checks (tests): far below alpha_U, $S_\\infty(d)$ approaches that
bound as d -> 0 (dense regions); the branch ends at large d (delta -> 0) on the equilibrium
entropy $\\phi_{RS}$ (at alpha = 0.6: d = 0.2234, $\\phi_{RS} = 0.2277850$, difference
2.5e-13), the largest value a local entropy can take; finite-y local entropies lie below it
and their order parameters drift towards it (alpha = 0.6, d = 0.05: $S_\\infty = 0.1301$,
S_loc(y = 7) = 0.1174 with $y(S_\\infty - S_{loc})$ = 0.096 ... 0.089 for y = 3 ... 7).

Open (reported, not hidden): polynomial fits in 1/y of the finite-y values (y <= 7) give
0.133-0.139 at that point instead of 0.1301 (the finite-y variables converge slowly,
$y(1-\\tilde q)$ as ~$\\sqrt y$, so such fits are fragile); just below the large-d end the
branch lies under $\\phi_{RS}$ where a reference at the Gibbs centre reaches it (from d =
0.2225 at alpha = 0.6), so another saddle takes over on the last ~1e-3 in d; and the
threshold below (kappa = 0: 0.7552) lies under the literature's alpha_U ~ 0.77-0.78.

The limit lives at negative reference entropy: $d(\\Phi/y)/dy = -\\Sigma/y^2$ and $\\Sigma$
falls with y ($\\Phi$ convex), so $\\Phi/y$ falls while $\\Sigma \\ge 0$; at alpha = 0.6, d =
0.05 it is already below $S_\\infty = 0.13008$ at y = 6.75 (0.12948 at y = 7, where
$\\Sigma = 0.0847 > 0$), and it can only climb back to $S_\\infty$ once $\\Sigma < 0$. So
$S_\\infty$ overestimates the local entropy of references that exist; RS within the
reference measure would freeze at $\\Sigma(y^*) = 0$ (extrapolated $y^* \\approx 11.5$, out of
the finite-y solver's reach) with $S_{loc}(y^*) < 0.12948$ (slow test
``test_rs_limit_needs_negative_reference_entropy``). The curve at $\\Sigma = 0$
(``large_deviation.sigma_zero_curve``, y* = 2-7 at alpha = 0.72-0.80) stays monotone in d
up to alpha = 0.80 on d in [0.01, 0.045] and turns negative at small d between 0.78 and
0.79 (BENCHMARKS.md): the existing dense references end there, not at 0.7552.

Teacher-student (``LDLimitTSOrderParams``; ``free_entropy_large_deviation_limit`` has the
terms): the same limit with the replicas' teacher overlap R; the branch ends on the RS
teacher-student entropy with the Gibbs R (test, 1e-9). alpha = 0.5, d = 0.05: S_inf =
0.1835, error of the solutions 0.3723 and of the dominating reference 0.3589 (Gibbs 0.4053,
maximal margin 0.3636, finite y = 3: 0.3878).

[P1] diagnostic (``large_deviation_threshold``, storage): the smallest alpha where the branch of
$S_\\infty(d)$ continued down from d = 0.05 no longer reaches small d: the slope's dip
touches zero and the curve folds (beyond it, a gap in d with no RS saddle).
"""

import math
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from atypical import BinaryStorage, SaddlePointError, TeacherStudent, f64, require_x64
from atypical.gaussian import gaussian_over_H, log_2cosh, log_H
from atypical.observables import gen_error_from_overlap

from ..engine import RESIDUAL_TOL, LineSearchModel, ReplicaModel, continue_to, saddle
from .franz_parisi_teacher import half_normal_rule
from .large_deviation import hermite_rule


class LDLimitOrderParams(eqx.Module):
    """Order parameters of $S_\\infty$: replica overlap q, within-group spread
    $\\delta = y(q_1 - q_0)$, cross-group conjugate $\\hat q$, within-group conjugate
    $\\hat\\sigma = y(\\hat q_1 - \\hat q_0)$ and the distance conjugate $\\hat p$."""

    q: Float[Array, ""] = eqx.field(converter=f64)
    delta: Float[Array, ""] = eqx.field(converter=f64)
    q_hat: Float[Array, ""] = eqx.field(converter=f64)
    sigma_hat: Float[Array, ""] = eqx.field(converter=f64)
    p_hat: Float[Array, ""] = eqx.field(converter=f64)


class LDLimitTSOrderParams(LDLimitOrderParams):
    """Teacher-student: also the replicas' teacher overlap R and its conjugate $\\hat R$."""

    R: Float[Array, ""] = eqx.field(converter=f64)
    R_hat: Float[Array, ""] = eqx.field(converter=f64)


class LDLimitQuadrature(NamedTuple):
    """Half-normal Gauss rule for $\\nu$, Gauss-Hermite for z, Newton steps of the inner
    maxima (both are globally convergent from the starts used)."""

    n_nu: int = 60
    n_z: int = 80
    inner_steps: int = 60


DEFAULT_QUADRATURE = LDLimitQuadrature()


def _envelope_root(f, x0: Array, steps: int) -> Array:
    """Root of the scalar function f from x0 (elementwise), iterated without derivatives,
    then one Newton step with them: the root's first derivatives are exact (implicit
    function theorem) and so are the second derivatives of an envelope evaluated there."""
    df = jax.grad(f)
    step = jax.vmap(lambda x: x - f(x) / df(x))
    x = jax.lax.fori_loop(0, steps, lambda _, x: step(x), jax.lax.stop_gradient(x0.ravel()))
    return step(jax.lax.stop_gradient(x)).reshape(x0.shape)


def _envelope_2cosh(x: Array, sigma_hat: Array, steps: int) -> Array:
    """$M(x) = \\max_u[\\ln 2\\cosh u - (u-x)^2/(2\\hat\\sigma)]$: u solves
    $u = x + \\hat\\sigma\\tanh u$; Newton from $x + \\hat\\sigma\\,\\mathrm{sign}\\,x$ converges
    monotonically to the outermost root, the global maximum (also for $\\hat\\sigma > 1$)."""
    u0 = x + sigma_hat * jnp.where(x >= 0, 1.0, -1.0)
    shape, x_flat = x.shape, x.ravel()
    u = jax.vmap(lambda xi, ui: _envelope_root(
        lambda u: u - xi - sigma_hat * jnp.tanh(u), ui[None], steps)[0])(x_flat, u0.ravel())
    u = u.reshape(shape)
    return log_2cosh(u) - (u - x) ** 2 / (2 * sigma_hat)


def _envelope_log_H(c: Array, sigma: Array, delta: Array, steps: int) -> Array:
    """$L(c) = \\max_s[\\ln H((c-s)/\\sigma) - s^2/(2\\delta)]$ (concave): s solves
    $(G/H)((c-s)/\\sigma)/\\sigma = s/\\delta$, a convex decreasing function of s, so Newton
    from s = 0 converges monotonically."""
    shape, c_flat = c.shape, c.ravel()
    s = jax.vmap(lambda ci: _envelope_root(
        lambda s: gaussian_over_H((ci - s) / sigma) / sigma - s / delta,
        jnp.zeros(1), steps)[0])(c_flat)
    s = s.reshape(shape)
    return log_H((c - s) / sigma) - s**2 / (2 * delta)


def free_entropy_large_deviation_limit(op: LDLimitOrderParams | LDLimitTSOrderParams,
                                       alpha: ArrayLike, kappa: ArrayLike, d: ArrayLike, *,
                                       quad: LDLimitQuadrature = DEFAULT_QUADRATURE
                                       ) -> Float[Array, ""]:
    """$S_\\infty$ (module docstring) at any order parameters; NaN outside the admissible
    set (q in (R^2, 1), delta, q_hat, sigma_hat, p_hat > 0). Teacher-student
    (``LDLimitTSOrderParams``, labels of a binary teacher gauged to +1): the conjugate term
    gains $-\\hat RR$, the replicas' cavity field the teacher field $\\hat R$,
    $x = \\sqrt{\\hat q}b + \\hat R$ (b normal; the half-normal rule reweighted by
    $e^{-c^2/2}\\cosh(c\\nu)$, $c = \\hat R/\\sqrt{\\hat q}$, integrates $M(|x| + \\hat p)$
    without its kink), and the energetic term is $2E_{\\nu>0}E_zL_\\delta(\\kappa - R\\nu -
    \\sqrt{q - R^2}z)$; storage is R = $\\hat R$ = 0."""
    q, delta, q_hat, sigma_hat, p_hat = op.q, op.delta, op.q_hat, op.sigma_hat, op.p_hat
    teacher = isinstance(op, LDLimitTSOrderParams)
    R, R_hat = (op.R, op.R_hat) if teacher else (0.0, 0.0)
    weights = entropic_limit(op, d, quad) - R_hat * R
    if teacher:
        energetic = energetic_limit(kappa, 1.0, q, R, delta, quad)
    else:
        z, w_z = hermite_rule(quad.n_z)
        energetic = w_z @ _envelope_log_H(kappa - jnp.sqrt(q) * z, jnp.sqrt(1 - q), delta,
                                          quad.inner_steps)
    admissible = ((q > R**2) & (q < 1) & (delta > 0) & (q_hat > 0) & (sigma_hat > 0)
                  & (p_hat > 0))
    return jnp.where(admissible, weights + alpha * energetic, jnp.nan)


def entropic_limit(op: LDLimitOrderParams | LDLimitTSOrderParams, d: ArrayLike,
                   quad: LDLimitQuadrature) -> Float[Array, ""]:
    """The binary weights' part of $S_\\infty$, conjugate terms included (not $-\\hat RR$):
    $-\\hat q(1-q)/2 - (\\hat\\sigma q + \\hat q\\delta)/2 - \\hat pp
    + E_x M_{\\hat\\sigma}(|x| + \\hat p)$, $x \\sim N(\\hat R, \\hat q)$ the replicas' cavity field."""
    q, delta, q_hat, sigma_hat, p_hat = op.q, op.delta, op.q_hat, op.sigma_hat, op.p_hat
    R_hat = op.R_hat if isinstance(op, LDLimitTSOrderParams) else 0.0
    conjugate = -q_hat * (1 - q) / 2 - (sigma_hat * q + q_hat * delta) / 2 - p_hat * (1 - 2 * d)
    nu, w_nu = map(jnp.asarray, half_normal_rule(quad.n_nu))
    c = R_hat / jnp.sqrt(q_hat)
    return conjugate + (w_nu * jnp.exp(-c**2 / 2) * jnp.cosh(c * nu)) @ _envelope_2cosh(
        jnp.sqrt(q_hat) * nu + p_hat, sigma_hat, quad.inner_steps)


def energetic_limit(kappa: ArrayLike, Q_self: ArrayLike, Q0: ArrayLike, M: ArrayLike,
                    Delta: ArrayLike, quad: LDLimitQuadrature) -> Float[Array, ""]:
    """The energetic part per example at y -> infinity for labels $\\mathrm{sign}\\,\\nu$ of a
    unit-variance teacher field: $2E_{\\nu>0}E_zL_\\Delta(\\kappa - M\\nu - \\sqrt{Q_0 - M^2}z)$
    with thermal width $\\sqrt{Q_{self} - Q_0}$ (``_envelope_log_H``); the replicas' fields
    have variance $Q_{self}$, cross-group covariance $Q_0$, within-group excess $\\Delta/y$
    and teacher covariance M (binary teacher-student: 1, q, R, delta)."""
    nu, w_nu = map(jnp.asarray, half_normal_rule(quad.n_nu))
    z, w_z = hermite_rule(quad.n_z)
    fields = kappa - M * nu[:, None] - jnp.sqrt(Q0 - M**2) * z[None, :]
    return w_nu @ _envelope_log_H(fields, jnp.sqrt(Q_self - Q0), Delta, quad.inner_steps) @ w_z


def reference_teacher_overlap(op: LDLimitTSOrderParams) -> Array:
    """Teacher overlap of the dominating reference, the sign of the replicas' cavity field
    $x \\sim N(\\hat R, \\hat q)$:
    $\\tilde R = E\\,\\mathrm{sign}\\,x = 1 - 2H(\\hat R/\\sqrt{\\hat q})$."""
    return 1 - 2 * jnp.exp(log_H(op.R_hat / jnp.sqrt(op.q_hat)))


# ------------------------------------------------------------------------------- solver
# Newton in unconstrained coordinates (logit q, log delta, log q_hat, log sigma_hat, p_hat),
# each step halved until the gradient's max-norm decreases (the engine's line search);
# continuation in ln d, kappa and alpha by the engine, in legs of at most ``step``.


def _to_order_params(u: Array) -> LDLimitOrderParams | LDLimitTSOrderParams:
    """Storage: 5 coordinates; teacher-student: 7, with R = sqrt(q) tanh(u5)."""
    storage = (jax.nn.sigmoid(u[0]), jnp.exp(u[1]), jnp.exp(u[2]), jnp.exp(u[3]), u[4])
    if u.shape[-1] == 5:
        return LDLimitOrderParams(*storage)
    return LDLimitTSOrderParams(*storage, jnp.sqrt(storage[0]) * jnp.tanh(u[5]), u[6])


def _to_coords(op: LDLimitOrderParams | LDLimitTSOrderParams) -> Array:
    storage = [jnp.log(op.q / (1 - op.q)), jnp.log(op.delta), jnp.log(op.q_hat),
               jnp.log(op.sigma_hat), op.p_hat]
    if isinstance(op, LDLimitTSOrderParams):
        storage += [jnp.arctanh(op.R / jnp.sqrt(op.q)), op.R_hat]
    return jnp.stack(storage)


class LDLimitQuery(eqx.Module):
    """$S_\\infty$ at (alpha, margin kappa, distance d); ``log_d`` = ln d is the field the
    continuation in d moves (the Hessian stiffens as d -> 0)."""

    alpha: Float[Array, ""] = eqx.field(converter=f64)
    kappa: Float[Array, ""] = eqx.field(converter=f64)
    log_d: Float[Array, ""] = eqx.field(converter=f64)


# known saddles to start from (kappa = 0, d = 0.05)
SEEDS = {BinaryStorage: dict(alpha=0.6, op=LDLimitOrderParams(0.8127, 1.2654, 0.2647, 0.6139,
                                                              0.5972)),
         TeacherStudent: dict(alpha=0.5, op=LDLimitTSOrderParams(
             0.8103, 4.1215, 0.0208, 0.2471, 1.1259, 0.3905, 0.0816))}
_SEED_D = 0.05


class LDLimitModel(LineSearchModel):
    """$S_\\infty$ as a model of the engine; ``family`` the problem class (``BinaryStorage``:
    5 coordinates, ``TeacherStudent``: 7); cold start: its known saddle (``SEEDS``, at its
    alpha, kappa = 0, d = 0.05)."""

    problem: LDLimitQuery
    family: type = eqx.field(static=True)
    quad: LDLimitQuadrature = eqx.field(static=True)

    def free_entropy(self, op) -> Float[Array, ""]:
        p = self.problem
        return free_entropy_large_deviation_limit(op, p.alpha, p.kappa, jnp.exp(p.log_d),
                                                  quad=self.quad)

    def cold_start(self):
        return SEEDS[self.family]["op"]

    def to_coords(self, op) -> Array:
        return _to_coords(op)

    def to_order_params(self, u: Array):
        return _to_order_params(u)


_saddle_jit = eqx.filter_jit(saddle)
_MAX_HALVINGS = 20  # a leg of the continuation may shrink to 1e-6 of its length


def continue_limit(u: Array, model: ReplicaModel, name: str, stop: float, step: float,
              stations: np.ndarray = np.empty(0)):
    """The engine's ``continue_to`` with this limit's leg halvings."""
    return continue_to(model, u, name, stop, step=step, stations=stations,
                       max_halvings=_MAX_HALVINGS, max_leg_steps=400)


def _check_family(who: str, problem: type) -> None:
    if problem not in SEEDS:
        raise ValueError(f"{who}(problem={problem!r}): must be one of "
                         f"{[c.__name__ for c in SEEDS]}")


def _model(alpha, kappa, d, quad, family) -> LDLimitModel:
    return LDLimitModel(LDLimitQuery(alpha, kappa, math.log(d)), family, quad)


def _anchor(alpha: float, kappa: float, d: float, quad: LDLimitQuadrature,
            family: type = BinaryStorage):
    """Saddle at (alpha, kappa, d), continued from the family's seed: in d at the seed's
    alpha, then in kappa and alpha, the margin first if it is negative (so that the load
    stays below capacity on the way); None if the path breaks."""
    seed = SEEDS[family]
    model = _model(seed["alpha"], 0.0, _SEED_D, quad, family)
    u = _to_coords(_saddle_jit(model, warm_up_steps=0).order_params)
    c = continue_limit(u, model, "log_d", math.log(d), 0.05)
    if c.reached != math.log(d):
        return None
    u = c.last
    now = dict(alpha=seed["alpha"], kappa=0.0)
    target = dict(alpha=alpha, kappa=kappa)
    for name in (("kappa", "alpha") if kappa < 0 else ("alpha", "kappa")):
        model = _model(now["alpha"], now["kappa"], d, quad, family)
        c = continue_limit(u, model, name, target[name], 0.02 if name == "alpha" else 0.05)
        if c.reached != target[name]:
            return None
        u, now[name] = c.last, c.reached
    return u


def reach_distances(model: ReplicaModel, u: Array, d: np.ndarray, found: dict) -> None:
    """Continue the saddle u of ``model`` (a y -> infinity model at the anchor distance of
    its ``log_d``) down through the distances of ``d`` below the anchor and up through
    those above, adding each distance reached to ``found``: d -> (coordinates, residual,
    $S_\\infty$)."""
    anchor = float(model.problem.log_d)
    for targets in (d[np.log(d) <= anchor], d[np.log(d) > anchor]):
        todo = np.log([t for t in targets if float(t) not in found])
        if todo.size:
            stop = todo.min() if np.all(todo <= anchor) else todo.max()
            at = continue_limit(u, model, "log_d", stop, 0.05, todo).stations
            found.update({float(t): at[float(np.log(t))] for t in targets
                          if float(np.log(t)) in at})


def curve_rows(found: dict, d: np.ndarray, n_coords: int, to_order_params):
    """The rows of a curve over ``d`` from ``found`` (``reach_distances``), NaN where a
    distance was not reached: ($S_\\infty$, order parameters, residual, converged)."""
    blank = (np.full(n_coords, np.nan), np.inf, np.nan)
    rows = [found.get(float(t), blank) for t in d]
    ops = jax.vmap(to_order_params)(jnp.asarray(np.stack([np.asarray(r[0]) for r in rows])))
    residual = np.array([r[1] for r in rows])
    return (np.array([r[2] for r in rows]), jax.tree.map(np.asarray, ops), residual,
            residual < RESIDUAL_TOL)


class LimitBranch(NamedTuple):
    """A branch of $S_\\infty$ followed in d: the distances of the path points reached and
    $S_\\infty$ there, and its furthest point (where the branch ends, if before the stop)."""

    d: np.ndarray
    local_entropy: np.ndarray
    d_end: float
    end_local_entropy: float
    end_order_params: LDLimitOrderParams | LDLimitTSOrderParams


def branch_in_d(model: ReplicaModel, u: Array | None, d_stop: float, *, points: int = 41,
                where: str = "branch_in_d") -> LimitBranch:
    """Continue the saddle u of ``model`` (a y -> infinity model with a ``log_d`` field) in
    d up to ``d_stop``, recording $S_\\infty$ at ``points`` distances on the way; u = None
    (the start was not reached) raises ``SaddlePointError`` naming ``where``."""
    if u is None:
        raise SaddlePointError(f"{where}: the start was not reached from the seed")
    start = float(model.problem.log_d)
    stations = np.linspace(start, math.log(d_stop), points)[1:]
    c = continue_limit(u, model, "log_d", math.log(d_stop), 0.05, stations)
    reached = sorted(c.stations, reverse=math.log(d_stop) < start)
    return LimitBranch(np.exp(reached), np.array([c.stations[v][2] for v in reached]),
                       math.exp(c.end), c.end_free_entropy,
                       model.to_order_params(jnp.asarray(c.end_coords)))


def limit_branch(alpha: float, kappa: float, d_start: float, d_stop: float, *,
                 problem: type = BinaryStorage,
                 quad: LDLimitQuadrature = DEFAULT_QUADRATURE) -> LimitBranch:
    """The branch of $S_\\infty$ through the saddle at (alpha, kappa, ``d_start``) (reached
    from the seed of the ``problem`` class), followed in d towards ``d_stop``; raises ``SaddlePointError`` if
    the start is not reached."""
    return branch_in_d(_model(alpha, kappa, d_start, quad, problem),
                       _anchor(alpha, kappa, d_start, quad, problem), d_stop,
                       where=f"limit_branch(alpha={alpha:g}, kappa={kappa:g}, "
                             f"d_start={d_start:g})")


class LargeDeviationLimitCurve(eqx.Module):
    """$S_\\infty(d)$ on a grid of distances (NaN where no saddle was reached: beyond the
    threshold, the gap of the curve), its slope $2\\hat p$ and all order parameters;
    teacher-student: the generalization errors of the replicas and of the reference."""

    alpha: float
    kappa: float
    d: np.ndarray
    local_entropy: np.ndarray
    slope: np.ndarray
    order_params: LDLimitOrderParams | LDLimitTSOrderParams
    residual: np.ndarray
    converged: np.ndarray

    @property
    def gen_error(self) -> np.ndarray:
        """Teacher-student: $\\arccos(R)/\\pi$ of the solutions at distance d."""
        if not isinstance(self.order_params, LDLimitTSOrderParams):
            raise ValueError("gen_error: a storage curve has no teacher")
        return np.asarray(gen_error_from_overlap(self.order_params.R))

    @property
    def reference_gen_error(self) -> np.ndarray:
        """Teacher-student: $\\arccos(\\tilde R)/\\pi$ of the dominating references."""
        if not isinstance(self.order_params, LDLimitTSOrderParams):
            raise ValueError("reference_gen_error: a storage curve has no teacher")
        return np.asarray(gen_error_from_overlap(reference_teacher_overlap(self.order_params)))

    @property
    def upper_bound(self) -> np.ndarray:
        """$-d\\ln d - (1-d)\\ln(1-d)$: all configurations at distance d."""
        return -self.d * np.log(self.d) - (1 - self.d) * np.log1p(-self.d)


_ANCHORS = (0.05, 0.003)  # the large-d and the dense small-d branches beyond the threshold


def large_deviation_limit_curve(alpha: float, d: ArrayLike, kappa: float = 0.0, *,
                                problem: type = BinaryStorage,
                                quad: LDLimitQuadrature = DEFAULT_QUADRATURE
                                ) -> LargeDeviationLimitCurve:
    """RS large-deviation local entropy at y -> infinity, $S_\\infty(d)$ (margin ``kappa``
    for replicas; the references' margin drops out), on a grid ``d`` in (0, 1/2); ``problem``
    the class ``BinaryStorage`` or ``TeacherStudent`` (then ``gen_error`` and
    ``reference_gen_error``).

    Every grid point is reached by continuation in d from two anchors (d = 0.05 and the
    dense branch at d = 0.003), each continued in (kappa, alpha) from a known saddle; points
    neither branch reaches are NaN with ``converged`` False: beyond the threshold the curve
    has a gap, and the large-d branch ends where delta -> 0 (near the Gibbs-centre distance).
    Raises ``ValueError`` on bad input."""
    require_x64("large_deviation_limit_curve")
    d = np.atleast_1d(np.asarray(d, np.float64))
    if d.ndim != 1 or not np.all((d > 0) & (d < 0.5)):
        raise ValueError(f"large_deviation_limit_curve(d={d.tolist()}): the Hamming "
                         "fraction d must lie in (0, 1/2) (a 1-d grid)")
    if not (math.isfinite(alpha) and alpha > 0):
        raise ValueError(f"large_deviation_limit_curve(alpha={alpha}): alpha = P/N must be "
                         "finite and > 0")
    if not math.isfinite(kappa):
        raise ValueError("large_deviation_limit_curve: kappa must be finite")
    _check_family("large_deviation_limit_curve", problem)
    found: dict[float, tuple] = {}
    for anchor in _ANCHORS:
        u0 = _anchor(alpha, kappa, anchor, quad, problem)
        if u0 is None:
            continue
        reach_distances(_model(alpha, kappa, anchor, quad, problem), u0, d, found)
    S, ops, residual, converged = curve_rows(found, d, 5 if problem is BinaryStorage else 7,
                                             _to_order_params)
    return LargeDeviationLimitCurve(alpha, kappa, d, S, 2 * ops.p_hat, ops, residual,
                                    converged)


# ------------------------------------------------------------- [P1]: the threshold alpha_U

_D_SMALL = 0.002  # the dense branch must reach here monotonically


def _reaches_small_d(alpha: float, kappa: float, quad: LDLimitQuadrature,
                     family: type = BinaryStorage, d_small: float = _D_SMALL) -> bool:
    """Whether the branch continued down from d = 0.05 reaches ``d_small`` (it rises all
    along, slope $2\\hat p > 0$; beyond the threshold it folds first). False as well where
    the continuation in alpha at d = 0.05 breaks on the way (near the capacity at negative
    margins)."""
    u = _anchor(alpha, kappa, 0.05, quad, family)
    if u is None:
        return False
    c = continue_limit(u, _model(alpha, kappa, 0.05, quad, family), "log_d",
                       math.log(d_small), 0.05)
    return c.reached == math.log(d_small)


class LargeDeviationThreshold(NamedTuple):
    """The bracket [alpha_monotone, alpha_broken] of the y -> infinity threshold."""

    alpha: float  # midpoint of the final bracket
    alpha_monotone: float
    alpha_broken: float
    kappa: float


def large_deviation_threshold(kappa: float = 0.0, *, bracket=(0.70, 0.80),
                              tol: float = 5e-4, problem: type = BinaryStorage,
                              d_small: float = _D_SMALL,
                              quad: LDLimitQuadrature = DEFAULT_QUADRATURE
                              ) -> LargeDeviationThreshold:
    """[P1] diagnostic at y -> infinity: the alpha above which the branch of $S_\\infty(d)$
    (margin-kappa solutions) continued down from d = 0.05 no longer reaches d = 0.002
    monotonically (it folds: the dense small-d part splits off), by bisection to ``tol`` inside
    ``bracket`` (which must hold a monotone and a broken end). Measured (CPU, 10-25 s
    each): 1.1178, 0.7552, 0.5272, 0.4221 at kappa = -0.3, 0, 0.3, 0.5 (0.89-0.93 of
    alpha_c; kappa = 0: monotone at 0.7550, broken at 0.7554), against the literature's
    0.77-0.78 at kappa = 0.

    ``problem=TeacherStudent`` (binary teacher, margin kappa): below alpha ~ 1 the dense
    branch stiffens before d = 0.002 (it reaches 0.0033 at alpha = 0.9), so pass a larger
    ``d_small`` such as 0.005; measured (kappa = 0, d_small = 0.005, 137 s): 1.0863, above the
    teacher-student Franz-Parisi dip onset (1.0466, ``monotonicity_threshold``) as for
    storage (0.7552 vs 0.7290), and below Gyorgyi's first-order transition 1.245."""
    require_x64("large_deviation_threshold")
    lo, hi = bracket
    if not (0 < lo < hi):
        raise ValueError(f"large_deviation_threshold(bracket={bracket}): need 0 < lo < hi")
    _check_family("large_deviation_threshold", problem)
    reaches = lambda alpha: _reaches_small_d(alpha, kappa, quad, problem, d_small)
    if not reaches(lo) or reaches(hi):
        raise ValueError(f"large_deviation_threshold(kappa={kappa:g}): the bracket {bracket} "
                         "does not hold a monotone (low alpha) and a broken (high alpha) end")
    while hi - lo > tol:
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if reaches(mid) else (lo, mid)
    return LargeDeviationThreshold((lo + hi) / 2, lo, hi, kappa)
