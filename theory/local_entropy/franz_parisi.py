"""Franz-Parisi local entropy of the binary perceptron, replica symmetric (storage) [P2].

A reference $\\tilde W$ is drawn uniformly from the solutions with margin $\\tilde\\kappa$
(``kappa_ref``); $S(d)$ counts the solutions with margin $\\kappa$ at Hamming distance d from
it (overlap $p = 1 - 2d$). Reference replicas $\\tilde W^a$ (overlap $\\tilde q$, the
ordinary RS solution at $(\\alpha, \\tilde\\kappa)$) and constrained replicas $W^c$ (overlap
q, with their own reference p, with the other references t) give
(``physics/franz_parisi_binary_perceptron.md``, re-derived; DESIGN.md section 4 item 4)

$S = \\mathrm{extr}_{q,t,\\hat q,\\hat t,\\hat p}\\; -\\hat q(1-q)/2 - \\hat p p + \\hat t t
+ G_S + \\alpha G_E$,

$G_S = E_{z_0}(1 + \\tanh\\sqrt{\\hat{\\tilde q}} z_0)\\, E_{z_1}\\ln2\\cosh(
\\hat t z_0/\\sqrt{\\hat{\\tilde q}} + \\sqrt{\\hat q - \\hat t^2/\\hat{\\tilde q}}\\, z_1 + \\hat p - \\hat t)$,

$G_E = E_{z_0} E_{z_1 \\ge x_0 | z_0} E_{z'} \\ln H((\\kappa - A z_0 - B z_1 - C z')/\\sqrt{1-q})$,
$x_0 = (\\tilde\\kappa - \\sqrt{\\tilde q} z_0)/\\sqrt{1-\\tilde q}$, $A = t/\\sqrt{\\tilde q}$,
$B = (p - t)/\\sqrt{1-\\tilde q}$, $C^2 = q - A^2 - B^2$.

$p$ is fixed (its conjugate $\\hat p$ is the Lagrange multiplier), the equations are
``jax.grad`` of this one function, and $dS/dd = -2\\,\\partial_p\\phi$ (envelope theorem).

The solver (box coordinates, Newton, continuation, curves) is generic: a query class brings
its free entropy, coordinates and box. Teacher-student is ``franz_parisi_teacher``
(``franz_parisi_curve(..., query=FranzParisiTeacherStudent)``).
"""

import abc
from collections.abc import Callable
from typing import Any, ClassVar, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.flatten_util
import numpy as np
from jaxtyping import Array, ArrayLike, Float, PyTree

from atypical import BinaryStorage, SaddlePointError, checked, f64, require_x64
from atypical.gaussian import gaussian_over_H
from atypical.observables import gen_error_from_overlap, hamming_shell_entropy

from ..engine import (RESIDUAL_TOL, ReplicaModel, SaddleSolution, Solved, Status,
                      blank_unconverged, check, demote, entropy, follow, raise_unconverged,
                      saddle, solve_root, stationarity)
from ..models.perceptron import RSOrderParams, StorageRS, TSOrderParams
from ..models.margins import RS_MODELS, find_kappa_max, kappa_max
from ..models.thresholds import storage_threshold
from .smoothing import LOG_H_RELIABLE, gaussian_smoothing

# ------------------------------------------------------------------ problem and order params


def checked_query(who: str, alpha, kappa_ref, kappa, d, *, d_max_included: bool = True):
    """float64 (alpha, kappa_ref, kappa, d) of a local-entropy query, with ``checked``
    checks: alpha > 0, finite margins, d in (0, 1/2] (or (0, 1/2))."""
    alpha, kappa_ref, kappa, d = f64(alpha), f64(kappa_ref), f64(kappa), f64(d)
    alpha = checked(alpha, lambda: ~jnp.isfinite(alpha) | (alpha <= 0),
                    f"{who}(alpha=...): alpha = P/N must be finite and > 0")
    kappa_ref = checked(kappa_ref, lambda: ~jnp.isfinite(kappa_ref),
                        f"{who}(kappa_ref=...): the reference margin must be finite")
    kappa = checked(kappa, lambda: ~jnp.isfinite(kappa),
                    f"{who}(kappa=...): the margin kappa must be finite")
    interval = "(0, 1/2]" if d_max_included else "(0, 1/2)"
    top_ok = (lambda: d <= 0.5) if d_max_included else (lambda: d < 0.5)
    d = checked(d, lambda: ~(d > 0) | ~top_ok(),
                f"{who}(d=...): the Hamming fraction d must lie in {interval}")
    return alpha, kappa_ref, kappa, d


class LocalEntropyQuery(eqx.Module):
    """What the generic local-entropy solver asks of a task: a query counts margin-``kappa``
    solutions at Hamming fraction ``d`` from references of margin ``kappa_ref``; it brings
    its free entropy around reference overlaps ``ref``, its solver coordinates and box,
    the identity point, whether its quadrature resolves a point, and ``at(kappa, d)``
    (itself with kappa and d replaced, broadcast to their common shape)."""

    alpha: eqx.AbstractVar[Array]
    kappa_ref: eqx.AbstractVar[Array]
    kappa: eqx.AbstractVar[Array]
    d: eqx.AbstractVar[Array]

    @property
    def p(self) -> Array:
        """Overlap with the reference, $p = 1 - 2d$."""
        return 1 - 2 * self.d

    @abc.abstractmethod
    def free_entropy(self, op, ref, quad) -> Float[Array, ""]:
        """The Franz-Parisi free entropy at ``op`` around references ``ref``."""

    @abc.abstractmethod
    def to_order_params(self, x, ref):
        """Solver coordinates to order parameters."""

    @abc.abstractmethod
    def to_coords(self, op, ref):
        """Order parameters to solver coordinates."""

    @abc.abstractmethod
    def bounds(self, ref):
        """The box (lower, upper) of the admissible set in solver coordinates."""

    @abc.abstractmethod
    def resolved(self, op, ref) -> Array:
        """Whether the quadrature resolves the integrand at ``op``."""

    @abc.abstractmethod
    def identity(self, ref):
        """The exact saddle point at kappa = kappa_ref, p = q_ref (S = reference entropy)."""

    @abc.abstractmethod
    def at(self, kappa, d) -> "LocalEntropyQuery":
        """This query at margin ``kappa`` and distance ``d`` (broadcast)."""


class LocalEntropyModel(ReplicaModel):
    """A local-entropy query around references with overlaps ``ref``, at quadrature
    ``quad``, as a model of the engine (its saddle points, continuation, derivatives)."""

    problem: LocalEntropyQuery
    ref: PyTree
    quad: Any = eqx.field(static=True)

    def free_entropy(self, op) -> Float[Array, ""]:
        return self.problem.free_entropy(op, self.ref, self.quad)

    def cold_start(self):
        return self.problem.identity(self.ref)

    def bounds(self):
        return self.problem.bounds(self.ref)

    def to_coords(self, op):
        return self.problem.to_coords(op, self.ref)

    def to_order_params(self, x):
        return self.problem.to_order_params(x, self.ref)

    def resolved(self, op) -> Array:
        return self.problem.resolved(op, self.ref)


class FranzParisiQuery(LocalEntropyQuery):
    """A Franz-Parisi query of the binary perceptron: references are uniform
    margin-``kappa_ref`` solutions; count margin-``kappa`` solutions at Hamming fraction
    ``d`` in (0, 1/2]. A task (storage, teacher-student) adds its free entropy,
    coordinates, box and the RS saddle of its references (``reference``)."""

    alpha: Float[Array, ""] = eqx.field(converter=f64)
    kappa_ref: Float[Array, ""] = eqx.field(converter=f64)
    kappa: Float[Array, ""] = eqx.field(converter=f64)
    d: Float[Array, ""] = eqx.field(converter=f64)

    def __post_init__(self):
        self.alpha, self.kappa_ref, self.kappa, self.d = checked_query(
            type(self).__name__, self.alpha, self.kappa_ref, self.kappa, self.d)

    def at(self, kappa, d) -> "FranzParisiQuery":
        kappa, d = jnp.broadcast_arrays(f64(kappa), f64(d))
        full = lambda x: jnp.full_like(d, x)
        return type(self)(full(self.alpha), full(self.kappa_ref), kappa, d)

    default_quad: ClassVar[Any]
    chart: ClassVar["Chart"]
    problem_class: ClassVar[type]  # the task's problem (BinaryStorage, TeacherStudent)
    threshold_kappa: ClassVar[tuple[float, float]]  # monotonicity_threshold's kappa range

    def to_order_params(self, x, ref):
        return self.chart.to_order_params(x, ref, self.p)

    def to_coords(self, op, ref):
        return self.chart.to_coords(op, ref, self.p)

    def bounds(self, ref):
        return self.chart.bounds(ref, self.p)

    def identity(self, ref):
        return self.chart.identity(ref)

    @staticmethod
    @abc.abstractmethod
    def reference(alpha, kappa_ref) -> SaddleSolution:
        """The RS saddle of the references at (alpha, kappa_ref)."""

    @staticmethod
    @abc.abstractmethod
    def threshold_sweep(kappa) -> Array:
        """The alphas of ``monotonicity_threshold``'s bracketing sweep at margin kappa."""

    @staticmethod
    @abc.abstractmethod
    def kappa_max(alpha):
        """The RS maximal margin of the references' problem at alpha (host-side check)."""


class Chart(NamedTuple):
    """A task's solver coordinates around references ``ref`` at overlap p:
    ``to_order_params(x, ref, p)``, ``to_coords(op, ref, p)``, the box ``bounds(ref, p)``
    and the ``identity(ref)`` saddle point."""

    to_order_params: Callable
    to_coords: Callable
    bounds: Callable
    identity: Callable


class FranzParisiStorage(FranzParisiQuery):
    """Franz-Parisi query on binary storage (random labels)."""

    problem_class: ClassVar[type] = BinaryStorage
    threshold_kappa: ClassVar[tuple[float, float]] = (-0.6, 0.5)

    def free_entropy(self, op, ref, quad):
        return free_entropy_franz_parisi(op, ref, self, quad=quad)

    def resolved(self, op, ref):
        """Whether the z' rule resolves ln H here: $C/\\sqrt{1-q} \\le$ LOG_H_RELIABLE."""
        _, _, C2, s2, _ = _variances(op, ref, self.p)
        return C2 <= LOG_H_RELIABLE**2 * s2

    @staticmethod
    def reference(alpha, kappa_ref) -> SaddleSolution:
        return reference_saddle(alpha, kappa_ref)

    @staticmethod
    def kappa_max(alpha):
        return kappa_max(alpha)

    @staticmethod
    def threshold_sweep(kappa) -> Array:
        """alpha_c(kappa) x (0.72, ..., 0.96): at kappa = -0.6, -0.3, 0, 0.3, 0.5 the
        threshold lies at 0.875-0.90 of alpha_c, inside."""
        return storage_threshold(kappa, entropy).alpha * jnp.asarray(_BRACKET_FRACTION)


class FPOrderParams(eqx.Module):
    """RS Franz-Parisi overlaps: q between constrained replicas, t with the other
    reference replicas, and the conjugates $\\hat q, \\hat t, \\hat p$ (p itself is fixed)."""

    q: Float[Array, ""] = eqx.field(converter=f64)
    t: Float[Array, ""] = eqx.field(converter=f64)
    q_hat: Float[Array, ""] = eqx.field(converter=f64)
    t_hat: Float[Array, ""] = eqx.field(converter=f64)
    p_hat: Float[Array, ""] = eqx.field(converter=f64)


class FPQuadrature(NamedTuple):
    """Static quadrature sizes. z0: trapezoid with ``n_z0`` nodes on [-9, 9]. The
    reference's own field $z_1 = x_0 + y \\ge x_0$: on $y \\in [0, 1]$, ``near_panels`` x
    ``y_nodes`` Gauss-Legendre nodes in $r = \\ln(1 + y/y_{lo})$ (graded towards the threshold,
    where the boundary layer of width $\\sqrt{1-q}$ sits when $\\kappa = \\tilde\\kappa$); on
    $[1, 11 + \\mathrm{softplus}(-x_0)]$, ``far_panels`` equal panels. z': ``_smoothing``."""

    n_z0: int = 101
    near_panels: int = 6
    far_panels: int = 5
    y_nodes: int = 10
    y_lo: float = 1e-3


DEFAULT_QUADRATURE = FPQuadrature()
FranzParisiStorage.default_quad = DEFAULT_QUADRATURE
# storage's bracketing sweep in alpha / alpha_c(kappa) (alpha = 0.60 ... 0.80 at kappa = 0)
_BRACKET_FRACTION = (0.72, 0.77, 0.80, 0.84, 0.86, 0.89, 0.91, 0.94, 0.96)
_Z0_HALF_WIDTH = 9.0


def z0_rule(n: int) -> tuple[Array, Array]:
    """Trapezoid nodes and Gaussian weights for $z_0$ on [-9, 9] (``n`` nodes)."""
    z = np.linspace(-_Z0_HALF_WIDTH, _Z0_HALF_WIDTH, n)
    w = np.exp(-z**2 / 2) / np.sqrt(2 * np.pi) * (z[1] - z[0])
    return jnp.asarray(z), jnp.asarray(w)


def _panels(lo, hi, n_panels: int, n_nodes: int) -> tuple[Array, Array]:
    x, w = (v[None, :] for v in np.polynomial.legendre.leggauss(n_nodes))
    edges = lo + (hi - lo) * jnp.linspace(0.0, 1.0, n_panels + 1)
    a, b = edges[:-1, None], edges[1:, None]
    return ((b - a) / 2 * x + (a + b) / 2).ravel(), ((b - a) / 2 * w).ravel()


def graded_rule(x0: Array, quad: FPQuadrature) -> tuple[Array, Array]:
    """Nodes and weights on $y \\ge 0$ for the truncated normal $N(-x_0, 1)$, $y \\ge 0$."""
    r, dr = _panels(0.0, np.log1p(1 / quad.y_lo), quad.near_panels, quad.y_nodes)
    near, w_near = quad.y_lo * jnp.expm1(r), dr * quad.y_lo * jnp.exp(r)
    far, w_far = _panels(1.0, 11.0 + jax.nn.softplus(-x0), quad.far_panels, quad.y_nodes)
    return jnp.concatenate([near, far]), jnp.concatenate([w_near, w_far])


# ------------------------------------------------------------------------- free entropy

def _variances(op: FPOrderParams, ref: RSOrderParams, p: Array):
    """A, B, C^2, 1-q of the constrained field and b^2 = q_hat - t_hat^2/qt_hat."""
    A = op.t / jnp.sqrt(ref.q)
    B = (p - op.t) / jnp.sqrt(1 - ref.q)
    return A, B, op.q - A**2 - B**2, 1 - op.q, op.q_hat - op.t_hat**2 / ref.q_hat


def entropic_term(op: FPOrderParams, ref: RSOrderParams, quad: FPQuadrature) -> Array:
    """$G_S$ of the module docstring (the constrained weights around their reference)."""
    z0, w0 = z0_rule(quad.n_z0)
    b2 = op.q_hat - op.t_hat**2 / ref.q_hat
    mean = op.t_hat / jnp.sqrt(ref.q_hat) * z0 + (op.p_hat - op.t_hat)
    own_reference = 1 + jnp.tanh(jnp.sqrt(ref.q_hat) * z0)  # gauge W~^1 = +1
    return jnp.sum(w0 * own_reference * gaussian_smoothing("log2cosh", 0, mean, b2))


def _energetic(op: FPOrderParams, ref: RSOrderParams, problem: FranzParisiStorage,
               quad: FPQuadrature) -> Array:
    z0, w0 = z0_rule(quad.n_z0)
    A, B, C2, s2, _ = _variances(op, ref, problem.p)
    s = jnp.sqrt(s2)

    def at(z0_i):
        x0 = (problem.kappa_ref - jnp.sqrt(ref.q) * z0_i) / jnp.sqrt(1 - ref.q)
        y, wy = graded_rule(x0, quad)
        # truncated normal density of y = z1 - x0 >= 0: G(x0 + y)/H(x0)
        density = gaussian_over_H(x0) * jnp.exp(-x0 * y - y**2 / 2)
        w = (problem.kappa - A * z0_i - B * (x0 + y)) / s
        # E_{z'} ln H(w - (C/s) z'): Gaussian smoothing with variance C^2/(1-q)
        return jnp.sum(wy * density * gaussian_smoothing("log_H", 0, w, C2 / s2))

    return jnp.sum(w0 * jax.vmap(at)(z0))


def free_entropy_franz_parisi(op: FPOrderParams, ref: RSOrderParams,
                              problem: FranzParisiStorage, *,
                              quad: FPQuadrature = DEFAULT_QUADRATURE) -> Float[Array, ""]:
    """RS Franz-Parisi free entropy (module docstring) at overlaps ``op`` around references
    with RS overlaps ``ref`` $= (\\tilde q, \\hat{\\tilde q})$; its value at the saddle point is
    the local entropy $S(d)$ (nats per weight)."""
    conjugate = -op.q_hat * (1 - op.q) / 2 - op.p_hat * problem.p + op.t_hat * op.t
    return (conjugate + entropic_term(op, ref, quad)
            + problem.alpha * _energetic(op, ref, problem, quad))


# ------------------------------------------------------------------------------- solver
# Newton runs in coordinates where the admissible set is a box: C^2 = lam (1 - q_min(t)) and
# 1 - q = (1 - lam)(1 - q_min(t)) with q_min = A^2 + B^2, lam in [0, 1); b^2 = q_hat -
# t_hat^2/qt_hat >= 0. The map to (q, t, q_hat, t_hat, p_hat) has a unit-triangular-times-
# positive Jacobian, so stationary points correspond one to one.

_EPS = 1e-12


class _Coords(eqx.Module):
    t: Array
    lam: Array
    t_hat: Array
    b2: Array
    p_hat: Array


def _q_min(t, ref: RSOrderParams, p):
    return t**2 / ref.q + (p - t) ** 2 / (1 - ref.q)


def _to_order_params(x: _Coords, ref: RSOrderParams, p) -> FPOrderParams:
    q_min = _q_min(x.t, ref, p)
    return FPOrderParams(q_min + x.lam * (1 - q_min), x.t, x.b2 + x.t_hat**2 / ref.q_hat,
                         x.t_hat, x.p_hat)


def _to_coords(op: FPOrderParams, ref: RSOrderParams, p) -> _Coords:
    q_min = _q_min(op.t, ref, p)
    return _Coords(op.t, (op.q - q_min) / (1 - q_min), op.t_hat,
                   op.q_hat - op.t_hat**2 / ref.q_hat, op.p_hat)


def _bounds(ref: RSOrderParams, p) -> tuple[_Coords, _Coords]:
    """t between the roots of q_min(t) = 1, i.e. p qt -+ sqrt(qt (1-qt) (1-p^2))."""
    half = jnp.sqrt(ref.q * (1 - ref.q) * (1 - p**2)) * (1 - _EPS)
    inf = jnp.full_like(half, jnp.inf)
    lower = _Coords(p * ref.q - half, jnp.zeros_like(half), -inf, jnp.zeros_like(half), -inf)
    upper = _Coords(p * ref.q + half, jnp.full_like(half, 1 - _EPS), inf, inf, inf)
    return lower, upper


def identity_order_params(ref: RSOrderParams) -> FPOrderParams:
    """Exact saddle point at $\\kappa = \\tilde\\kappa$, $p = \\tilde q$: the constrained
    replica is one more reference replica, $q = t = \\tilde q$, $\\hat q = \\hat t = \\hat p =
    \\hat{\\tilde q}$, and $S = \\phi_{RS}(\\alpha, \\tilde\\kappa)$ (note section 6 (ii))."""
    return FPOrderParams(ref.q, ref.q, ref.q_hat, ref.q_hat, ref.q_hat)


STORAGE_CHART = Chart(_to_order_params, _to_coords, _bounds, identity_order_params)
FranzParisiStorage.chart = STORAGE_CHART


def follow_queries(path: LocalEntropyQuery, refs, init, start: LocalEntropyQuery, ref0, quad
                   ) -> tuple[SaddleSolution, PyTree]:
    """The engine's continuation through a path of queries (and their references) from
    the solution ``init`` (solver coordinates) of ``start`` around ``ref0``."""
    return follow(LocalEntropyModel(path, refs, quad), init,
                  LocalEntropyModel(start, ref0, quad))[:2]


@eqx.filter_jit
def saddle_franz_parisi(problem: LocalEntropyQuery, ref, init, *,
                        quad: FPQuadrature = DEFAULT_QUADRATURE) -> SaddleSolution:
    """Newton on $\\nabla\\phi = 0$ from ``init`` (box coordinates, see above) around
    references with RS overlaps ``ref``; the saddle in physical order parameters,
    differentiable in ``problem`` and ``ref`` (implicit function theorem). Never throws."""
    model = LocalEntropyModel(problem, ref, quad)
    return saddle(model, init, warm_up_steps=0, max_steps=model.corrector_steps)


# ------------------------------------------------------------------------ the reference

_REF_PATH = 48  # continuation points in kappa (from 0, or from kappa_ref if negative)


def reference_on_path(model_at: Callable[[Array, Array], ReplicaModel], alpha, kappa_ref
                      ) -> SaddleSolution:
    """RS saddle of the reference model ``model_at(alpha, kappa)`` at
    $(\\alpha, \\tilde\\kappa)$: cold start at kappa = min(kappa_ref, 0), then continuation
    in kappa (the cold start alone fails at large margins), then a final Newton solve at
    the end point (differentiable in alpha and kappa_ref)."""
    alpha, kappa_ref = f64(alpha), f64(kappa_ref)
    kappas = jnp.linspace(jnp.minimum(kappa_ref, 0.0), kappa_ref, _REF_PATH)
    first = saddle(model_at(alpha, kappas[0])).order_params
    branch, _, _ = follow(model_at(jnp.full_like(kappas, alpha), kappas), first)
    last = jax.tree.map(lambda x: x[-1], branch)
    return saddle(model_at(alpha, kappa_ref), last.order_params, warm_up_steps=0)


@eqx.filter_jit
def reference_saddle(alpha: ArrayLike, kappa_ref: ArrayLike) -> SaddleSolution:
    """RS saddle of the reference sector, $(\\tilde q, \\hat{\\tilde q})$ at
    $(\\alpha, \\tilde\\kappa)$ (``reference_on_path``). Jit/vmap-able, never throws."""
    return reference_on_path(lambda a, k: StorageRS(BinaryStorage(a, k)), alpha, kappa_ref)


# ------------------------------------------------------------------ curves S(d) in one go


class FranzParisiCurve(Solved):
    """Local entropy $S(d)$ on a grid of distances (last axis), all order parameters, the
    slope $dS/dd$ (envelope theorem), Newton diagnostics, and the reference sector."""

    problem: FranzParisiQuery
    local_entropy: Float[Array, "*batch D"]
    order_params: eqx.Module
    slope: Float[Array, "*batch D"]
    residual: Float[Array, "*batch D"]
    newton_steps: Array
    status: Status
    reference: RSOrderParams | TSOrderParams
    reference_entropy: Float[Array, "*batch"]

    @property
    def gen_error(self) -> Array:
        """Teacher-student: generalization error $\\arccos(R)/\\pi$ of the constrained
        solutions at each distance."""
        if not hasattr(self.order_params, "R"):
            raise ValueError("gen_error: a storage curve has no teacher (use "
                             "query=FranzParisiTeacherStudent)")
        return gen_error_from_overlap(self.order_params.R)

    @property
    def reference_gen_error(self) -> Array:
        """Teacher-student: generalization error $\\arccos(\\tilde R)/\\pi$ of the references."""
        if not hasattr(self.reference, "R"):
            raise ValueError("reference_gen_error: a storage curve has no teacher")
        return gen_error_from_overlap(self.reference.R)

    @property
    def upper_bound(self) -> Array:
        """$-d\\ln d - (1-d)\\ln(1-d)$: all $\\binom{N}{dN}$ configurations at distance d."""
        return hamming_shell_entropy(self.problem.d)


def slope(op: FPOrderParams, ref: RSOrderParams, problem: FranzParisiStorage, *,
          quad: FPQuadrature = DEFAULT_QUADRATURE) -> Array:
    """$dS/dd = \\partial\\phi/\\partial d$ at fixed order parameters (envelope theorem: the
    saddle point is stationary in every other variable), $= -2\\,\\partial\\phi/\\partial p$."""
    at = lambda d: eqx.tree_at(lambda p: p.d, problem, d).free_entropy(op, ref, quad)
    return jax.grad(at)(problem.d)


def follow_curve(base: LocalEntropyQuery, ref, d: Array, quad, n_kappa: int, n_fill: int
                 ) -> SaddleSolution:
    """The saddle points of one curve S(d) (``base`` a scalar query; d a 1-d grid), by the
    engine's continuation: identity point at $(\\tilde\\kappa, d_{typ} = (1-\\tilde q)/2)$,
    move to $d_h = 0.9\\, d_{typ}$, homotopy in kappa from $\\tilde\\kappa$ to kappa there
    (``n_kappa`` legs), then two continuations in d (down through the targets below $d_h$ on
    a geometric fill, up through the others on a linear fill, ``n_fill`` extra points
    each, vmapped over the direction). A point counts as converged only if the homotopy
    reached its end too (the branch is connected all the way)."""
    d_typ = (1 - ref.q) / 2
    d_h = 0.9 * d_typ
    refs = lambda n: jax.tree.map(lambda x: jnp.broadcast_to(x, (n,)), ref)
    start = base.at(base.kappa_ref, d_typ)
    identity = LocalEntropyModel(start, ref, quad).to_coords(start.identity(ref))

    # stage A: to d_h at kappa_ref, then kappa_ref -> kappa
    steps = jnp.arange(n_kappa + 1, dtype=jnp.float64) / n_kappa
    path_a = base.at(base.kappa_ref + (base.kappa - base.kappa_ref) * steps, d_h)
    stage_a, coords_a = follow_queries(path_a, refs(n_kappa + 1), identity, start, ref, quad)
    last = lambda tree: jax.tree.map(lambda x: x[-1], tree)
    x_a, end_a = last(coords_a), last(path_a)

    # stages B (down) and C (up), vmapped over the direction
    below = d < d_h
    down = jnp.concatenate([jnp.geomspace(d_h, jnp.minimum(d.min(), d_h), n_fill),
                            jnp.where(below, d, d_h)])
    up = jnp.concatenate([jnp.linspace(d_h, jnp.maximum(d.max(), d_h), n_fill),
                          jnp.where(below, d_h, d)])
    order_down, order_up = jnp.argsort(-down), jnp.argsort(up)
    paths = jnp.stack([down[order_down], up[order_up]])
    sols, _ = jax.vmap(lambda ds: follow_queries(base.at(base.kappa, ds), refs(ds.shape[0]),
                                                 x_a, end_a, ref, quad))(paths)
    where = jnp.stack([jnp.argsort(order_down), jnp.argsort(order_up)])[:, n_fill:]
    pick = lambda x: jnp.where(below, x[0][where[0]], x[1][where[1]])
    sol = jax.tree.map(pick, sols)
    connected = stage_a.converged[-1]
    return eqx.tree_at(lambda v: v.status, sol,
                       demote(sol.status, jnp.broadcast_to(connected, d.shape),
                              Status.branch_lost))


def _curve(alpha: Array, kappa_ref: Array, kappa: Array, d: Array, quad, n_kappa: int,
           n_fill: int, Problem=FranzParisiStorage) -> FranzParisiCurve:
    """One curve (scalar alpha, kappa_ref, kappa; d a 1-d grid) of a task's query class
    ``Problem`` (storage, or teacher-student): ``follow_curve`` around the task's
    references, with the slope dS/dd."""
    reference = Problem.reference(alpha, kappa_ref)
    ref = reference.order_params
    base = Problem(alpha, kappa_ref, kappa, 0.5)
    sol = follow_curve(base, ref, d, quad, n_kappa, n_fill)
    targets = base.at(kappa, d)
    slopes = jax.vmap(lambda o, p: slope(o, ref, p, quad=quad))(sol.order_params, targets)
    status = demote(sol.status, jnp.broadcast_to(reference.converged, d.shape),
                    Status.branch_lost)
    return FranzParisiCurve(targets, sol.free_entropy, sol.order_params, slopes, sol.residual,
                            sol.newton_steps, status, ref, reference.free_entropy)


@eqx.filter_jit
def curve_grid(Problem, alpha, kappa_ref, kappa, d, quad, n_kappa, n_fill, batch_size):
    """``franz_parisi_curve`` without its input checks and error report: all curves in one
    program: ``batch_size`` of them at a time under vmap, the batches
    in sequence (``lax.map``), so that memory stays bounded on large grids."""
    one = lambda a: _curve(*a, d, quad, n_kappa, n_fill, Problem=Problem)
    curve = jax.lax.map(one, (alpha, kappa_ref, kappa), batch_size=batch_size)
    return blank_unconverged(curve, lambda c: (c.local_entropy, c.order_params, c.slope))


def franz_parisi_curve(alpha: ArrayLike, kappa_ref: ArrayLike, kappa: ArrayLike,
                       d: ArrayLike, *, query: type[FranzParisiQuery] = FranzParisiStorage,
                       quad=None, n_kappa: int = 8, n_fill: int = 16,
                       batch_size: int = 4, throw: bool = True) -> FranzParisiCurve:
    """Franz-Parisi local entropy $S(d)$ (RS) around uniform margin-``kappa_ref``
    references, counting margin-``kappa`` solutions, on a grid of distances ``d``; ``query``
    the task's query class: ``FranzParisiStorage`` (random labels) or
    ``FranzParisiTeacherStudent`` (labels of a binary teacher; the curve then has
    ``gen_error``). ``quad``: the task's quadrature sizes (default: its ``default_quad``).

    ``alpha``, ``kappa_ref``, ``kappa`` broadcast to a batch (leading axes); ``d`` is a 1-d
    grid in (0, 1/2] (last axis). One jitted, vmapped call: identity point at the typical
    distance, homotopy in kappa (``n_kappa`` legs), continuation in d (``n_fill`` extra
    points each way, legs halved on failure); ``batch_size`` curves at a time (about 0.5 GB
    each at the default quadrature; on a CPU a batch runs no faster than its curves in
    sequence; on a GPU larger batches should pay, not measured yet). Raises ``ValueError``
    for bad input (kappa_ref above kappa_max(alpha), kappa > kappa_ref, d outside (0, 1/2]) and
    ``SaddlePointError`` listing the points where the branch was lost (``throw=False``: the
    ``status`` of each point says it; the references are checked either way)."""
    require_x64("franz_parisi_curve")
    Problem, task = query, query.__name__
    if not (isinstance(batch_size, int) and batch_size >= 1):
        raise ValueError(f"franz_parisi_curve(batch_size={batch_size!r}): the number of "
                         "curves solved at once must be an integer >= 1")
    d = np.atleast_1d(np.asarray(d, np.float64))
    if d.ndim != 1 or not np.all((d > 0) & (d <= 0.5)):
        raise ValueError(f"franz_parisi_curve(d={d.tolist()}): the Hamming fraction d must "
                         "lie in (0, 1/2] (a 1-d grid)")
    alpha, kappa_ref, kappa = np.broadcast_arrays(*(np.asarray(v, np.float64)
                                                    for v in (alpha, kappa_ref, kappa)))
    shape = alpha.shape
    alpha, kappa_ref, kappa = (np.atleast_1d(v).ravel() for v in (alpha, kappa_ref, kappa))
    if not np.all(np.isfinite(alpha) & (alpha > 0)):
        raise ValueError(f"franz_parisi_curve(alpha={alpha.tolist()}): alpha = P/N must be "
                         "finite and > 0")
    if not np.all(np.isfinite(kappa_ref) & np.isfinite(kappa)):
        raise ValueError("franz_parisi_curve: kappa_ref and kappa must be finite")
    if np.any(kappa > kappa_ref):
        i = int(np.argmax(kappa > kappa_ref))
        raise ValueError(f"franz_parisi_curve(kappa={kappa[i]:g}, kappa_ref={kappa_ref[i]:g}): "
                         "kappa must be <= kappa_ref (a reference of margin kappa_ref has no "
                         "solutions of larger margin close to it: S(d) -> -inf as d -> 0)")
    references = _references(Problem, jnp.asarray(alpha), jnp.asarray(kappa_ref))
    _check_references(references, alpha, kappa_ref, Problem)
    curve = curve_grid(Problem, jnp.asarray(alpha), jnp.asarray(kappa_ref), jnp.asarray(kappa),
                       jnp.asarray(d), Problem.default_quad if quad is None else quad, n_kappa,
                       n_fill, batch_size)
    check(curve, f"franz_parisi_curve({task})", throw=throw, alpha=alpha[:, None],
          kappa_ref=kappa_ref[:, None], kappa=kappa[:, None], d=d[None, :])
    return jax.tree.map(lambda x: x.reshape(shape + x.shape[1:]), curve)


@eqx.filter_jit
def _references(Problem, alpha, kappa_ref):
    return jax.vmap(Problem.reference)(alpha, kappa_ref)


def _check_references(references: SaddleSolution, alpha: np.ndarray,
                      kappa_ref: np.ndarray, Problem: type[FranzParisiQuery]) -> None:
    """Before the curves: every reference saddle converged, and none has a negative RS
    entropy (no references exist there: kappa_ref > kappa_max)."""
    raise_unconverged(f"franz_parisi_curve({Problem.__name__}): the references' RS saddle",
                      references.converged, references.residual, references.newton_steps,
                      status=references.status, alpha=alpha, kappa_ref=kappa_ref)
    entropy = np.asarray(references.free_entropy)
    # kappa_ref = kappa_max itself (entropy 0 to the solver's tolerance) is allowed
    bad = np.flatnonzero(entropy < -RESIDUAL_TOL)
    if bad.size == 0:
        return
    i = int(bad[0])
    try:
        limit = f"{float(Problem.kappa_max(alpha[i]).kappa):.6g}"
    except (SaddlePointError, ValueError, RuntimeError):
        limit = "unavailable"
    raise ValueError(
        f"franz_parisi_curve(alpha={alpha[i]:g}, kappa_ref={kappa_ref[i]:g}): kappa_ref exceeds "
        f"the RS maximal margin kappa_max(alpha) = {limit} (reference entropy "
        f"{entropy[i]:.4g} < 0: no such references); kappa_ref must be <= kappa_max(alpha)")


# ------------------------------------------- [P2]: where S(d) around kappa_max stops rising


class MonotonicityThreshold(Solved):
    """The alpha above which $S(d)$ of margin-kappa solutions around references at
    $\\kappa_{max}(\\alpha)$ is no longer monotone at small d, the distance d where the
    slope first touches zero there, and the augmented Newton diagnostics."""

    alpha: Float[Array, ""]
    kappa: Float[Array, ""]
    kappa_ref: Float[Array, ""]
    d: Float[Array, ""]
    local_entropy: Float[Array, ""]
    order_params: eqx.Module
    reference: RSOrderParams | TSOrderParams
    residual: Float[Array, ""]
    newton_steps: Array
    status: Status


def _curvature(x: PyTree, ref: PyTree, problem: LocalEntropyQuery, quad
               ) -> tuple[Array, Array]:
    """Slope $dS/dd$ and curvature $d^2S/dd^2$ along the saddle: $\\phi_d$ and
    $\\phi_{dd} - \\phi_{dx} H^{-1} \\phi_{xd}$ (implicit function theorem)."""
    flat, unravel = jax.flatten_util.ravel_pytree(x)

    def phi(v, d):
        model = LocalEntropyModel(eqx.tree_at(lambda p: p.d, problem, d), ref, quad)
        return model.free_entropy(model.to_order_params(unravel(v)))

    d = problem.d
    phi_d = jax.grad(phi, 1)
    hessian = jax.hessian(phi, 0)(flat, d)
    mixed = jax.grad(phi_d, 0)(flat, d)
    return phi_d(flat, d), jax.grad(phi_d, 1)(flat, d) - mixed @ jnp.linalg.solve(hessian,
                                                                                   mixed)


def _unchecked(Problem: type[FranzParisiQuery], alpha, kappa_ref, kappa, d
               ) -> FranzParisiQuery:
    """A query with trial values put in directly, without the input checks: a wild Newton
    iterate (or a failed solve's NaN) is a failed solve reported with its residual, not an
    input error."""
    return eqx.tree_at(lambda p: (p.alpha, p.kappa_ref, p.kappa, p.d),
                       Problem(1.0, 0.0, 0.0, 0.25), (alpha, kappa_ref, kappa, d))


def _threshold_equations(Problem: type[FranzParisiQuery], quad):
    """[grad phi_RS; phi_RS] (reference at kappa_max(alpha)), [grad phi_FP; dS/dd; d2S/dd2]
    in (reference overlaps, kappa_ref, FP coordinates, d, ln alpha); args = kappa."""
    task = Problem.problem_class

    def equations(unknowns, kappa):
        ref, kappa_ref, x, d, log_alpha = unknowns
        alpha = jnp.exp(log_alpha)
        rs = RS_MODELS[task](eqx.tree_at(lambda p: (p.alpha, p.kappa), task(1.0, 0.0),
                                         (alpha, kappa_ref)))
        problem = _unchecked(Problem, alpha, kappa_ref, kappa, d)
        slope_d, curvature = _curvature(x, ref, problem, quad)
        return (stationarity(ref, rs), rs.free_entropy(ref),
                stationarity(x, LocalEntropyModel(problem, ref, quad)), slope_d, curvature)

    return equations


_DIP_GRID = tuple(np.geomspace(1e-4, 0.12, 18).tolist())


def _min_slope(Problem: type[FranzParisiQuery], alpha: Array, kappa: Array, quad):
    """Smallest interior minimum of dS/dd over the dip grid around kappa_max(alpha)."""
    top = find_kappa_max(Problem.problem_class, alpha)
    kappa_ref = jnp.where(top.converged, top.kappa, kappa)  # a failed kappa_max: ok = False
    curve = _curve(alpha, kappa_ref, kappa, jnp.asarray(_DIP_GRID), quad, 8, 12,
                   Problem=Problem)
    s = curve.slope
    # interior local minima of the slope (the dip), not the fall towards the peak at d*
    interior = (s[1:-1] <= s[:-2]) & (s[1:-1] <= s[2:])
    i = 1 + jnp.argmin(jnp.where(interior, s[1:-1], jnp.inf))
    return (jnp.where(interior.any(), s[i], jnp.inf), i, kappa_ref, curve,
            curve.converged.all() & top.converged)


_N_FALSI = 2  # regula falsi steps inside the sweep's bracket before Newton


@eqx.filter_jit
def _monotonicity_threshold(Problem: type[FranzParisiQuery], kappa: Array, quad
                            ) -> MonotonicityThreshold:
    alphas = Problem.threshold_sweep(kappa)
    slopes, where, kappa_refs, curves, ok = jax.vmap(
        lambda a: _min_slope(Problem, a, kappa, quad))(alphas)
    # first grid alpha with a non-positive dip: the bracket (alphas[j], alphas[j + 1])
    j = jnp.clip(jnp.argmax(slopes <= 0) - 1, 0, alphas.shape[0] - 2)
    pick = lambda tree, k: jax.tree.map(lambda v: v[k], tree)
    monotone = (alphas[j], slopes[j], where[j], kappa_refs[j], pick(curves, j))
    dipped = (alphas[j + 1], slopes[j + 1])

    def falsi(_, state):
        # the dip's smallest slope interpolated to zero; Newton starts from the monotone end,
        # which must be near a zero slope (from +0.71 at kappa = 0.3 it diverged)
        (a_lo, s_lo, *rest), (a_hi, s_hi), all_ok = state
        a = a_lo + (a_hi - a_lo) * s_lo / (s_lo - s_hi)
        s_a, w_a, k_a, c_a, ok_a = _min_slope(Problem, a, kappa, quad)
        rises = (s_a > 0) & jnp.isfinite(s_a)
        new_lo = jax.tree.map(lambda n, o: jnp.where(rises, n, o), (a, s_a, w_a, k_a, c_a),
                              (a_lo, s_lo, *rest))
        return new_lo, (jnp.where(rises, a_hi, a), jnp.where(rises, s_hi, s_a)), all_ok & ok_a

    usable = jnp.isfinite(slopes[j]) & (slopes[j] > 0) & (slopes[j + 1] <= 0)
    state = (monotone, dipped, ok.all())
    state = jax.lax.cond(usable, lambda st: jax.lax.fori_loop(0, _N_FALSI, falsi, st),
                         lambda st: st, state)
    (a_lo, _, i, kappa_ref0, curve), _, all_ok = state
    start_ref = curve.reference
    at_i = lambda tree: jax.tree.map(lambda v: v[i], tree)
    x = at_i(curve.problem).to_coords(at_i(curve.order_params), start_ref)
    start = (start_ref, kappa_ref0, x, curve.problem.d[i], jnp.log(a_lo))
    root = solve_root(_threshold_equations(Problem, quad), start, kappa)
    ref, kappa_ref, x, d, log_alpha = root.value
    alpha = jnp.exp(log_alpha)
    problem = _unchecked(Problem, alpha, kappa_ref, kappa, d)
    op = problem.to_order_params(x, ref)
    # checked against the sweep's bracket: the falsi ends can pass the root by a little,
    # the smallest slope on the d grid lying above the true minimum (kappa = 0 did)
    bracketed = (jnp.any(slopes <= 0) & (slopes[0] > 0) & all_ok
                 & (alpha >= alphas[j]) & (alpha <= alphas[j + 1]))
    return MonotonicityThreshold(alpha, kappa, kappa_ref, d,
                                 problem.free_entropy(op, ref, quad), op,
                                 ref, root.residual, root.newton_steps,
                                 demote(root.status, bracketed, Status.not_bracketed))


def monotonicity_threshold(kappa: ArrayLike = 0.0, *,
                           query: type[FranzParisiQuery] = FranzParisiStorage,
                           quad=None) -> MonotonicityThreshold:
    """[P2] diagnostic: the alpha where the local entropy of margin-``kappa`` solutions
    around references at $\\kappa_{max}(\\alpha)$ stops being monotone in d (a local maximum
    and a dip appear): the analytic estimate of where wide flat minima disappear. ``query``:
    the task's query class, ``FranzParisiStorage`` (random labels, kappa in [-0.6, 0.5]) or
    ``FranzParisiTeacherStudent`` (binary teacher, kappa = 0, references at the
    teacher-student kappa_max); ``quad``: its quadrature sizes (default ``default_quad``).

    Root of [grad phi_RS = 0, phi_RS = 0 (kappa_ref = kappa_max), grad phi_FP = 0,
    dS/dd = 0, d2S/dd2 = 0] in (overlaps, kappa_ref, d, ln alpha) by Newton, started inside
    the bracket of a sweep over alpha (``query.threshold_sweep``: storage [0.72, 0.96] x
    alpha_c(kappa); teacher-student 1.0, 1.025, 1.05, 1.1), refined by two regula falsi
    steps on the dip's smallest slope (from the sweep's monotone end, at slope +0.71,
    Newton diverged at kappa = 0.3). Differentiable in kappa. Measured (storage): alpha_U =
    1.6506, 1.0776, 0.7290, 0.5096, 0.4082 at kappa = -0.6, -0.3, 0, 0.3, 0.5 (0.89, 0.88,
    0.875, 0.89, 0.90 of alpha_c)."""
    require_x64("monotonicity_threshold")
    lo, hi = query.threshold_kappa
    kappa = f64(kappa)
    kappa = checked(kappa, lambda: ~(kappa >= lo) | ~(kappa <= hi),
                    f"monotonicity_threshold(kappa=...): for {query.__name__} kappa must "
                    f"lie in [{lo}, {hi}] (where the bracketing sweep in alpha was "
                    "validated)")
    result = _monotonicity_threshold(query, kappa, query.default_quad if quad is None else quad)
    if isinstance(kappa, jax.core.Tracer):
        return result
    raise_unconverged(f"monotonicity_threshold({query.__name__})", result.converged,
                      result.residual, result.newton_steps, status=result.status, kappa=kappa)
    return result


# --------------------------- the same threshold by a sweep in alpha (any query, no Newton)


class SweepThreshold(eqx.Module):
    """The alpha where the smallest interior slope of S(d) (references at
    ``query.kappa_max(alpha)``) crosses zero, interpolated in the final bracket
    [alpha_lo, alpha_hi]; the dip's distance d at alpha_hi, and the number of curves."""

    alpha: float
    kappa: float
    kappa_ref: float
    d: float
    alpha_lo: float
    alpha_hi: float
    curves: int


def interior_minimum(slope: np.ndarray, d: np.ndarray) -> tuple[float, float]:
    """Smallest interior local minimum of dS/dd on the grid, refined by the parabola in
    ln d through it and its neighbours: (value, d); (+inf, nan) if there is none."""
    s = np.asarray(slope)
    interior = np.flatnonzero((s[1:-1] <= s[:-2]) & (s[1:-1] <= s[2:])) + 1
    if interior.size == 0:
        return np.inf, np.nan
    i = interior[np.argmin(s[interior])]
    x = np.log(d[i - 1:i + 2])
    a, b, c = np.polyfit(x, s[i - 1:i + 2], 2)
    x_min = -b / (2 * a)
    return float(c - b * b / (4 * a)), float(np.exp(x_min))


SWEEP_DIP_GRID = tuple(np.geomspace(2e-3, 0.12, 12).tolist())


def refine_sign_change(dip: Callable, low: tuple, high: tuple, tol: float
                       ) -> tuple[float, float, float, float]:
    """Illinois regula falsi on the sign of m(alpha), ``dip(alpha) = (m, d)``: from ``low``
    = (lo, m(lo) > 0; m infinite where there is no dip yet, then bisection) and ``high`` =
    (hi, m(hi) <= 0, d(hi)) to a bracket narrower than ``tol``. Returns (the root
    interpolated in the final bracket, lo, hi, d at hi)."""
    (lo, m_lo), (hi, m_hi, d_hi) = low, high
    side = 0
    while hi - lo > tol:
        mid = 0.5 * (lo + hi) if not np.isfinite(m_lo) else lo + (hi - lo) * m_lo / (m_lo - m_hi)
        mid = min(max(mid, lo + 0.05 * (hi - lo)), hi - 0.05 * (hi - lo))
        m_mid, d_mid = dip(mid)
        if m_mid <= 0:
            hi, m_hi, d_hi = mid, m_mid, d_mid
            m_lo = m_lo / 2 if side == -1 else m_lo
            side = -1
        else:
            lo, m_lo = mid, m_mid
            m_hi = m_hi / 2 if side == 1 else m_hi
            side = 1
    alpha = lo + (hi - lo) * m_lo / (m_lo - m_hi) if np.isfinite(m_lo) else 0.5 * (lo + hi)
    return alpha, lo, hi, d_hi


def sweep_monotonicity_threshold(query: type[FranzParisiQuery], kappa: float = 0.0, *,
                                 start: float, step: float, tol: float = 2e-3,
                                 d: tuple[float, ...] = SWEEP_DIP_GRID, quad=None,
                                 n_kappa: int = 4, n_fill: int = 6) -> SweepThreshold:
    """``monotonicity_threshold`` for any query class (no third derivatives): the root in
    alpha of m(alpha) = ``interior_minimum`` of the slope of a ``franz_parisi_curve`` on the
    grid ``d`` around references at ``query.kappa_max(alpha)`` (without one, the smallest
    slope if it is <= 0: S falls from the grid's edge). alpha steps up from
    ``start`` by ``step`` until m <= 0, then regula falsi (Illinois) to a bracket narrower
    than ``tol``; the root is interpolated in it. One curve per alpha, solved from scratch
    (7-8 min each for the K = 3 committee on a loaded 2-core CPU). Error budget: ``tol`` plus
    the grid's bias (the parabola-refined grid minimum lies above the true minimum of the
    slope: an upper estimate of alpha). Raises ``SaddlePointError`` if S(d) is not monotone
    at ``start`` or a curve loses its branch."""
    require_x64("sweep_monotonicity_threshold")
    grid = np.asarray(d, np.float64)
    counted = []

    def dip(alpha):
        kappa_ref = float(query.kappa_max(alpha).kappa)
        curve = franz_parisi_curve(alpha, kappa_ref, kappa, grid, query=query, quad=quad,
                                   n_kappa=n_kappa, n_fill=n_fill, batch_size=1)
        counted.append(alpha)
        slopes = np.asarray(curve.slope)
        value, where = interior_minimum(slopes, grid)
        if not np.isfinite(value) and slopes.min() <= 0:  # S already falls at the grid's edge
            return float(slopes.min()), float(grid[np.argmin(slopes)])
        return value, where

    lo = start
    m_lo, _ = dip(lo)
    if m_lo <= 0:
        raise SaddlePointError(f"sweep_monotonicity_threshold({query.__name__}): S(d) is "
                               f"already non-monotone at alpha = {lo:.6g}")
    hi = lo + step
    m_hi, d_hi = dip(hi)
    while m_hi > 0:
        lo, m_lo, hi = hi, m_hi, hi + step
        m_hi, d_hi = dip(hi)
    alpha, lo, hi, d_hi = refine_sign_change(dip, (lo, m_lo), (hi, m_hi, d_hi), tol)
    return SweepThreshold(alpha, kappa, float(query.kappa_max(alpha).kappa), d_hi, lo, hi,
                          len(counted))
