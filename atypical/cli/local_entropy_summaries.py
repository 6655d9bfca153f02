"""Plain-dict summaries of margin and local-entropy results (what the CLI prints)."""

import jax
import jax.numpy as jnp
import numpy as np

from theory.local_entropy.committee_franz_parisi import committee_query
from theory.local_entropy.franz_parisi import (FranzParisiStorage, franz_parisi_curve,
                                              monotonicity_threshold)
from theory.local_entropy.franz_parisi_teacher import FranzParisiTeacherStudent
from theory.models.margins import kappa_max

from ._common import problem_class

QUERIES = {"storage": FranzParisiStorage, "teacher-student": FranzParisiTeacherStudent}


def kappa_max_summary(task: str, alpha: float) -> dict:
    """kappa_max(alpha), the RS order parameters there and d kappa_max / d alpha."""
    problem = problem_class(task)
    result = kappa_max(alpha, problem=problem)
    slope = jax.grad(lambda a: kappa_max(a, problem=problem).kappa)(jnp.float64(alpha))
    out = {"kappa_max": float(result.kappa), "alpha": float(alpha), "task": task,
           "dkappa_max_dalpha": float(slope)}
    out.update({k: float(v) for k, v in vars(result.order_params).items()})
    out.update(residual=float(result.residual), converged=bool(result.converged))
    return out


def local_entropy_summary(alpha: float, kappa_ref: float, kappa: float, d: list[float],
                          task: str = "storage", k: int = 1) -> dict:
    """S(d) with the bound, slope, order parameters and the reference sector (lists
    over d, in the order given); teacher-student adds the teacher overlaps and the
    generalization errors of the counted solutions and of the reference; k > 1: the tree
    committee of k hidden units (storage), overlaps per block."""
    query = QUERIES[task] if k == 1 else committee_query(k)
    curve = franz_parisi_curve(alpha, kappa_ref, kappa, np.asarray(d), query=query)
    as_list = lambda x: np.asarray(x).reshape(-1).tolist()
    first = lambda x: float(np.asarray(x).reshape(-1)[0])
    op = curve.order_params
    out = {"local_entropy": as_list(curve.local_entropy), "d": list(d),
           "upper_bound": as_list(curve.upper_bound), "slope": as_list(curve.slope),
           "q": as_list(op.q), "t": as_list(op.t), "qhat": as_list(op.q_hat),
           "that": as_list(op.t_hat), "phat": as_list(op.p_hat),
           "converged": [bool(c) for c in as_list(curve.converged)],
           "residual": as_list(curve.residual), "alpha": alpha, "kappa_ref": kappa_ref,
           "kappa": kappa, "task": task, "k": k, "q_ref": first(curve.reference.q),
           "reference_entropy": first(curve.reference_entropy)}
    if task == "teacher-student":
        out.update(R=as_list(op.R), Rhat=as_list(op.R_hat), gen_error=as_list(curve.gen_error),
                   R_ref=first(curve.reference.R),
                   reference_gen_error=first(curve.reference_gen_error))
    return out


def monotonicity_summary(kappa: float, task: str = "storage") -> dict:
    """alpha where S(d) around kappa_max references stops being monotone, with where."""
    result = monotonicity_threshold(kappa, query=QUERIES[task])
    return {"alpha": float(result.alpha), "kappa": kappa, "task": task,
            "kappa_ref": float(result.kappa_ref), "d": float(result.d),
            "local_entropy": float(result.local_entropy),
            "residual": float(result.residual), "converged": bool(result.converged)}
