"""Thresholds as roots of augmented saddle-point systems, differentiable in the problem.

Each threshold solves ``grad phi = 0`` jointly with one more condition in the unknowns
(order parameters, alpha): ``phi = 0`` (entropy crisis: capacity, Gyorgyi's first-order
transition) or ``det Hess phi = 0`` (spinodal: the branch folds). A coarse vmapped sweep
brackets the threshold; Newton on the augmented system polishes it; implicit
differentiation gives d(threshold)/d(parameter) (the engine's ``threshold_on_branch``).
"""

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike

from atypical import BinaryStorage, TeacherStudent, f64, require_x64

from .perceptron import BayesRS, RSOrderParams, StorageRS, replicon
from ..engine import (Threshold, branch_sweep, checked_grid, entropy, hessian_determinant,
                      last_before, raise_unconverged, solve_threshold, threshold_on_branch)


CAPACITY_GRID = jnp.geomspace(1e-3, 100.0, 440)  # steps of 2.7 % in alpha


def storage_replicon(model: StorageRS, op: RSOrderParams) -> Array:
    """The condition replicon = 0 (de Almeida-Thouless line) of a storage model."""
    return replicon(op, model.problem)


@eqx.filter_jit
def storage_threshold(kappa: Array, condition) -> Threshold:
    """Root in alpha of ``condition(model, op)`` (positive at small alpha) along the
    storage branch at margin ``kappa``; jit/vmap-able, never throws (see ``status``)."""
    return threshold_on_branch(StorageRS(BinaryStorage(1.0, kappa)), CAPACITY_GRID, condition)


def _checked_storage_threshold(kappa: ArrayLike, condition, where: str,
                               throw: bool) -> Threshold:
    require_x64(where)
    return checked_grid(lambda k: storage_threshold(k, condition), f64(kappa), "kappa",
                        (-2, 2), where, throw=throw, note=" (the RS branch is tracked there)")


def storage_capacity(kappa: ArrayLike = 0.0, *, throw: bool = True) -> Threshold:
    """RS capacity $\\alpha_c(\\kappa)$ of the binary perceptron: the alpha where the RS
    entropy of margin-kappa solutions vanishes (Krauth-Mezard 1989: 0.833 at kappa = 0).
    ``kappa`` a scalar or an array of margins (solved in one vmapped call).

    Differentiable in kappa (``jax.grad(lambda k: storage_capacity(k).alpha)``); ``throw``
    as in ``solve_storage``."""
    return _checked_storage_threshold(kappa, entropy, "storage_capacity", throw)


def storage_rs_instability(kappa: ArrayLike = 0.0, *, throw: bool = True) -> Threshold:
    """The alpha where the RS saddle of binary storage turns locally unstable (replicon
    = 0, de Almeida-Thouless line; Gardner-Derrida 1988: 1.015 at kappa = 0, above the
    capacity, so the RS capacity is not undermined by this instability). Measured:
    alpha_AT / alpha_c = 1.84 at kappa = -2, 1.14 at 0.9, 1.133 at 1, 1.111 at 1.3."""
    return _checked_storage_threshold(kappa, storage_replicon, "storage_rs_instability", throw)


_TS_GRID = jnp.linspace(0.5, 1.7, 49)


@eqx.filter_jit
def _ts_transitions() -> tuple[Threshold, Threshold]:
    base = BayesRS(TeacherStudent(1.0, 0.0))
    # the poorly generalizing branch, followed from small alpha until it ends
    sweep, xs, poor = branch_sweep(base, _TS_GRID)
    first = solve_threshold(entropy, last_before(poor & (sweep.free_entropy > 0), _TS_GRID, xs),
                            base)
    spinodal = solve_threshold(hessian_determinant, last_before(poor, _TS_GRID, xs), base)
    return first, spinodal


def teacher_student_transitions() -> tuple[Threshold, Threshold]:
    """Bayes-optimal binary teacher-student (kappa = 0): the first-order transition to
    perfect generalization, where the entropy of the poorly generalizing branch vanishes
    (Gyorgyi 1990: 1.245), and the spinodal where that branch ends (about 1.493)."""
    require_x64("teacher_student_transitions")
    first, spinodal = _ts_transitions()
    for result, which in ((first, "first order"), (spinodal, "spinodal")):
        raise_unconverged(f"teacher_student_transitions ({which})", result.converged,
                          result.residual, result.newton_steps, status=result.status,
                          alpha=result.alpha)
    return first, spinodal
