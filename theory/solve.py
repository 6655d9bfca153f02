"""Generic saddle-point and threshold drivers: damped fixed point, then autodiff Newton.

A replica free entropy ``phi(order_params, problem)`` is stationary at the saddle point; the
equations are ``jax.grad(phi) = 0``, solved by ``optimistix.Newton`` with the autodiff
Jacobian (the Hessian of phi). Derivatives of a solution with respect to the problem
parameters follow by the implicit function theorem (optimistix' implicit adjoint).
"""

from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optimistix as optx
from jaxtyping import Array, Bool, Float, Int, PyTree

from atypical import SaddlePointError

NEWTON_RTOL = 1e-11
NEWTON_ATOL = 1e-13
MAX_NEWTON_STEPS = 64
RESIDUAL_TOL = 1e-10


class SaddleSolution(eqx.Module):
    """A stationary point of a free entropy, its residual $\\|\\nabla\\phi\\|_\\infty$ and
    status, with the problem it solves (its coordinates: ``sol.problem.alpha``, ...)."""

    problem: PyTree
    order_params: PyTree
    free_entropy: Float[Array, ""]
    residual: Float[Array, ""]
    newton_steps: Int[Array, ""]
    converged: Bool[Array, ""]


def residual_norm(tree: PyTree) -> Array:
    """Max-norm of a gradient pytree: the distance from stationarity."""
    return jnp.max(jnp.stack([jnp.max(jnp.abs(x)) for x in jax.tree.leaves(tree)]))


def damped_fixed_point(step: Callable, init: PyTree, problem, *, damping: float,
                       max_steps: int, tol: float = 1e-6) -> PyTree:
    """Iterate $x \\leftarrow (1-\\eta)x + \\eta F(x)$ until the update is below ``tol``
    or for ``max_steps``: only to bring a cold start into Newton's basin (a few tens of
    steps suffice; under vmap the slowest point sets the cost). Newton judges convergence."""

    def cond(carry):
        i, _, change = carry
        return (i < max_steps) & (change > tol)

    def body(carry):
        i, x, _ = carry
        new = jax.tree.map(lambda a, b: (1 - damping) * a + damping * b, x, step(x, problem))
        change = residual_norm(jax.tree.map(jnp.subtract, new, x))
        return i + 1, new, change

    _, x, _ = jax.lax.while_loop(cond, body, (0, init, jnp.inf))
    return x


def newton_saddle(free_entropy: Callable, init: PyTree, problem, *,
                  bounds: tuple[PyTree, PyTree] | None = None) -> SaddleSolution:
    """Solve $\\nabla\\phi = 0$ by Newton from ``init`` (never throws; see ``converged``).

    The solution is differentiable in ``problem`` by the implicit function theorem; the
    starting point carries no gradient."""
    gradient = jax.grad(free_entropy)
    options = {} if bounds is None else dict(lower=bounds[0], upper=bounds[1])
    sol = optx.root_find(gradient, optx.Newton(rtol=NEWTON_RTOL, atol=NEWTON_ATOL),
                         jax.lax.stop_gradient(init), args=problem, options=options,
                         max_steps=MAX_NEWTON_STEPS, throw=False)
    residual = residual_norm(gradient(sol.value, problem))
    converged = (sol.result == optx.RESULTS.successful) & (residual < RESIDUAL_TOL)
    return SaddleSolution(problem, sol.value, free_entropy(sol.value, problem), residual,
                          sol.stats["num_steps"], converged)


def newton_root(equations: Callable, init: PyTree, args) -> tuple[PyTree, Array, Array, Array]:
    """Solve ``equations(x, args) = 0`` by Newton (thresholds: augmented saddle systems).

    Returns the root, the residual max-norm, the step count and a success flag; the root
    is differentiable in ``args`` by the implicit function theorem."""
    sol = optx.root_find(equations, optx.Newton(rtol=NEWTON_RTOL, atol=NEWTON_ATOL),
                         jax.lax.stop_gradient(init), args=args,
                         max_steps=MAX_NEWTON_STEPS, throw=False)
    residual = residual_norm(equations(sol.value, args))
    converged = (sol.result == optx.RESULTS.successful) & (residual < RESIDUAL_TOL)
    return sol.value, residual, sol.stats["num_steps"], converged


def raise_unconverged(where: str, converged, residual, steps, **coords) -> None:
    """Raise ``SaddlePointError`` listing every unconverged point (call outside jit)."""
    converged = np.atleast_1d(np.asarray(converged))
    if converged.all():
        return
    residual, steps = np.atleast_1d(np.asarray(residual)), np.atleast_1d(np.asarray(steps))
    coords = {k: np.broadcast_to(np.asarray(v), converged.shape) for k, v in coords.items()}
    bad = np.flatnonzero(~converged)
    lines = [", ".join(f"{k}={coords[k][i]:.6g}" for k in coords)
             + f": |grad phi|={residual[i]:.3g} after {int(steps[i])} Newton steps"
             for i in bad[:10]]
    more = f"\n  ... and {len(bad) - 10} more" if len(bad) > 10 else ""
    raise SaddlePointError(f"{where}: no saddle point at {len(bad)} of {converged.size} "
                           "points:\n  " + "\n  ".join(lines) + more)


def continue_branch(free_entropy: Callable, problems, init: PyTree, *,
                    bounds: tuple[PyTree, PyTree] | None = None) -> SaddleSolution:
    """Follow one branch of saddle points along a sequence of problems (leading axis),
    each Newton solve warm-started from the previous solution (``lax.scan``).

    The branch ends at the first failure (a spinodal): from there on ``converged`` is
    False, even if Newton later lands on some other stationary point."""

    def step(carry, problem):
        start, alive = carry
        sol = newton_saddle(free_entropy, start, problem, bounds=bounds)
        alive = alive & sol.converged
        keep = lambda new, old: jnp.where(alive, new, old)
        return (jax.tree.map(keep, sol.order_params, start), alive), eqx.tree_at(
            lambda s: s.converged, sol, alive)

    return jax.lax.scan(step, (init, jnp.array(True)), problems)[1]
