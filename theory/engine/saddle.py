"""Saddle points of a model and their continuation along a path of models.

A saddle point solves $\\nabla_x\\phi(x) = 0$ in the model's solver coordinates x
(:class:`BoxNewton` in its box); its derivatives in the model's parameters follow from
the implicit function theorem. The continuation follows one branch through a sequence of
models: each leg is a predictor (the tangent $-H^{-1}\\partial\\nabla\\phi\\cdot\\delta$)
and a Newton corrector, the step halved after a failure and doubled after a success; the
branch ends at its first failure."""

import equinox as eqx
import jax
import jax.flatten_util
import jax.numpy as jnp
import optimistix as optx
from jaxtyping import Array, Bool, PyTree

from .model import ReplicaModel
from .newton import MAX_NEWTON_STEPS, damped_fixed_point, solve_root
from .results import SaddleSolution, Status, demote, residual_norm

WARM_UP_STEPS = 40
WARM_UP_DAMPING = 0.5
CORRECTOR_STEPS = 24  # Newton iterations per corrector attempt (quadratic: about 5)
MAX_HALVINGS = 6  # a continuation leg may be halved this many times in a row
MAX_LEG_STEPS = 96  # Newton iterations per leg, all attempts together


def stationarity(x: PyTree, model: ReplicaModel) -> PyTree:
    """$\\nabla_x \\phi$ in solver coordinates: zero at a saddle point."""
    return jax.grad(lambda v: model.free_entropy(model.to_order_params(v)))(x)


def solution_at(model: ReplicaModel, x: PyTree, newton_steps: Array,
                status: Status | None = None) -> SaddleSolution:
    """Package the solver coordinates ``x`` as a saddle point of ``model``, differentiable
    in the model's parameters through the implicit function theorem (optimistix'
    ``implicit_jvp``). The status is ``converged`` where the residual is below tolerance,
    the free entropy finite and the quadrature resolved, and ``status`` allows it."""
    x = _implicit(jax.lax.stop_gradient(x), model)
    residual = residual_norm(stationarity(x, model))
    op = model.to_order_params(x)
    value = model.free_entropy(op)
    ok = residual < 1e-10
    own = Status.where(ok & jnp.isfinite(value), Status.converged,
                       Status.where(jnp.isfinite(residual) & jnp.isfinite(value),
                                    Status.not_converged, Status.nonfinite))
    own = demote(own, model.resolved(op), Status.unresolved)
    if status is not None:
        own = Status.where(own == Status.converged, status, own)
    return SaddleSolution(model.problem, op, value, residual, newton_steps, own)


def _found(inputs):
    x, _, _ = inputs  # the last input is the adjoint's while loop, unused
    return x, None


def _rewrite(root, _, inputs):
    _, model, _ = inputs
    return stationarity(root, model)


def _implicit(x: PyTree, model: ReplicaModel) -> PyTree:
    """``x`` itself, with the derivative $-H^{-1}\\partial\\nabla\\phi$ in the model's
    parameters that ``optimistix.ImplicitAdjoint`` gives a root of the stationarity."""
    return optx.ImplicitAdjoint().apply(_found, _rewrite, (x, model), frozenset())[0]


def saddle(model: ReplicaModel, init: PyTree | None = None, *,
           warm_up_steps: int = WARM_UP_STEPS, max_steps: int = MAX_NEWTON_STEPS
           ) -> SaddleSolution:
    """The saddle point of ``model`` reached from ``init`` (order parameters; default the
    model's cold start): ``warm_up_steps`` damped fixed-point steps, then Newton.
    Jit- and vmap-able; never throws (see ``status``)."""
    op = model.cold_start() if init is None else init
    if warm_up_steps:
        op = damped_fixed_point(lambda o, m: m.fixed_point(o), op, model,
                                damping=WARM_UP_DAMPING, max_steps=warm_up_steps)
    root = solve_root(stationarity, model.to_coords(op), model, bounds=model.bounds(),
                      max_steps=max_steps)
    return solution_at(model, root.value, root.newton_steps)


def _inexact(tree: PyTree) -> tuple[PyTree, PyTree]:
    return eqx.partition(tree, eqx.is_inexact_array)


def _between(start: ReplicaModel, target: ReplicaModel, s: Array) -> ReplicaModel:
    """The model a fraction s of the way from ``start`` to ``target`` (array leaves)."""
    (a, static), (b, _) = _inexact(start), _inexact(target)
    return eqx.combine(jax.tree.map(lambda u, v: u + s * (v - u), a, b), static)


def tangent(x: PyTree, model: ReplicaModel, target: ReplicaModel) -> PyTree:
    """First-order change of the saddle point (solver coordinates) when the model moves
    from ``model`` to ``target``: $-H^{-1}\\,\\partial\\nabla\\phi\\cdot\\delta$."""
    flat, unravel = jax.flatten_util.ravel_pytree(x)
    dynamic, static = _inexact(model)
    delta = jax.tree.map(jnp.subtract, _inexact(target)[0], dynamic)
    grad = lambda v, dyn: jax.flatten_util.ravel_pytree(
        stationarity(unravel(v), eqx.combine(dyn, static)))[0]
    hessian = jax.jacfwd(grad)(flat, dynamic)
    mixed = jax.jvp(lambda dyn: grad(flat, dyn), (dynamic,), (delta,))[1]
    return unravel(-jnp.linalg.solve(hessian, mixed))


def _advance(x: PyTree, alive: Bool[Array, ""], start: ReplicaModel,
             target: ReplicaModel, max_halvings: int) -> tuple[PyTree, Array, Array]:
    """One continuation leg from the solution ``x`` of ``start`` to ``target``: predictor
    and corrector, the step halved after a failure, doubled after a success. Returns
    (coordinates, reached, Newton iterations); does nothing where not ``alive``."""
    x = jax.lax.stop_gradient(x)
    start, target = jax.lax.stop_gradient((start, target))

    def cond(state):
        _, s, _, halvings, total = state
        return alive & (s < 1) & (halvings <= max_halvings) & (total < MAX_LEG_STEPS)

    def body(state):
        x, s, h, halvings, total = state
        s_try = jnp.minimum(s + h, 1.0)
        here, there = _between(start, target, s), _between(start, target, s_try)
        predicted = jax.tree.map(jnp.add, x, tangent(x, here, there))
        predicted = jax.tree.map(lambda a, b: jnp.where(jnp.isfinite(a), a, b), predicted, x)
        root = solve_root(stationarity, predicted, there, bounds=there.bounds(),
                          max_steps=CORRECTOR_STEPS)
        ok = root.converged
        x = jax.tree.map(lambda a, b: jnp.where(ok, a, b), root.value, x)
        return (x, jnp.where(ok, s_try, s), jnp.where(ok, jnp.minimum(2 * h, 1.0), h / 2),
                jnp.where(ok, 0, halvings + 1), total + root.newton_steps)

    x, s, _, _, total = jax.lax.while_loop(cond, body,
                                           (x, jnp.array(0.0), jnp.array(1.0), 0, 0))
    return x, s >= 1, total


def follow(path: ReplicaModel, init: PyTree, start: ReplicaModel | None = None, *,
           max_halvings: int = MAX_HALVINGS) -> tuple[SaddleSolution, PyTree]:
    """Continuation of one branch of saddle points through ``path`` (models stacked on a
    leading axis, ``lax.scan``), from the solution ``init`` (solver coordinates) of
    ``start`` (default: the first model of the path, ``init`` then a starting guess).
    Returns the solutions (stacked) and their coordinates. The branch ends at its first
    failure: from there on the status is ``branch_lost`` or the point's own failure."""
    if start is None:
        start = jax.tree.map(lambda v: v[0], path)

    def step(carry, target):
        x, prev, alive = carry
        x_new, reached, steps = _advance(x, alive, prev, target, max_halvings)
        sol = solution_at(target, x_new, steps)
        alive = alive & reached & sol.converged
        keep = lambda new, old: jax.tree.map(lambda a, b: jnp.where(alive, a, b), new, old)
        sol = eqx.tree_at(lambda s: s.status, sol, demote(sol.status, alive,
                                                          Status.branch_lost))
        return (keep(x_new, x), keep(target, prev), alive), (sol, x_new)

    return jax.lax.scan(step, (init, start, jnp.array(True)), path)[1]
