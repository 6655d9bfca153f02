"""The results contract of the engine: a status enumeration, one solution type, one
threshold type, and the host-side error that lists every point that did not converge."""

from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float, Int, PyTree

from atypical import SaddlePointError, checked

RESIDUAL_TOL = 1e-10
"""A point is a saddle point when $\\|\\nabla\\phi\\|_\\infty$ is below this (README)."""


_REASONS = {
    "not_converged": "Newton did not reach |grad phi| < 1e-10 (step limit or no descent)",
    "nonfinite": "the free entropy or its gradient is not finite there",
    "branch_lost": "the continuation lost the branch before this point",
    "unresolved": "the quadrature does not resolve the integrand there",
    "not_bracketed": "the root lies outside the bracket of the sweep (another branch)",
}


class Status(eqx.Enumeration):
    """Why a solve ended, in the style of ``optimistix.RESULTS`` (jit/vmap-able):
    ``converged`` or the reason of the failure."""

    converged = ""
    not_converged = _REASONS["not_converged"]
    nonfinite = _REASONS["nonfinite"]
    branch_lost = _REASONS["branch_lost"]
    unresolved = _REASONS["unresolved"]
    not_bracketed = _REASONS["not_bracketed"]


def select(pred: Bool[Array, "..."], a: Status, b: Status) -> Status:
    """Elementwise ``a`` where ``pred``, else ``b`` (``Status.where`` takes one scalar)."""
    code_b = jax.tree.leaves(b)[0]
    return jax.tree.map(lambda code_a: jnp.where(pred, code_a, code_b), a)


def status_from(converged: Bool[Array, "..."], residual: Float[Array, "..."]) -> Status:
    """``Status.converged`` where ``converged``, else ``nonfinite`` or ``not_converged``
    according to the residual."""
    failed = select(jnp.isfinite(residual), Status.not_converged, Status.nonfinite)
    return select(~converged, failed, Status.converged)


def demote(status: Status, keep: Bool[Array, "..."], reason: Status) -> Status:
    """``status`` where ``keep``; elsewhere ``reason`` unless the point had already failed."""
    return select(keep | (status != Status.converged), status, reason)


class Solved(eqx.Module):
    """A result with a ``status``; ``converged`` is where it is ``Status.converged``."""

    status: eqx.AbstractVar[Status]

    @property
    def converged(self) -> Bool[Array, "..."]:
        return self.status == Status.converged


def blank_unconverged(result: Solved, fields: Callable[[Solved], PyTree]) -> Solved:
    """``result`` with the arrays ``fields(result)`` (a selector, as in ``eqx.tree_at``) set
    to NaN wherever ``result.converged`` is False (broadcast against each array)."""
    blank = lambda x: jnp.where(result.converged, x, jnp.nan)
    return eqx.tree_at(fields, result, jax.tree.map(blank, fields(result)))


class SaddleSolution(Solved):
    """A stationary point of a free entropy: its order parameters, value, residual
    $\\|\\nabla\\phi\\|_\\infty$, Newton steps and status, with the problem it solves (its
    coordinates: ``sol.problem.alpha``, ...)."""

    problem: PyTree
    order_params: PyTree
    free_entropy: Float[Array, "*batch"]
    residual: Float[Array, "*batch"]
    newton_steps: Int[Array, "*batch"]
    status: Status


class Threshold(Solved):
    """A threshold value of a control parameter (``alpha``: a root of an augmented saddle
    system), the order parameters there and the Newton diagnostics."""

    alpha: Float[Array, "*batch"]
    order_params: PyTree
    residual: Float[Array, "*batch"]
    newton_steps: Int[Array, "*batch"]
    status: Status


def residual_norm(tree: PyTree) -> Array:
    """Max-norm of a pytree (a gradient: the distance from stationarity)."""
    return jnp.max(jnp.stack([jnp.max(jnp.abs(x)) for x in jax.tree.leaves(tree)]))


_FAILURES = ("not_converged", "nonfinite", "branch_lost", "unresolved", "not_bracketed")


def _status_text(status: Status) -> np.ndarray:
    """The reason of each point's status, as host strings ('' where converged)."""
    first = np.asarray(status == Status.converged)
    text = np.full(first.shape, "", dtype=object)
    for name in _FAILURES:
        item = getattr(Status, name)
        text[np.asarray(status == item)] = _REASONS[name]
    return text


def raise_unconverged(where: str, converged, residual, steps, *, status=None,
                      **coords) -> None:
    """Raise ``SaddlePointError`` listing every point that did not converge (call outside
    jit). ``converged``, ``residual``, ``steps``, ``status`` and the ``coords`` broadcast to
    one shape (any number of axes)."""
    shape = np.broadcast_shapes(np.shape(converged), *(np.shape(v) for v in coords.values()))
    converged = np.broadcast_to(np.asarray(converged), shape).ravel()
    if converged.all():
        return
    flat = lambda v: np.broadcast_to(np.asarray(v), shape).ravel()
    residual, steps = flat(residual), flat(steps)
    reasons = None if status is None else np.broadcast_to(_status_text(status), shape).ravel()
    coords = {k: flat(v) for k, v in coords.items()}
    bad = np.flatnonzero(~converged)
    lines = []
    for i in bad[:10]:
        where_i = ", ".join(f"{k}={float(coords[k][i]):.6g}" for k in coords)
        line = f"{where_i}: |grad phi|={float(residual[i]):.3g} after {int(steps[i])} Newton steps"
        if reasons is not None and reasons[i]:
            line += f" ({reasons[i]})"
        lines.append(line)
    more = f"\n  ... and {len(bad) - 10} more" if len(bad) > 10 else ""
    raise SaddlePointError(f"{where}: no saddle point at {len(bad)} of {converged.size} "
                           "points:\n  " + "\n  ".join(lines) + more)


def check(result: Solved, where: str, *, throw: bool = True, **coords) -> Solved:
    """``result`` itself; with ``throw``, first ``raise_unconverged`` on its points that did
    not converge (``result`` carries ``residual`` and ``newton_steps``; ``coords`` name the
    points in the message)."""
    if throw:
        raise_unconverged(where, result.converged, result.residual, result.newton_steps,
                          status=result.status, **coords)
    return result


def checked_grid(solve: Callable[[Array], Solved], value, name: str, bounds: tuple,
                 where: str, *, throw: bool = True, note: str = "") -> Solved:
    """``solve(value)`` for a scalar ``value`` of the parameter ``name`` or for each entry
    of an array (one vmapped call), after a ``checked`` check that it lies in ``bounds``
    (message ``f"{where}({name}=...): {name} must lie in [lo, hi]{note}"``); under a trace
    the result as it is, on the host ``check``-ed (``throw``), its points named by
    ``value``."""
    lo, hi = bounds
    value = checked(value, lambda: ~(value >= lo) | ~(value <= hi),
                    f"{where}({name}=...): {name} must lie in [{lo}, {hi}]{note}")
    result = jax.vmap(solve)(value) if value.ndim else solve(value)
    if isinstance(value, jax.core.Tracer):
        return result
    return check(result, where, throw=throw, **{name: value})
