"""Margin-resolved RS entropy and the RS maximal margin $\\kappa_{max}(\\alpha)$ [P2].

The RS entropy $\\phi_{RS}(\\alpha, \\kappa)$ of solutions with all stabilities $\\ge \\kappa$
decreases with kappa; it vanishes at $\\kappa_{max}(\\alpha)$, the largest margin that
exponentially many solutions reach (RS; $\\kappa_{max}(0.833) = 0$ for storage). Solutions
of margin $\\kappa > 0$ are a fraction $e^{-N[\\phi(\\alpha, 0) - \\phi(\\alpha, \\kappa)]}$ of all
solutions: exponentially rare. $\\kappa_{max}$ is the Newton root of the augmented system
$[\\nabla\\phi = 0;\\ \\phi = 0]$ in (order parameters, kappa), bracketed by a continuation
sweep in kappa and differentiable in alpha (implicit function theorem).
"""

import equinox as eqx
import jax
import jax.numpy as jnp
from jax.scipy.special import ndtri
from jaxtyping import Array, ArrayLike, Float

from atypical import BinaryStorage, TeacherStudent, checked, f64, require_x64

from .perceptron import RSOrderParams, StorageRS, TeacherStudentRS, TSOrderParams
from ..engine import (MARGIN, ReplicaModel, SaddleSolution, Solved, Status, check, demote,
                      entropy, follow, raise_unconverged, saddle, solve_threshold)

# The RS model of each problem class that has a maximal margin here (committees:
# ``committee_kappa_max``).
RS_MODELS = {BinaryStorage: StorageRS, TeacherStudent: TeacherStudentRS}
# Bracketing sweep in kappa, per problem: (points, top above the annealed root, span).
# Storage: the quenched entropy is below the annealed one (Jensen), so kappa_max <=
# kappa_annealed. Teacher-student: the annealed bound maximises over the teacher overlap R as
# well, so the sweep reaches 1 above the R = 0 root. Both start where the entropy is positive
# over the alpha range below (checked on grids of 159 and 57 alphas). A storage start deeper
# than 1.5 below the bound reaches q ~ 0, where the cold start fails (alpha = 12, 20 did).
_SWEEP = {BinaryStorage: (64, 0.0, 1.5), TeacherStudent: (96, 1.0, 3.0)}
ALPHA_RANGE = {BinaryStorage: (0.1, 20.0), TeacherStudent: (0.1, 1.5)}


def model_for(problem: type, alpha, kappa) -> ReplicaModel:
    """The RS model (``RS_MODELS``) of the problem class ``problem`` at (alpha, kappa)."""
    if problem not in RS_MODELS:
        raise ValueError(f"problem={problem!r}: must be one of "
                         f"{[c.__name__ for c in RS_MODELS]}")
    return RS_MODELS[problem](problem(alpha, kappa))


def annealed_kappa_max(alpha: ArrayLike) -> Array:
    """Root of the annealed entropy $\\ln 2 + \\alpha\\ln H(\\kappa)$ (an upper bound on the
    RS entropy, so on $\\kappa_{max}$): $\\kappa = H^{-1}(2^{-1/\\alpha})$."""
    return -ndtri(jnp.exp(-jnp.log(2.0) / f64(alpha)))


class MaximalMargin(Solved):
    """$\\kappa_{max}(\\alpha)$ with the RS order parameters there and Newton diagnostics."""

    alpha: Float[Array, ""]
    kappa: Float[Array, ""]
    order_params: RSOrderParams | TSOrderParams
    residual: Float[Array, ""]
    newton_steps: Array
    status: Status


def _branch(problem: type, alpha: Array, kappas: Array) -> tuple[SaddleSolution, RSOrderParams]:
    """RS saddles along an increasing kappa grid at fixed alpha: cold start at the first
    kappa, continuation after (the engine's ``follow``)."""
    path = model_for(problem, jnp.full_like(kappas, alpha), kappas)
    return follow(path, saddle(model_for(problem, alpha, kappas[0])).order_params)[:2]


_N_REFINE = 16  # steps of the second, finer sweep between the last two coarse points


def _n_leading_positive(sweep: SaddleSolution) -> Array:
    """Number of leading points of the sweep on the branch with positive entropy."""
    return jnp.sum(jnp.cumprod(sweep.converged & (sweep.free_entropy > 0)))


def find_kappa_max(problem: type, alpha: Array) -> MaximalMargin:
    """$\\kappa_{max}(\\alpha)$ of the problem class (bracketing sweep in kappa, then Newton on
    $[\\nabla\\phi = 0;\\ \\phi = 0]$); jit/vmap-able, never throws (see ``status``)."""
    n, above, span = _SWEEP[problem]
    top = annealed_kappa_max(alpha) + above
    kappas = jax.lax.stop_gradient(jnp.linspace(top - span, top, n))
    fixed_alpha = jax.lax.stop_gradient(alpha)
    sweep, xs = _branch(problem, fixed_alpha, kappas)
    n_positive = _n_leading_positive(sweep)
    i = jnp.clip(n_positive - 1, 0, n - 2)
    # the coarse step (0.03-0.05 in kappa) can lose the branch where q -> 1 before the
    # entropy vanishes (teacher-student at alpha = 0.125): refine between points i and i+1
    fine = jnp.linspace(kappas[i], kappas[i + 1], _N_REFINE + 1)
    refined, fine_xs, _ = follow(model_for(problem, jnp.full_like(fine, fixed_alpha), fine),
                              jax.tree.map(lambda x: x[i], xs))
    j = jnp.clip(_n_leading_positive(refined) - 1, 0, _N_REFINE - 1)
    start = (jax.tree.map(lambda x: x[j], fine_xs), fine[j])
    found = solve_threshold(entropy, start, model_for(problem, alpha, 0.0), control=MARGIN)
    kappa = found.alpha
    # the entropy decreases with kappa, so a root past the last point of positive entropy
    # and below the sweep's top is the one
    bracketed = (n_positive > 0) & (n_positive < n) & (kappa >= fine[j]) & (kappa <= top)
    return MaximalMargin(alpha, kappa, found.order_params, found.residual, found.newton_steps,
                         demote(found.status, bracketed, Status.not_bracketed))


_kappa_max_jit = eqx.filter_jit(find_kappa_max)
_kappa_max_grid = eqx.filter_jit(jax.vmap(find_kappa_max, in_axes=(None, 0)))


def kappa_max(alpha: ArrayLike, *, problem: type = BinaryStorage, throw: bool = True
              ) -> MaximalMargin:
    """RS maximal margin $\\kappa_{max}(\\alpha)$: root in kappa of $\\phi_{RS}(\\alpha,\\kappa)=0$
    (storage or teacher-student, whose labels come from a binary teacher; there the RS
    branch connected to small kappa, i.e. the poorly generalizing one). Differentiable in
    alpha: ``jax.grad(lambda a: kappa_max(a).kappa)``. ``problem``: ``BinaryStorage`` or
    ``TeacherStudent`` (the class); alpha in ``ALPHA_RANGE[problem]``, a scalar or an array
    (one vmapped call)."""
    require_x64("kappa_max")
    model_for(problem, 1.0, 0.0)
    lo, hi = ALPHA_RANGE[problem]
    alpha = f64(alpha)
    alpha = checked(alpha, lambda: ~(alpha >= lo) | ~(alpha <= hi),
                    f"kappa_max(alpha=...): for {problem.__name__} alpha must lie in "
                    f"[{lo}, {hi}]")
    result = (_kappa_max_grid if alpha.ndim else _kappa_max_jit)(problem, alpha)
    if isinstance(alpha, jax.core.Tracer):
        return result
    return check(result, f"kappa_max(problem={problem.__name__})", throw=throw, alpha=alpha)


class MarginEntropy(eqx.Module):
    """RS entropy of margin-kappa solutions on a kappa grid at fixed alpha, with the
    maximal margin where it vanishes."""

    alpha: Float[Array, ""]
    kappa: Float[Array, " K"]
    entropy: Float[Array, " K"]
    order_params: RSOrderParams | TSOrderParams
    residual: Float[Array, " K"]
    converged: Array
    kappa_max: Float[Array, ""]


_MARGIN_PATH = 96  # extra continuation points between the smallest and largest kappa


@eqx.filter_jit
def _margin_entropy(problem: type, alpha: Array, kappas: Array) -> MarginEntropy:
    path = jnp.concatenate([kappas, jnp.linspace(kappas.min(), kappas.max(), _MARGIN_PATH)])
    order = jnp.argsort(path)
    sweep, _ = _branch(problem, alpha, path[order])
    position = jnp.argsort(order)[: kappas.shape[0]]  # where each requested kappa landed
    pick = lambda x: x[position]
    return MarginEntropy(alpha, kappas, pick(sweep.free_entropy),
                         jax.tree.map(pick, sweep.order_params), pick(sweep.residual),
                         pick(sweep.converged), find_kappa_max(problem, alpha).kappa)


def margin_entropy(alpha: ArrayLike, kappa: ArrayLike, *,
                   problem: type = BinaryStorage) -> MarginEntropy:
    """RS entropy $\\phi_{RS}(\\alpha, \\kappa)$ of solutions with margin kappa for a grid of
    kappa at fixed alpha (continuation in kappa), and $\\kappa_{max}(\\alpha)$. Past
    $\\kappa_{max}$ the RS entropy is negative (no solutions at large N) and the branch may
    end (``converged`` False). Raises ``SaddlePointError`` naming the kappas
    $\\le \\kappa_{max}$ where the RS branch was lost."""
    require_x64("margin_entropy")
    model_for(problem, 1.0, 0.0)
    alpha, kappas = f64(alpha), jnp.atleast_1d(f64(kappa))
    if alpha.ndim != 0 or kappas.ndim != 1:
        raise ValueError(f"margin_entropy: alpha must be a scalar and kappa a 1-d grid, got "
                         f"shapes {alpha.shape} and {kappas.shape}")
    kappa_max(alpha, problem=problem)  # validates alpha and the maximal margin
    result = _margin_entropy(problem, alpha, kappas)
    # past kappa_max the RS branch may end (q -> 1): those points stay unconverged (NaN-free
    # values are not guaranteed there); below kappa_max a lost branch is an error
    needed = kappas <= result.kappa_max
    raise_unconverged(f"margin_entropy(problem={problem.__name__})", result.converged | ~needed,
                      result.residual, jnp.zeros(kappas.shape, int), alpha=alpha,
                      kappa=kappas)
    return result
