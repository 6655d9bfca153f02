"""Franz-Parisi local entropy of the random-features binary student, RS [P1].

A reference $\\tilde W$ is drawn uniformly from the solutions with margin $\\tilde\\kappa$ of
the random-features model (``theory/random_features.py``); $S(d)$ counts the solutions W
with margin $\\kappa$ at Hamming distance d from it. Replicas as in the storage case
(``theory/franz_parisi.py``): references $\\tilde W^a$, $a = 1..n \\to 0$ (RS saddle of the
typical model at $(\\alpha, \\alpha_D, \\tilde\\kappa)$: $\\tilde q, \\hat{\\tilde q}, \\tilde r,
\\tilde p, \\tilde m$), constrained $W^c$, $c = 1..s \\to 0$, all tied to $\\tilde W^1$.

Overlaps. W: $q$ (c-c), $p = 1 - 2d$ (c-own ref, fixed), $t$ (c-other refs), conjugates
$\\hat q, \\hat p, \\hat t$. Projections $v = F^\\top W/\\sqrt N$ (per latent dimension, no
conjugates: their F cost is explicit): $r = |v^c|^2/D$, $\\rho$ (c-c), $\\rho_o$ (c-own ref),
$\\rho_t$ (c-other refs), $m = v^c\\cdot w_T/D$.

F average (Wishart rate, weight $D/N = \\alpha/\\alpha_D$, teacher norm $|w_T|^2/D = 1$ as it is
not replicated). $S = \\lim_{s\\to0}\\partial_s\\lim_{n\\to0}\\frac1N\\ln E\\,\\tilde Z^{n-1}Z^s$,
so each $(n+s)$ log-determinant enters through $\\partial_s$ at $s = 0$, $n \\to 0$. Take an
RS reference block A (diagonal $a_0$, off $a_1$), an RS constrained block ($c_0$, $c_1$) and
cross rows $b = (e_o, e_t, .., e_t)$ ($e_o$ with reference 1). $\\ln\\det A$ does not depend
on s; the Schur complement $C - (b^\\top A^{-1} b) J_s$ is RS with entries shifted by
$K = |b|^2/g - a_1(b\\cdot1)^2/(g(a_0 + (n-1)a_1))$, $g = a_0 - a_1$, so its log-determinant
is $(s-1)\\ln(c_0-c_1) + \\ln(c_0 - c_1 + s(c_1 - K))$. At $n = 0$, $|b|^2 = e_o^2 - e_t^2$
and $b\\cdot1 = e_o - e_t$: $K = (e_o^2 - e_t^2)/g - a_1 (e_o - e_t)^2/g^2$ and
$L = \\partial_s\\ln\\det|_{s=0} = \\ln(c_0 - c_1) + (c_1 - K)/(c_0 - c_1)$ (``ds_log_det``;
$e_o = e_t = a_1$, $c = a$ gives the typical $\\ln(a_0-a_1) + a_1/(a_0-a_1)$). The trace is
$\\mathrm{tr}\\,Q^{-1}\\rho = \\partial_\\epsilon\\ln\\det(Q + \\epsilon\\rho)$ and the block
structure is linear in the entries, so
$F^{FP}_W = \\partial_s[\\ln\\det(\\rho - mm^\\top) - \\ln\\det Q - \\mathrm{tr}\\,Q^{-1}\\rho
+ n + s] = L_{\\rho - mm^\\top} - L_Q - \\partial_\\epsilon L_{Q+\\epsilon\\rho}|_0 + 1$
(``wishart_rate_fp``).

Energetic term: pre-activations are Gaussian (GET) with covariance $\\mu_1^2\\rho + \\mu_*^2 q$
and teacher covariance $\\mu_1 m$. With $\\nu$ the teacher field (label sign $\\nu$; both signs
give the same, so $\\nu > 0$ twice), references' shared field $\\tilde M\\nu + \\tilde s z_0$,
own reference $u = \\tilde M\\nu + \\tilde s z_0 + \\tilde\\sigma z_1 \\ge \\tilde\\kappa$ (the
$n - 1$ other references give $1/\\tilde H$, cancelled by the truncation mass), constrained
field $M\\nu + A z_0 + B z_1 + C z' + \\sigma\\eta_c$:

$G_E = 2 E_{\\nu>0} E_{z_0} E_{z_1 \\ge x_0} E_{z'} \\ln H((\\kappa - M\\nu - Az_0 - Bz_1 -
Cz')/\\sigma)$, $x_0 = (\\tilde\\kappa - \\tilde M\\nu - \\tilde s z_0)/\\tilde\\sigma$,

$A = (T - M\\tilde M)/\\tilde s$, $B = (P - T)/\\tilde\\sigma$, $C^2 = Q_1 - M^2 - A^2 - B^2$,
$\\sigma^2 = Q_0 - Q_1$ ($Q_0, Q_1, P, T$: covariances of the constrained field with itself,
another constrained, its own and another reference). Entropic term and conjugates are
those of the storage case. Then

$S(d) = \\mathrm{extr}\\; -\\hat q(1-q)/2 - \\hat p p + \\hat t t + G_S
+ \\frac{\\alpha}{2\\alpha_D} F^{FP}_W + \\alpha G_E$ (``free_entropy_rf_fp``);
$\\alpha_D \\to 0$ pins $v$ at the typical structure: the storage Franz-Parisi entropy.
"""

import equinox as eqx
import jax
import jax.flatten_util
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float
from tqdm import tqdm

from atypical import checked, f64, require_x64
from atypical.observables import gen_error_from_overlap, hamming_shell_entropy
from atypical.problems import RF_ACTIVATIONS

from ..engine import (RESIDUAL_TOL, SaddleSolution, Solved, Status, blank_unconverged, follow,
                      raise_unconverged)
from ..models.perceptron import RSOrderParams
from ..models.random_features import (RFOrderParams, find_rf_kappa_max, follow_rf,
                                      rf_interpolation_threshold, rf_kappa_max)
from .franz_parisi import (FPOrderParams, LocalEntropyModel, LocalEntropyQuery, checked_query,
                           entropic_term, follow_curve, interior_minimum, refine_sign_change,
                           saddle_franz_parisi)
from .franz_parisi import slope as generic_slope
from .franz_parisi_teacher import TeacherFields, TeacherFPQuadrature, teacher_energetic
from .smoothing import LOG_H_RELIABLE

# ------------------------------------------------------------------ problem and order params


class RFFranzParisi(LocalEntropyQuery):
    """Franz-Parisi query on the random-features model: references are uniform
    margin-``kappa_ref`` solutions; count margin-``kappa`` solutions at Hamming fraction
    ``d`` in (0, 1/2]. alpha = P/N, alpha_D = P/D; ``sigma`` the feature activation."""

    alpha: Float[Array, ""] = eqx.field(converter=f64)
    alpha_D: Float[Array, ""] = eqx.field(converter=f64)
    kappa_ref: Float[Array, ""] = eqx.field(converter=f64)
    kappa: Float[Array, ""] = eqx.field(converter=f64)
    d: Float[Array, ""] = eqx.field(converter=f64)
    sigma: str = eqx.field(static=True, default="sign")

    def __post_init__(self):
        who = "RFFranzParisi"
        if self.sigma not in RF_ACTIVATIONS or RF_ACTIVATIONS[self.sigma][1] == 0:
            # mu1 = 0: the projections decouple and the model is exactly storage
            # (theory.local_entropy.franz_parisi); the Newton coordinates divide by mu1^2
            raise ValueError(f"{who}(sigma={self.sigma!r}): sigma must be one of "
                             f"{sorted(k for k, v in RF_ACTIVATIONS.items() if v[1] != 0)}")
        self.alpha, self.kappa_ref, self.kappa, self.d = checked_query(
            who, self.alpha, self.kappa_ref, self.kappa, self.d)
        self.alpha_D = f64(self.alpha_D)
        self.alpha_D = checked(
            self.alpha_D, lambda: ~jnp.isfinite(self.alpha_D) | (self.alpha_D <= 0),
            f"{who}(alpha_D=...): alpha_D = P/D must be finite and > 0")

    def free_entropy(self, op, ref, quad):
        return free_entropy_rf_fp(op, ref, self, quad=quad)

    def to_order_params(self, x, ref):
        return _to_order_params(x, ref, self)

    def to_coords(self, op, ref):
        return _to_coords(op, ref, self)

    def bounds(self, ref):
        """b^2 >= 0 and C^2 >= 0; the other coordinates are free."""
        free, zero = jnp.full_like(self.d, jnp.inf), jnp.zeros_like(self.d)
        lower = eqx.tree_at(lambda c: (c.b2, c.c2), _Coords(*(-free,) * 10), (zero, zero))
        return lower, _Coords(*(free,) * 10)

    def resolved(self, op, ref):
        """Whether the z' rule resolves ln H ($C/\\sigma \\le$ LOG_H_RELIABLE) and the
        projections' overlaps stay a covariance ($\\sigma^2 = Q_0 - Q_1 > 0$, r > rho)."""
        f = _fields(op, ref, self)
        return (f.C2 <= LOG_H_RELIABLE**2 * f.sigma2) & (f.sigma2 > 0) & (op.r > op.rho)

    def identity(self, ref):
        return identity_order_params(ref)

    def at(self, kappa, d) -> "RFFranzParisi":
        kappa, d = jnp.broadcast_arrays(f64(kappa), f64(d))
        full = lambda x: jnp.full_like(d, x)
        return RFFranzParisi(full(self.alpha), full(self.alpha_D), full(self.kappa_ref), kappa,
                             d, sigma=self.sigma)


class RFFPOrderParams(eqx.Module):
    """RS Franz-Parisi overlaps of the constrained replicas. W: q (among them), t (with
    the other references), conjugates $\\hat q, \\hat t, \\hat p$ (p = 1 - 2d is fixed).
    Projections $v = F^\\top W/\\sqrt N$: r (self), rho (among them), rho_own (own
    reference), rho_other (other references), m (teacher)."""

    q: Float[Array, ""] = eqx.field(converter=f64)
    t: Float[Array, ""] = eqx.field(converter=f64)
    q_hat: Float[Array, ""] = eqx.field(converter=f64)
    t_hat: Float[Array, ""] = eqx.field(converter=f64)
    p_hat: Float[Array, ""] = eqx.field(converter=f64)
    r: Float[Array, ""] = eqx.field(converter=f64)
    rho: Float[Array, ""] = eqx.field(converter=f64)
    rho_own: Float[Array, ""] = eqx.field(converter=f64)
    rho_other: Float[Array, ""] = eqx.field(converter=f64)
    m: Float[Array, ""] = eqx.field(converter=f64)


RFFPQuadrature = TeacherFPQuadrature  # base (z0, z1, entropic) and the teacher field nu
DEFAULT_QUADRATURE = RFFPQuadrature()


def identity_order_params(ref: RFOrderParams) -> RFFPOrderParams:
    """Exact saddle point at $\\kappa = \\tilde\\kappa$, $p = \\tilde q$: the constrained
    replica is one more reference replica, so $S = \\phi_{RF}(\\alpha, \\alpha_D,
    \\tilde\\kappa)$: $q = t = \\tilde q$, hats $= \\hat{\\tilde q}$, $r = \\tilde r$,
    $\\rho = \\rho_o = \\rho_t = \\tilde p$, $m = \\tilde m$."""
    return RFFPOrderParams(ref.q, ref.q, ref.q_hat, ref.q_hat, ref.q_hat, ref.r, ref.p,
                           ref.p, ref.p, ref.m)


# ------------------------------------------------------------------------- free entropy

def ds_log_det(a0, a1, c0, c1, e_own, e_other):
    """$\\lim_{n\\to0}\\partial_s\\ln\\det$ at s = 0 of the (n+s) block matrix (module
    docstring): $\\ln(c_0-c_1) + (c_1 - K)/(c_0 - c_1)$, $K = (e_o^2 - e_t^2)/g
    - a_1(e_o - e_t)^2/g^2$, $g = a_0 - a_1$."""
    g = a0 - a1
    K = (e_own**2 - e_other**2) / g - a1 * (e_own - e_other) ** 2 / g**2
    return jnp.log(c0 - c1) + (c1 - K) / (c0 - c1)


def wishart_rate_fp(op: RFFPOrderParams, ref: RFOrderParams, p: ArrayLike
                    ) -> Float[Array, ""]:
    """$\\partial_s[\\ln\\det(\\rho - mm^\\top) - \\ln\\det Q - \\mathrm{tr}\\,Q^{-1}\\rho
    + n + s]$ at $s = 0$, $n \\to 0$:
    $L_{\\rho - mm^\\top} - L_Q - \\partial_\\epsilon L_{Q+\\epsilon\\rho} + 1$ with
    L = ``ds_log_det``; zero (and stationary) at the typical point
    $\\rho = Q$, $m = 0$; equals ``wishart_rate`` of the reference at the identity point."""
    p = f64(p)
    one = jnp.ones_like(p)
    mt, m = ref.m, op.m
    L_rho = ds_log_det(ref.r - mt**2, ref.p - mt**2, op.r - m**2, op.rho - m**2,
                        op.rho_own - m * mt, op.rho_other - m * mt)
    Q = (one, ref.q, one, op.q, p, op.t)
    rho = (ref.r, ref.p, op.r, op.rho, op.rho_own, op.rho_other)
    L_Q, trace = jax.jvp(ds_log_det, Q, rho)
    return L_rho - L_Q - trace + 1


def _fields(op: RFFPOrderParams, ref: RFOrderParams, problem: RFFranzParisi
            ) -> TeacherFields:
    _, mu1, mu_star = RF_ACTIVATIONS[problem.sigma]
    mu1_2, ms2 = mu1**2, mu_star**2
    Q0_ref, Q1_ref, M_ref = mu1_2 * ref.r + ms2, mu1_2 * ref.p + ms2 * ref.q, mu1 * ref.m
    Q0, Q1, M = mu1_2 * op.r + ms2, mu1_2 * op.rho + ms2 * op.q, mu1 * op.m
    P = mu1_2 * op.rho_own + ms2 * problem.p
    T = mu1_2 * op.rho_other + ms2 * op.t
    s_ref, sigma_ref = jnp.sqrt(Q1_ref - M_ref**2), jnp.sqrt(Q0_ref - Q1_ref)
    A = (T - M * M_ref) / s_ref
    B = (P - T) / sigma_ref
    return TeacherFields(M_ref, s_ref, sigma_ref, M, A, B, Q1 - M**2 - A**2 - B**2, Q0 - Q1)


def free_entropy_rf_fp(op: RFFPOrderParams, ref: RFOrderParams, problem: RFFranzParisi,
                       *, quad: RFFPQuadrature = DEFAULT_QUADRATURE) -> Float[Array, ""]:
    """RS Franz-Parisi free entropy of the random-features model (module docstring) at
    overlaps ``op`` around references with typical RS overlaps ``ref`` (``saddle_rf`` at
    margin kappa_ref); its value at the saddle point is the local entropy S(d)."""
    conjugate = -op.q_hat * (1 - op.q) / 2 - op.p_hat * problem.p + op.t_hat * op.t
    entropic = entropic_term(FPOrderParams(op.q, op.t, op.q_hat, op.t_hat, op.p_hat),
                         RSOrderParams(ref.q, ref.q_hat), quad.base)
    return (conjugate + entropic
            + problem.alpha / (2 * problem.alpha_D) * wishart_rate_fp(op, ref, problem.p)
            + problem.alpha * teacher_energetic(_fields(op, ref, problem),
                                                problem.kappa_ref, problem.kappa, quad))


def gen_error_rf_fp(op: RFFPOrderParams, problem: RFFranzParisi) -> Float[Array, ""]:
    """Generalization error of the constrained solutions (GET):
    $\\epsilon_g = \\arccos(\\mu_1 m/\\sqrt{\\mu_1^2 r + \\mu_*^2})/\\pi$."""
    _, mu1, mu_star = RF_ACTIVATIONS[problem.sigma]
    return gen_error_from_overlap(mu1 * op.m / jnp.sqrt(mu1**2 * op.r + mu_star**2))


# ------------------------------------------------------------------------------- solver
# Newton runs in coordinates where the admissible set is a box: C^2 >= 0 replaces rho
# (rho = (C^2 + M^2 + A^2 + B^2 - mu_*^2 q)/mu_1^2; M, A, B do not involve rho) and
# b^2 = q_hat - t_hat^2/qt_hat >= 0 replaces q_hat. Both vanish at the identity point, so
# it sits on the faces; the map has a unit-triangular Jacobian (up to the constant
# 1/mu_1^2), so stationary points correspond one to one. Iterates are clipped to the box.

class _Coords(eqx.Module):
    q: Array
    t: Array
    b2: Array
    t_hat: Array
    p_hat: Array
    r: Array
    c2: Array
    rho_own: Array
    rho_other: Array
    m: Array


def _to_order_params(x: _Coords, ref: RFOrderParams, problem: RFFranzParisi
                     ) -> RFFPOrderParams:
    _, mu1, mu_star = RF_ACTIVATIONS[problem.sigma]
    op = RFFPOrderParams(x.q, x.t, x.b2 + x.t_hat**2 / ref.q_hat, x.t_hat, x.p_hat, x.r,
                         jnp.zeros_like(x.r), x.rho_own, x.rho_other, x.m)
    f = _fields(op, ref, problem)  # M, A, B do not depend on rho
    rho = (x.c2 + f.M**2 + f.A**2 + f.B**2 - mu_star**2 * x.q) / mu1**2
    return eqx.tree_at(lambda o: o.rho, op, rho)


def _to_coords(op: RFFPOrderParams, ref: RFOrderParams, problem: RFFranzParisi) -> _Coords:
    return _Coords(op.q, op.t, op.q_hat - op.t_hat**2 / ref.q_hat, op.t_hat, op.p_hat, op.r,
                   _fields(op, ref, problem).C2, op.rho_own, op.rho_other, op.m)


@eqx.filter_jit
def saddle_rf_fp(problem: RFFranzParisi, ref: RFOrderParams, init: RFFPOrderParams, *,
                 quad: RFFPQuadrature = DEFAULT_QUADRATURE) -> SaddleSolution:
    """Newton on $\\nabla\\phi = 0$ from ``init`` (box coordinates, see above) around
    references with typical overlaps ``ref``; the saddle in physical order parameters,
    differentiable in ``problem`` and ``ref`` (implicit function theorem). Never throws."""
    return saddle_franz_parisi(problem, ref, init, quad=quad)


# ------------------------------------------------------------------ curves S(d) in one go


class RFFranzParisiCurve(Solved):
    """Local entropy $S(d)$ on a grid of distances, all order parameters, the slope
    $dS/dd$ (envelope theorem), the generalization error of the constrained solutions,
    Newton diagnostics, and the reference sector (typical RS saddle at kappa_ref)."""

    problem: RFFranzParisi
    local_entropy: Float[Array, " D"]
    order_params: RFFPOrderParams
    slope: Float[Array, " D"]
    gen_error: Float[Array, " D"]
    residual: Float[Array, " D"]
    newton_steps: Array
    status: Status
    reference: RFOrderParams
    reference_entropy: Float[Array, ""]

    @property
    def upper_bound(self) -> Array:
        """$-d\\ln d - (1-d)\\ln(1-d)$: all $\\binom{N}{dN}$ configurations at distance d."""
        return hamming_shell_entropy(self.problem.d)


def slope(op: RFFPOrderParams, ref: RFOrderParams, problem: RFFranzParisi, *,
          quad: RFFPQuadrature = DEFAULT_QUADRATURE) -> Array:
    """$dS/dd = \\partial\\phi/\\partial d$ at fixed order parameters (envelope theorem):
    the generic ``franz_parisi.slope`` with this model's default quadrature."""
    return generic_slope(op, ref, problem, quad=quad)


def _curve(ref: RFOrderParams, base: RFFranzParisi, d: Array, quad: RFFPQuadrature,
           n_kappa: int, n_fill: int) -> RFFranzParisiCurve:
    """One curve (``base`` scalar; d a 1-d grid): the generic ``follow_curve`` (identity
    point, homotopy in kappa, continuation in d), failed points blanked to NaN."""
    sol = follow_curve(base, ref, d, quad, n_kappa, n_fill)
    targets = base.at(base.kappa, d)
    slopes = jax.vmap(lambda o, p: slope(o, ref, p, quad=quad))(sol.order_params, targets)
    curve = RFFranzParisiCurve(targets, sol.free_entropy, sol.order_params, slopes,
                               gen_error_rf_fp(sol.order_params, targets), sol.residual,
                               sol.newton_steps, sol.status, ref, jnp.asarray(jnp.nan))
    return blank_unconverged(curve, lambda c: (c.local_entropy, c.order_params, c.slope,
                                               c.gen_error))


_curve_jit = eqx.filter_jit(_curve)


def _reference(alpha: float, alpha_D: float, kappa_ref: float, sigma: str):
    """Typical RS saddle at margin kappa_ref, by continuation in kappa from
    min(kappa_ref, 0) (a cold start fails near the maximal margin)."""

    kappas = np.linspace(min(kappa_ref, 0.0), kappa_ref, 24)
    branch = follow_rf(alpha, alpha_D, kappas, sigma=sigma)
    return jax.tree.map(lambda x: x[-1], branch)


def rf_franz_parisi_curve(alpha: float, alpha_D: float, kappa_ref: float, kappa: float,
                          d: ArrayLike, *, sigma: str = "sign",
                          quad: RFFPQuadrature = DEFAULT_QUADRATURE, n_kappa: int = 6,
                          n_fill: int = 8) -> RFFranzParisiCurve:
    """Franz-Parisi local entropy $S(d)$ (RS) of the random-features model around uniform
    margin-``kappa_ref`` references, counting margin-``kappa`` solutions, on a grid of
    distances ``d`` (1-d, in (0, 1/2]); scalar alpha, alpha_D, kappa_ref, kappa.

    One jitted call: identity point at the typical distance, homotopy in kappa
    (``n_kappa`` legs), continuation in d (``n_fill`` extra points each way). Raises
    ``ValueError`` for bad input (kappa_ref above the RS maximal margin, kappa > kappa_ref)
    and ``SaddlePointError`` listing the points where the branch was lost."""
    require_x64("rf_franz_parisi_curve")
    d = np.atleast_1d(np.asarray(d, np.float64))
    if d.ndim != 1 or not np.all((d > 0) & (d <= 0.5)):
        raise ValueError(f"rf_franz_parisi_curve(d={d.tolist()}): the Hamming fraction d "
                         "must lie in (0, 1/2] (a 1-d grid)")
    if kappa > kappa_ref:
        raise ValueError(f"rf_franz_parisi_curve(kappa={kappa:g}, kappa_ref={kappa_ref:g}): "
                         "kappa must be <= kappa_ref")
    base = RFFranzParisi(alpha, alpha_D, kappa_ref, kappa, 0.5, sigma=sigma)
    reference = _reference(alpha, alpha_D, kappa_ref, sigma)
    if not bool(reference.converged) or float(reference.free_entropy) < -RESIDUAL_TOL:
        raise ValueError(
            f"rf_franz_parisi_curve(alpha={alpha:g}, alpha_D={alpha_D:g}, "
            f"kappa_ref={kappa_ref:g}): no typical references (RS entropy "
            f"{float(reference.free_entropy):.4g}); kappa_ref must be <= rf_kappa_max")
    curve = _curve_jit(reference.order_params, base, jnp.asarray(d), quad, n_kappa, n_fill)
    raise_unconverged("rf_franz_parisi_curve", curve.converged, curve.residual,
                      curve.newton_steps, status=curve.status, alpha=alpha, alpha_D=alpha_D,
                      kappa_ref=kappa_ref, kappa=kappa, d=d)
    return eqx.tree_at(lambda c: c.reference_entropy, curve, reference.free_entropy)


MAX_MARGIN_BACKOFF = 1e-6  # kappa_ref below kappa_max when the reference entropy rounds < 0


def rf_franz_parisi_max_margin(alpha: float, alpha_D: float, d: ArrayLike, *,
                               kappa: float = 0.0, sigma: str = "sign") -> RFFranzParisiCurve:
    """``rf_franz_parisi_curve`` around references at the RF maximal margin: kappa_ref =
    ``rf_kappa_max(alpha, alpha_D)``, or ``MAX_MARGIN_BACKOFF`` below it where the reference
    entropy rounds negative at exactly kappa_max (the curve's ``problem.kappa_ref`` says
    which). Raises ``ValueError`` if neither has typical references and ``SaddlePointError``
    where the branch is lost."""
    kappa_max = float(rf_kappa_max(alpha, alpha_D, sigma=sigma).kappa)
    try:
        return rf_franz_parisi_curve(alpha, alpha_D, kappa_max, kappa, d, sigma=sigma)
    except ValueError:
        return rf_franz_parisi_curve(alpha, alpha_D, kappa_max - MAX_MARGIN_BACKOFF, kappa, d,
                                     sigma=sigma)


# ------------------------------------ [P1]: where S(d) around maximal-margin refs stops rising

_DIP_GRID = tuple(np.geomspace(1.5e-3, 0.06, 12).tolist())


class RFAtypicalThreshold(eqx.Module):
    """The alpha (and N/D = alpha_D/alpha) above which S(d) of margin-kappa solutions around
    references at the RF maximal margin stops being monotone at small d; the distance of
    the dip there, and the bracket [alpha_lo, alpha_hi] the root was interpolated in."""

    alpha: float
    alpha_D: float
    n_over_d: float
    kappa: float
    kappa_ref: float
    d: float
    alpha_lo: float
    alpha_hi: float


@eqx.filter_jit
def _dip_curve(alpha: Array, alpha_D: Array, kappa: Array, sigma: str, quad: RFFPQuadrature):
    """S(d) on the dip grid around references at the RF maximal margin kappa_max(alpha)."""

    top = find_rf_kappa_max(alpha, alpha_D, sigma)
    base = RFFranzParisi(alpha, alpha_D, top.kappa, kappa, 0.5, sigma=sigma)
    curve = _curve(top.order_params, base, jnp.asarray(_DIP_GRID), quad, 6, 6)
    return curve, top.converged & curve.converged.all()


@eqx.filter_jit
def _move_dip(curve: RFFranzParisiCurve, alpha: Array, quad: RFFPQuadrature):
    """The dip-grid curve continued to a new alpha (reference at the new kappa_max): one
    predictor-corrector leg per distance (vmapped) instead of a curve from scratch."""

    old = curve.problem
    top = find_rf_kappa_max(alpha, old.alpha_D[0], old.sigma)
    new = eqx.tree_at(lambda p: (p.alpha, p.kappa_ref), old,
                      (jnp.full_like(old.d, alpha), jnp.full_like(old.d, top.kappa)))
    ref0, ref1 = curve.reference, top.order_params

    def leg(op, p0, p1):
        start = LocalEntropyModel(p0, ref0, quad)
        target = jax.tree.map(lambda v: v[None], LocalEntropyModel(p1, ref1, quad))
        sol = jax.tree.map(lambda v: v[0], follow(target, start.to_coords(op), start)[0])
        return sol, slope(sol.order_params, ref1, p1, quad=quad)

    sol, slopes = jax.vmap(leg)(curve.order_params, old, new)
    moved = RFFranzParisiCurve(new, sol.free_entropy, sol.order_params, slopes,
                               gen_error_rf_fp(sol.order_params, new), sol.residual,
                               sol.newton_steps, sol.status, ref1, jnp.asarray(jnp.nan))
    return moved, top.converged & sol.converged.all()


def rf_atypical_threshold(alpha_D: float, kappa: float = 0.0, *, sigma: str = "sign",
                          quad: RFFPQuadrature = DEFAULT_QUADRATURE, tol: float = 1e-4,
                          start: float = 0.7, progress: bool = False) -> RFAtypicalThreshold:
    """[P1] atypical transition of the random-features model at fixed $\\alpha_D$: the
    alpha where the Franz-Parisi local entropy of margin-``kappa`` solutions around
    references at the RF maximal margin $\\kappa_{max}(\\alpha, \\alpha_D)$ stops being
    monotone in d (a dip appears at small d: the dense regions of solutions are gone);
    ``n_over_d`` = $\\alpha_D/\\alpha$.

    Root in alpha of m(alpha) = min over d of dS/dd (interior minimum on a geometric grid
    of d in [1.5e-3, 0.06], parabola-refined): alpha steps up from ``start`` alpha_c
    (alpha_c the interpolation point) by 0.04 alpha_c until m <= 0, then regula falsi
    (Illinois) to a bracket narrower than ``tol``; curves are continued in alpha, not
    recomputed. Raises ``SaddlePointError`` if S(d) is not monotone at the start.
    ``progress``: a tqdm line on stderr per solved curve (minutes each on a CPU)."""
    require_x64("rf_atypical_threshold")
    from atypical import SaddlePointError


    if not (np.isfinite(alpha_D) and alpha_D > 0):
        raise ValueError(f"rf_atypical_threshold(alpha_D={alpha_D}): alpha_D = P/D must be "
                         "finite and > 0")
    d = np.asarray(_DIP_GRID)
    alpha_c = float(rf_interpolation_threshold(alpha_D, sigma=sigma).alpha)
    state = {}
    bar = tqdm(desc=f"rf-atypical alpha_D={alpha_D:g}", unit="curve", disable=not progress)

    def dip(alpha):
        bar.update()
        bar.set_postfix(alpha=f"{alpha:.5f}")
        if state:
            curve, ok = _move_dip(state["curve"], jnp.float64(alpha), quad)
        if not state or not bool(ok):
            curve, ok = _dip_curve(jnp.float64(alpha), jnp.float64(alpha_D),
                                   jnp.float64(kappa), sigma, quad)
        if not bool(ok):
            raise SaddlePointError(f"rf_atypical_threshold(alpha_D={alpha_D:g}): the "
                                   f"Franz-Parisi branch was lost at alpha={alpha:.6g}")
        state["curve"] = curve
        return interior_minimum(np.asarray(curve.slope), d), curve

    lo, (m_lo, _), _ = start * alpha_c, *dip(start * alpha_c)
    if m_lo <= 0:
        raise SaddlePointError(f"rf_atypical_threshold(alpha_D={alpha_D:g}): S(d) is "
                               f"already non-monotone at {start:g} alpha_c = {lo:.6g}")
    hi = lo
    while True:
        hi = hi + 0.04 * alpha_c
        if hi >= alpha_c:
            raise SaddlePointError(f"rf_atypical_threshold(alpha_D={alpha_D:g}): S(d) stays "
                                   f"monotone up to the interpolation point {alpha_c:.6g}")
        (m_hi, d_hi), curve = dip(hi)
        if m_hi <= 0:
            break
        lo, m_lo = hi, m_hi
    alpha, lo, hi, d_hi = refine_sign_change(lambda a: dip(a)[0], (lo, m_lo),
                                             (hi, m_hi, d_hi), tol)
    bar.close()
    top = float(rf_kappa_max(alpha, alpha_D, sigma=sigma).kappa)
    return RFAtypicalThreshold(alpha, alpha_D, alpha_D / alpha, kappa, top, d_hi, lo, hi)
