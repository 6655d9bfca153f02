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


_CAPACITY_GRID = jnp.geomspace(1e-3, 100.0, 440)  # steps of 2.7 % in alpha


_N_REFINE = 16  # steps of the finer second sweep between the bracketing grid points


def _last_positive(branch: Array, positive: Array) -> tuple[Array, Array]:
    """Index of the last point of the branch with the condition positive (-1 if none) and
    whether a point after it is still on the branch."""
    i = jnp.argmin(jnp.append(branch & positive, False)) - 1
    n = branch.shape[0]
    return i, (i + 1 < n) & branch[jnp.minimum(i + 1, n - 1)]


def threshold_on_branch(free_entropy, saddle, condition, problems, base_problem) -> Threshold:
    """Root in alpha of ``condition`` (positive at small alpha) along the branch followed
    over the grid ``problems.alpha`` from its first point. The last bracket, from the last
    grid point of the branch with the condition positive to the next, is swept again in
    finer steps (the coarse steps lose the branch next to the root at large margins);
    Newton on (grad phi, condition) starts at the last fine point with the condition
    positive. The root counts as converged only if it lies ahead of that point, and before
    the next fine point when that one is on the branch: a root behind the start belongs to
    another branch (storage instability, kappa = 1)."""
    sweep, branch = _branch_sweep(free_entropy, saddle, problems)
    sign = lambda sol, prs: jax.vmap(lambda op, p: condition(free_entropy, op, p))(
        sol.order_params, prs) > 0
    i, _ = _last_positive(branch, sign(sweep, problems))
    grid = problems.alpha
    fine = jnp.linspace(grid[jnp.maximum(i, 0)], grid[jnp.minimum(i + 1, grid.shape[0] - 1)],
                        _N_REFINE + 1)
    fine_problems = jax.tree.map(lambda x: jnp.full(fine.shape, x[0]), problems)
    fine_problems = eqx.tree_at(lambda p: p.alpha, fine_problems, fine)
    refined = continue_branch(free_entropy, fine_problems,
                              jax.tree.map(lambda x: x[jnp.maximum(i, 0)], sweep.order_params),
                              bounds=_RS_BOUNDS)
    fine_branch = jnp.cumprod(refined.converged).astype(bool)
    j, next_on_branch = _last_positive(fine_branch, sign(refined, fine_problems))
    j = jnp.maximum(j, 0)
    start = (jax.tree.map(lambda x: x[j], refined.order_params), jnp.log(fine[j]))
    result = _solve_threshold(_augmented(free_entropy, condition), start, base_problem)
    next_alpha = fine[jnp.minimum(j + 1, _N_REFINE)]
    bracketed = ((i >= 0) & (result.alpha >= fine[j])
                 & (~next_on_branch | (result.alpha <= next_alpha)))
    return eqx.tree_at(lambda r: r.converged, result, result.converged & bracketed)


@eqx.filter_jit
def _storage_threshold(kappa: Array, condition) -> Threshold:
    """Root in alpha of ``condition`` (positive at small alpha) along the storage branch."""
    problems = BinaryStorage(_CAPACITY_GRID, jnp.full_like(_CAPACITY_GRID, kappa))
    return threshold_on_branch(free_entropy_storage, saddle_storage, condition, problems,
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
    capacity, so the RS capacity is not undermined by this instability). Solved on a 0.1
    grid of kappa in [-2, 0.9] (alpha_AT / alpha_c from 1.84 at kappa = -2 to 1.14 at 0.9);
    above 0.9 the continuation beyond the capacity mostly loses the RS branch while the
    replicon is still positive (kappa = 1: at alpha = 0.302, replicon 0.15) and this raises
    ``SaddlePointError`` (converged there: 1.4, 1.6)."""
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
