"""Saddle points of a model and their continuation along a path of models.

A saddle point solves $\\nabla_x\\phi(x) = 0$ in the model's solver coordinates x
(:class:`BoxNewton` in its box); its derivatives in the model's parameters follow from
the implicit function theorem. The continuation follows one branch through a sequence of
models: each leg is a predictor (the tangent $-H^{-1}\\partial\\nabla\\phi\\cdot\\delta$)
and a Newton corrector, the step halved after a failure and doubled after a success; the
branch ends at its first failure."""

import math
from collections.abc import Callable
from typing import NamedTuple

import equinox as eqx
import jax
import jax.flatten_util
import jax.numpy as jnp
import numpy as np
import optimistix as optx
from jaxtyping import Array, Bool, PyTree

from .model import ReplicaModel
from .newton import damped_fixed_point, solve_root
from .results import (RESIDUAL_TOL, SaddleSolution, Status, demote, residual_norm,
                      status_from)

WARM_UP_STEPS = 40
MAX_HALVINGS = 6  # a continuation leg may be halved this many times in a row
MAX_LEG_STEPS = 96  # Newton iterations per leg, all attempts together


def stationarity(x: PyTree, model: ReplicaModel) -> PyTree:
    """$\\nabla_x \\phi$ in solver coordinates: zero at a saddle point; NaN where the free
    entropy is NaN (outside the admissible set no point is a saddle point, whatever the
    gradient of the masked value says)."""
    value, grad = jax.value_and_grad(
        lambda v: model.free_entropy(model.to_order_params(v)))(x)
    return jax.tree.map(lambda g: jnp.where(jnp.isnan(value), jnp.nan, g), grad)


def solution_at(model: ReplicaModel, x: PyTree, newton_steps: Array) -> SaddleSolution:
    """Package the solver coordinates ``x`` as a saddle point of ``model``, differentiable
    in the model's parameters through the implicit function theorem (optimistix'
    ``ImplicitAdjoint``). The status is ``converged`` where the residual is below tolerance,
    the free entropy finite and the quadrature resolved."""
    x = _implicit(jax.lax.stop_gradient(x), model)
    residual = residual_norm(stationarity(x, model))
    op = model.to_order_params(x)
    value = model.free_entropy(op)
    ok = residual < RESIDUAL_TOL
    own = status_from(ok & jnp.isfinite(value), jnp.where(jnp.isfinite(value), residual,
                                                          jnp.inf))
    own = demote(own, model.resolved(op), Status.unresolved)
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
           warm_up_steps: int = WARM_UP_STEPS, max_steps: int | None = None
           ) -> SaddleSolution:
    """The saddle point of ``model`` reached from ``init`` (order parameters; default the
    model's cold start): ``warm_up_steps`` damped fixed-point steps, then Newton (at most
    ``max_steps``, default the model's). Jit- and vmap-able; never throws (see ``status``)."""
    op = model.cold_start() if init is None else init
    if warm_up_steps:
        op = damped_fixed_point(lambda o, m: m.fixed_point(o), op, model,
                                damping=model.warm_up_damping, max_steps=warm_up_steps,
                                tol=model.warm_up_tol)
    root = _newton(model, model.to_coords(op), max_steps or model.max_newton_steps)
    return solution_at(model, root.value, root.newton_steps)


def _newton(model: ReplicaModel, x: PyTree, max_steps: int):
    return solve_root(stationarity, x, model, bounds=model.bounds(), max_steps=max_steps,
                      max_halvings=model.newton_halvings, line_search=model.line_search)


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
             target: ReplicaModel, max_halvings: int, max_leg_steps: int
             ) -> tuple[PyTree, Array, Array]:
    """One continuation leg from the solution ``x`` of ``start`` to ``target``: predictor
    and corrector, the step halved after a failure, doubled after a success. Returns
    (coordinates, fraction of the leg reached, Newton iterations); does nothing where not
    ``alive``."""
    x = jax.lax.stop_gradient(x)
    start, target = jax.lax.stop_gradient((start, target))
    same = jnp.all(jnp.stack([jnp.all(a == b) for a, b in zip(
        jax.tree.leaves(_inexact(start)[0]), jax.tree.leaves(_inexact(target)[0]))]))

    def cond(state):
        _, s, _, halvings, total = state
        return alive & (s < 1) & (halvings <= max_halvings) & (total < max_leg_steps)

    def body(state):
        x, s, h, halvings, total = state
        s_try = jnp.minimum(s + h, 1.0)
        here, there = _between(start, target, s), _between(start, target, s_try)
        predicted = jax.tree.map(jnp.add, x, tangent(x, here, there))
        predicted = jax.tree.map(lambda a, b: jnp.where(jnp.isfinite(a), a, b), predicted, x)
        root = _newton(there, predicted, there.corrector_steps)
        ok = root.converged
        x = jax.tree.map(lambda a, b: jnp.where(ok, a, b), root.value, x)
        return (x, jnp.where(ok, s_try, s), jnp.where(ok, jnp.minimum(2 * h, 1.0), h / 2),
                jnp.where(ok, 0, halvings + 1), total + root.newton_steps)

    s0 = jnp.where(same, 1.0, 0.0)  # a leg of length zero is reached at once
    x, s, _, _, total = jax.lax.while_loop(cond, body, (x, s0, jnp.array(1.0), 0, 0))
    return x, s, total


def follow(path: ReplicaModel, init: PyTree, start: ReplicaModel | None = None, *,
           max_halvings: int = MAX_HALVINGS, max_leg_steps: int = MAX_LEG_STEPS,
           until: Callable[[ReplicaModel, PyTree], Bool[Array, ""]] | None = None
           ) -> tuple[SaddleSolution, PyTree, Array]:
    """Continuation of one branch of saddle points through ``path`` (models stacked on a
    leading axis, ``lax.scan``), from the solution ``init`` (solver coordinates) of
    ``start`` (default: the first model of the path, ``init`` then a starting guess).
    Returns the solutions (stacked), their coordinates and the fraction of each leg
    reached (1 where the point was reached; on the leg where the branch ends, the
    coordinates are those of the furthest point reached). A leg may be halved
    ``max_halvings`` times in a row and spend ``max_leg_steps`` Newton iterations. The
    branch ends at its first failure, or after the first point where ``until(model,
    order_params)`` holds: from there on the status is ``branch_lost`` or the point's own
    failure."""
    if start is None:  # init is a guess: solve the first model from it
        start = jax.tree.map(lambda v: v[0], path)
        init = _newton(start, init, start.max_newton_steps).value

    def step(carry, target):
        x, prev, alive = carry
        x_new, progress, steps = _advance(x, alive, prev, target, max_halvings,
                                          max_leg_steps)
        sol = solution_at(target, x_new, steps)
        reached = alive & (progress >= 1) & sol.converged
        keep = lambda new, old: jax.tree.map(lambda a, b: jnp.where(reached, a, b), new, old)
        sol = eqx.tree_at(lambda s: s.status, sol, demote(sol.status, reached,
                                                          Status.branch_lost))
        if until is not None:
            reached = reached & ~until(target, sol.order_params)
        return (keep(x_new, x), keep(target, prev), reached), (sol, x_new, progress)

    return jax.lax.scan(step, (init, start, jnp.array(True)), path)[1]


class Continuation(NamedTuple):
    """Host-side result of ``continue_to``."""

    last: PyTree
    reached: float
    stations: dict
    end: float
    end_coords: PyTree
    end_free_entropy: float


_CHUNK = 16  # legs per compiled call of ``continue_to`` (the last chunk padded)


_follow_jit = eqx.filter_jit(follow)


def _with(model: ReplicaModel, name: str, value) -> ReplicaModel:
    return eqx.tree_at(lambda m: getattr(m.problem, name), model,
                       jnp.asarray(value, jnp.float64))


def continue_to(model: ReplicaModel, x: PyTree, name: str, stop: float, *, step: float,
                stations=(), max_halvings: int = MAX_HALVINGS,
                max_leg_steps: int = MAX_LEG_STEPS) -> "Continuation":
    """Continuation (``follow``) of the solution ``x`` (solver coordinates) of ``model`` in
    the field ``name`` of its problem up to ``stop``, in legs of at most ``step`` through the
    ``stations`` on the way; the path goes in chunks of 16 legs through one compiled
    program (the last chunk padded with its end point), until the stop or the end of the
    branch. Host-side results: a ``Continuation`` with the coordinates of the last path
    point reached, the value reached, the stations reached (station -> (coordinates,
    residual, free entropy)) and the furthest point of the branch (value, coordinates,
    free entropy)."""
    start = float(getattr(model.problem, name))
    stations = np.asarray(stations, np.float64)
    n_legs = max(1, math.ceil(abs(stop - start) / step))
    values = np.union1d(np.linspace(start, stop, n_legs + 1)[1:], stations)
    values = values if stop >= start else values[::-1]
    at_stations, reached, last, end = {}, start, x, None
    for lo in range(0, values.size, _CHUNK):
        chunk = values[lo:lo + _CHUNK]
        padded = np.concatenate([chunk, np.full(_CHUNK - chunk.size, chunk[-1])])
        path = jax.tree.map(lambda v: jnp.broadcast_to(v, (_CHUNK,) + jnp.shape(v)), model)
        path = eqx.tree_at(lambda m: getattr(m.problem, name), path, jnp.asarray(padded))
        sols, xs, progress = _follow_jit(path, last, _with(model, name, reached),
                                         max_halvings=max_halvings,
                                         max_leg_steps=max_leg_steps)
        n = int(np.argmin(np.append(np.asarray(sols.converged)[:chunk.size], False)))
        point = lambda i: jax.tree.map(lambda a: np.asarray(a[i]), xs)
        at_stations.update({float(v): (point(i), float(sols.residual[i]),
                                       float(sols.free_entropy[i]))
                            for i, v in enumerate(chunk[:n]) if v in stations})
        if n:
            reached, last = float(chunk[n - 1]), point(n - 1)
        if n < chunk.size:  # the branch ends inside this chunk
            s = float(progress[n])
            if s > 0:
                end = (reached + s * (float(chunk[n]) - reached), point(n))
            break
    end_value, end_coords = end if end is not None else (reached, last)
    at_end = _with(model, name, end_value)
    return Continuation(last, reached, at_stations, end_value, end_coords,
                        float(at_end.free_entropy(at_end.to_order_params(end_coords))))
