"""Replica-symmetric theory of the binary perceptron: storage and teacher-student.

Each free entropy is written once (DESIGN.md section 4); the saddle-point equations are its
gradient, the thresholds are roots of augmented systems built from it by autodiff.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from atypical import BinaryStorage, TeacherStudent, checked, f64, require_x64
from atypical.gaussian import H, gauss_mean, log_2cosh, log_H
from atypical.observables import gen_error_from_overlap

from ..engine import ReplicaModel, SaddleSolution, check, follow, saddle

_EPS = 1e-14


class RSOrderParams(eqx.Module):
    """RS overlap $q = W^a\\cdot W^b/N$ between two solutions and its conjugate $\\hat q$."""

    q: Float[Array, ""] = eqx.field(converter=f64)
    q_hat: Float[Array, ""] = eqx.field(converter=f64)


class TSOrderParams(eqx.Module):
    """RS overlaps of teacher-student: $q$ between students, $R = W\\cdot W_T/N$ with the
    teacher, and their conjugates."""

    q: Float[Array, ""] = eqx.field(converter=f64)
    R: Float[Array, ""] = eqx.field(converter=f64)
    q_hat: Float[Array, ""] = eqx.field(converter=f64)
    R_hat: Float[Array, ""] = eqx.field(converter=f64)


# ---------------------------------------------------------------- free entropies

def free_entropy_storage(op: RSOrderParams, problem: BinaryStorage) -> Float[Array, ""]:
    """RS free entropy of binary storage with margin kappa (Gardner-Derrida; Krauth-Mezard):
    $\\phi = -\\hat q(1-q)/2 + E_z\\ln2\\cosh(\\sqrt{\\hat q}z)
    + \\alpha E_z \\ln H((\\kappa-\\sqrt q z)/\\sqrt{1-q})$."""
    entropic = -op.q_hat * (1 - op.q) / 2 + gauss_mean(
        lambda z: log_2cosh(jnp.sqrt(op.q_hat) * z))
    energetic = gauss_mean(
        lambda z: log_H((problem.kappa - jnp.sqrt(op.q) * z) / jnp.sqrt(1 - op.q)))
    return entropic + problem.alpha * energetic


def free_entropy_teacher_student(op: TSOrderParams,
                                 problem: TeacherStudent) -> Float[Array, ""]:
    """RS free entropy of a binary student of a binary teacher (gauged to $W_T = +1$):
    $\\phi = -\\hat q(1-q)/2 - \\hat R R + E_z\\ln2\\cosh(\\sqrt{\\hat q}z + \\hat R)
    + 2\\alpha E_z H(-Rz/\\sqrt{q-R^2})\\ln H((\\kappa-\\sqrt q z)/\\sqrt{1-q})$."""
    entropic = -op.q_hat * (1 - op.q) / 2 - op.R_hat * op.R + gauss_mean(
        lambda z: log_2cosh(jnp.sqrt(op.q_hat) * z + op.R_hat))

    def energetic(z):
        teacher_agrees = H(-op.R * z / jnp.sqrt(op.q - op.R**2))
        return 2 * teacher_agrees * log_H(
            (problem.kappa - jnp.sqrt(op.q) * z) / jnp.sqrt(1 - op.q))

    return entropic + problem.alpha * gauss_mean(energetic)


def free_entropy_bayes(op: RSOrderParams, problem: TeacherStudent) -> Float[Array, ""]:
    """Teacher-student free entropy on the Nishimori line $R = q$, $\\hat R = \\hat q$
    (Bayes-optimal / Gibbs learning at kappa = 0, Gyorgyi 1990)."""
    kappa = checked(problem.kappa, lambda: problem.kappa != 0,
                    "free_entropy_bayes: the Nishimori line needs kappa = 0")
    nishimori = TSOrderParams(op.q, op.q, op.q_hat, op.q_hat)
    return free_entropy_teacher_student(nishimori, TeacherStudent(problem.alpha, kappa))


# ------------------------------------------------------------------------- models
# Each conjugate pair enters phi through a bilinear term M x x_hat, so grad phi = 0 reads
# x = x - (dphi/dx_hat)/M, x_hat = x_hat - (dphi/dx)/M: the classic RS iteration, derived
# from the same free entropy by autodiff, used only to warm up a cold start.

RS_BOUNDS = (RSOrderParams(_EPS, _EPS), RSOrderParams(1 - _EPS, jnp.inf))
TS_BOUNDS = (TSOrderParams(_EPS, -1 + _EPS, _EPS, -jnp.inf),
             TSOrderParams(1 - _EPS, 1 - _EPS, jnp.inf, jnp.inf))
COLD_START_RS = RSOrderParams(0.01, 0.01)
COLD_START_TS = TSOrderParams(0.01, 0.01, 0.01, 0.01)


class OverlapModel(ReplicaModel):
    """A model in one overlap q and its conjugate (``RSOrderParams``): cold start
    ``COLD_START_RS``, box ``RS_BOUNDS``, and the RS iteration of a free entropy that holds
    the pair through a bilinear term $M q\\hat q$ ($M$ = ``bilinear_weight``, 1/2 unless a
    model says otherwise)."""

    def cold_start(self) -> RSOrderParams:
        return COLD_START_RS

    def bounds(self):
        return RS_BOUNDS

    def bilinear_weight(self) -> ArrayLike:
        return 0.5

    def fixed_point(self, op: RSOrderParams) -> RSOrderParams:
        g = jax.grad(self.free_entropy)(op)
        M = self.bilinear_weight()
        return RSOrderParams(op.q - g.q_hat / M, op.q_hat - g.q / M)


class StorageRS(OverlapModel):
    """RS binary storage (``free_entropy_storage``) as a model of the engine."""

    problem: BinaryStorage

    def free_entropy(self, op: RSOrderParams) -> Float[Array, ""]:
        return free_entropy_storage(op, self.problem)


class BayesRS(OverlapModel):
    """Teacher-student on the Nishimori line (``free_entropy_bayes``) as a model."""

    problem: TeacherStudent

    def free_entropy(self, op: RSOrderParams) -> Float[Array, ""]:
        return free_entropy_bayes(op, self.problem)

    def bilinear_weight(self) -> ArrayLike:
        return -0.5  # the Nishimori line's pair enters as -q q_hat / 2


class TeacherStudentRS(ReplicaModel):
    """RS teacher-student with margin kappa (``free_entropy_teacher_student``) as a model."""

    problem: TeacherStudent

    def free_entropy(self, op: TSOrderParams) -> Float[Array, ""]:
        return free_entropy_teacher_student(op, self.problem)

    def cold_start(self) -> TSOrderParams:
        return COLD_START_TS

    def bounds(self):
        return TS_BOUNDS

    def fixed_point(self, op: TSOrderParams) -> TSOrderParams:
        g = jax.grad(free_entropy_teacher_student)(op, self.problem)
        return TSOrderParams(op.q - 2 * g.q_hat, op.R + g.R_hat,
                             op.q_hat - 2 * g.q, op.R_hat + g.R)


def saddle_storage(problem: BinaryStorage, init: RSOrderParams = COLD_START_RS, *,
                   max_fp_steps: int = 40) -> SaddleSolution:
    """RS saddle point of binary storage: damped RS iteration from ``init``, then Newton.

    Jit- and vmap-able; never throws (check ``converged``, or use :func:`solve_storage`)."""
    return saddle(StorageRS(problem), init, warm_up_steps=max_fp_steps)


def saddle_bayes(problem: TeacherStudent, init: RSOrderParams = COLD_START_RS, *,
                 max_fp_steps: int = 40) -> SaddleSolution:
    """Saddle point on the Nishimori line (kappa = 0). From the cold start the iteration
    follows the poorly generalizing branch, which exists up to the spinodal."""
    return saddle(BayesRS(problem), init, warm_up_steps=max_fp_steps)


def saddle_teacher_student(problem: TeacherStudent, init: TSOrderParams = COLD_START_TS,
                           *, max_fp_steps: int = 40) -> SaddleSolution:
    """RS saddle point of teacher-student with margin kappa, in all four order parameters."""
    return saddle(TeacherStudentRS(problem), init, warm_up_steps=max_fp_steps)


# ----------------------------------------------------------------- public solvers

_saddle_storage_grid = eqx.filter_jit(jax.vmap(saddle_storage))
_saddle_ts_grid = eqx.filter_jit(jax.vmap(saddle_teacher_student))


def _grid(alpha: ArrayLike, kappa: ArrayLike) -> tuple[Array, Array]:
    alpha, kappa = jnp.broadcast_arrays(f64(alpha), f64(kappa))
    return jnp.atleast_1d(alpha), jnp.atleast_1d(kappa)


def solve_storage(alpha: ArrayLike, kappa: ArrayLike = 0.0, *,
                  throw: bool = True) -> SaddleSolution:
    """RS saddle points of binary storage on a grid (one jitted vmapped call).

    ``alpha``, ``kappa`` broadcast; outputs have a leading grid axis. With ``throw``,
    raises ``SaddlePointError`` naming every point where Newton did not reach
    |grad phi| < 1e-10; without, the ``status`` of each point says it."""
    require_x64("solve_storage")
    alpha, kappa = _grid(alpha, kappa)
    sol = _saddle_storage_grid(BinaryStorage(alpha, kappa))
    return check(sol, "solve_storage", throw=throw, alpha=alpha, kappa=kappa)


def solve_teacher_student(alpha: ArrayLike, kappa: ArrayLike = 0.0, *,
                          throw: bool = True) -> SaddleSolution:
    """RS saddle points of teacher-student (poorly generalizing branch from the cold
    start; four order parameters), on a grid; ``throw`` as in ``solve_storage``."""
    require_x64("solve_teacher_student")
    alpha, kappa = _grid(alpha, kappa)
    sol = _saddle_ts_grid(TeacherStudent(alpha, kappa))
    return check(sol, "solve_teacher_student (poorly generalizing branch; at kappa = 0 it "
                 "ends at the spinodal, alpha ~ 1.493)", throw=throw, alpha=alpha, kappa=kappa)


def follow_teacher_student(alpha: ArrayLike, kappa: float = 0.0, *,
                           init: TSOrderParams | None = None) -> SaddleSolution:
    """Continuation of one teacher-student branch along an increasing (or decreasing)
    ``alpha`` grid (the engine's ``follow``); ``init`` defaults to the cold-start saddle at
    ``alpha[0]``. Past the branch's end ``converged`` is False (no raise)."""
    require_x64("follow_teacher_student")
    alpha = jnp.atleast_1d(f64(alpha))
    problems = TeacherStudent(alpha, jnp.full_like(alpha, kappa))
    if init is None:
        init = saddle_teacher_student(TeacherStudent(alpha[0], kappa)).order_params
    return _follow_ts(problems, init)


@eqx.filter_jit
def _follow_ts(problems, init):
    return follow(TeacherStudentRS(problems), init)[0]


PERFECT_GENERALIZATION = TSOrderParams(1.0, 1.0, jnp.inf, jnp.inf)
"""The q = R = 1 state of a binary student at kappa = 0: the teacher's own configuration,
entropy 0 and generalization error 0 (an isolated point of binary weight space, not a
stationary point in the interior; Gyorgyi 1990, Sompolinsky-Tishby-Seung 1990)."""


# ------------------------------------------------------ observables of a saddle point

def stability_density(op: RSOrderParams | TSOrderParams, problem, delta: Float[Array, " n"]
                      ) -> Float[Array, " n"]:
    """RS density of the stabilities $\\Delta$ of a typical solution:
    $p(\\Delta) = \\theta(\\Delta-\\kappa)\\int Dz\\, w(z)\\,
    G((\\Delta-\\sqrt q z)/\\sqrt{1-q}) / (\\sqrt{1-q}\\,H((\\kappa-\\sqrt q z)/\\sqrt{1-q}))$
    with $w = 1$ (storage) or $w = 2H(-Rz/\\sqrt{q-R^2})$ (teacher-student)."""
    q, kappa = op.q, problem.kappa
    s = jnp.sqrt(1 - q)

    def weight(z):
        if isinstance(op, TSOrderParams):
            return 2 * H(-op.R * z / jnp.sqrt(q - op.R**2))
        return jnp.ones_like(z)

    def at_z(z):
        log_g = -0.5 * ((delta - jnp.sqrt(q) * z) / s) ** 2 - 0.5 * jnp.log(2 * jnp.pi)
        return weight(z) * jnp.exp(log_g - log_H((kappa - jnp.sqrt(q) * z) / s)) / s

    return jnp.where(delta >= kappa, gauss_mean(at_z), 0.0)


def stability_quadrature(op, problem, *, n: int = 4001, width: float = 12.0
                         ) -> tuple[Float[Array, " n"], Float[Array, " n"]]:
    """Points $\\Delta_i$ on $[\\kappa, \\kappa + $ width$]$ and probability weights
    $p(\\Delta_i)\\,\\delta\\Delta_i$ (trapezoid) of the RS stability density, ready for
    ``atypical.observables.local_energy(points, d, weights)``."""
    delta = problem.kappa + jnp.linspace(0.0, width, n, dtype=jnp.float64)
    trapezoid = jnp.full(n, width / (n - 1)).at[jnp.array([0, -1])].mul(0.5)
    return delta, stability_density(op, problem, delta) * trapezoid


def replicon(op: RSOrderParams | TSOrderParams, problem) -> Float[Array, ""]:
    """Replicon eigenvalue of the RS saddle (de Almeida-Thouless; Gardner-Derrida 1988):
    $\\lambda_R = 1 - \\alpha\\, E_z[w(z) L''(\\sqrt q z)^2]\\; E_z[(1 - m(z)^2)^2]$ with
    $L(h) = \\ln H((\\kappa - h)/\\sqrt{1-q})$, $m = \\tanh(\\sqrt{\\hat q} z + \\hat R)$ and the
    weight w of ``stability_density``; RS is locally stable where $\\lambda_R > 0$."""
    q, kappa = op.q, problem.kappa
    curvature = jax.grad(jax.grad(lambda h: log_H((kappa - h) / jnp.sqrt(1 - q))))
    is_ts = isinstance(op, TSOrderParams)
    field = op.R_hat if is_ts else 0.0

    def energetic(z):
        weight = 2 * H(-op.R * z / jnp.sqrt(q - op.R**2)) if is_ts else 1.0
        return weight * curvature(jnp.sqrt(q) * z) ** 2

    entropic = gauss_mean(lambda z: (1 - jnp.tanh(jnp.sqrt(op.q_hat) * z + field) ** 2) ** 2)
    return 1 - problem.alpha * gauss_mean(energetic) * entropic


def gen_error(op: TSOrderParams) -> Array:
    """Generalization error of a typical student, $\\arccos(R)/\\pi$."""
    return gen_error_from_overlap(op.R)
