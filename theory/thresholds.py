"""Thresholds as roots of augmented saddle-point systems, differentiable in the problem.

Each threshold solves ``grad phi = 0`` jointly with one more condition in the unknowns
(order parameters, alpha): ``phi = 0`` (entropy crisis: capacity, Gyorgyi's first-order
transition) or ``det Hess phi = 0`` (spinodal: the branch folds). A coarse vmapped sweep
brackets the threshold; Newton on the augmented system polishes it; implicit
differentiation gives d(threshold)/d(parameter).
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.flatten_util
from jaxtyping import Array, ArrayLike, Float

from atypical import BinaryStorage, TeacherStudent, f64, require_x64

from .binary_perceptron import (_RS_BOUNDS, RSOrderParams, free_entropy_bayes,
                                free_entropy_storage, replicon, saddle_bayes, saddle_storage)
from .solve import continue_branch, newton_root, raise_unconverged


class Threshold(eqx.Module):
    """A threshold alpha with the order parameters there and the Newton diagnostics."""

    alpha: Float[Array, ""]
    order_params: RSOrderParams
    residual: Float[Array, ""]
    newton_steps: Array
    converged: Array


def _augmented(free_entropy, condition):
    """Equations (grad phi, condition) in the unknowns (order params, ln alpha), with the
    other parameters taken from the problem passed as ``args``; the log keeps alpha > 0.
    Trial alphas replace the field directly: a wild Newton iterate is a failed solve
    (reported with its residual), not an input error."""

    def equations(x, base_problem):
        op, log_alpha = x
        problem = eqx.tree_at(lambda p: p.alpha, base_problem, jnp.exp(log_alpha))
        return jax.grad(free_entropy)(op, problem), condition(free_entropy, op, problem)

    return equations


def _entropy(free_entropy, op, problem):
    return free_entropy(op, problem)


def _replicon(free_entropy, op, problem):
    return replicon(op, problem)


def _hessian_det(free_entropy, op, problem):
    flat, unravel = jax.flatten_util.ravel_pytree(op)
    return jnp.linalg.det(jax.hessian(lambda v: free_entropy(unravel(v), problem))(flat))


def _last_before(mask: Array, alphas: Array, ops):
    """Grid point just before the first False of ``mask`` (the bracket's lower end)."""
    i = jnp.maximum(jnp.argmin(jnp.append(mask, False)) - 1, 0)
    return jax.tree.map(lambda x: x[i], ops), jnp.log(alphas[i])


def _solve_threshold(equations, init, param) -> Threshold:
    (op, log_alpha), residual, steps, converged = newton_root(equations, init, param)
    return Threshold(jnp.exp(log_alpha), op, residual, steps, converged)


def _check(result: Threshold, where: str, **coords) -> Threshold:
    raise_unconverged(where, result.converged, result.residual, result.newton_steps, **coords)
    return result


def _branch_sweep(free_entropy, saddle, problems):
    """Cold start at the first (small) alpha, then continuation along the grid; the mask
    marks the stretch connected to small alpha."""
    first = saddle(jax.tree.map(lambda x: x[0], problems)).order_params
    sweep = continue_branch(free_entropy, problems, first, bounds=_RS_BOUNDS)
    return sweep, jnp.cumprod(sweep.converged).astype(bool)


_CAPACITY_GRID = jnp.geomspace(1e-3, 30.0, 400)


@eqx.filter_jit
def _storage_threshold(kappa: Array, condition) -> Threshold:
    """Root in alpha of ``condition`` (positive at small alpha) along the storage branch."""
    problems = BinaryStorage(_CAPACITY_GRID, jnp.full_like(_CAPACITY_GRID, kappa))
    sweep, branch = _branch_sweep(free_entropy_storage, saddle_storage, problems)
    positive = jax.vmap(lambda op, p: condition(free_entropy_storage, op, p))(
        sweep.order_params, problems) > 0
    start = _last_before(branch & positive, _CAPACITY_GRID, sweep.order_params)
    return _solve_threshold(_augmented(free_entropy_storage, condition), start,
                            BinaryStorage(1.0, kappa))


def _checked_storage_threshold(kappa: ArrayLike, condition, where: str) -> Threshold:
    require_x64(where)
    kappa = f64(kappa)
    kappa = eqx.error_if(kappa, ~jnp.isfinite(kappa) | (kappa < -2) | (kappa > 2),
                         f"{where}(kappa=...): kappa must lie in [-2, 2] (the RS branch is "
                         "tracked there)")
    if kappa.ndim:  # a grid of margins: one vmapped program
        result = jax.vmap(lambda k: _storage_threshold(k, condition))(kappa)
    else:
        result = _storage_threshold(kappa, condition)
    if isinstance(kappa, jax.core.Tracer):
        return result
    return _check(result, where, kappa=kappa)


def storage_capacity(kappa: ArrayLike = 0.0) -> Threshold:
    """RS capacity $\\alpha_c(\\kappa)$ of the binary perceptron: the alpha where the RS
    entropy of margin-kappa solutions vanishes (Krauth-Mezard 1989: 0.833 at kappa = 0).
    ``kappa`` a scalar or an array of margins (solved in one vmapped call).

    Differentiable in kappa (``jax.grad(lambda k: storage_capacity(k).alpha)``)."""
    return _checked_storage_threshold(kappa, _entropy, "storage_capacity")


def storage_rs_instability(kappa: ArrayLike = 0.0) -> Threshold:
    """The alpha where the RS saddle of binary storage turns locally unstable (replicon
    = 0, de Almeida-Thouless line; Gardner-Derrida 1988: 1.015 at kappa = 0, above the
    capacity, so the RS capacity is not undermined by this instability)."""
    return _checked_storage_threshold(kappa, _replicon, "storage_rs_instability")


_TS_GRID = jnp.linspace(0.5, 1.7, 49)


@eqx.filter_jit
def _ts_transitions() -> tuple[Threshold, Threshold]:
    problems = TeacherStudent(_TS_GRID, jnp.zeros_like(_TS_GRID))
    # the poorly generalizing branch, followed from small alpha until it ends
    sweep, poor = _branch_sweep(free_entropy_bayes, saddle_bayes, problems)
    first = _solve_threshold(
        _augmented(free_entropy_bayes, _entropy),
        _last_before(poor & (sweep.free_entropy > 0), _TS_GRID, sweep.order_params),
        TeacherStudent(1.0, 0.0))
    spinodal = _solve_threshold(
        _augmented(free_entropy_bayes, _hessian_det),
        _last_before(poor, _TS_GRID, sweep.order_params), TeacherStudent(1.0, 0.0))
    return first, spinodal


def teacher_student_transitions() -> tuple[Threshold, Threshold]:
    """Bayes-optimal binary teacher-student (kappa = 0): the first-order transition to
    perfect generalization, where the entropy of the poorly generalizing branch vanishes
    (Gyorgyi 1990: 1.245), and the spinodal where that branch ends (about 1.493)."""
    require_x64("teacher_student_transitions")
    first, spinodal = _ts_transitions()
    _check(first, "teacher_student_transitions (first order)", alpha=first.alpha)
    _check(spinodal, "teacher_student_transitions (spinodal)", alpha=spinodal.alpha)
    return first, spinodal
