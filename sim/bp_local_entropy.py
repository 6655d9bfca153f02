"""Local entropy around a solution $W^*$ by belief propagation, and exactly at small N.

BP (the Gaussian-cavity BP of ``sim.fbp``) on
$Z(\\lambda) = \\sum_W \\prod_\\mu\\theta(\\Delta_\\mu)\\,e^{\\lambda W\\cdot W^*}$ gives the Bethe
free entropy $\\phi(\\lambda) = \\ln Z/N$ and overlap $q(\\lambda) = \\langle W\\rangle\\cdot W^*/N$;
the Legendre transform $S(d) = \\phi(\\lambda) - \\lambda q(\\lambda)$ at $d = (1-q)/2$ is the
local entropy, the log-number of solutions per weight at Hamming fraction d from $W^*$
(Huang-Kabashima, PRE 90, 052813 (2014); Baldassi et al., PRL 115, 128101 (2015); [P2]).
Bethe formula with normalized messages $\\nu_{\\mu\\to i}\\propto e^{u w}$, $\\nu_{i\\to\\mu}\\propto e^{h w}$:
$\\ln Z = \\sum_\\mu \\ln H(-y_\\mu\\omega_\\mu/\\sqrt{V_\\mu}) + \\sum_i [\\ln 2\\cosh h_i - \\sum_\\mu \\ln 2\\cosh u_{\\mu i}]
- \\sum_{\\mu i}[\\ln 2\\cosh h_i - \\ln 2\\cosh u_{\\mu i} - \\ln 2\\cosh h_{i\\to\\mu}]$.
``exact_local_entropy`` counts the solutions at each distance by enumeration (N <= 25).
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from atypical.gaussian import log_2cosh, log_H
from atypical.observables import overlap_to_hamming

from .data import Dataset
from .enumerate import enumerate_solutions
from .fbp import factor_fields


class LocalEntropyBP(eqx.Module):
    """BP estimates at each external field lambda (leading axis L): free entropy phi,
    overlap q with the reference, distance d = (1-q)/2, local entropy S = phi - lambda q,
    and the last change of the fields (max |u_new - u|; small = converged)."""

    lam: Float[Array, " L"]
    phi: Float[Array, " L"]
    q: Float[Array, " L"]
    d: Float[Array, " L"]
    local_entropy: Float[Array, " L"]
    residual: Float[Array, " L"]


def _bp_at(lam: Float[Array, ""], xi_s: Float[Array, "P N"], y: Float[Array, " P"],
           W_ref: Float[Array, " N"], iterations: int, damping: Float[Array, ""]):
    P, N = xi_s.shape
    field = lam * W_ref

    def sweep(u, _):
        h = jnp.sum(u, axis=0) + field
        u_new = (1 - damping) * factor_fields(u, h, xi_s, y) + damping * u
        return u_new, jnp.max(jnp.abs(u_new - u))

    u, residuals = jax.lax.scan(sweep, jnp.zeros((P, N), xi_s.dtype), None, length=iterations)
    h = jnp.sum(u, axis=0) + field
    h_cav = h[None, :] - u  # h_{i -> mu}
    m = jnp.tanh(h_cav)
    omega = jnp.sum(xi_s * m, axis=1)
    V = jnp.sum(xi_s**2 * (1 - m**2), axis=1)
    log_z_factors = jnp.sum(log_H(-y * omega / jnp.sqrt(V)))
    log_z_sites = jnp.sum(log_2cosh(h)) - jnp.sum(log_2cosh(u))
    log_z_edges = jnp.sum(log_2cosh(h)[None, :] - log_2cosh(u) - log_2cosh(h_cav))
    phi = (log_z_factors + log_z_sites - log_z_edges) / N
    q = jnp.mean(jnp.tanh(h) * W_ref)
    return phi, q, residuals[-1]


@eqx.filter_jit
def local_entropy_bp(data: Dataset, W_ref: Float[Array, " N"], lam: Float[Array, " L"], *,
                     iterations: int = 300, damping: ArrayLike = 0.5) -> LocalEntropyBP:
    """BP local entropy around ``W_ref`` (a solution of ``data``) at each external field
    ``lam`` (vmapped; lambda >= 0 probes d below the typical distance). Runs in the data's
    dtype (use float64 for comparisons with enumeration)."""
    dtype = data.xi.dtype
    N = data.xi.shape[1]
    if W_ref.shape != (N,):
        raise ValueError(f"local_entropy_bp: W_ref has shape {W_ref.shape}, data needs ({N},)")
    if not isinstance(iterations, int) or iterations < 1:
        raise ValueError(f"local_entropy_bp(iterations={iterations!r}): must be an int >= 1")
    xi_s = data.xi / jnp.sqrt(jnp.asarray(N, dtype))
    lam = jnp.asarray(lam, dtype)
    damping = jnp.asarray(damping, dtype)
    phi, q, res = jax.vmap(lambda l: _bp_at(l, xi_s, data.y, W_ref.astype(dtype),
                                            iterations, damping))(lam)
    return LocalEntropyBP(lam=lam, phi=phi, q=q, d=overlap_to_hamming(q),
                          local_entropy=phi - lam * q, residual=res)


def local_entropy_at(result: LocalEntropyBP, d: ArrayLike) -> np.ndarray:
    """S at the requested distances d by linear interpolation of the BP curve (d(lambda)
    is decreasing in lambda); nan outside the range of d the lambda grid covered."""
    d_bp, s_bp = np.asarray(result.d, np.float64), np.asarray(result.local_entropy, np.float64)
    order = np.argsort(d_bp)
    return np.interp(np.asarray(d, np.float64), d_bp[order], s_bp[order], left=np.nan,
                     right=np.nan)


def exact_local_entropy(data: Dataset, W_ref: Float[Array, " N"]
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Exact $S(d) = \\ln\\#\\{W: \\Delta_\\mu \\ge 0\\ \\forall\\mu,\\ |W - W^*|_H = dN\\}/N$ for
    d = 0, 1/N, ..., 1 by enumeration (N <= 25); -inf where no solution lies. Returns (d, S)."""
    N = data.xi.shape[1]
    gauged = Dataset(xi=data.xi, y=data.y, W_T=W_ref.astype(data.xi.dtype))
    _, agreements = enumerate_solutions(gauged)
    counts = np.asarray(agreements, np.float64)[::-1]  # index = number of disagreements
    with np.errstate(divide="ignore"):
        return np.arange(N + 1) / N, np.log(counts) / N


def exact_legendre(d: np.ndarray, S: np.ndarray, lam: ArrayLike, N: int
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The BP quantities computed exactly from the enumerated S(d) (``exact_local_entropy``):
    $\\phi(\\lambda) = \\frac1N\\ln\\sum_k \\#_k e^{\\lambda N(1-2k/N)}$, $q(\\lambda)$ its
    derivative and $S = \\phi - \\lambda q$: what BP estimates at finite N (the count at an
    exact distance differs from it by the O(ln N / N) Laplace correction). Returns
    (phi, q, S), each of the shape of ``lam``."""
    lam = np.asarray(lam, np.float64)[..., None]
    q_k = 1 - 2 * np.asarray(d, np.float64)
    logw = N * np.asarray(S, np.float64) + lam * N * q_k  # -inf where no solution
    top = np.max(logw, axis=-1, keepdims=True)
    w = np.exp(logw - top)
    phi = (top[..., 0] + np.log(np.sum(w, axis=-1))) / N
    q = np.sum(w * q_k, axis=-1) / np.sum(w, axis=-1)
    return phi, q, phi - lam[..., 0] * q
