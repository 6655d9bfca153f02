"""Large-deviation local entropy of the binary perceptron, replica symmetric [P1].

References $\\tilde W$ are solutions (margin $\\tilde\\kappa$ = ``kappa_ref``) weighted by
$e^{yN S(\\tilde W, d)}$, where $S(\\tilde W, d) = N^{-1}\\ln\\#\\{W$ solution with margin
$\\kappa$ : $W\\cdot\\tilde W = N(1-2d)\\}$ (Baldassi, Ingrosso, Lucibello, Saglietti, Zecchina,
PRL 115, 128101 (2015); J. Stat. Mech. (2016) 023301). With n -> 0 groups, each a reference
$\\tilde W^a$ and y real replicas $W^{ai}$, and replica symmetry across groups:

$\\tilde W^a\\cdot\\tilde W^b = N\\tilde q$, $W^{ai}\\cdot W^{aj} = Nq_1$, $W^{ai}\\cdot W^{bj} = Nq_0$,
$W^{ai}\\cdot\\tilde W^b = Nt$, $W^{ai}\\cdot\\tilde W^a = Np$ ($p = 1 - 2d$ fixed),
conjugates $\\hat{\\tilde q}, \\hat q_1, \\hat q_0, \\hat t, \\hat p$. Derivation (re-derived here):

$\\Phi(y) = -\\hat{\\tilde q}(1-\\tilde q)/2 - y\\hat q_1(1-q_1)/2 - y^2(\\hat q_1 q_1 -
\\hat q_0 q_0)/2 + y\\hat t t - y\\hat p p + G_S + \\alpha G_E$,

$G_S = E_{z_0,z_1}\\ln\\sum_{\\tilde W=\\pm1} e^{\\sqrt{\\hat{\\tilde q}} z_0\\tilde W}
\\{E_{z_2}[2\\cosh(b + \\sqrt{\\hat q_1-\\hat q_0}\\, z_2 + (\\hat p-\\hat t)\\tilde W)]^y\\}$,
$b = \\hat t z_0/\\sqrt{\\hat{\\tilde q}} + \\sqrt{\\hat q_0 - \\hat t^2/\\hat{\\tilde q}}\\, z_1$
(Hubbard-Stratonovich of the cross-group quadratic form; $z_2$ of the within-group one);

$G_E = E_{z_0,z_1}\\ln \\int_{x_0}^\\infty Du\\, E_v H((\\kappa - Az_0 - Bu - C_1z_1 -
C_2v)/\\sqrt{1-q_1})^y$, $x_0 = (\\tilde\\kappa - \\sqrt{\\tilde q}z_0)/\\sqrt{1-\\tilde q}$,
$A = t/\\sqrt{\\tilde q}$, $B = (p-t)/\\sqrt{1-\\tilde q}$, $C_1^2 = q_0 - A^2$,
$C_2^2 = q_1 - q_0 - B^2$: the reference's field is $\\sqrt{\\tilde q}z_0 + \\sqrt{1-\\tilde q}u
\\ge \\tilde\\kappa$, a replica's $Az_0 + Bu + C_1z_1 + C_2v + \\sqrt{1-q_1}w \\ge \\kappa$.

$\\Phi$ at the saddle point is the total free entropy; $S_{loc} = \\partial\\Phi/\\partial y$
(``local_entropy``, envelope theorem) and $\\Sigma = \\Phi - yS_{loc}$ (``reference_entropy``,
the entropy of the references that dominate at this y). Where $\\Sigma$ vanishes, at
$y^*(d)$, the dominating references are the densest that still exist in exponential number
(``sigma_zero_curve``); beyond $y^*$ the RS saddle counts references of negative entropy.
Checks built into the tests:
at $d = d_{typ} = (1-q_{RS})/2$ every overlap equals $q_{RS}$ and $\\Phi = (1+y)\\phi_{RS}$;
as $y \\to 0$, $\\Sigma \\to \\phi_{RS}$ and $S_{loc}$ is the Franz-Parisi local entropy.

Teacher-student (``LargeDeviationTeacherStudent``, ``LDTSOrderParams``): labels of a binary
teacher (gauged to $W_T = +1$); references and replicas have teacher overlaps $\\tilde R$,
R with conjugates $\\hat{\\tilde R}, \\hat R$. $\\Phi$ gains $-\\hat{\\tilde R}\\tilde R -
y\\hat RR$, $G_S$ the fields $\\hat{\\tilde R}$ (next to $\\sqrt{\\hat{\\tilde q}}z_0$) and
$\\hat R$ (inside the cosh), and $G_E$ an outer teacher field, $2E_{\\nu>0}$, with
reference field $\\tilde R\\nu + \\sqrt{\\tilde q - \\tilde R^2}z_0 + \\sqrt{1-\\tilde q}u$ and
replica field $R\\nu + Az_0 + \\ldots$, $A = (t - R\\tilde R)/\\sqrt{\\tilde q - \\tilde R^2}$,
$C_1^2 = q_0 - R^2 - A^2$ (``_structure``). Without teacher overlaps and fields it is the
storage $\\Phi$ term by term; at $d_{typ}$ it is $(1+y)\\phi_{TS}$; the generalization error
of the replicas is $\\arccos(R)/\\pi$.

Scope and numerics. Finite y in (0, 8], y != 1 (with one replica per group q1 and its
conjugate drop out of $\\Phi$: the Hessian is singular at y = 1). Inner averages of
$[\\cdot]^y$ are done in the log domain; the quadrature (``LDQuadrature``) reproduces the
identity point to 4e-10, and doubling every one of its rules moves $\\Phi$ and $S_{loc}$ by
less than 7e-10 at (alpha, d, y) = (0.72, 0.02, 5 and 5.8) and (0.72, 0.08, 6 and 8).
The y -> infinity limit is ``theory/large_deviation_limit.py``; what the finite-y saddles
show on the way (alpha = 0.6, d = 0.05, kappa = 0): the references freeze (at alpha = 0.5,
d = 0.17, q_ref grows from 0.32 at y -> 0 to 0.66 at y = 8); continued in y from 3 to 7,
S_loc rises 0.0981 -> 0.1174 (increments shrinking by ~0.87 per step of 0.5), towards the
limit's 0.1301, and $\\Sigma$ falls almost linearly (0.104 at y = 6, 0.085 at 7), heading for
$\\Sigma = 0$ near y ~ 11; warm-started in steps of 0.5, Newton converges up to y = 7 (an
earlier run lost the branch before 7.5). The scaling with all of $y(1-\\tilde q)$,
$\\hat{\\tilde q}/y^2$, $\\hat t/y$ finite is not the limit: from y = 3 to 6
$\\hat{\\tilde q}/y^2$ falls 1.5e-2 -> 8.8e-4 and $\\hat t/y$ 0.069 -> 0.015 while
$y(1-\\tilde q)$ grows 1.21 -> 1.69; the limit module takes $\\hat{\\tilde q}/y^2 \\to 0$,
$y(1-\\tilde q) \\to \\infty$.
Monotonicity in d is no finite-y substitute for alpha_U: as d -> 0 at fixed y the
references fall back to typical ones ($\\Sigma \\to \\phi_{RS}$), so S_loc(d) < 0 at small
enough d for every alpha (at y = 3: S(0.005) < 0 at alpha = 0.75).
"""

from typing import ClassVar, NamedTuple

import equinox as eqx
import jax
import jax.flatten_util
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import logsumexp
from jaxtyping import Array, ArrayLike, Float

from atypical import BinaryStorage, TeacherStudent, checked, f64, require_x64
from atypical.gaussian import log_2cosh, log_H
from atypical.observables import gen_error_from_overlap, hamming_shell_entropy

from .franz_parisi import FPQuadrature, checked_query, graded_rule, reference_saddle
from .franz_parisi_teacher import half_normal_rule, reference_saddle_ts
from ..engine import (Control, LineSearchModel, SaddleSolution, Solved, Status,
                      blank_unconverged, demote, follow, raise_unconverged, saddle,
                      threshold_on_branch)

# ------------------------------------------------------------------ problem and order params


class LargeDeviationStorage(eqx.Module):
    """Large-deviation query on binary storage: references are solutions of margin
    ``kappa_ref`` weighted by $e^{yNS}$; S counts margin-``kappa`` solutions at Hamming
    fraction ``d`` in (0, 1/2); ``y`` in (0, 8], y != 1 (y -> infinity:
    ``theory.local_entropy.large_deviation_limit``)."""

    alpha: Float[Array, ""] = eqx.field(converter=f64)
    kappa_ref: Float[Array, ""] = eqx.field(converter=f64)
    kappa: Float[Array, ""] = eqx.field(converter=f64)
    d: Float[Array, ""] = eqx.field(converter=f64)
    y: Float[Array, ""] = eqx.field(converter=f64)

    def __post_init__(self):
        who = type(self).__name__
        self.alpha, self.kappa_ref, self.kappa, self.d = checked_query(
            who, self.alpha, self.kappa_ref, self.kappa, self.d, d_max_included=False)
        self.y = f64(self.y)
        self.y = checked(self.y, lambda: ~(self.y > 0) | ~jnp.isfinite(self.y),
                         f"{who}(y=...): y must be finite and > 0")

    @property
    def p(self) -> Array:
        """Overlap of a replica with its own reference, $p = 1 - 2d$."""
        return 1 - 2 * self.d


class LargeDeviationTeacherStudent(LargeDeviationStorage):
    """The same query with labels of a binary teacher (gauged to $W_T = +1$): references
    and replicas acquire teacher overlaps $\\tilde R$, R (``LDTSOrderParams``)."""


class LDOrderParams(eqx.Module):
    """RS overlaps of the large-deviation calculation (module docstring) and conjugates."""

    q_ref: Float[Array, ""] = eqx.field(converter=f64)
    q1: Float[Array, ""] = eqx.field(converter=f64)
    q0: Float[Array, ""] = eqx.field(converter=f64)
    t: Float[Array, ""] = eqx.field(converter=f64)
    q_ref_hat: Float[Array, ""] = eqx.field(converter=f64)
    q1_hat: Float[Array, ""] = eqx.field(converter=f64)
    q0_hat: Float[Array, ""] = eqx.field(converter=f64)
    t_hat: Float[Array, ""] = eqx.field(converter=f64)
    p_hat: Float[Array, ""] = eqx.field(converter=f64)


class LDTSOrderParams(eqx.Module):
    """Teacher-student: the storage overlaps, the teacher overlaps $\\tilde R$ (references)
    and R (replicas), and their conjugates."""

    q_ref: Float[Array, ""] = eqx.field(converter=f64)
    q1: Float[Array, ""] = eqx.field(converter=f64)
    q0: Float[Array, ""] = eqx.field(converter=f64)
    t: Float[Array, ""] = eqx.field(converter=f64)
    R_ref: Float[Array, ""] = eqx.field(converter=f64)
    R: Float[Array, ""] = eqx.field(converter=f64)
    q_ref_hat: Float[Array, ""] = eqx.field(converter=f64)
    q1_hat: Float[Array, ""] = eqx.field(converter=f64)
    q0_hat: Float[Array, ""] = eqx.field(converter=f64)
    t_hat: Float[Array, ""] = eqx.field(converter=f64)
    p_hat: Float[Array, ""] = eqx.field(converter=f64)
    R_ref_hat: Float[Array, ""] = eqx.field(converter=f64)
    R_hat: Float[Array, ""] = eqx.field(converter=f64)


class LDQuadrature(NamedTuple):
    """Static quadrature sizes: Gauss-Hermite for the outer fields z0, z1 and the
    within-group field v, except z0 of the entropic term: trapezoid on [-10, 10]
    (``n_z0_entropic`` nodes; the sum over the reference's sign makes that integrand a
    soft step in z0 of width ~ 1/(y b0 (p_hat - t_hat)), whose complex singularities
    limit Gauss-Hermite to 1e-5 at y = 6, where the trapezoid converges exponentially);
    trapezoid (log domain) on [-12, 12] for z2; the reference's own field u >= x0 on the
    graded rule of ``franz_parisi`` (``u_panels`` near and far); teacher-student: the
    teacher field $\\nu > 0$ on the ``nu_nodes``-point half-normal Gauss rule."""

    n_z0: int = 40
    n_z0_entropic: int = 161
    n_z1: int = 24
    n_v: int = 20
    n_z2: int = 97
    u_panels: int = 3
    u_nodes: int = 12
    nu_nodes: int = 12


DEFAULT_QUADRATURE = LDQuadrature()


def hermite_rule(n: int) -> tuple[Array, Array]:
    z, w = np.polynomial.hermite_e.hermegauss(n)
    return jnp.asarray(z), jnp.asarray(w / np.sqrt(2 * np.pi))


def trapezoid_rule(n: int, half_width: float = 10.0) -> tuple[Array, Array]:
    """n-node trapezoid rule for $E_z$, z ~ N(0, 1), on [-half_width, half_width]."""
    z = np.linspace(-half_width, half_width, n)
    return jnp.asarray(z), jnp.asarray(np.exp(-z**2 / 2) / np.sqrt(2 * np.pi) * (z[1] - z[0]))


def _log_trapezoid(n: int) -> tuple[Array, Array]:
    z = np.linspace(-12.0, 12.0, n)
    return jnp.asarray(z), jnp.asarray(-z**2 / 2 - 0.5 * np.log(2 * np.pi) + np.log(z[1] - z[0]))


# --------------------------------------------------------------------------- free entropy
# The free entropy is written once, in terms of the structure of the Gaussian fields (the
# coefficients A, B, C1, C2, b0, b1, s, the field difference p_hat - t_hat and the bilinear
# conjugate terms). The public function of order parameters and the solver's coordinates
# (where C1, C2, b1, s are themselves unknowns, so that the identity point C = 0 is an
# interior, differentiable point) both build that structure and call ``_phi``.


class _Structure(NamedTuple):
    q_ref: Array
    q_ref_hat: Array
    M_ref: Array  # teacher part of the reference field: M_ref nu + s_ref z0 + ...
    s_ref: Array
    M: Array  # teacher part of a replica's field
    h_ref: Array  # teacher fields of the entropic term (R_ref_hat, R_hat)
    h: Array
    A: Array
    B: Array
    C1: Array
    C2: Array
    sigma2: Array  # 1 - q1
    b0: Array
    b1: Array
    s: Array
    dp: Array  # p_hat - t_hat
    conjugate: Array


def _conjugate(q1, q0, t, q_ref, q_ref_hat, q1_hat, q0_hat, t_hat, p_hat, problem):
    y, p = problem.y, problem.p
    return (-q_ref_hat * (1 - q_ref) / 2 - y * q1_hat * (1 - q1) / 2
            - y**2 * (q1_hat * q1 - q0_hat * q0) / 2 + y * t_hat * t - y * p_hat * p)


def _root(v: Array) -> Array:
    """Square root of a variance; a variance that vanishes exactly (a replica identity)
    comes out of a difference of overlaps as +-1e-17: within 1e-12 of 0 it is 0, a truly
    negative one gives NaN (an inadmissible point)."""
    return jnp.sqrt(jnp.where((v < 0) & (v > -1e-12), 0.0, v))


def _structure(op: LDOrderParams | LDTSOrderParams,
               problem: LargeDeviationStorage) -> _Structure:
    """Field coefficients. Teacher-student: the reference field is $\\tilde R\\nu +
    \\sqrt{\\tilde q - \\tilde R^2} z_0 + \\sqrt{1-\\tilde q} u$, a replica's $R\\nu + Az_0 + Bu +
    C_1z_1 + C_2v + \\sqrt{1-q_1}w$ with $A = (t - R\\tilde R)/\\sqrt{\\tilde q - \\tilde R^2}$,
    $C_1^2 = q_0 - R^2 - A^2$; conjugate terms $-\\hat{\\tilde R}\\tilde R - y\\hat RR$;
    storage is $\\tilde R = R = 0$ and no teacher fields."""
    conjugate = _conjugate(op.q1, op.q0, op.t, op.q_ref, op.q_ref_hat, op.q1_hat, op.q0_hat,
                           op.t_hat, op.p_hat, problem)
    if isinstance(problem, LargeDeviationTeacherStudent):
        M_ref, M, h_ref, h = op.R_ref, op.R, op.R_ref_hat, op.R_hat
        conjugate = conjugate - op.R_ref_hat * op.R_ref - problem.y * op.R_hat * op.R
    else:
        M_ref = M = h_ref = h = jnp.zeros_like(op.q_ref)
    s_ref = jnp.sqrt(op.q_ref - M_ref**2)
    A = (op.t - M * M_ref) / s_ref
    B = (problem.p - op.t) / jnp.sqrt(1 - op.q_ref)
    b0 = op.t_hat / jnp.sqrt(op.q_ref_hat)
    return _Structure(op.q_ref, op.q_ref_hat, M_ref, s_ref, M, h_ref, h, A, B,
                      _root(op.q0 - M**2 - A**2), _root(op.q1 - op.q0 - B**2), 1 - op.q1, b0,
                      _root(op.q0_hat - b0**2), _root(op.q1_hat - op.q0_hat),
                      op.p_hat - op.t_hat, conjugate)


def _entropic(st: _Structure, y: Array, quad: LDQuadrature) -> Array:
    """$G_S$: $E_{z_0,z_1}\\ln\\sum_{\\tilde W} e^{\\sqrt{\\hat{\\tilde q}}z_0\\tilde W}
    E_{z_2}[2\\cosh(\\cdot)]^y$, the inner average in the log domain."""
    z0, w0 = trapezoid_rule(quad.n_z0_entropic)
    z1, w1 = hermite_rule(quad.n_z1)
    z2, log_w2 = _log_trapezoid(quad.n_z2)
    b = st.b0 * z0[:, None] + st.b1 * z1[None, :]

    def group(field):  # ln E_{z2} [2 cosh(field + s z2)]^y, field of shape (n0, n1)
        return logsumexp(log_w2[None, None, :] + y * log_2cosh(
            field[..., None] + st.s * z2[None, None, :]), axis=-1)

    h = jnp.sqrt(st.q_ref_hat) * z0[:, None] + st.h_ref
    total = jnp.logaddexp(h + group(b + st.h + st.dp), -h + group(b + st.h - st.dp))
    return w0 @ total @ w1


def _teacher_rule(problem: LargeDeviationStorage, quad: LDQuadrature) -> tuple[Array, Array]:
    """Nodes and weights of the teacher field: $2E_{\\nu > 0}$ (teacher-student; both label
    signs give the same) or the single node nu = 0 (storage)."""
    if isinstance(problem, LargeDeviationTeacherStudent):
        return tuple(map(jnp.asarray, half_normal_rule(quad.nu_nodes)))
    return jnp.zeros(1), jnp.ones(1)


def _energetic(st: _Structure, problem: LargeDeviationStorage, quad: LDQuadrature) -> Array:
    """$G_E$: $E_{\\nu}E_{z_0,z_1}\\ln\\int_{x_0}^\\infty Du\\,E_v H(\\cdot)^y$ in the log domain,
    u on the graded rule for the truncated normal (``franz_parisi.graded_rule``)."""
    z0, w0 = hermite_rule(quad.n_z0)
    z1, w1 = hermite_rule(quad.n_z1)
    v, wv = hermite_rule(quad.n_v)
    log_wv = jnp.log(wv)
    y, sigma = problem.y, jnp.sqrt(st.sigma2)
    u_rule = FPQuadrature(near_panels=quad.u_panels, far_panels=quad.u_panels,
                          y_nodes=quad.u_nodes)

    def at(nu_k, z0_i):
        x0 = (problem.kappa_ref - st.M_ref * nu_k - st.s_ref * z0_i) / jnp.sqrt(1 - st.q_ref)
        r, wr = graded_rule(x0, u_rule)  # u = x0 + r, r >= 0
        # ln of the truncated-normal measure of u: ln G(x0 + r) (the weight of Du)
        log_du = jnp.log(wr) - (x0 + r) ** 2 / 2 - 0.5 * jnp.log(2 * jnp.pi)
        field = (problem.kappa - st.M * nu_k - st.A * z0_i - st.C1 * z1[:, None, None]
                 - st.B * (x0 + r)[None, :, None] - st.C2 * v[None, None, :])
        inner = logsumexp(log_wv[None, None, :] + y * log_H(field / sigma), axis=-1)  # (n1, nu)
        return w1 @ logsumexp(log_du[None, :] + inner, axis=-1)

    nu, w_nu = _teacher_rule(problem, quad)
    # teacher nodes one after another, recomputed in the backward pass (lax.map of a
    # checkpointed body): vmapped, the Newton Jacobian of a teacher-student curve took 17 GB
    per_node = jax.checkpoint(lambda n: jax.vmap(lambda z: at(n, z))(z0) @ w0)
    return w_nu @ jax.lax.map(per_node, nu)


def _phi(st: _Structure, problem: LargeDeviationStorage, quad: LDQuadrature) -> Array:
    return st.conjugate + _entropic(st, problem.y, quad) + problem.alpha * _energetic(
        st, problem, quad)


def free_entropy_large_deviation(op: LDOrderParams, problem: LargeDeviationStorage, *,
                                 quad: LDQuadrature = DEFAULT_QUADRATURE) -> Float[Array, ""]:
    """RS large-deviation free entropy $\\Phi(y)$ (module docstring) per weight; at the
    saddle point $\\Phi = \\Sigma + yS_{loc}$."""
    return _phi(_structure(op, problem), problem, quad)


# ------------------------------------------------------------------------------- solver
# Cold start: the classic damped iteration read off the same free entropy. Each overlap x
# and its conjugate x_hat enter phi through one bilinear term M x x_hat (M = 1/2 for the
# references, y(1-y)/2 within a group, y^2/2 across groups, y for t), so grad phi = 0 reads
# x = x - (dphi/dx_hat)/M, x_hat = x_hat - (dphi/dx)/M; p_hat moves against the error in
# p. Newton (autodiff Hessian) then polishes, warm-started along d by continuation.


def _fixed_point(op: LDOrderParams | LDTSOrderParams, args):
    problem, quad = args
    y, p = problem.y, problem.p
    g = jax.grad(free_entropy_large_deviation)(op, problem, quad=quad)
    m_ref, m_1, m_0, m_t = 0.5, y * (1 - y) / 2, y**2 / 2, y
    new = dict(q_ref=op.q_ref - g.q_ref_hat / m_ref, q1=op.q1 - g.q1_hat / m_1,
               q0=op.q0 - g.q0_hat / m_0, t=op.t - g.t_hat / m_t,
               q_ref_hat=op.q_ref_hat - g.q_ref / m_ref, q1_hat=op.q1_hat - g.q1 / m_1,
               q0_hat=op.q0_hat - g.q0 / m_0, t_hat=op.t_hat - g.t / m_t,
               p_hat=op.p_hat - g.p_hat / (y * (1 - p**2)))
    if isinstance(op, LDTSOrderParams):  # terms -R_ref_hat R_ref and -y R_hat R
        new.update(R_ref=op.R_ref + g.R_ref_hat, R=op.R + g.R_hat / y,
                   R_ref_hat=op.R_ref_hat + g.R_ref, R_hat=op.R_hat + g.R / y)
    return type(op)(**new)


def _guess(problem: LargeDeviationStorage, ref) -> LDOrderParams | LDTSOrderParams:
    """Admissible start near the identity point: t = p q_ref, variances C1^2 = C2^2 = 0.05,
    conjugates at the reference's, spread by 0.05 so that every variance is positive
    (teacher-student: R = p R_ref, R_hat = R_ref_hat; then R^2 + A^2 = t^2/q_ref as well)."""
    q, q_hat, p = ref.q, ref.q_hat, problem.p
    t = p * q
    q0 = t**2 / q + 0.05
    q1 = q0 + (p - t) ** 2 / (1 - q) + 0.05
    storage = dict(q_ref=q, q1=q1, q0=q0, t=t, q_ref_hat=q_hat, q1_hat=q_hat + 0.1,
                   q0_hat=q_hat + 0.05, t_hat=q_hat, p_hat=q_hat)
    if isinstance(problem, LargeDeviationTeacherStudent):
        return LDTSOrderParams(**storage, R_ref=ref.R, R=p * ref.R, R_ref_hat=ref.R_hat,
                               R_hat=ref.R_hat)
    return LDOrderParams(**storage)


def _reference(Problem: type, alpha, kappa_ref) -> SaddleSolution:
    """RS saddle of the references alone (y -> 0) at (alpha, kappa_ref) of ``Problem``."""
    if issubclass(Problem, LargeDeviationTeacherStudent):
        return reference_saddle_ts(alpha, kappa_ref)
    return reference_saddle(alpha, kappa_ref)


_FP_DAMPING = 0.25
_FP_STEPS = 600




class LargeDeviationModel(LineSearchModel):
    """A finite-y large-deviation query at quadrature ``quad`` as a model of the engine:
    cold start near the identity point around the RS reference, warmed up by the damped
    iteration ``_fixed_point``; Newton with a line search (each step halved until the
    gradient is finite, i.e. every variance positive, and its max-norm decreases)."""

    problem: LargeDeviationStorage
    quad: LDQuadrature = eqx.field(static=True)
    warm_up_damping: ClassVar[float] = _FP_DAMPING
    warm_up_tol: ClassVar[float] = 1e-5

    def free_entropy(self, op) -> Float[Array, ""]:
        return free_entropy_large_deviation(op, self.problem, quad=self.quad)

    def cold_start(self):
        problem = self.problem
        return _guess(problem, _reference(type(problem), problem.alpha,
                                          problem.kappa_ref).order_params)

    def fixed_point(self, op):
        return _fixed_point(op, (self.problem, self.quad))


def saddle_large_deviation(problem: LargeDeviationStorage, init: LDOrderParams | None = None,
                           *, quad: LDQuadrature = DEFAULT_QUADRATURE) -> SaddleSolution:
    """Saddle point of the finite-y free entropy at one point: from ``init`` by Newton, or
    (``init=None``) from the damped iteration started near the identity point around the RS
    reference. Jit/vmap-able, never throws (check ``converged``). The solution is
    differentiable in ``problem`` (implicit function theorem, optimistix)."""
    model = LargeDeviationModel(problem, quad)
    return saddle(model, init, warm_up_steps=_FP_STEPS if init is None else 0)


def local_entropy(op: LDOrderParams, problem: LargeDeviationStorage, *,
                  quad: LDQuadrature = DEFAULT_QUADRATURE) -> Float[Array, ""]:
    """$S_{loc} = \\partial\\Phi/\\partial y$ at fixed order parameters (envelope theorem):
    the local entropy of the references that dominate at this y."""
    at = lambda y: free_entropy_large_deviation(op, eqx.tree_at(lambda p: p.y, problem, y),
                                                quad=quad)
    return jax.grad(at)(problem.y)


def slope(op: LDOrderParams, problem: LargeDeviationStorage, *,
          quad: LDQuadrature = DEFAULT_QUADRATURE) -> Float[Array, ""]:
    """$d\\Phi/dd = \\partial\\Phi/\\partial d$ at fixed order parameters (envelope theorem)."""
    at = lambda d: free_entropy_large_deviation(op, eqx.tree_at(lambda p: p.d, problem, d),
                                                quad=quad)
    return jax.grad(at)(problem.d)


# ------------------------------------------------------------------ curves in d, in one go


class LargeDeviationCurve(Solved):
    """Finite-y large-deviation saddle points on a grid of distances (last axis): total
    free entropy $\\Phi$, local entropy $S_{loc} = \\partial_y\\Phi$, reference entropy
    $\\Sigma = \\Phi - yS_{loc}$, all order parameters and the Newton diagnostics."""

    problem: LargeDeviationStorage
    free_entropy: Float[Array, "*batch D"]
    local_entropy: Float[Array, "*batch D"]
    reference_entropy: Float[Array, "*batch D"]
    order_params: LDOrderParams | LDTSOrderParams
    residual: Float[Array, "*batch D"]
    newton_steps: Array
    status: Status

    @property
    def gen_error(self) -> Array:
        """Teacher-student: $\\arccos(R)/\\pi$ of the replicas (the solutions at distance d
        from the dominating references)."""
        if not isinstance(self.problem, LargeDeviationTeacherStudent):
            raise ValueError("gen_error: a storage curve has no teacher")
        return gen_error_from_overlap(self.order_params.R)

    @property
    def reference_gen_error(self) -> Array:
        """Teacher-student: $\\arccos(\\tilde R)/\\pi$ of the dominating references."""
        if not isinstance(self.problem, LargeDeviationTeacherStudent):
            raise ValueError("reference_gen_error: a storage curve has no teacher")
        return gen_error_from_overlap(self.order_params.R_ref)

    @property
    def upper_bound(self) -> Array:
        """$-d\\ln d - (1-d)\\ln(1-d)$: all configurations at distance d."""
        return hamming_shell_entropy(self.problem.d)


_START_FRACTION = 0.8  # cold start at 0.8 d_typ: off the (degenerate) identity point


def _problems(Problem, alpha, kappa_ref, kappa, d, y):
    full = lambda x: jnp.full_like(d, x)
    return Problem(full(alpha), full(kappa_ref), full(kappa), d, full(y))


def _curve(Problem, alpha, kappa_ref, kappa, y, d, quad: LDQuadrature,
           n_fill: int) -> LargeDeviationCurve:
    """One curve: cold start at $d_s = 0.8\\,d_{typ}$ ($d_{typ} = (1-q_{RS})/2$ of the
    reference), then two continuations in d: down through the targets below $d_s$ (geometric
    fill), up through the others (linear fill)."""
    ref = _reference(Problem, alpha, kappa_ref)
    d_s = _START_FRACTION * (1 - ref.order_params.q) / 2
    start = saddle_large_deviation(Problem(alpha, kappa_ref, kappa, d_s, y), quad=quad)
    below = d < d_s
    down = jnp.concatenate([jnp.geomspace(d_s, jnp.minimum(d.min(), d_s), n_fill),
                            jnp.where(below, d, d_s)])
    up = jnp.concatenate([jnp.linspace(d_s, jnp.maximum(d.max(), d_s), n_fill),
                          jnp.where(below, d_s, d)])
    order_down, order_up = jnp.argsort(-down), jnp.argsort(up)
    paths = jnp.stack([down[order_down], up[order_up]])
    problems = _problems(Problem, alpha, kappa_ref, kappa, paths, y)
    start_model = LargeDeviationModel(start.problem, quad)
    sols, _, _ = jax.vmap(lambda pr: follow(LargeDeviationModel(pr, quad), start.order_params,
                                         start_model))(problems)
    where = jnp.stack([jnp.argsort(order_down), jnp.argsort(order_up)])[:, n_fill:]
    pick = lambda x: jnp.where(below, x[0][where[0]], x[1][where[1]])
    sol = jax.tree.map(pick, sols)
    targets = _problems(Problem, alpha, kappa_ref, kappa, d, y)
    s_loc = jax.vmap(lambda o, pr: local_entropy(o, pr, quad=quad))(sol.order_params, targets)
    status = demote(sol.status, jnp.broadcast_to(start.converged & ref.converged, d.shape),
                    Status.branch_lost)
    return LargeDeviationCurve(targets, sol.free_entropy, s_loc, sol.free_entropy - y * s_loc,
                               sol.order_params, sol.residual, sol.newton_steps, status)


@eqx.filter_jit
def _curve_one(Problem, alpha, kappa_ref, kappa, y, d, quad, n_fill):
    return blank_unconverged(_curve(Problem, alpha, kappa_ref, kappa, y, d, quad, n_fill),
                             lambda c: (c.free_entropy, c.local_entropy, c.reference_entropy,
                                        c.order_params))


def _curve_grid(Problem, alpha, kappa_ref, kappa, y, d, quad, n_fill):
    # one jitted curve per batch entry (compiled once): a vmapped batch lost branches that
    # the same curves keep one at a time (lanes run the while-loop solvers in lockstep)
    curves = [_curve_one(Problem, *(jnp.asarray(v[i]) for v in (alpha, kappa_ref, kappa, y)),
                         d, quad, n_fill) for i in range(alpha.shape[0])]
    return jax.tree.map(lambda *x: jnp.stack(x), *curves)


LD_PROBLEMS = {BinaryStorage: LargeDeviationStorage, TeacherStudent: LargeDeviationTeacherStudent}
_Y_MAX = 8.0  # the log-domain quadratures of E[.]^y are checked up to here


def _checked_inputs(where: str, problem: type, alpha, kappa, kappa_ref, d, y):
    """The LD problem class of ``problem`` and the inputs as flat float64 arrays (``d`` a
    1-d grid, the others broadcast together; their common shape is returned), or
    ``ValueError`` on bad input."""
    Problem = LD_PROBLEMS.get(problem)
    if Problem is None:
        raise ValueError(f"{where}(problem={problem!r}): must be one of "
                         f"{[c.__name__ for c in LD_PROBLEMS]}")
    d = np.atleast_1d(np.asarray(d, np.float64))
    if d.ndim != 1 or not np.all((d > 0) & (d < 0.5)):
        raise ValueError(f"{where}(d={d.tolist()}): the Hamming fraction d must lie in "
                         "(0, 1/2) (a 1-d grid)")
    if kappa_ref is None:
        kappa_ref = kappa
    alpha, y, kappa, kappa_ref = np.broadcast_arrays(
        *(np.asarray(v, np.float64) for v in (alpha, y, kappa, kappa_ref)))
    shape = alpha.shape
    alpha, y, kappa, kappa_ref = (np.atleast_1d(v).ravel() for v in (alpha, y, kappa, kappa_ref))
    if not np.all(np.isfinite(alpha) & (alpha > 0)):
        raise ValueError(f"{where}(alpha={alpha.tolist()}): alpha = P/N must be finite "
                         "and > 0")
    if not np.all(np.isfinite(kappa) & np.isfinite(kappa_ref)):
        raise ValueError(f"{where}: kappa and kappa_ref must be finite")
    if np.any(kappa > kappa_ref):
        raise ValueError(f"{where}: kappa must be <= kappa_ref")
    if not np.all((y > 0) & (y <= _Y_MAX)) or np.any(np.abs(y - 1) < 1e-3):
        raise ValueError(
            f"{where}(y={y.tolist()}): y must lie in (0, {_Y_MAX:g}] and not within 1e-3 "
            "of 1 (at y = 1 a group holds one replica: q1 and its conjugate drop out of Phi "
            "and the Hessian is singular); y = infinity: "
            "theory.local_entropy.large_deviation_limit.large_deviation_limit_curve")
    return Problem, shape, alpha, kappa, kappa_ref, d, y


def large_deviation_curve(alpha: ArrayLike, d: ArrayLike, y: ArrayLike, kappa: ArrayLike = 0.0,
                          kappa_ref: ArrayLike | None = None, *,
                          problem: type = BinaryStorage,
                          quad: LDQuadrature = DEFAULT_QUADRATURE,
                          n_fill: int = 12) -> LargeDeviationCurve:
    """RS large-deviation local entropy $S_{loc}(d)$, reference entropy $\\Sigma(d)$ and
    total $\\Phi = \\Sigma + yS_{loc}$ of the binary perceptron at finite y, on a grid of
    distances; ``problem`` the class ``BinaryStorage`` or ``TeacherStudent`` (then
    ``gen_error`` of the replicas and ``reference_gen_error``).

    ``alpha``, ``y``, ``kappa`` and ``kappa_ref`` (default: = kappa, references are solutions
    of the same margin, as in [P1]) broadcast to a batch (leading axes); ``d`` is a 1-d grid
    in (0, 1/2) (last axis). One jitted, vmapped call: cold start at 0.8 d_typ, continuation
    in d both ways. Raises ``ValueError`` on bad input and ``SaddlePointError`` listing the
    points where the branch was lost."""
    require_x64("large_deviation_curve")
    Problem, shape, alpha, kappa, kappa_ref, d, y = _checked_inputs(
        "large_deviation_curve", problem, alpha, kappa, kappa_ref, d, y)
    curve = _curve_grid(Problem, *(jnp.asarray(v) for v in (alpha, kappa_ref, kappa, y)),
                        jnp.asarray(d), quad, n_fill)
    raise_unconverged(f"large_deviation_curve(problem={problem.__name__})", curve.converged,
                      curve.residual, curve.newton_steps, status=curve.status,
                      alpha=alpha[:, None], y=y[:, None], kappa=kappa[:, None], d=d[None, :])
    return jax.tree.map(lambda x: x.reshape(shape + x.shape[1:]), curve)


# ------------------------------------------------------------- Sigma = 0: the y* of each d


Y_CONTROL = Control("y", log=True)


def reference_entropy(model: LargeDeviationModel, op: LDOrderParams) -> Float[Array, ""]:
    """$\\Sigma = \\Phi - y\\,\\partial_y\\Phi$ at ``op``: the entropy of the references that
    dominate at this y (the condition $\\Sigma = 0$ of ``sigma_zero_curve``)."""
    return model.free_entropy(op) - model.problem.y * local_entropy(op, model.problem,
                                                                    quad=model.quad)


class SigmaZeroCurve(Solved):
    """Large deviations where the reference entropy vanishes, on a grid of distances (last
    axis): $y^*(d)$ with $\\Sigma(y^*) = 0$ on the finite-y branch, the local entropy
    $S^* = S_{loc}(y^*) = \\Phi(y^*)/y^*$, its slope $dS^*/dd = \\partial_d\\Phi(y^*)/y^*$
    (at $\\Sigma = 0$ the terms in $dy^*/dd$ cancel), the order parameters there and the
    Newton diagnostics of the augmented system {saddle, $\\Sigma = 0$}; ``problem`` holds
    $y^*$."""

    problem: LargeDeviationStorage
    y: Float[Array, "*batch D"]
    local_entropy: Float[Array, "*batch D"]
    slope: Float[Array, "*batch D"]
    order_params: LDOrderParams | LDTSOrderParams
    residual: Float[Array, "*batch D"]
    newton_steps: Array
    status: Status


def _sigma_zero(Problem, alpha, kappa_ref, kappa, y_grid, d, quad: LDQuadrature,
                n_fill: int) -> SigmaZeroCurve:
    """The curve in d at ``y_grid[0]`` (``_curve``), then, one d after another, the branch
    continued in y over ``y_grid`` and Newton on {saddle, $\\Sigma = 0$} in $(x, \\ln y)$
    (``threshold_on_branch``)."""
    curve = _curve(Problem, alpha, kappa_ref, kappa, y_grid[0], d, quad, n_fill)

    def at(problem, op):
        found = threshold_on_branch(LargeDeviationModel(problem, quad), y_grid,
                                    reference_entropy, control=Y_CONTROL, init=op)
        star = eqx.tree_at(lambda p: p.y, problem, found.alpha)
        return (found, star, local_entropy(found.order_params, star, quad=quad),
                slope(found.order_params, star, quad=quad) / found.alpha)

    found, star, s_star, s_slope = jax.lax.map(lambda a: at(*a),
                                               (curve.problem, curve.order_params))
    status = demote(found.status, curve.converged, Status.branch_lost)
    return SigmaZeroCurve(star, found.alpha, s_star, s_slope, found.order_params,
                          found.residual, found.newton_steps, status)


@eqx.filter_jit
def _sigma_zero_one(Problem, alpha, kappa_ref, kappa, y_grid, d, quad, n_fill):
    return blank_unconverged(_sigma_zero(Problem, alpha, kappa_ref, kappa, y_grid, d, quad,
                                         n_fill),
                             lambda c: (c.y, c.local_entropy, c.slope, c.order_params))


def sigma_zero_curve(alpha: ArrayLike, d: ArrayLike, kappa: ArrayLike = 0.0,
                     kappa_ref: ArrayLike | None = None, *, problem: type = BinaryStorage,
                     y_start: float = 3.0, y_max: float = _Y_MAX, y_step: float = 0.25,
                     quad: LDQuadrature = DEFAULT_QUADRATURE, n_fill: int = 12,
                     throw: bool = True) -> SigmaZeroCurve:
    """Large deviations at zero reference entropy: for each d the $y^*$ where
    $\\Sigma = \\Phi - yS_{loc}$ vanishes and the local entropy $S^* = S_{loc}(y^*)$ there.

    The references that dominate at $y^*$ are the densest ones that still exist in
    exponential number: beyond $y^*$ the finite-y saddle counts references with negative
    entropy (the y -> infinity limit is reached through them). Method: the finite-y curve
    at ``y_start`` (``large_deviation_curve``), then each d's branch continued in y on a
    grid of ``y_step`` up to ``y_max`` (``threshold_on_branch`` with ``init``; cold starts
    at y >= 6 fail) and Newton on the augmented system {saddle, $\\Sigma = 0$} in
    $(x, \\ln y)$; $y^*$ and $S^*$ are differentiable in the other parameters.

    ``alpha``, ``kappa``, ``kappa_ref`` broadcast to a batch (leading axes), ``d`` a 1-d grid
    (last axis), ``problem`` ``BinaryStorage`` or ``TeacherStudent``. Raises ``ValueError``
    on bad input and, with ``throw``, ``SaddlePointError`` listing the d where no root was
    found (Sigma still positive at ``y_max``, negative at ``y_start``, or the branch lost);
    without, those points are NaN with their ``status``."""
    require_x64("sigma_zero_curve")
    if not 1 + 1e-3 < y_start < y_max <= _Y_MAX or not y_step > 0:
        raise ValueError(f"sigma_zero_curve(y_start={y_start}, y_max={y_max}, "
                         f"y_step={y_step}): need 1 < y_start < y_max <= {_Y_MAX:g} (the "
                         "range the quadratures are checked for) and y_step > 0")
    Problem, shape, alpha, kappa, kappa_ref, d, _ = _checked_inputs(
        "sigma_zero_curve", problem, alpha, kappa, kappa_ref, d, y_start)
    y_grid = jnp.asarray(np.linspace(y_start, y_max, max(2, round((y_max - y_start) / y_step)
                                                         + 1)))
    curves = [_sigma_zero_one(Problem, *(jnp.asarray(v[i]) for v in (alpha, kappa_ref, kappa)),
                              y_grid, jnp.asarray(d), quad, n_fill)
              for i in range(alpha.shape[0])]
    curve = jax.tree.map(lambda *x: jnp.stack(x), *curves)
    if throw:
        raise_unconverged(f"sigma_zero_curve(problem={problem.__name__})", curve.converged,
                          curve.residual, curve.newton_steps, status=curve.status,
                          alpha=alpha[:, None], kappa=kappa[:, None], d=d[None, :])
    return jax.tree.map(lambda x: x.reshape(shape + x.shape[1:]), curve)
