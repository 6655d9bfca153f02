r"""Franz-Parisi local entropy of a binary student of a binary teacher, RS [P2].

As in the storage case (``theory/franz_parisi.py``): a reference $\tilde W$ is drawn
uniformly from the margin-$\tilde\kappa$ solutions of the training set (labels of a binary
teacher $W_T$, gauged to $W_T = +1$), and $S(d)$ counts the margin-$\kappa$ solutions W at
Hamming fraction d from it. The teacher adds one overlap per sector: $\tilde R$ (reference,
from the RS teacher-student saddle at $(\alpha, \tilde\kappa)$) and R (constrained), with
conjugates $\hat{\tilde R}$ and $\hat R$.

Entropic term (W~^1 the own reference, summed with its weight $e^{\tilde W\tilde h}/2\cosh
\tilde h$, $\tilde h = \sqrt{\hat{\tilde q}} z_0 + \hat{\tilde R}$; the n - 1 other references
give $\ln 2\cosh\tilde h$ to the power n - 1 -> -1, cancelled by the normalisation):

$G_S = E_{z_0}\sum_{\tilde W = \pm1}\frac{e^{\tilde W\tilde h}}{2\cosh\tilde h}
E_{z_1}\ln 2\cosh(\hat t z_0/\sqrt{\hat{\tilde q}} + \sqrt{\hat q - \hat t^2/\hat{\tilde q}}\,z_1
+ (\hat p - \hat t)\tilde W + \hat R)$.

Energetic term: with $\nu$ the teacher's field (both label signs give the same, so $\nu > 0$
twice), references' shared field $\tilde R\nu + \sqrt{\tilde q - \tilde R^2} z_0$, own
reference $u = \tilde R\nu + \sqrt{\tilde q - \tilde R^2} z_0 + \sqrt{1 - \tilde q} z_1 \ge
\tilde\kappa$, constrained field $R\nu + A z_0 + B z_1 + C z' + \sqrt{1-q}\,\eta$ with
$A = (t - R\tilde R)/\sqrt{\tilde q - \tilde R^2}$, $B = (p - t)/\sqrt{1 - \tilde q}$,
$C^2 = q - R^2 - A^2 - B^2$ (covariances t with the other references, p with its own, q
between constrained replicas, R with the teacher):

$G_E = 2E_{\nu>0}E_{z_0}E_{z_1\ge x_0}E_{z'}\ln H((\kappa - R\nu - Az_0 - Bz_1 - Cz')/
\sqrt{1-q})$, $x_0 = (\tilde\kappa - \tilde R\nu - \sqrt{\tilde q - \tilde R^2}z_0)/
\sqrt{1-\tilde q}$.

$S(d) = \mathrm{extr}\; -\hat q(1-q)/2 - \hat p p + \hat t t - \hat R R + G_S + \alpha G_E$;
with $\tilde R = R = \hat{\tilde R} = \hat R = 0$ it is the storage free entropy term by
term. The generalization error of the constrained solutions is $\arccos(R)/\pi$.
"""

from functools import lru_cache
from typing import ClassVar, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from atypical import TeacherStudent, f64
from atypical.gaussian import gaussian_over_H

from ..engine import SaddleSolution
from ..models.margins import kappa_max
from ..models.perceptron import TeacherStudentRS, TSOrderParams
from .franz_parisi import (Chart, FPQuadrature, FranzParisiQuery, graded_rule, reference_on_path,
                           z0_rule)
from .smoothing import LOG_H_RELIABLE, gaussian_smoothing

# ------------------------------------------------- teacher-field quadrature (shared with RF)


class TeacherFPQuadrature(NamedTuple):
    """Static quadrature sizes: ``base`` for z0 (trapezoid), the own reference's truncated
    field z1 (graded rule) and the entropic term, as in ``FPQuadrature`` (61 z0 nodes: the
    identity point is stationary to 1e-14 with them; a coarser z1 rule leaves 2e-10 in
    dphi/dB, which weighs the first moment of the truncated z1); the teacher field
    $\\nu > 0$ by the ``nu_nodes``-point Gauss rule of the half-normal weight."""

    base: FPQuadrature = FPQuadrature(n_z0=61)
    nu_nodes: int = 12


DEFAULT_QUADRATURE = TeacherFPQuadrature()
_THRESHOLD_SWEEP = (1.0, 1.025, 1.05, 1.1)  # monotonicity_threshold's bracket (kappa = 0)


@lru_cache(maxsize=None)
def half_normal_rule(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss rule for $\\int_0^\\infty 2G(\\nu) f(\\nu)\\,d\\nu$ (G the N(0,1) density):
    recurrence coefficients by the discretized Stieltjes procedure on a fine Gauss-Legendre
    grid of [0, 14] (exact to rounding for n <= 40), nodes and weights by Golub-Welsch."""
    x, w = np.polynomial.legendre.leggauss(100)
    edges = np.linspace(0.0, 14.0, 15)
    lo, hi = edges[:-1, None], edges[1:, None]
    x, w = ((hi - lo) / 2 * x + (lo + hi) / 2).ravel(), ((hi - lo) / 2 * w).ravel()
    w = w * 2 * np.exp(-x**2 / 2) / np.sqrt(2 * np.pi)
    a, b = np.zeros(n), np.zeros(n + 1)  # orthonormal recurrence coefficients
    b[0] = np.sum(w)
    p_prev, p = np.zeros_like(x), np.full_like(x, 1 / np.sqrt(b[0]))
    for k in range(n):
        a[k] = np.sum(w * x * p * p)
        q = (x - a[k]) * p - (np.sqrt(b[k]) if k else 0.0) * p_prev
        b[k + 1] = np.sum(w * q * q)
        p_prev, p = p, q / np.sqrt(b[k + 1])
    off = np.sqrt(b[1:n])
    nodes, vectors = np.linalg.eigh(np.diag(a) + np.diag(off, 1) + np.diag(off, -1))
    return nodes, b[0] * vectors[0] ** 2


class TeacherFields(NamedTuple):
    """Coefficients of the local fields with a teacher field $\\nu$: reference
    $\\tilde M\\nu + \\tilde s z_0 + \\tilde\\sigma z_1$ (``M_ref, s_ref, sigma_ref``), constrained
    $M\\nu + Az_0 + Bz_1 + Cz' + \\sigma\\eta$ (``M, A, B, C2, sigma2``)."""

    M_ref: Array
    s_ref: Array
    sigma_ref: Array
    M: Array
    A: Array
    B: Array
    C2: Array
    sigma2: Array


def teacher_energetic(f: TeacherFields, kappa_ref, kappa,
                      quad: TeacherFPQuadrature) -> Array:
    """$2E_{\\nu>0}E_{z_0}E_{z_1\\ge x_0}E_{z'}\\ln H((\\kappa - M\\nu - Az_0 - Bz_1 - Cz')/
    \\sigma)$, $x_0 = (\\tilde\\kappa - \\tilde M\\nu - \\tilde s z_0)/\\tilde\\sigma$."""
    nu, w_nu = map(jnp.asarray, half_normal_rule(quad.nu_nodes))
    z0, w0 = z0_rule(quad.base.n_z0)
    sigma = jnp.sqrt(f.sigma2)

    def at(nu_i, z0_i):
        x0 = (kappa_ref - f.M_ref * nu_i - f.s_ref * z0_i) / f.sigma_ref
        y, wy = graded_rule(x0, quad.base)
        # truncated normal density of y = z1 - x0 >= 0: G(x0 + y)/H(x0)
        density = gaussian_over_H(x0) * jnp.exp(-x0 * y - y**2 / 2)
        w = (kappa - f.M * nu_i - f.A * z0_i - f.B * (x0 + y)) / sigma
        return jnp.sum(wy * density * gaussian_smoothing("log_H", 0, w, f.C2 / f.sigma2))

    values = jax.vmap(lambda n: jax.vmap(lambda z: at(n, z))(z0))(nu)
    return jnp.sum(w_nu[:, None] * w0[None, :] * values)


# ------------------------------------------------------------- query and order parameters


class FPTSOrderParams(eqx.Module):
    """RS Franz-Parisi overlaps with a teacher: q (constrained-constrained), t (with the
    other references), R (with the teacher) and the conjugates $\\hat q, \\hat t, \\hat p,
    \\hat R$ (p = 1 - 2d is fixed)."""

    q: Float[Array, ""] = eqx.field(converter=f64)
    t: Float[Array, ""] = eqx.field(converter=f64)
    R: Float[Array, ""] = eqx.field(converter=f64)
    q_hat: Float[Array, ""] = eqx.field(converter=f64)
    t_hat: Float[Array, ""] = eqx.field(converter=f64)
    p_hat: Float[Array, ""] = eqx.field(converter=f64)
    R_hat: Float[Array, ""] = eqx.field(converter=f64)


def identity_order_params(ref: TSOrderParams) -> FPTSOrderParams:
    """Exact saddle point at $\\kappa = \\tilde\\kappa$, $p = \\tilde q$: the constrained
    replica is one more reference replica ($q = t = \\tilde q$, $R = \\tilde R$, hats equal
    to the reference's), and $S = \\phi_{RS}(\\alpha, \\tilde\\kappa)$."""
    return FPTSOrderParams(ref.q, ref.q, ref.R, ref.q_hat, ref.q_hat, ref.q_hat, ref.R_hat)


def _fields(op: FPTSOrderParams, ref: TSOrderParams, p) -> TeacherFields:
    s_ref = jnp.sqrt(ref.q - ref.R**2)
    sigma_ref = jnp.sqrt(1 - ref.q)
    A = (op.t - op.R * ref.R) / s_ref
    B = (p - op.t) / sigma_ref
    return TeacherFields(ref.R, s_ref, sigma_ref, op.R, A, B, op.q - op.R**2 - A**2 - B**2,
                         1 - op.q)


def _entropic(op: FPTSOrderParams, ref: TSOrderParams, quad: TeacherFPQuadrature) -> Array:
    z0, w0 = z0_rule(quad.base.n_z0)
    h_ref = jnp.sqrt(ref.q_hat) * z0 + ref.R_hat
    b2 = op.q_hat - op.t_hat**2 / ref.q_hat
    field = op.t_hat / jnp.sqrt(ref.q_hat) * z0 + op.R_hat
    total = 0.0
    for own in (1.0, -1.0):  # the own reference's weight, W~^1 = +-1
        weight = (1 + own * jnp.tanh(h_ref)) / 2
        total = total + weight * gaussian_smoothing(
            "log2cosh", 0, field + own * (op.p_hat - op.t_hat), b2)
    return jnp.sum(w0 * total)


def free_entropy_franz_parisi_ts(op: FPTSOrderParams, ref: TSOrderParams,
                                 problem: "FranzParisiTeacherStudent", *,
                                 quad: TeacherFPQuadrature = DEFAULT_QUADRATURE
                                 ) -> Float[Array, ""]:
    """RS Franz-Parisi free entropy with a teacher (module docstring) around references with
    teacher-student RS overlaps ``ref``; at the saddle point it is the local entropy S(d)."""
    conjugate = (-op.q_hat * (1 - op.q) / 2 - op.p_hat * problem.p + op.t_hat * op.t
                 - op.R_hat * op.R)
    energetic = teacher_energetic(_fields(op, ref, problem.p), problem.kappa_ref,
                                  problem.kappa, quad)
    return conjugate + _entropic(op, ref, quad) + problem.alpha * energetic


# ------------------------------------------------------------------------ box coordinates
# Admissible overlaps: 1 - q >= 0 and C^2 >= 0, i.e. q_min(t, R) = R^2 + A^2 + B^2 <= q <= 1.
# q_min < 1 is an ellipse in (t, R): R within p R~ -+ sqrt((1-p^2)(1-R~^2)) and, given R,
# t within t*(R) -+ w(R). Coordinates (R, u, lam) with t = t* + u w and
# q = q_min + lam (1 - q_min) make it a box; b2 = q_hat - t_hat^2/q~_hat >= 0 as in storage.

_EPS = 1e-12


class _Coords(eqx.Module):
    R: Array
    u: Array
    lam: Array
    t_hat: Array
    b2: Array
    p_hat: Array
    R_hat: Array


def _t_window(R, ref: TSOrderParams, p):
    """Centre t* and half-width w of the t interval where q_min(t, R) <= 1."""
    a, b = ref.q - ref.R**2, 1 - ref.q
    centre = (b * R * ref.R + a * p) / (a + b)
    slack = 1 - R**2 - (p - R * ref.R) ** 2 / (a + b)
    return centre, jnp.sqrt(jnp.maximum(slack, 0.0) * a * b / (a + b))


def _q_min(t, R, ref: TSOrderParams, p):
    return R**2 + (t - R * ref.R) ** 2 / (ref.q - ref.R**2) + (p - t) ** 2 / (1 - ref.q)


def _to_order_params(x: _Coords, ref: TSOrderParams, p) -> FPTSOrderParams:
    centre, width = _t_window(x.R, ref, p)
    t = centre + x.u * width
    q_min = _q_min(t, x.R, ref, p)
    return FPTSOrderParams(q_min + x.lam * (1 - q_min), t, x.R, x.b2 + x.t_hat**2 / ref.q_hat,
                           x.t_hat, x.p_hat, x.R_hat)


def _to_coords(op: FPTSOrderParams, ref: TSOrderParams, p) -> _Coords:
    centre, width = _t_window(op.R, ref, p)
    q_min = _q_min(op.t, op.R, ref, p)
    return _Coords(op.R, (op.t - centre) / width, (op.q - q_min) / (1 - q_min), op.t_hat,
                   op.q_hat - op.t_hat**2 / ref.q_hat, op.p_hat, op.R_hat)


def _bounds(ref: TSOrderParams, p) -> tuple[_Coords, _Coords]:
    half = jnp.sqrt((1 - p**2) * (1 - ref.R**2)) * (1 - _EPS)
    one, inf = jnp.ones_like(half), jnp.full_like(half, jnp.inf)
    lower = _Coords(p * ref.R - half, -(1 - _EPS) * one, 0 * one, -inf, 0 * one, -inf, -inf)
    upper = _Coords(p * ref.R + half, (1 - _EPS) * one, (1 - _EPS) * one, inf, inf, inf, inf)
    return lower, upper


@eqx.filter_jit
def reference_saddle_ts(alpha: ArrayLike, kappa_ref: ArrayLike) -> SaddleSolution:
    """RS teacher-student saddle of the reference sector, $(\\tilde q, \\tilde R,
    \\hat{\\tilde q}, \\hat{\\tilde R})$ at $(\\alpha, \\tilde\\kappa)$: the branch connected
    to small kappa (the poorly generalizing one at kappa = 0), continued in kappa."""
    return reference_on_path(lambda a, k: TeacherStudentRS(TeacherStudent(a, k)), alpha,
                             kappa_ref)


class FranzParisiTeacherStudent(FranzParisiQuery):
    """Franz-Parisi query with labels of a binary teacher."""

    problem_class: ClassVar[type] = TeacherStudent
    threshold_kappa: ClassVar[tuple[float, float]] = (0.0, 0.0)

    def free_entropy(self, op, ref, quad):
        return free_entropy_franz_parisi_ts(op, ref, self, quad=quad)

    def resolved(self, op, ref):
        """Whether the z' rule resolves ln H here: $C/\\sqrt{1-q} \\le$ LOG_H_RELIABLE."""
        f = _fields(op, ref, self.p)
        return f.C2 <= LOG_H_RELIABLE**2 * f.sigma2

    default_quad: ClassVar[TeacherFPQuadrature] = DEFAULT_QUADRATURE
    chart: ClassVar[Chart] = Chart(_to_order_params, _to_coords, _bounds,
                                   identity_order_params)

    @staticmethod
    def reference(alpha, kappa_ref) -> SaddleSolution:
        return reference_saddle_ts(alpha, kappa_ref)

    @staticmethod
    def kappa_max(alpha):
        return kappa_max(alpha, problem=TeacherStudent)

    @staticmethod
    def threshold_sweep(kappa) -> Array:
        """alpha = 1.0, 1.025, 1.05, 1.1 (kappa = 0): the smallest dip slope there is +0.686,
        +0.385, -0.059, -1.636 on the same dip grid (BENCHMARKS.md)."""
        return jnp.asarray(_THRESHOLD_SWEEP) + 0 * kappa
