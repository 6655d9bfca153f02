"""The m-clone (real-replica) entropy of the binary perceptron and its overlap gap.

m real clones $W^1, \\dots, W^m$ of the system, all solutions, held at a fixed mutual overlap
$q_1$ (Malatesta, Passalacqua, Zecchina, arXiv:2607.27000; Stojnic, arXiv:2506.19276):

$\\phi_m(q_1) = \\lim \\frac{1}{mN} E\\ln \\sum_{W^1..W^m}\\prod_a\\chi(W^a)
\\prod_{a<b}\\delta(W^a\\cdot W^b - Nq_1)$,

$\\chi$ the indicator of a solution (stabilities $\\ge\\kappa$). The quenched average over
$E Z^s$, $s \\to 0$, gives a 1RSB-structured overlap matrix whose blocks are the m clones
(overlap $q_1$, fixed from outside) and whose $s$ blocks are replica symmetric (overlap
$q_0$); m and $q_1$ are parameters, not variational. It is the 1RSB free entropy $\\Phi(m)$
of ``one_step_rsb`` read at fixed $q_1$ and $m > 1$:

$\\phi_m = \\mathrm{extr}_{q_0,\\hat q_0,\\hat q_1}\\; -\\hat q_1/2 - (m-1)\\hat q_1q_1/2
+ m\\hat q_0q_0/2 + \\frac1m E_{z_0}\\ln E_{z_1}[2\\cosh(\\sqrt{\\hat q_0}z_0 + b z_1 + \\hat R)]^m
+ \\frac{\\alpha}{m}E_{z_0} w(z_0)\\ln E_{z_1}H\\Big(\\frac{\\kappa - \\sqrt{q_0}z_0
- \\sqrt{q_1-q_0}z_1}{\\sqrt{1-q_1}}\\Big)^m\\; [-\\hat R R]$,

$b^2 = \\hat q_1 - \\hat q_0$. Storage: $w = 1$, $\\hat R = R = 0$. Teacher-student (binary
teacher gauged to $W_T = +1$, labels its signs): the clones' teacher overlap R and its
conjugate are order parameters too, $w = 2H(-Rz_0/\\sqrt{q_0 - R^2})$ (the probability that
the teacher agrees with the sign of the cross-block field); the Nishimori identities are not
imposed (clones held at $q_1$ are not posterior samples).

Limits (tests): m = 1 gives the RS entropy at every $q_1$ ($\\hat q_1$ drops out); at the
typical overlap $q_1 = q_{RS}$ the RS saddle ($q_0 = q_1$, $\\hat q_0 = \\hat q_1$) solves
the equations and $\\phi_m = \\phi_{RS}$ for every m; as $q_1 \\to 1$ the clones coincide and
$\\phi_m \\to \\phi_{RS}/m$ (from below: the constraints cost $\\propto\\sqrt{1-q_1}$, more than
the $(1-q_1)\\ln$ entropy of clones at that distance gains).

Overlap gap: where $\\phi_m(q_1) < 0$ on an interval of $q_1$ between $q_{RS}$ and 1, m-tuples
of solutions at those mutual overlaps do not exist (exponentially rarely). Its onset
$\\alpha_{OGP}(m)$ is the smallest alpha where the interior minimum of $\\phi_m(q_1)$ reaches
zero: a root of {stationarity in $(q_0, \\hat q_0, \\hat q_1)$, $\\partial\\phi_m/\\partial q_1
= 0$, $\\phi_m = 0$}. With $q_1$ made an order parameter (``MCloneStationary``) the first
two are the stationarity of one model, and the threshold is the engine's entropy
condition.

Quadrature: outer $z_0$ by the trapezoid rule; the inner $z_1$ averages in the log domain on
composite Gauss-Legendre panels whose breakpoints follow the integrand (held fixed under
differentiation): the energetic log-integrand $-z^2/2 + m\\ln H(\\cdot)$ is concave with
curvature $\\le -1$, so it is $e^{-40}$ below its peak 9 away from its mode (found by
bisection): equal panels on [mode - 9, mode + 9] and panels graded in the step's width
$\\sqrt{1-q_1}/\\sqrt{q_1-q_0}$ around its edge. The entropic one is bounded by
$2^m[e^{ma}G(z - mb) + e^{-ma}G(z + mb)]e^{m^2b^2/2}$: equal panels on
$[-mb - 9, mb + 9]$, graded in 1/b around the kink $z = -a/b$.
"""

from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import logsumexp
from jaxtyping import Array, Float

from atypical import BinaryStorage, TeacherStudent, f64, require_x64
from atypical.gaussian import H, gauss_nodes, gaussian_over_H, log_2cosh, log_H

from ..engine import (ReplicaModel, SaddleSolution, Status, Threshold, check, demote,
                      entropy, follow, saddle, threshold_on_branch)
from .margins import model_for
from .one_step_rsb import OneRSBOrderParams
from .perceptron import TeacherStudentRS
from .thresholds import storage_threshold

WINDOW = 9.0  # half-width of the inner window around a mode (e^{-40.5} below the peak)
GRADED = np.array([0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0])  # panel edges, in step widths
GRADED = np.concatenate([-GRADED[:0:-1], GRADED])
BISECTIONS = 64


class MCloneQuadrature(NamedTuple):
    """Static quadrature sizes: ``n_outer`` trapezoid nodes for $z_0$ on [-10, 10];
    ``n_panels`` equal panels per inner window (plus the graded ones), ``n_nodes``
    Gauss-Legendre nodes per panel."""

    n_outer: int = 201
    n_panels: int = 24
    n_nodes: int = 10


DEFAULT_QUADRATURE = MCloneQuadrature()


class MCloneStorage(eqx.Module):
    """Binary storage (alpha, margin kappa) seen by m clones at mutual overlap q1."""

    alpha: Float[Array, ""] = eqx.field(converter=f64)
    kappa: Float[Array, ""] = eqx.field(converter=f64)
    m: Float[Array, ""] = eqx.field(converter=f64)
    q1: Float[Array, ""] = eqx.field(converter=f64)


class MCloneTeacherStudent(MCloneStorage):
    """Binary teacher-student (alpha, margin kappa) seen by m clones at mutual overlap q1."""


class MCloneTSOrderParams(eqx.Module):
    """Teacher-student m-clone overlaps: across ($q_0$) and within ($q_1$) blocks, with the
    teacher (R), and their conjugates."""

    q0: Float[Array, ""] = eqx.field(converter=f64)
    q1: Float[Array, ""] = eqx.field(converter=f64)
    R: Float[Array, ""] = eqx.field(converter=f64)
    q0_hat: Float[Array, ""] = eqx.field(converter=f64)
    q1_hat: Float[Array, ""] = eqx.field(converter=f64)
    R_hat: Float[Array, ""] = eqx.field(converter=f64)


# ------------------------------------------------------------------------ quadrature

def _composite_rule(breaks: Array, n_nodes: int) -> tuple[Array, Array]:
    """Gauss-Legendre nodes and weights (``n_nodes`` per panel) on the panels between the
    sorted ``breaks`` (panels of width zero get weight zero)."""
    x, w = (v[None, :] for v in np.polynomial.legendre.leggauss(n_nodes))
    edges = jnp.sort(breaks)
    a, b = edges[:-1, None], edges[1:, None]
    return ((b - a) / 2 * x + (a + b) / 2).ravel(), ((b - a) / 2 * w).ravel()


def _log_mean(log_f, breaks: Array, n_nodes: int) -> Array:
    """$\\ln\\int dz\\,G(z)e^{\\log f(z)}$ on the composite rule of ``breaks``."""
    z, w = _composite_rule(breaks, n_nodes)
    log_w = jnp.log(jnp.maximum(w, 1e-300)) - z**2 / 2 - 0.5 * jnp.log(2 * jnp.pi)
    return logsumexp(log_w + log_f(z))


def _ratio(x: Array, y: Array) -> Array:
    """x / y for placing breakpoints (y >= 0; y = 0 gives +-inf or 0, then clipped)."""
    return x / jnp.maximum(y, 1e-300)


def _energetic_mode(c: Array, d: Array, sigma: Array, m: Array) -> Array:
    """Maximiser of $-z^2/2 + m\\ln H((c - dz)/\\sigma)$ (concave), by bisection on
    $[0, B]$: its derivative $-z + m(d/\\sigma)\\,GH((c-dz)/\\sigma)$ is positive at 0 and,
    with $GH(x) \\le \\max(x, 0) + 0.8$, negative beyond
    $B = \\max(0.8mr, (mrc/\\sigma + 0.8mr)/(1 + mr^2))$, $r = d/\\sigma$."""
    r = d / sigma
    top = jnp.maximum(0.8 * m * r, (m * r * c / sigma + 0.8 * m * r) / (1 + m * r**2)) + 1.0
    slope = lambda z: -z + m * r * gaussian_over_H((c - d * z) / sigma)

    def halve(_, bracket):
        lo, hi = bracket
        mid = (lo + hi) / 2
        rising = slope(mid) > 0
        return jnp.where(rising, mid, lo), jnp.where(rising, hi, mid)

    lo, hi = jax.lax.fori_loop(0, BISECTIONS, halve, (jnp.zeros_like(top), top))
    return (lo + hi) / 2


def log_clone_mean_H(c: Array, d: Array, sigma: Array, m: Array,
                     quad: MCloneQuadrature = DEFAULT_QUADRATURE) -> Array:
    """$\\ln E_z H((c - dz)/\\sigma)^m$, $z \\sim N(0, 1)$: equal panels on the window of
    half-width 9 around the mode, graded panels around the edge $z = c/d$ of the step of
    width $\\sigma/d$ (module docstring)."""
    c0, d0, sigma0, m0 = jax.lax.stop_gradient((c, d, sigma, m))
    mode = _energetic_mode(c0, d0, sigma0, m0)
    lo, hi = mode - WINDOW, mode + WINDOW
    edge = _ratio(c0 + sigma0 * GRADED, d0)
    breaks = jnp.concatenate([jnp.linspace(lo, hi, quad.n_panels + 1),
                              jnp.clip(edge, lo, hi)])
    return _log_mean(lambda z: m * log_H((c - d * z) / sigma), breaks, quad.n_nodes)


def log_clone_mean_2cosh(a: Array, b: Array, m: Array,
                         quad: MCloneQuadrature = DEFAULT_QUADRATURE) -> Array:
    """$\\ln E_z[2\\cosh(a + bz)]^m$: equal panels on $[-mb - 9, mb + 9]$ (the two Gaussian
    envelopes), graded panels of width 1/b around the kink $z = -a/b$."""
    a0, b0, m0 = jax.lax.stop_gradient((a, b, m))
    lo, hi = -m0 * b0 - WINDOW, m0 * b0 + WINDOW
    kink = _ratio(GRADED - a0, b0)
    breaks = jnp.concatenate([jnp.linspace(lo, hi, quad.n_panels + 1),
                              jnp.clip(kink, lo, hi)])
    return _log_mean(lambda z: m * log_2cosh(a + b * z), breaks, quad.n_nodes)


# ---------------------------------------------------------------------- free entropy

def free_entropy_m_clone(op: OneRSBOrderParams | MCloneTSOrderParams,
                         problem: MCloneStorage, *,
                         quad: MCloneQuadrature = DEFAULT_QUADRATURE) -> Float[Array, ""]:
    """The m-clone free entropy (module docstring) at order parameters ``op`` (q1 is read
    from ``op``): storage with ``OneRSBOrderParams``, teacher-student with
    ``MCloneTSOrderParams``. Its value at the saddle point is $\\phi_m(q_1)$ (nats per
    weight and per clone)."""
    m = problem.m
    teacher = isinstance(op, MCloneTSOrderParams)
    R, R_hat = (op.R, op.R_hat) if teacher else (0.0, 0.0)
    z0, w0 = gauss_nodes(quad.n_outer)
    b = jnp.sqrt(op.q1_hat - op.q0_hat)
    entropic = jax.vmap(lambda a: log_clone_mean_2cosh(a, b, m, quad))(
        jnp.sqrt(op.q0_hat) * z0 + R_hat)
    sigma, d = jnp.sqrt(1 - op.q1), jnp.sqrt(op.q1 - op.q0)
    energetic = jax.vmap(lambda c: log_clone_mean_H(c, d, sigma, m, quad))(
        problem.kappa - jnp.sqrt(op.q0) * z0)
    weight = 2 * H(-R * z0 / jnp.sqrt(op.q0 - R**2)) if teacher else 1.0
    conjugate = (-op.q1_hat / 2 - (m - 1) * op.q1_hat * op.q1 / 2 + m * op.q0_hat * op.q0 / 2
                 - R_hat * R)
    return conjugate + (w0 @ entropic + problem.alpha * (w0 @ (weight * energetic))) / m


# --------------------------------------------------------------------------- models
# Newton coordinates in which the admissible set is a box: the gap q1 - q0 >= 0 and
# b^2 = q1_hat - q0_hat >= 0 (phi is smooth in both: heat equation), q0_hat >= 0, and for
# teacher-student rho = R / sqrt(q0) in (-1, 1) and R_hat. With q1 an order parameter
# (``MCloneStationary``): q0 and lam = ln((1 - q1)/(1 - q0)) <= 0 instead of the gap.

_EPS = 1e-12
Q1_LEGS = 24  # continuation legs from the typical overlap to a q1 (uniform in ln(1 - q1))
Q1_SCAN = 48  # q1 points of the scan for the interior minimum, up to 1 - Q1_SCAN_END
Q1_SCAN_END = 1e-5
START_OFFSET = 1e-3  # the branch starts this far from the typical overlap


def _teacher_order_params(storage: OneRSBOrderParams, rho: Array, R_hat: Array
                          ) -> MCloneTSOrderParams:
    s = storage
    return MCloneTSOrderParams(s.q0, s.q1, jnp.sqrt(s.q0) * rho, s.q0_hat, s.q1_hat, R_hat)


def _teacher_coords(op) -> list[Array]:
    if isinstance(op, MCloneTSOrderParams):
        return [op.R / jnp.sqrt(op.q0), op.R_hat]
    return []


def _box(lower: list, upper: list, teacher: bool) -> tuple[Array, Array]:
    if teacher:
        lower, upper = lower + [-1 + _EPS, -jnp.inf], upper + [1 - _EPS, jnp.inf]
    return jnp.stack([f64(v) for v in lower]), jnp.stack([f64(v) for v in upper])


def q1_path(start: Array, stop: Array, n: int) -> Array:
    """``n`` overlaps from ``start`` (excluded) to ``stop``, uniform in $\\ln(1 - q_1)$."""
    ell = jnp.linspace(jnp.log1p(-start), jnp.log1p(-stop), n + 1)[1:]
    return -jnp.expm1(ell)


def typical_saddle(problem: MCloneStorage) -> SaddleSolution:
    """The RS saddle of the clones' problem at its (alpha, kappa), from the RS cold start
    (teacher-student: the poorly generalizing branch)."""
    family = TeacherStudent if isinstance(problem, MCloneTeacherStudent) else BinaryStorage
    return saddle(model_for(family, problem.alpha, problem.kappa))


class MCloneModel(ReplicaModel):
    """$\\phi_m(q_1)$ at the problem's fixed $q_1$ (storage or teacher-student) as a model
    of the engine: saddle in ($q_0, \\hat q_0, \\hat q_1$[, R, $\\hat R$]), coordinates
    (gap $q_1 - q_0$, $\\hat q_0$, $b^2$[, $R/\\sqrt{q_0}$, $\\hat R$]). Cold start: the
    branch continued from the typical overlap (``branch_from_typical``)."""

    problem: MCloneStorage
    quad: MCloneQuadrature = eqx.field(static=True, default=DEFAULT_QUADRATURE)

    @property
    def teacher(self) -> bool:
        return isinstance(self.problem, MCloneTeacherStudent)

    def free_entropy(self, op) -> Float[Array, ""]:
        return free_entropy_m_clone(op, self.problem, quad=self.quad)

    def cold_start(self):
        path = q1_path(typical_saddle(self.problem).order_params.q, self.problem.q1, Q1_LEGS)
        _, xs, _ = branch_from_typical(self, path)
        return self.to_order_params(xs[-1])

    def bounds(self):
        return _box([_EPS, _EPS, _EPS], [self.problem.q1 - _EPS, jnp.inf, jnp.inf],
                    self.teacher)

    def to_coords(self, op) -> Array:
        return jnp.stack([op.q1 - op.q0, op.q0_hat, op.q1_hat - op.q0_hat]
                         + _teacher_coords(op))

    def to_order_params(self, x: Array):
        q1 = self.problem.q1
        storage = OneRSBOrderParams(q1 - x[0], q1, x[1], x[1] + x[2])
        return _teacher_order_params(storage, x[3], x[4]) if self.teacher else storage

    def at(self, q1: Array) -> "MCloneModel":
        """The same model at overlap(s) ``q1`` (a path if ``q1`` is an array)."""
        p = self.problem
        problem = type(p)(*jnp.broadcast_arrays(p.alpha, p.kappa, p.m, f64(q1)))
        return eqx.tree_at(lambda mo: mo.problem, self, problem)


def _start(model: MCloneModel, toward: Array) -> tuple[MCloneModel, Array]:
    """The fixed-q1 model a step ``START_OFFSET`` from the typical overlap towards
    ``toward``, and a guess there linearized about the RS saddle: gap = the step, $b^2 =$
    gap$/E\\,\\mathrm{sech}^4 h$ (so that $q_1 - q_0 = \\mathrm{Var}\\tanh$)."""
    rs = typical_saddle(model.problem).order_params
    q = rs.q
    step = jnp.sign(toward - q) * jnp.minimum(START_OFFSET, jnp.abs(toward - q) / 2)
    z, w = gauss_nodes(model.quad.n_outer)
    field = jnp.sqrt(rs.q_hat) * z + (rs.R_hat if model.teacher else 0.0)
    sech4 = w @ (1 / jnp.cosh(field) ** 4)
    gap = jnp.maximum(jnp.abs(step), _EPS)
    x = [gap, rs.q_hat, gap / sech4]
    if model.teacher:
        x += [rs.R / jnp.sqrt(q), rs.R_hat]
    return model.at(q + step), jnp.stack(x)


def branch_from_typical(model: MCloneModel, path: Array
                        ) -> tuple[SaddleSolution, Array, Array]:
    """The fixed-q1 branch of ``model``'s problem followed (the engine's ``follow``) from
    a step next to the typical overlap through the overlaps ``path`` (monotone, on one
    side of it): solutions, coordinates, fraction of each leg reached."""
    start, guess = _start(model, path[-1])
    first = saddle(start, start.to_order_params(guess), warm_up_steps=0)
    return follow(model.at(path), start.to_coords(first.order_params), start)


class MCloneStationary(MCloneModel):
    """The m-clone free entropy with $q_1$ an order parameter as well (the problem's q1 is
    ignored): its saddle points are the stationary points of $\\phi_m(q_1)$ in $q_1$.
    Coordinates ($q_0$, $\\lambda = \\ln((1-q_1)/(1-q_0))$, $\\hat q_0$, $b^2$[, ...]).
    Cold start: the smallest value of the fixed-q1 branch on a scan of ``Q1_SCAN``
    overlaps from the typical one to $1 - 10^{-5}$ (uniform in $\\ln(1-q_1)$)."""

    def cold_start(self):
        scan = q1_path(typical_saddle(self.problem).order_params.q, 1 - Q1_SCAN_END, Q1_SCAN)
        fixed = MCloneModel(self.problem, self.quad)
        sols, _, _ = branch_from_typical(fixed, scan)
        value = jnp.where(sols.converged, sols.free_entropy, jnp.inf)
        return jax.tree.map(lambda v: v[jnp.argmin(value)], sols.order_params)

    def bounds(self):
        return _box([_EPS, -jnp.inf, _EPS, _EPS], [1 - _EPS, -_EPS, jnp.inf, jnp.inf],
                    self.teacher)

    def to_coords(self, op) -> Array:
        lam = jnp.log((1 - op.q1) / (1 - op.q0))
        return jnp.stack([op.q0, lam, op.q0_hat, op.q1_hat - op.q0_hat]
                         + _teacher_coords(op))

    def to_order_params(self, x: Array):
        q1 = 1 - (1 - x[0]) * jnp.exp(x[1])
        storage = OneRSBOrderParams(x[0], q1, x[2], x[2] + x[3])
        return _teacher_order_params(storage, x[4], x[5]) if self.teacher else storage


# --------------------------------------------------------------------- overlap gap

OGP_FRACTIONS = np.linspace(0.88, 1.0, 13)  # alpha sweep, in units of the RS entropy's zero
_TS_ZERO_GRID = jnp.linspace(0.5, 1.7, 49)


def _entropy_zero(problem: MCloneStorage) -> Threshold:
    """The alpha where the RS entropy of the clones' problem vanishes (storage: the RS
    capacity; teacher-student: the poorly generalizing branch, Gyorgyi's 1.245 at
    kappa = 0)."""
    if isinstance(problem, MCloneTeacherStudent):
        return threshold_on_branch(TeacherStudentRS(TeacherStudent(1.0, problem.kappa)),
                                   _TS_ZERO_GRID, entropy)
    return storage_threshold(problem.kappa, entropy)


@eqx.filter_jit
def ogp_on_branch(problem: MCloneStorage, quad: MCloneQuadrature = DEFAULT_QUADRATURE
                  ) -> Threshold:
    """$\\alpha_{OGP}$ of ``problem`` (its m and kappa; alpha and q1 unused): the engine's
    ``threshold_on_branch`` with the entropy condition on ``MCloneStationary``, over
    ``OGP_FRACTIONS`` of the RS entropy's zero (where the minimum of $\\phi_m(q_1)$ lies
    below $\\phi_{RS}/m = 0$, so the crossing comes before; from 0.8 of it, where the
    minimum sits at $1 - q_1 < 10^{-5}$, Newton once went to the stationary point at the
    typical overlap). A root with $q_1$ not above the typical overlap is another branch
    (status ``not_bracketed``). Jit-able, never throws; the order parameters at the
    threshold carry $q_1$; differentiable in m and kappa."""
    zero = _entropy_zero(problem)
    grid = jax.lax.stop_gradient(zero.alpha) * jnp.asarray(OGP_FRACTIONS)
    result = threshold_on_branch(MCloneStationary(problem, quad), grid, entropy)
    at_threshold = eqx.tree_at(lambda p: p.alpha, problem, jax.lax.stop_gradient(result.alpha))
    typical = typical_saddle(at_threshold)
    inside = typical.converged & (result.order_params.q1 > typical.order_params.q + 1e-6)
    return eqx.tree_at(lambda r: r.status, result,
                       demote(result.status, zero.converged & inside, Status.not_bracketed))


# ------------------------------------------------------------------ public solvers

M_CLONE_PROBLEMS = {BinaryStorage: MCloneStorage, TeacherStudent: MCloneTeacherStudent}


def _checked_problem(who: str, problem: type, alpha, kappa, m) -> MCloneStorage:
    if problem not in M_CLONE_PROBLEMS:
        raise ValueError(f"{who}(problem={problem!r}): problem must be one of "
                         f"{[c.__name__ for c in M_CLONE_PROBLEMS]}")
    if not np.isfinite(m) or m <= 1:
        raise ValueError(f"{who}(m={m}): the number of clones m must be a real number > 1")
    if not np.isfinite(kappa) or abs(kappa) > 1:
        raise ValueError(f"{who}(kappa={kappa}): the margin kappa must lie in [-1, 1]")
    if problem is TeacherStudent and kappa != 0:
        raise ValueError(f"{who}(kappa={kappa}): teacher-student is solved at kappa = 0")
    if alpha is not None and (not np.isfinite(alpha) or alpha <= 0):
        raise ValueError(f"{who}(alpha={alpha}): alpha = P/N must be finite and > 0")
    return M_CLONE_PROBLEMS[problem](1.0 if alpha is None else alpha, kappa, m, 0.5)


@eqx.filter_jit
def _branch(model: MCloneModel, path: Array) -> SaddleSolution:
    return branch_from_typical(model, path)[0]


@eqx.filter_jit
def _typical(problem: MCloneStorage) -> SaddleSolution:
    return typical_saddle(problem)


def m_clone_entropy(alpha: float, q1, m: float, kappa: float = 0.0, *,
                    problem: type = BinaryStorage,
                    quad: MCloneQuadrature = DEFAULT_QUADRATURE,
                    throw: bool = True) -> tuple[SaddleSolution, SaddleSolution]:
    """$\\phi_m(q_1)$ at the overlaps ``q1`` (a scalar or a list, each in (0, 1)) for m
    clones of a ``problem`` (``BinaryStorage``, or ``TeacherStudent`` at kappa = 0) at
    (alpha, kappa):
    the fixed-q1 branch followed from the typical overlap $q_{RS}$ through ``Q1_LEGS``
    steps uniform in $\\ln(1-q_1)$ and the requested overlaps (those below $q_{RS}$ on a
    second path downwards). Returns (the m-clone saddles at ``q1``, in the given order;
    the RS saddle). With ``throw``, raises ``SaddlePointError`` listing the overlaps
    where the branch was not reached."""
    require_x64("m_clone_entropy")
    problem = _checked_problem("m_clone_entropy", problem, alpha, kappa, m)
    q1 = np.atleast_1d(np.asarray(q1, np.float64))
    if q1.ndim != 1 or not np.all((q1 > 0) & (q1 < 1)):
        raise ValueError(f"m_clone_entropy(q1={q1.tolist()}): every q1 must lie in (0, 1)")
    rs = _typical(problem)
    check(rs, "m_clone_entropy (the typical RS saddle)", throw=throw, alpha=alpha)
    q_rs = float(rs.order_params.q)
    model = MCloneModel(problem, quad)
    found = {}
    for side in (q1[q1 >= q_rs], q1[q1 < q_rs]):
        if side.size == 0:
            continue
        end = side.max() if side[0] >= q_rs else side.min()
        path = np.asarray(q1_path(q_rs, end, Q1_LEGS))
        path = np.union1d(path, side)
        path = path if side[0] >= q_rs else path[::-1]
        sols = _branch(model, jnp.asarray(path))
        found.update({float(v): jax.tree.map(lambda a, i=i: a[i], sols)
                      for i, v in enumerate(path) if v in side})
    result = jax.tree.map(lambda *a: jnp.stack(a), *[found[float(v)] for v in q1])
    return check(result, "m_clone_entropy", throw=throw, q1=q1), rs


def ogp_threshold(m: float, kappa: float = 0.0, *, problem: type = BinaryStorage,
                  quad: MCloneQuadrature = DEFAULT_QUADRATURE,
                  throw: bool = True) -> Threshold:
    """Onset of the m-clone overlap gap, $\\alpha_{OGP}(m)$: the smallest alpha at which
    $\\phi_m(q_1) < 0$ on an interval of overlaps between the typical one and 1
    (``ogp_on_branch``); ``order_params.q1`` is where the gap opens. ``throw`` as in
    ``m_clone_entropy``."""
    require_x64("ogp_threshold")
    result = ogp_on_branch(_checked_problem("ogp_threshold", problem, None, kappa, m), quad)
    return check(result, "ogp_threshold", throw=throw, m=m, kappa=kappa)


M_BRACKET = (3.0, 4.0)  # start of the downhill bracket search in m
M_TOL = 1e-3  # Brent's relative tolerance on the minimising m


def ogp_threshold_min_m(kappa: float = 0.0, *, problem: type = BinaryStorage,
                        quad: MCloneQuadrature = DEFAULT_QUADRATURE
                        ) -> tuple[float, Threshold]:
    """$\\min_m \\alpha_{OGP}(m)$ over real m > 1: Brent's method (SciPy) on
    ``ogp_threshold`` from the bracket search started at m = 3, 4 (the minimiser to
    relative ``M_TOL``; the minimum is flat, so alpha is far more precise). Returns (the
    minimising m, the threshold there). Raises ``SaddlePointError`` if a threshold on the
    way does not converge."""
    from scipy.optimize import minimize_scalar

    def alpha(m: float) -> float:
        return float(ogp_threshold(m, kappa, problem=problem, quad=quad).alpha)

    best = minimize_scalar(alpha, bracket=M_BRACKET, method="brent", tol=M_TOL)
    return float(best.x), ogp_threshold(float(best.x), kappa, problem=problem, quad=quad)
