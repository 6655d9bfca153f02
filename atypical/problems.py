"""Problem specs shared by theory and sim: one immutable object per statistical problem.

Continuous parameters are float64 array fields (vmappable, traced under jit); invalid
values are caught by ``atypical.errors.checked``: ``ParameterError`` at once where the values
are concrete, NaN where they are traced inside ``jit``, ``eqx.error_if`` under eager vmap/grad.
"""

import math

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from .errors import checked


def as_array(x: ArrayLike, dtype) -> Array:
    """``jnp.asarray(x, dtype)``, concrete where ``x`` is, also inside a trace (a constant of
    the compiled program), so that its ``checked`` checks are decided when it is traced."""
    with jax.ensure_compile_time_eval():
        return jnp.asarray(x, dtype)


def f64(x: ArrayLike) -> Array:
    """``as_array(x, float64)``: the converter of every continuous theory parameter."""
    return as_array(x, jnp.float64)


def in_range(owner: str, name: str, low: float = -float("inf"), high: float = float("inf"), *,
             open_low: bool = False):
    """Converter of a config field to a float64 array that is finite and lies in [low, high]
    ((low, high] with ``open_low``), checked by ``checked`` (so also under jit); the
    error names ``owner(name=...)`` and the admissible range."""
    if high < float("inf"):
        valid = f"in {'(' if open_low else '['}{low:g}, {high:g}]"
    elif low > -float("inf"):
        valid = f"{'>' if open_low else '>='} {low:g}"
    else:
        valid = ""
    message = f"{owner}({name}=...): {name} must be finite" + (f" and {valid}" if valid else "")

    def convert(x: ArrayLike) -> Array:
        x = f64(x)
        below = (lambda: x <= low) if open_low else (lambda: x < low)
        return checked(x, lambda: ~jnp.isfinite(x) | below() | (x > high), message)
    return convert


def check_one_of(owner: str, name: str, value, valid) -> None:
    """Raise ``ValueError`` naming ``owner(name=value)`` and the valid choices unless
    ``value`` is one of ``valid`` (a sequence or mapping of choices)."""
    if value not in valid:
        raise ValueError(f"{owner}({name}={value!r}): {name} must be one of {list(valid)}")


def _checked_alpha(alpha: Array, who: str) -> Array:
    alpha = f64(alpha)
    return checked(alpha, lambda: ~jnp.isfinite(alpha) | (alpha <= 0),
                   f"{who}(alpha=...): alpha = P/N must be finite and > 0")


def _checked_kappa(kappa: Array, who: str) -> Array:
    kappa = f64(kappa)
    return checked(kappa, lambda: ~jnp.isfinite(kappa),
                   f"{who}(kappa=...): the margin kappa must be finite")


def _check_alpha_kappa(spec: eqx.Module, who: str) -> None:
    """Validate a problem's ``alpha`` and ``kappa`` fields in its ``__post_init__``."""
    spec.alpha = _checked_alpha(spec.alpha, who)
    spec.kappa = _checked_kappa(spec.kappa, who)


class BinaryStorage(eqx.Module):
    """Binary perceptron $W \\in \\{\\pm1\\}^N$ storing $P = \\alpha N$ random labels with
    margin kappa: every stability $\\Delta_\\mu = y_\\mu W\\cdot\\xi_\\mu/\\sqrt N \\ge \\kappa$."""

    alpha: Float[Array, ""] = eqx.field(converter=f64)
    kappa: Float[Array, ""] = eqx.field(converter=f64, default=0.0)

    def __post_init__(self):
        _check_alpha_kappa(self, "BinaryStorage")


class TeacherStudent(eqx.Module):
    """Binary student learning $P = \\alpha N$ labels $y = \\mathrm{sign}(W_T\\cdot\\xi/\\sqrt N)$
    of a binary teacher $W_T$; the student's stabilities must be $\\ge \\kappa$.

    kappa = 0 is the Bayes-optimal (Gibbs) setting, where the Nishimori identities hold."""

    alpha: Float[Array, ""] = eqx.field(converter=f64)
    kappa: Float[Array, ""] = eqx.field(converter=f64, default=0.0)

    def __post_init__(self):
        _check_alpha_kappa(self, "TeacherStudent")


def _check_committee_K(K, who: str) -> None:
    if not isinstance(K, int) or isinstance(K, bool) or K < 1 or K % 2 == 0:
        raise ValueError(f"{who}(K={K!r}): the number of hidden units K must be an odd int "
                         ">= 1 (the majority vote must not tie)")


class TreeCommittee(eqx.Module):
    """Binary tree committee machine storing $P = \\alpha N$ random labels: K (odd) hidden
    sign units, unit l sees its own block of $N/K$ binary weights, the output is their
    majority vote. The margin kappa acts on the hidden fields: a solution has, for every
    example, at least $(K+1)/2$ hidden stabilities
    $\\Delta_{\\mu l} = y_\\mu W_l\\cdot\\xi_{\\mu l}/\\sqrt{N/K} \\ge \\kappa$
    (K = 1 is ``BinaryStorage``). ``K`` is static (it fixes shapes)."""

    alpha: Float[Array, ""] = eqx.field(converter=f64)
    kappa: Float[Array, ""] = eqx.field(converter=f64, default=0.0)
    K: int = eqx.field(static=True, default=3)

    def __post_init__(self):
        _check_committee_K(self.K, "TreeCommittee")
        _check_alpha_kappa(self, "TreeCommittee")


class TreeCommitteeTeacherStudent(eqx.Module):
    """Binary tree committee student (``TreeCommittee``: K odd hidden units on disjoint
    blocks of N/K weights, majority output, hidden margin kappa) learning $P = \\alpha N$
    labels of a binary tree committee teacher of the same architecture. K = 1 is
    ``TeacherStudent``; kappa = 0 is the Bayes-optimal (Gibbs) setting."""

    alpha: Float[Array, ""] = eqx.field(converter=f64)
    kappa: Float[Array, ""] = eqx.field(converter=f64, default=0.0)
    K: int = eqx.field(static=True, default=3)

    def __post_init__(self):
        _check_committee_K(self.K, "TreeCommitteeTeacherStudent")
        _check_alpha_kappa(self, "TreeCommitteeTeacherStudent")


# --- two-layer networks trained by gradient flow [P3] (DMFT capability) ---------------------

# Hermite coefficients c_k (sigma = sum_k c_k He_k / sqrt(k!)) of the kernels used in [P3]:
# h(q) = sum_k c_k^2 q^k.  Index k is the Hermite degree; c_0 = 0 (centred activation).
TWO_LAYER_KERNELS: dict[str, tuple[float, ...]] = {
    "cubic": (0.0, 0.9 ** 0.5, 0.0, 6.0 ** -0.5),  # h = 0.9 q + q^3/6 (mean-field figures)
    "quad": (0.0, 0.9 ** 0.5, 0.5 ** 0.5),  # h = 0.9 q + q^2/2 (lazy figures)
    "quad3": (0.0, 0.3 ** 0.5, 0.5 ** 0.5),  # h = 0.3 q + q^2/2 (App. H, fixed a)
    "quad_small": (0.0, 0.1 ** 0.5, 0.5 ** 0.5),  # h = 0.1 q + q^2/2 (pure-noise checks)
    "linear": (0.0, 1.0),  # h = q: the network *is* the Gaussian model
}


def _poly(coeffs: Array, x: Array) -> Array:
    """$\\sum_k \\mathrm{coeffs}_k x^k$ (Horner; coeffs has a static length)."""
    out = jnp.zeros_like(x)
    for k in range(coeffs.shape[0] - 1, -1, -1):
        out = out * x + coeffs[k]
    return out


def _poly_deriv(coeffs: Array) -> Array:
    k = jnp.arange(1, coeffs.shape[0], dtype=coeffs.dtype)
    return coeffs[1:] * k if coeffs.shape[0] > 1 else jnp.zeros((1,), coeffs.dtype)


class TwoLayerGradientFlow(eqx.Module):
    """Two-layer net $f(x) = \\frac1m\\sum_i a_i\\sigma(\\langle w_i,x\\rangle)$, $\\|w_i\\| = 1$,
    trained by gradient flow on the square loss with time rescaled by n/d [P3 eq. 1.1-1.2];
    $x\\sim N(0,I_d)$, $y = \\varphi(\\langle u,x\\rangle) + \\tau\\varepsilon$, $\\alpha = n/(md)$.

    ``sigma_coeffs`` $c_k$ and ``target_coeffs`` $f_k$ are normalised Hermite coefficients
    ($\\sigma = \\sum_k c_k He_k/\\sqrt{k!}$), so $h(q) = \\sum_k c_k^2 q^k$,
    $\\hat\\varphi(v) = \\sum_k c_k f_k v^k$, $\\|\\varphi\\|^2 = \\sum_k f_k^2$ (pure noise: f = 0).
    ``a0`` (m,) is a(0) (mean-field a0 = O(1), lazy a0 = gamma0 sqrt(m)); ``C0`` (m, m) and
    ``v0`` (m,) are the initial overlaps $\\langle w_i,w_j\\rangle$, $\\langle u,w_i\\rangle$
    (default I and 0). ``train_second_layer=False`` freezes a."""

    alpha: Float[Array, ""] = eqx.field(converter=f64)
    tau: Float[Array, ""] = eqx.field(converter=f64)
    sigma_coeffs: Float[Array, " K"] = eqx.field(converter=f64)
    target_coeffs: Float[Array, " K"] = eqx.field(converter=f64)
    a0: Float[Array, " m"] = eqx.field(converter=f64)
    C0: Float[Array, "m m"] | None = None
    v0: Float[Array, " m"] | None = None
    train_second_layer: bool = eqx.field(static=True, default=True)

    def __post_init__(self):
        who = "TwoLayerGradientFlow"
        # converters run after __post_init__ in equinox: convert explicitly here
        self.alpha, self.tau, self.a0 = f64(self.alpha), f64(self.tau), f64(self.a0)
        self.sigma_coeffs, self.target_coeffs = f64(self.sigma_coeffs), f64(self.target_coeffs)
        if self.a0.ndim != 1 or self.a0.shape[0] < 1:
            raise ValueError(f"{who}(a0=...): a0 must be a vector of length m >= 1, "
                             f"got shape {self.a0.shape}")
        m = self.a0.shape[0]
        if self.sigma_coeffs.ndim != 1 or self.target_coeffs.ndim != 1:
            raise ValueError(f"{who}: sigma_coeffs and target_coeffs must be 1-d Hermite "
                             "coefficient vectors (index = degree)")
        K = max(self.sigma_coeffs.shape[0], self.target_coeffs.shape[0], 2)
        self.sigma_coeffs = jnp.pad(self.sigma_coeffs, (0, K - self.sigma_coeffs.shape[0]))
        self.target_coeffs = jnp.pad(self.target_coeffs, (0, K - self.target_coeffs.shape[0]))
        self.C0 = jnp.eye(m, dtype=jnp.float64) if self.C0 is None else f64(self.C0)
        self.v0 = jnp.zeros((m,), jnp.float64) if self.v0 is None else f64(self.v0)
        if self.C0.shape != (m, m) or self.v0.shape != (m,):
            raise ValueError(f"{who}: C0 must be (m, m) and v0 (m,) with m = len(a0) = {m}, "
                             f"got {self.C0.shape} and {self.v0.shape}")
        self.alpha = _checked_alpha(self.alpha, who)
        self.tau = checked(self.tau, lambda: ~jnp.isfinite(self.tau) | (self.tau < 0),
                           f"{who}(tau=...): the label-noise std tau must be finite and >= 0")
        self.sigma_coeffs = checked(
            self.sigma_coeffs, lambda: self.sigma_coeffs[0] != 0,
            f"{who}(sigma_coeffs=...): sigma must be centred, c_0 = 0 (E sigma(G) = 0)")
        self.target_coeffs = checked(
            self.target_coeffs, lambda: self.target_coeffs[0] != 0,
            f"{who}(target_coeffs=...): the target must be centred, f_0 = 0")
        self.a0 = checked(self.a0, lambda: ~jnp.all(jnp.isfinite(self.a0)),
                          f"{who}(a0=...): a0 must be finite")
        C0, v0 = self.C0, self.v0

        def bad():
            gram = jnp.block([[jnp.ones((1, 1)), v0[None, :]], [v0[:, None], C0]])
            return ((jnp.max(jnp.abs(C0 - C0.T)) > 1e-12)
                    | (jnp.max(jnp.abs(jnp.diagonal(C0) - 1)) > 1e-12)
                    | (jnp.min(jnp.linalg.eigvalsh(gram)) < -1e-10))

        self.C0 = checked(C0, bad, f"{who}(C0=..., v0=...): C0 must be symmetric with unit "
                          "diagonal and the Gram matrix [[1, v0^T], [v0, C0]] positive "
                          "semi-definite")

    @property
    def m(self) -> int:
        """Number of hidden units."""
        return self.a0.shape[0]

    @property
    def n_over_d(self) -> Array:
        """$\\bar\\alpha = n/d = \\alpha m$."""
        return self.alpha * self.m

    def h(self, q: ArrayLike) -> Array:
        """$h(q) = E\\,\\sigma(G_1)\\sigma(G_q) = \\sum_k c_k^2 q^k$."""
        return _poly(self.sigma_coeffs**2, jnp.asarray(q))

    def h_prime(self, q: ArrayLike) -> Array:
        """$h'(q)$."""
        return _poly(_poly_deriv(self.sigma_coeffs**2), jnp.asarray(q))

    def h_second(self, q: ArrayLike) -> Array:
        """$h''(q)$."""
        return _poly(_poly_deriv(_poly_deriv(self.sigma_coeffs**2)), jnp.asarray(q))

    def phi_hat(self, v: ArrayLike) -> Array:
        """$\\hat\\varphi(v) = E\\,\\sigma(\\langle w,x\\rangle)\\varphi(\\langle u,x\\rangle)
        = \\sum_k c_k f_k v^k$ with $v = \\langle u,w\\rangle$."""
        return _poly(self.sigma_coeffs * self.target_coeffs, jnp.asarray(v))

    def phi_hat_prime(self, v: ArrayLike) -> Array:
        """$\\hat\\varphi'(v)$."""
        return _poly(_poly_deriv(self.sigma_coeffs * self.target_coeffs), jnp.asarray(v))

    @property
    def phi_norm2(self) -> Array:
        """$\\|\\varphi\\|^2 = \\sum_k f_k^2$."""
        return jnp.sum(self.target_coeffs**2)

    @property
    def is_symmetric(self) -> bool:
        """Whether a0, C0, v0 are permutation symmetric (equal a_i, v_i, off-diagonal C)."""
        m = self.m
        off = self.C0[~jnp.eye(m, dtype=bool)] if m > 1 else jnp.zeros((1,))
        return bool((jnp.ptp(self.a0) == 0) & (jnp.ptp(self.v0) == 0) & (jnp.ptp(off) == 0))


def two_layer_preset(kernel: str, *, m: int, alpha: float, tau: float, a0: float | ArrayLike,
                     teacher: bool = True, c0_offdiag: float = 0.0, v0: float = 0.0,
                     train_second_layer: bool = True) -> TwoLayerGradientFlow:
    """Preset of [P3]: sigma from ``TWO_LAYER_KERNELS[kernel]``, target phi = sigma
    (``teacher=True``, so $\\hat\\varphi = h$) or pure noise; a(0) = a0 (scalar or (m,)),
    C(0,0) = (1-c) I + c J with c = ``c0_offdiag``, v(0) = v0."""
    check_one_of("two_layer_preset", "kernel", kernel, sorted(TWO_LAYER_KERNELS))
    if not isinstance(m, int) or m < 1:
        raise ValueError(f"two_layer_preset(m={m!r}): m must be an integer >= 1")
    c = jnp.asarray(TWO_LAYER_KERNELS[kernel], jnp.float64)
    a0 = jnp.broadcast_to(f64(a0), (m,))
    C0 = (1 - c0_offdiag) * jnp.eye(m) + c0_offdiag * jnp.ones((m, m))
    return TwoLayerGradientFlow(alpha, tau, c, c if teacher else jnp.zeros_like(c), a0,
                                C0, jnp.full((m,), v0, jnp.float64), train_second_layer)


# --- overparameterized binary student on a hidden perceptron teacher [P1] -------------------

# Gaussian-equivalence coefficients of each activation, z ~ N(0, 1):
# mu0 = E sigma(z), mu1 = E z sigma(z), mu_star^2 = E sigma(z)^2 - mu0^2 - mu1^2.
# "quadratic" is He_2(z)/sqrt 2 = (z^2 - 1)/sqrt 2: features with no linear part (mu1 = 0).
RF_ACTIVATIONS: dict[str, tuple[float, float, float]] = {
    "sign": (0.0, (2 / math.pi) ** 0.5, (1 - 2 / math.pi) ** 0.5),
    "erf": (0.0, 2 / (3 * math.pi) ** 0.5,
            ((2 / math.pi) * math.asin(2 / 3) - 4 / (3 * math.pi)) ** 0.5),
    "relu": ((2 * math.pi) ** -0.5, 0.5, (0.25 - 1 / (2 * math.pi)) ** 0.5),
    "linear": (0.0, 1.0, 0.0),
    "quadratic": (0.0, 0.0, 1.0),
}
RF_TEACHERS = ("gaussian", "binary")


class RandomFeatures(eqx.Module):
    """Binary student $W \\in \\{\\pm1\\}^N$ on random features of a hidden perceptron
    teacher [P1] (DESIGN.md section 3.3): latent $c \\sim N(0, I_D)$, features
    $x = \\sigma(Fc/\\sqrt D)$ with fixed Gaussian $F \\in R^{N\\times D}$, labels
    $y = \\mathrm{sign}(w_T\\cdot c/\\sqrt D)$, solutions have all $y W\\cdot x/\\sqrt N \\ge \\kappa$.

    ``alpha`` = P/N, ``alpha_D`` = P/D (overparameterization N/D = alpha_D/alpha);
    ``sigma`` in ``RF_ACTIVATIONS`` and ``teacher`` ("gaussian" or "binary" w_T) are static.
    ``mu0``, ``mu1``, ``mu_star`` are the Gaussian-equivalence coefficients of sigma."""

    alpha: Float[Array, ""] = eqx.field(converter=f64)
    alpha_D: Float[Array, ""] = eqx.field(converter=f64)
    kappa: Float[Array, ""] = eqx.field(converter=f64, default=0.0)
    sigma: str = eqx.field(static=True, default="sign")
    teacher: str = eqx.field(static=True, default="gaussian")

    def __post_init__(self):
        who = "RandomFeatures"
        check_one_of(who, "sigma", self.sigma, sorted(RF_ACTIVATIONS))
        check_one_of(who, "teacher", self.teacher, RF_TEACHERS)
        self.alpha = _checked_alpha(self.alpha, who)
        alpha_D = f64(self.alpha_D)
        self.alpha_D = checked(alpha_D, lambda: ~jnp.isfinite(alpha_D) | (alpha_D <= 0),
                               f"{who}(alpha_D=...): alpha_D = P/D must be finite and > 0")
        self.kappa = _checked_kappa(self.kappa, who)

    @property
    def mu0(self) -> float:
        """$\\mu_0 = E\\,\\sigma(z)$."""
        return RF_ACTIVATIONS[self.sigma][0]

    @property
    def mu1(self) -> float:
        """$\\mu_1 = E\\,z\\sigma(z)$: the linear part of the features."""
        return RF_ACTIVATIONS[self.sigma][1]

    @property
    def mu_star(self) -> float:
        """$\\mu_* = (E\\sigma^2 - \\mu_0^2 - \\mu_1^2)^{1/2}$: the nonlinear part (noise)."""
        return RF_ACTIVATIONS[self.sigma][2]

    @property
    def n_over_d(self) -> Array:
        """Overparameterization $N/D = \\alpha_D/\\alpha$."""
        return self.alpha_D / self.alpha
