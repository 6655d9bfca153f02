"""Plain-dict summaries of theory results (what the CLI prints and the figures cache)."""

from functools import lru_cache

import jax
import jax.numpy as jnp
import numpy as np

from theory.models.committee import (
    committee_capacity,
    committee_kappa_max,
    solve_committee,
)
from theory.models.perceptron import (
    PERFECT_GENERALIZATION,
    gen_error,
    replicon,
    solve_storage,
    solve_teacher_student,
)
from theory.models.thresholds import storage_capacity, teacher_student_transitions

_replicon_grid = jax.jit(jax.vmap(replicon))


def _rs_rows(sol, **columns) -> list[dict]:
    """``_rows`` with the replicon of every point (one vmapped call) after qhat."""
    return _rows(sol, replicon=_replicon_grid(sol.order_params, sol.problem), **columns)


def _rows(sol, **columns) -> list[dict]:
    """One dict per grid point of ``sol``: entropy, q, qhat, the ``columns`` (arrays over the
    grid, or scalars repeated), converged, residual and Newton steps; every array moves to
    the host once."""
    host = lambda x: np.asarray(x).tolist()
    table = {"entropy": host(sol.free_entropy), "q": host(sol.order_params.q),
             "qhat": host(sol.order_params.q_hat)}
    n = len(table["entropy"])
    table.update({k: host(v) if np.ndim(v) else [v] * n for k, v in columns.items()})
    table.update(converged=host(sol.converged), residual=host(sol.residual),
                 newton_steps=host(sol.newton_steps))
    return [dict(zip(table, values)) for values in zip(*table.values())]


def rs_summary(task: str, alpha: np.ndarray, kappa: float = 0.0,
               branch: str = "equilibrium") -> list[dict]:
    """One dict per alpha: entropy, q, qhat, the replicon (RS locally stable where > 0),
    converged, residual (teacher-student adds R, Rhat, gen_error and the branch label)."""
    if task == "storage":
        sol = solve_storage(alpha, kappa)
        return _rs_rows(sol, alpha=np.asarray(alpha, dtype=float), kappa=kappa)
    if branch not in ("equilibrium", "poor", "good"):
        raise ValueError(f"rs_summary(branch={branch!r}): must be equilibrium, poor or good")
    if branch != "poor" and kappa != 0:
        raise ValueError(f"rs_summary(kappa={kappa}, branch={branch!r}): the perfectly "
                         "generalizing branch q = R = 1 exists only at kappa = 0; use "
                         "--branch poor")
    alpha = np.asarray(alpha, dtype=float)
    good = np.full(alpha.shape, branch == "good")
    if branch == "equilibrium":
        good = alpha >= _alpha_first_order()
    rows = [_perfect_row(a) for a in alpha]
    if not good.all():
        poor_alpha = alpha[~good]
        sol = solve_teacher_student(poor_alpha, kappa)
        op = sol.order_params
        poor_rows = iter(_rs_rows(sol, alpha=poor_alpha, kappa=kappa, R=op.R, Rhat=op.R_hat,
                                  gen_error=gen_error(op), branch="poor"))
        rows = [row if g else next(poor_rows) for row, g in zip(rows, good)]
    return rows


@lru_cache(maxsize=1)
def _alpha_first_order() -> float:
    return float(teacher_student_transitions()[0].alpha)


def _perfect_row(alpha: float) -> dict:
    op = PERFECT_GENERALIZATION
    return {"entropy": 0.0, "q": float(op.q), "qhat": float(op.q_hat), "replicon": None,
            "alpha": float(alpha),
            "kappa": 0.0, "R": float(op.R), "Rhat": float(op.R_hat),
            "gen_error": float(gen_error(op)), "branch": "good", "converged": True,
            "residual": 0.0, "newton_steps": 0}


def capacity_summary(kappa: float) -> dict:
    """alpha_c(kappa), the order parameters there and d alpha_c / d kappa (implicit)."""
    result = storage_capacity(kappa)
    slope = jax.grad(lambda k: storage_capacity(k).alpha)(jnp.float64(kappa))
    return {"alpha_c": float(result.alpha), "kappa": kappa,
            "q": float(result.order_params.q), "qhat": float(result.order_params.q_hat),
            "dalpha_c_dkappa": float(slope), "residual": float(result.residual),
            "converged": bool(result.converged)}


def transitions_summary() -> dict:
    """Gyorgyi's first-order transition and the spinodal of the poor branch, with q."""
    first, spinodal = teacher_student_transitions()
    return {"alpha_first_order": float(first.alpha), "alpha_spinodal": float(spinodal.alpha),
            "q_first_order": float(first.order_params.q),
            "q_spinodal": float(spinodal.order_params.q),
            "residual": max(float(first.residual), float(spinodal.residual)),
            "converged": bool(first.converged & spinodal.converged)}


def committee_rs_summary(alpha: np.ndarray, kappa: float, K: int) -> list[dict]:
    """One dict per alpha for the tree committee with K hidden units (storage): entropy,
    q, qhat, converged, residual."""
    sol = solve_committee(alpha, kappa, K=K)
    return _rows(sol, alpha=np.asarray(alpha, dtype=float), kappa=kappa, K=K)


def committee_capacity_summary(kappa: float, K: int) -> dict:
    """alpha_c(kappa) of the tree committee, q there and d alpha_c / d kappa (implicit)."""
    result = committee_capacity(kappa, K=K)
    slope = jax.grad(lambda k: committee_capacity(k, K=K).alpha)(jnp.float64(kappa))
    return {"alpha_c": float(result.alpha), "kappa": kappa, "K": K,
            "q": float(result.order_params.q), "qhat": float(result.order_params.q_hat),
            "dalpha_c_dkappa": float(slope), "residual": float(result.residual),
            "converged": bool(result.converged)}


def committee_kappa_max_summary(alpha: float, K: int) -> dict:
    """kappa_max(alpha) of the tree committee (hidden margin), q there and its slope."""
    result = committee_kappa_max(alpha, K=K)
    slope = jax.grad(lambda a: committee_kappa_max(a, K=K).kappa)(jnp.float64(alpha))
    return {"kappa_max": float(result.kappa), "alpha": float(alpha), "task": "storage",
            "K": K, "dkappa_max_dalpha": float(slope), "q": float(result.order_params.q),
            "q_hat": float(result.order_params.q_hat), "residual": float(result.residual),
            "converged": bool(result.converged)}
