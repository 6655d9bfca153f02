"""Focusing belief propagation (fBP) for the binary perceptron (storage or teacher-student
labels, margin 0).

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
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, Bool, DTypeLike, Float, Int, PRNGKeyArray

from atypical.gaussian import log_H
from atypical.observables import train_error
from atypical.problems import f64

from .data import Dataset

_HI = jax.lax.Precision.HIGHEST


def _checked(name: str, low: float, high: float | None = None):
    def convert(x):
        x = f64(x)
        bad = ~jnp.isfinite(x) | (x < low) | ((x > high) if high is not None else False)
        rng = f"[{low}, {high}]" if high is not None else f">= {low}"
        return eqx.error_if(x, bad, f"FBPConfig({name}=...): {name} must be finite and {rng}")
    return convert


class FBPConfig(eqx.Module):
    """iterations: BP sweeps T (static); y: replicas of the focusing term (>= 1; 1 = plain
    BP); gamma0, gamma_step: the coupling $\\gamma_t = \\gamma_0 + t\\,\\delta\\gamma$;
    damping in [0, 1): weight of the old fields; init_scale: std of the random initial
    fields $u_{\\mu i}$ (the replicas' only randomness); dtype (float32 default)."""

    iterations: int = eqx.field(static=True, default=500)
    y: Float[Array, ""] = eqx.field(converter=_checked("y", 1.0), default=10.0)
    gamma0: Float[Array, ""] = eqx.field(converter=_checked("gamma0", 0.0), default=0.0)
    gamma_step: Float[Array, ""] = eqx.field(converter=_checked("gamma_step", 0.0),
                                             default=0.01)
    damping: Float[Array, ""] = eqx.field(converter=_checked("damping", 0.0, 0.999),
                                          default=0.5)
    init_scale: Float[Array, ""] = eqx.field(converter=_checked("init_scale", 0.0),
                                             default=0.01)
    stop_at_solution: bool = eqx.field(static=True, default=True)
    dtype: DTypeLike = eqx.field(static=True, default=jnp.float32)

    def __check_init__(self):
        if not isinstance(self.iterations, int) or self.iterations < 1:
            raise ValueError(f"FBPConfig(iterations={self.iterations!r}): must be an int >= 1")


class FBPResult(eqx.Module):
    """One fBP run (leading axis after the vmapped drivers). W: sign of the total fields
    at the end; fields: $h_i$; train_errors[t] of sign(h) after sweep t; solved;
    iterations_to_solution (-1 = never)."""

    W: Float[Array, "*R N"]
    fields: Float[Array, "*R N"]
    train_errors: Float[Array, "*R T"]
    solved: Bool[Array, "*R"]
    iterations_to_solution: Int[Array, "*R"]


def _sign(x: Array) -> Array:
    return jnp.where(x >= 0, 1, -1).astype(x.dtype)


def factor_fields(u: Float[Array, "P N"], h: Float[Array, " N"], xi_s: Float[Array, "P N"],
                  y: Float[Array, " P"]) -> Float[Array, "P N"]:
    """New factor-to-weight fields from the total fields h and the old u (Gaussian cavity
    sums; ``xi_s`` = $\\xi/\\sqrt N$). Exposed for ``sim.bp_local_entropy``."""
    m = jnp.tanh(h[None, :] - u)  # cavity magnetizations m_{i -> mu}
    var = xi_s**2 * (1 - m**2)
    mean_term = xi_s * m
    omega = jnp.sum(mean_term, axis=1, keepdims=True) - mean_term
    V = jnp.sum(var, axis=1, keepdims=True) - var
    sqrt_V = jnp.sqrt(V)
    yy = y[:, None]
    return 0.5 * (log_H(-yy * (omega + xi_s) / sqrt_V) - log_H(-yy * (omega - xi_s) / sqrt_V))


def focusing_field(h_cav: Float[Array, " N"], y: Array, gamma: Array) -> Float[Array, " N"]:
    """$f = \\mathrm{atanh}[\\tanh\\gamma\\tanh((y-1)\\mathrm{atanh}(\\tanh\\gamma\\tanh h^{\\rm cav}))]$."""
    rho = jnp.tanh(gamma)
    return jnp.arctanh(rho * jnp.tanh((y - 1) * jnp.arctanh(rho * jnp.tanh(h_cav))))


def fbp_one(key: PRNGKeyArray, data: Dataset, config: FBPConfig) -> FBPResult:
    """fBP on one data set from random initial fields (one run, no batch axis)."""
    dtype = jnp.dtype(config.dtype)
    if data.xi.dtype != dtype:
        raise ValueError(f"fbp_one: data dtype {data.xi.dtype} differs from "
                         f"FBPConfig(dtype={dtype}); sample the data with the same dtype")
    P, N = data.xi.shape
    xi_s = data.xi / jnp.sqrt(jnp.asarray(N, dtype))
    y_rep, damping = config.y.astype(dtype), config.damping.astype(dtype)
    gamma0, gamma_step = config.gamma0.astype(dtype), config.gamma_step.astype(dtype)
    u0 = config.init_scale.astype(dtype) * jr.normal(key, (P, N), dtype)

    def err_of(h):
        return train_error(data.y * jnp.matmul(xi_s, _sign(h), precision=_HI))

    def total(u, gamma):
        h_cav = jnp.sum(u, axis=0)
        return h_cav + focusing_field(h_cav, y_rep, gamma)

    def sweep(carry, t):
        u, h, done = carry
        gamma = gamma0 + t.astype(dtype) * gamma_step
        u_new = (1 - damping) * factor_fields(u, h, xi_s, data.y) + damping * u
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
    return FBPResult(W=_sign(h), fields=h, train_errors=errors, solved=errors[-1] == 0,
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
