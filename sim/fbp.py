"""Focusing belief propagation (fBP) for the binary perceptron and binary committee machines
(storage or teacher-student labels, margin 0).

BP on the factor graph of $\\prod_\\mu\\theta(\\Delta_\\mu)$ in field form: factor-to-weight
fields $u_{\\mu i}$, cavity magnetizations $m_{i\\to\\mu} = \\tanh(h_i - u_{\\mu i})$, with the
other $N-1$ terms of a factor summed as a Gaussian (exact as $N \\to \\infty$;
Braunstein-Zecchina, PRL 96, 030201 (2006)):
$u_{\\mu i} = \\frac12\\ln\\frac{H(-y_\\mu(\\omega_{\\mu\\to i} + \\xi_{\\mu i}/\\sqrt N)/\\sqrt{V_{\\mu\\to i}})}
{H(-y_\\mu(\\omega_{\\mu\\to i} - \\xi_{\\mu i}/\\sqrt N)/\\sqrt{V_{\\mu\\to i}})}$.
Focusing (Baldassi et al., PNAS 113, E7655 (2016), eq. for fBP): y replicas coupled by
$\\gamma$ to a center add to every weight the field
$f_i = \\mathrm{atanh}[\\tanh\\gamma\\,\\tanh((y-1)\\,\\mathrm{atanh}(\\tanh\\gamma\\tanh h^{\\rm cav}_i))]$,
$h^{\\rm cav}_i = \\sum_\\mu u_{\\mu i}$, so $h_i = h^{\\rm cav}_i + f_i$; $\\gamma$ grows
linearly with the iteration (scoping), $\\gamma_t = \\gamma_0 + t\\,\\delta\\gamma$. The
candidate solution is $W = \\mathrm{sign}(h)$; a run stops at the first W with zero
training error. If messages stop being finite (all fields saturated) the state freezes.

Committee machines (``sim.committee``, K odd, tree or fc): weight i of hidden unit k sees the
Gaussian cavity field of its unit, mean $\\omega_{\\mu k\\to i}$ and variance $V_{\\mu k\\to i}$, and
the other units agree with the label with probabilities $p_{\\mu l} = H(-y_\\mu\\omega_{\\mu l}/
\\sqrt{V_{\\mu l}})$. With $c$ the number of other units that agree (Poisson-binomial), the
output is right if $c \\ge (K+1)/2$, or if $c = (K-1)/2$ and unit k agrees:
$u_{\\mu ki} = \\frac12\\ln\\frac{B^{win} + B^{tie} H(-y(\\omega + \\xi/\\sqrt{N_k})/\\sqrt V)}
{B^{win} + B^{tie} H(-y(\\omega - \\xi/\\sqrt{N_k})/\\sqrt V)}$, $B^{win} = P(c \\ge (K+1)/2)$,
$B^{tie} = P(c = (K-1)/2)$; K = 1 gives the perceptron fields ($B^{win} = 0$, $B^{tie} = 1$).
Fully connected committees need slower scoping than the default: at K = 3, N = 201,
alpha = 0.5 the default gamma_step = 0.01 reaches training error 0.02 after 100 sweeps, then
the fields saturate (|h| ~ 1e8) and the error jumps to 0.42; gamma_step = 0.003 solves the
instance after 343 sweeps.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, Bool, DTypeLike, Float, Int, PRNGKeyArray

from atypical.gaussian import log_H
from atypical.observables import binary_sign, train_error
from atypical.problems import in_range

from .committee import committee_error
from .data import Dataset

_HI = jax.lax.Precision.HIGHEST


class FBPConfig(eqx.Module):
    """iterations: BP sweeps T (static); y: replicas of the focusing term (>= 1; 1 = plain
    BP); gamma0, gamma_step: the coupling $\\gamma_t = \\gamma_0 + t\\,\\delta\\gamma$;
    damping in [0, 1): weight of the old fields; init_scale: std of the random initial
    fields $u_{\\mu i}$ (the replicas' only randomness); dtype (float32 default)."""

    iterations: int = eqx.field(static=True, default=500)
    y: Float[Array, ""] = eqx.field(converter=in_range("FBPConfig", "y", 1.0), default=10.0)
    gamma0: Float[Array, ""] = eqx.field(
        converter=in_range("FBPConfig", "gamma0", 0.0), default=0.0)
    gamma_step: Float[Array, ""] = eqx.field(
        converter=in_range("FBPConfig", "gamma_step", 0.0), default=0.01)
    damping: Float[Array, ""] = eqx.field(
        converter=in_range("FBPConfig", "damping", 0.0, 0.999), default=0.5)
    init_scale: Float[Array, ""] = eqx.field(
        converter=in_range("FBPConfig", "init_scale", 0.0), default=0.01)
    stop_at_solution: bool = eqx.field(static=True, default=True)
    dtype: DTypeLike = eqx.field(static=True, default=jnp.float32)

    def __check_init__(self):
        if not isinstance(self.iterations, int) or self.iterations < 1:
            raise ValueError(f"FBPConfig(iterations={self.iterations!r}): must be an int >= 1")


class FBPResult(eqx.Module):
    """One fBP run (leading axis after the vmapped drivers). W: sign of the total fields
    at the end; fields: $h_i$ (both flat, committee units as consecutive blocks);
    train_errors[t] of sign(h) after sweep t; solved; iterations_to_solution (-1 = never)."""

    W: Float[Array, "*R Nw"]
    fields: Float[Array, "*R Nw"]
    train_errors: Float[Array, "*R T"]
    solved: Bool[Array, "*R"]
    iterations_to_solution: Int[Array, "*R"]


def _log_agreeing_others(log_p: Array, log_q: Array) -> Array:
    """$\\ln P(c)$, c = 0..K-1 the number of hidden units other than k that agree with the
    label, for every k: Poisson-binomial recursion over the units, in the log domain.
    ``log_p``, ``log_q``: (..., K) log-probabilities that each unit agrees / disagrees."""
    K = log_p.shape[-1]
    minus_inf = jnp.full(log_p.shape[:-1] + (1,), -jnp.inf, log_p.dtype)
    per_unit = []
    for k in range(K):
        dist = jnp.concatenate([jnp.zeros_like(minus_inf)] + [minus_inf] * (K - 1), axis=-1)
        for l in range(K):
            if l != k:
                shifted = jnp.concatenate([minus_inf, dist[..., :-1]], axis=-1)
                dist = jnp.logaddexp(dist + log_q[..., l:l + 1], shifted + log_p[..., l:l + 1])
        per_unit.append(dist)
    return jnp.stack(per_unit, axis=-2)


def committee_factor_fields(u: Float[Array, "P K Nk"], h: Float[Array, "K Nk"],
                            xi_s: Float[Array, "P K Nk"], y: Float[Array, " P"]
                            ) -> Float[Array, "P K Nk"]:
    """New factor-to-weight fields of a K-unit committee (module docstring) from the total
    fields h and the old u; ``xi_s`` = $\\xi_{\\mu k}/\\sqrt{N_k}$, the inputs each unit sees."""
    m = jnp.tanh(h[None] - u)  # cavity magnetizations m_{ki -> mu}
    mean_term, var = xi_s * m, xi_s**2 * (1 - m**2)
    mean_all = jnp.sum(mean_term, axis=-1, keepdims=True)
    var_all = jnp.sum(var, axis=-1, keepdims=True)
    yy = y[:, None, None]
    agree = y[:, None] * mean_all[..., 0] / jnp.sqrt(var_all[..., 0])  # (P, K)
    counts = _log_agreeing_others(log_H(-agree), log_H(agree))  # (P, K, K)
    K = h.shape[0]
    log_tie = counts[..., (K - 1) // 2][..., None]
    log_win = jax.nn.logsumexp(counts[..., (K + 1) // 2:], axis=-1)[..., None]
    omega, sqrt_V = mean_all - mean_term, jnp.sqrt(var_all - var)

    def log_right(w):  # ln P(output = y | w_ki = w)
        return jnp.logaddexp(log_win, log_tie + log_H(-yy * (omega + w * xi_s) / sqrt_V))

    u_new = 0.5 * (log_right(1.0) - log_right(-1.0))
    # a unit that can never decide the output (no tie possible) learns nothing
    return jnp.where(jnp.isfinite(log_tie), u_new, 0.0)


def factor_fields(u: Float[Array, "P N"], h: Float[Array, " N"], xi_s: Float[Array, "P N"],
                  y: Float[Array, " P"]) -> Float[Array, "P N"]:
    """The perceptron's factor-to-weight fields (K = 1; ``xi_s`` = $\\xi/\\sqrt N$). Exposed
    for ``sim.bp_local_entropy``."""
    return committee_factor_fields(u[:, None], h[None], xi_s[:, None], y)[:, 0]


def focusing_field(h_cav: Float[Array, " N"], y: Array, gamma: Array) -> Float[Array, " N"]:
    """$f = \\mathrm{atanh}[\\tanh\\gamma\\tanh((y-1)\\mathrm{atanh}(\\tanh\\gamma\\tanh h^{\\rm cav}))]$."""
    rho = jnp.tanh(gamma)
    return jnp.arctanh(rho * jnp.tanh((y - 1) * jnp.arctanh(rho * jnp.tanh(h_cav))))


def _unit_inputs(xi: Float[Array, "P N"], K: int, arch: str) -> Float[Array, "P K Nk"]:
    """$\\xi_{\\mu k}/\\sqrt{N_k}$: unit k's block (tree) or all inputs (fc)."""
    P, N = xi.shape
    if arch == "tree":
        return xi.reshape(P, K, N // K) / jnp.sqrt(jnp.asarray(N // K, xi.dtype))
    return jnp.broadcast_to(xi[:, None, :], (P, K, N)) / jnp.sqrt(jnp.asarray(N, xi.dtype))


def fbp_one(key: PRNGKeyArray, data: Dataset, config: FBPConfig) -> FBPResult:
    """fBP on one data set from random initial fields (one run, no batch axis); a
    committee student when ``data.K`` > 1 or ``data.arch`` == "fc"."""
    dtype = jnp.dtype(config.dtype)
    if data.xi.dtype != dtype:
        raise ValueError(f"fbp_one: data dtype {data.xi.dtype} differs from "
                         f"FBPConfig(dtype={dtype}); sample the data with the same dtype")
    K, arch = getattr(data, "K", 1), getattr(data, "arch", "tree")
    xi_u = _unit_inputs(data.xi, K, arch)
    y_rep, damping = config.y.astype(dtype), config.damping.astype(dtype)
    gamma0, gamma_step = config.gamma0.astype(dtype), config.gamma_step.astype(dtype)
    u0 = config.init_scale.astype(dtype) * jr.normal(key, xi_u.shape, dtype)

    def err_of(h):
        if (K, arch) == (1, "tree"):
            return train_error(data.y * jnp.matmul(xi_u[:, 0], binary_sign(h[0]), precision=_HI))
        return committee_error(binary_sign(h).reshape(-1), data.xi, data.y, K, arch)

    def total(u, gamma):
        h_cav = jnp.sum(u, axis=0)
        return h_cav + focusing_field(h_cav, y_rep, gamma)

    def sweep(carry, t):
        u, h, done = carry
        gamma = gamma0 + t.astype(dtype) * gamma_step
        u_new = (1 - damping) * committee_factor_fields(u, h, xi_u, data.y) + damping * u
        h_new = total(u_new, gamma)
        ok = jnp.all(jnp.isfinite(u_new)) & jnp.all(jnp.isfinite(h_new))
        keep = done | ~ok
        u, h = jnp.where(keep, u, u_new), jnp.where(keep, h, h_new)
        err = err_of(h)
        done = (done | ~ok | (err == 0)) if config.stop_at_solution else ~ok
        return (u, h, done), err

    h0 = total(u0, gamma0)
    (_, h, _), errors = jax.lax.scan(sweep, (u0, h0, jnp.asarray(False)),
                                     jnp.arange(config.iterations, dtype=jnp.int32))
    zero = errors == 0
    first = jnp.where(jnp.any(zero), jnp.argmax(zero) + 1, -1).astype(jnp.int32)
    return FBPResult(W=binary_sign(h).reshape(-1), fields=h.reshape(-1), train_errors=errors,
                     solved=errors[-1] == 0,
                     iterations_to_solution=first)


@eqx.filter_jit
def run_replicas(key: PRNGKeyArray, data: Dataset, config: FBPConfig,
                 n_replicas: int) -> FBPResult:
    """``n_replicas`` fBP runs on one data set (random initial fields from
    ``jr.split(key, n_replicas)``), vmapped; leading axis R."""
    if not isinstance(n_replicas, int) or n_replicas < 1:
        raise ValueError(f"fbp.run_replicas(n_replicas={n_replicas!r}): must be an int >= 1")
    return jax.vmap(fbp_one, in_axes=(0, None, None))(jr.split(key, n_replicas), data, config)


@eqx.filter_jit
def run_instances(key: PRNGKeyArray, data: Dataset, config: FBPConfig) -> FBPResult:
    """One fBP run per data set of a stack (leading instance axis I), vmapped."""
    n = data.xi.shape[0]
    return jax.vmap(fbp_one, in_axes=(0, 0, None))(jr.split(key, n), data, config)
