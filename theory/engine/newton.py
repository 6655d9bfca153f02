"""The one root finder of the theory: Newton with the autodiff Jacobian in float64, box
bounds in solver coordinates, step halving where a trial leaves the domain and the best
iterate kept, as an ``optimistix.AbstractRootFinder`` (so that ``optimistix.root_find``
gives implicit differentiation through ``ImplicitAdjoint``)."""

from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.flatten_util
import jax.numpy as jnp
import optimistix as optx
from jaxtyping import Array, Float, Int, PyTree

from .results import RESIDUAL_TOL, Solved, Status, residual_norm, status_from

MAX_NEWTON_STEPS = 64


class _BoxNewtonState(eqx.Module):
    best: PyTree
    best_residual: Float[Array, ""]
    previous: PyTree
    previous_residual: Float[Array, ""]
    direction: PyTree
    scale: Float[Array, ""]
    halvings: Int[Array, ""]


class BoxNewton(optx.AbstractRootFinder):
    """Newton's method on $f(y) = 0$: $y \\leftarrow \\Pi(y - J^{-1} f(y))$ with $\\Pi$ the
    projection on the box ``options = dict(lower=..., upper=...)`` (either may be absent).
    Where $f$ at a trial is not finite (the trial left the domain), or with
    ``line_search`` where $\\|f\\|_\\infty$ did not decrease, the trial is replaced by the
    previous iterate plus half the previous step, ``max_halvings`` times at most in a row
    (then a finite trial is accepted, a non-finite one ends the solve). Stops when
    $\\|f\\|_\\infty <$ ``atol`` and returns the iterate with the smallest residual seen (a
    root on a face of the box, found to rounding, may lie just outside it)."""

    rtol: float = 0.0
    atol: float = RESIDUAL_TOL / 100
    norm: Callable = optx.max_norm
    max_halvings: int = 8
    line_search: bool = False

    def init(self, fn, y, args, options, f_struct, aux_struct, tags):
        del fn, args, options, f_struct, aux_struct, tags
        zero = jax.tree.map(jnp.zeros_like, y)
        inf = jnp.array(jnp.inf)
        return _BoxNewtonState(y, inf, y, inf, zero, jnp.array(1.0), jnp.array(0))

    def step(self, fn, y, args, options, state: _BoxNewtonState, tags):
        del tags
        flat, unravel = jax.flatten_util.ravel_pytree(y)
        flat_fn = lambda v: jax.flatten_util.ravel_pytree(fn(unravel(v), args)[0])[0]
        out, aux = fn(y, args)
        f = jax.flatten_util.ravel_pytree(out)[0]
        residual = jnp.where(jnp.all(jnp.isfinite(f)), self.norm(f), jnp.inf)
        finite = jnp.isfinite(residual)
        better = finite & (residual < state.best_residual)
        accept = finite
        if self.line_search:
            accept = accept & ((residual < state.previous_residual)
                               | (state.halvings >= self.max_halvings))
        pick = lambda a, b, c: jax.tree.map(lambda u, v: jnp.where(c, u, v), a, b)
        # the Jacobian only where a new step starts (not after a rejected trial, nor at a
        # converged point): a halving costs one evaluation of f
        newton = jax.lax.cond(accept & (residual >= self.atol),
                              lambda: unravel(jnp.linalg.solve(jax.jacfwd(flat_fn)(flat), f)),
                              lambda: state.direction)
        # an accepted point: a full Newton step from it; otherwise halve the last step
        scale = jnp.where(accept, 1.0, state.scale / 2)
        previous = pick(y, state.previous, accept)
        trial = jax.tree.map(lambda a, d: a - scale * d, previous, newton)
        trial = _project(trial, options)
        new_state = _BoxNewtonState(pick(y, state.best, better),
                                    jnp.where(better, residual, state.best_residual),
                                    previous,
                                    jnp.where(accept, residual, state.previous_residual),
                                    newton, scale,
                                    jnp.where(accept, 0, state.halvings + 1))
        return trial, new_state, aux

    def terminate(self, fn, y, args, options, state: _BoxNewtonState, tags):
        del fn, y, args, options, tags
        done = state.best_residual < self.atol
        stuck = state.halvings > self.max_halvings
        result = optx.RESULTS.where(done | ~stuck, optx.RESULTS.successful,
                                    optx.RESULTS.nonlinear_divergence)
        return done | stuck, result

    def postprocess(self, fn, y, aux, args, options, state: _BoxNewtonState, tags, result):
        del fn, y, args, options, tags, result
        return state.best, aux, {}


def _project(y: PyTree, options: dict[str, Any]) -> PyTree:
    lower, upper = options.get("lower"), options.get("upper")
    if lower is not None:
        y = jax.tree.map(lambda a, b: jnp.maximum(a, b), y, lower)
    if upper is not None:
        y = jax.tree.map(lambda a, b: jnp.minimum(a, b), y, upper)
    return y


class Root(Solved):
    """A root of ``equations(x, args) = 0``: the point (differentiable in ``args`` by the
    implicit function theorem), the residual max-norm, Newton steps and status."""

    value: PyTree
    residual: Float[Array, ""]
    newton_steps: Int[Array, ""]
    status: Status


def solve_root(equations: Callable, init: PyTree, args: PyTree, *,
               bounds: tuple[PyTree, PyTree] | None = None,
               max_steps: int = MAX_NEWTON_STEPS, max_halvings: int = 8,
               line_search: bool = False) -> Root:
    """Solve ``equations(x, args) = 0`` by :class:`BoxNewton` from ``init`` (no gradient
    flows through the start), inside the box ``bounds = (lower, upper)`` if given. Never
    throws: a point counts as converged when its residual is below ``RESIDUAL_TOL``."""
    options = {} if bounds is None else dict(lower=bounds[0], upper=bounds[1])
    init = jax.lax.stop_gradient(init) if bounds is None else _project(
        jax.lax.stop_gradient(init), options)
    solver = BoxNewton(max_halvings=max_halvings, line_search=line_search)
    sol = optx.root_find(equations, solver, init, args=args, options=options,
                         max_steps=max_steps, throw=False)
    residual = residual_norm(equations(sol.value, args))
    return Root(sol.value, residual, sol.stats["num_steps"],
                status_from(residual < RESIDUAL_TOL, residual))


def damped_fixed_point(step: Callable, init: PyTree, args, *, damping: float,
                       max_steps: int, tol: float = 1e-6) -> PyTree:
    """Iterate $x \\leftarrow (1-\\eta)x + \\eta F(x)$ until the update is below ``tol``
    or for ``max_steps``: only to bring a cold start into Newton's basin (a few tens of
    steps suffice; under vmap the slowest point sets the cost). Newton judges convergence."""

    def cond(carry):
        i, _, change = carry
        return (i < max_steps) & (change > tol)

    def body(carry):
        i, x, _ = carry
        new = jax.tree.map(lambda a, b: (1 - damping) * a + damping * b, x, step(x, args))
        change = residual_norm(jax.tree.map(jnp.subtract, new, x))
        return i + 1, new, change

    _, x, _ = jax.lax.while_loop(cond, body, (0, init, jnp.inf))
    return x
