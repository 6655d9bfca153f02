"""Thresholds: roots in a control parameter of a condition on a branch of saddle points.

A threshold solves $\\nabla\\phi = 0$ jointly with one more condition $c = 0$ in the
unknowns (solver coordinates, $\\ln a$) for the control parameter a (alpha unless said
otherwise): the entropy ($\\phi = 0$: capacity, first-order transition), the determinant
of the Hessian (spinodal: the branch folds) or a model's stability eigenvalue. A sweep
along the branch brackets the root, a finer sweep narrows the bracket, Newton on the
augmented system polishes it; the root is differentiable in the model's other parameters
(implicit function theorem)."""

from collections.abc import Callable

import equinox as eqx
import jax
import jax.flatten_util
import jax.numpy as jnp
from jaxtyping import Array, Float, PyTree

from .model import ReplicaModel
from .newton import solve_root
from .results import Status, Threshold, demote
from .saddle import follow, saddle, stationarity

Condition = Callable[[ReplicaModel, PyTree], Float[Array, ""]]

N_REFINE = 16  # steps of the finer second sweep between the bracketing grid points


class Control(eqx.Module):
    """The control parameter a threshold is solved for: the field ``name`` of the model's
    problem, through Newton's coordinate u = ln a (``log``, which keeps a > 0) or u = a.
    ``set(model, u)`` puts it in without input checks (a wild Newton iterate is a failed
    solve reported with its residual, not an input error)."""

    name: str = eqx.field(static=True)
    log: bool = eqx.field(static=True)

    def set(self, model: ReplicaModel, u: Array) -> ReplicaModel:
        return eqx.tree_at(lambda m: getattr(m.problem, self.name), model, self.value(u))

    def value(self, u: Array) -> Array:
        return jnp.exp(u) if self.log else u

    def coordinate(self, a: Array) -> Array:
        return jnp.log(a) if self.log else a


LOG_ALPHA = Control("alpha", log=True)
MARGIN = Control("kappa", log=False)


def entropy(model: ReplicaModel, op: PyTree) -> Float[Array, ""]:
    """The condition $\\phi = 0$ (entropy crisis)."""
    return model.free_entropy(op)


def hessian_determinant(model: ReplicaModel, op: PyTree) -> Float[Array, ""]:
    """The condition $\\det \\nabla^2\\phi = 0$ in solver coordinates (spinodal)."""
    flat, unravel = jax.flatten_util.ravel_pytree(model.to_coords(op))
    phi = lambda v: model.free_entropy(model.to_order_params(unravel(v)))
    return jnp.linalg.det(jax.hessian(phi)(flat))


def augmented(condition: Condition, control: Control = LOG_ALPHA) -> Callable:
    """Equations (stationarity, condition) in the unknowns (solver coordinates, u), the
    other parameters taken from the model passed as ``args``."""

    def equations(unknowns, base: ReplicaModel):
        x, u = unknowns
        model = control.set(base, u)
        return stationarity(x, model), condition(model, model.to_order_params(x))

    return equations


def solve_threshold(condition: Condition, start: tuple[PyTree, Array], base: ReplicaModel,
                    *, control: Control = LOG_ALPHA) -> Threshold:
    """Newton on the augmented system of ``condition`` from ``start`` = (coordinates, u);
    the threshold ``alpha`` (the control parameter's value) with the order parameters
    there, differentiable in the other parameters of ``base``."""
    root = solve_root(augmented(condition, control), start, base)
    x, u = root.value
    op = control.set(base, u).to_order_params(x)
    return Threshold(control.value(u), op, root.residual, root.newton_steps, root.status)


def last_before(mask: Array, grid: Array, xs: PyTree,
                control: Control = LOG_ALPHA) -> tuple[PyTree, Array]:
    """Grid point just before the first False of ``mask``, as a start (x, u)."""
    i = jnp.maximum(jnp.argmin(jnp.append(mask, False)) - 1, 0)
    return jax.tree.map(lambda v: v[i], xs), control.coordinate(grid[i])


def along(base: ReplicaModel, grid: Array, control: Control = LOG_ALPHA) -> ReplicaModel:
    """The models at the control values ``grid`` (stacked on a leading axis)."""
    return jax.vmap(lambda a: control.set(base, control.coordinate(a)))(grid)


def branch_sweep(base: ReplicaModel, grid: Array, control: Control = LOG_ALPHA,
                 init: PyTree | None = None, until: Condition | None = None):
    """Continuation along the grid from ``init`` (solver coordinates of a saddle point, or
    a guess for one, at ``grid[0]``; default: the model's cold start there), stopped after
    the first point where ``until`` holds (``follow``). Returns the solutions, their
    coordinates and the mask of the stretch connected to the first point."""
    path = along(base, grid, control)
    first = jax.tree.map(lambda v: v[0], path)
    if init is None:
        init = first.to_coords(saddle(first).order_params)
    sweep, xs, _ = follow(path, init, until=until)
    return sweep, xs, jnp.cumprod(sweep.converged).astype(bool)


def _last_positive(branch: Array, positive: Array) -> tuple[Array, Array]:
    """Index of the last point of the branch with the condition positive (-1 if none) and
    whether a point after it is still on the branch."""
    i = jnp.argmin(jnp.append(branch & positive, False)) - 1
    n = branch.shape[0]
    return i, (i + 1 < n) & branch[jnp.minimum(i + 1, n - 1)]


def threshold_on_branch(base: ReplicaModel, grid: Array, condition: Condition, *,
                        control: Control = LOG_ALPHA, init: PyTree | None = None
                        ) -> Threshold:
    """Root in the control parameter of ``condition`` (positive at the start of ``grid``)
    along the branch followed over ``grid`` from its first point (from ``init``, solver
    coordinates there, or the model's cold start: ``branch_sweep``); each sweep stops after
    its first point with the condition not positive. The last bracket, from
    the last grid point of the branch with the condition positive to the next, is swept
    again in ``N_REFINE`` finer steps (coarse steps can lose the branch next to the root);
    Newton on (stationarity, condition) starts at the last fine point with the condition
    positive. The root counts only if it lies ahead of that point, and before the next
    fine point when that one is on the branch: a root behind the start belongs to another
    branch (status ``not_bracketed``)."""
    fixed = jax.lax.stop_gradient(base)  # the bracket carries no derivative
    crossed = lambda model, op: ~(condition(model, op) > 0)
    sweep, xs, branch = branch_sweep(fixed, grid, control, jax.lax.stop_gradient(init),
                                     crossed)
    path = lambda g: along(fixed, g, control)
    sign = lambda sol, models: jax.vmap(condition)(models, sol.order_params) > 0
    i, _ = _last_positive(branch, sign(sweep, path(grid)))
    lo, hi = grid[jnp.maximum(i, 0)], grid[jnp.minimum(i + 1, grid.shape[0] - 1)]
    fine = jnp.linspace(lo, hi, N_REFINE + 1)
    refined, fine_xs, _ = follow(path(fine), jax.tree.map(lambda v: v[jnp.maximum(i, 0)], xs),
                                 until=crossed)
    fine_branch = jnp.cumprod(refined.converged).astype(bool)
    j, next_on_branch = _last_positive(fine_branch, sign(refined, path(fine)))
    j = jnp.maximum(j, 0)
    start = (jax.tree.map(lambda v: v[j], fine_xs), control.coordinate(fine[j]))
    result = solve_threshold(condition, start, base, control=control)
    bracketed = ((i >= 0) & (result.alpha >= fine[j])
                 & (~next_on_branch | (result.alpha <= fine[jnp.minimum(j + 1, N_REFINE)])))
    return eqx.tree_at(lambda r: r.status, result,
                       demote(result.status, bracketed, Status.not_bracketed))
