"""Metropolis simulated annealing on the number of violated constraints (typical solutions).

Energy $E(W) = \\sum_\\mu \\theta(-\\Delta_\\mu)$; single-weight flips proposed in a random
order each sweep, accepted with probability $\\min(1, e^{-\\beta\\,\\delta E})$;
$\\beta$ grows geometrically from ``beta0`` to ``beta1`` over the sweeps (Kirkpatrick et al.
1983). From the first zero-energy configuration on, $\\beta = \\infty$: the chain is a
Metropolis walk restricted to solutions, whose stationary law is uniform over the solution
cluster it is in, and ``sweeps_at_solution`` further sweeps move it away from the (biased)
entry point, towards a typical solution. Stabilities are updated incrementally, O(P) per
flip. Meant for small N (the equilibrium dynamics of [P2]'s typical solutions).
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, Bool, DTypeLike, Float, Int, PRNGKeyArray

from atypical.problems import in_range

from .data import Dataset

_HI = jax.lax.Precision.HIGHEST


class AnnealConfig(eqx.Module):
    """sweeps: annealing sweeps (N proposals each); beta0 -> beta1: geometric schedule of
    the inverse temperature; sweeps_at_solution: extra zero-temperature sweeps among
    solutions once one is found (counted inside ``sweeps``: the run stops at ``sweeps``);
    dtype (float32 default)."""

    sweeps: int = eqx.field(static=True, default=2000)
    beta0: Float[Array, ""] = eqx.field(
        converter=in_range("AnnealConfig", "beta0", 0, open_low=True), default=0.5)
    beta1: Float[Array, ""] = eqx.field(
        converter=in_range("AnnealConfig", "beta1", 0, open_low=True), default=10.0)
    sweeps_at_solution: int = eqx.field(static=True, default=200)
    dtype: DTypeLike = eqx.field(static=True, default=jnp.float32)

    def __check_init__(self):
        if not isinstance(self.sweeps, int) or self.sweeps < 1:
            raise ValueError(f"AnnealConfig(sweeps={self.sweeps!r}): must be an int >= 1")
        if not isinstance(self.sweeps_at_solution, int) or self.sweeps_at_solution < 0:
            raise ValueError(f"AnnealConfig(sweeps_at_solution={self.sweeps_at_solution!r}): "
                             "must be an int >= 0")


class AnnealResult(eqx.Module):
    """One chain (leading axis after the vmapped drivers). W: final weights; train_errors[s]
    after sweep s; solved: W is a solution; sweeps_to_solution: first sweep at zero energy
    (0 = initial W, -1 = never)."""

    W: Float[Array, "*R N"]
    train_errors: Float[Array, "*R T"]
    solved: Bool[Array, "*R"]
    sweeps_to_solution: Int[Array, "*R"]


def anneal_one(key: PRNGKeyArray, data: Dataset, config: AnnealConfig) -> AnnealResult:
    """One annealing chain from a uniformly random W (one replica, no batch axis)."""
    dtype = jnp.dtype(config.dtype)
    if data.xi.dtype != dtype:
        raise ValueError(f"anneal_one: data dtype {data.xi.dtype} differs from "
                         f"AnnealConfig(dtype={dtype}); sample the data with the same dtype")
    P, N = data.xi.shape
    cols = (data.y[:, None] * data.xi / jnp.sqrt(jnp.asarray(N, dtype))).T  # (N, P)
    k_init, k_sweeps = jr.split(key)
    W0 = jr.rademacher(k_init, (N,), dtype)
    stab0 = jnp.matmul(W0, cols, precision=_HI)
    T = config.sweeps
    ratio = (config.beta1 / config.beta0) ** (1 / max(T - 1, 1))
    betas = (config.beta0 * ratio ** jnp.arange(T, dtype=jnp.float64)).astype(dtype)

    def energy(stab):
        return jnp.sum((stab < 0).astype(jnp.int32))

    def flip(carry, inputs):
        W, stab, E, frozen = carry
        i, u, beta = inputs
        new_stab = stab - 2 * W[i] * cols[i]
        dE = energy(new_stab) - E
        hot = (dE <= 0) | (u < jnp.exp(-beta * dE.astype(dtype)))
        accept = jnp.where(frozen, dE == 0, hot)  # beta = infinity among solutions
        W = W.at[i].set(jnp.where(accept, -W[i], W[i]))
        stab = jnp.where(accept, new_stab, stab)
        E = jnp.where(accept, E + dE, E)
        return (W, stab, E, frozen | (E == 0)), None

    def sweep(carry, inputs):
        W, stab, E, frozen, since = carry
        beta, k = inputs
        k_perm, k_u = jr.split(k)
        order = jr.permutation(k_perm, N)
        us = jr.uniform(k_u, (N,), dtype)
        new = jax.lax.scan(flip, (W, stab, E, frozen),
                           (order, us, jnp.broadcast_to(beta, (N,))))[0]
        done = frozen & (since >= config.sweeps_at_solution)  # walked enough: stop
        W, stab, E, frozen = jax.tree.map(lambda n, o: jnp.where(done, o, n), new,
                                          (W, stab, E, frozen))
        since = since + frozen.astype(jnp.int32)
        return (W, stab, E, frozen, since), E

    E0 = energy(stab0)
    carry0 = (W0, stab0, E0, E0 == 0, jnp.asarray(0, jnp.int32))
    (W, _, E, _, _), energies = jax.lax.scan(sweep, carry0, (betas, jr.split(k_sweeps, T)))
    errors = energies.astype(dtype) / jnp.asarray(P, dtype)
    zero = energies == 0
    first = jnp.where(jnp.any(zero), jnp.argmax(zero) + 1, -1)
    first = jnp.where(E0 == 0, 0, first).astype(jnp.int32)
    return AnnealResult(W=W, train_errors=errors, solved=E == 0, sweeps_to_solution=first)


@eqx.filter_jit
def run_replicas(key: PRNGKeyArray, data: Dataset, config: AnnealConfig,
                 n_replicas: int) -> AnnealResult:
    """``n_replicas`` independent chains on one data set, vmapped over
    ``jr.split(key, n_replicas)``; leading axis R."""
    if not isinstance(n_replicas, int) or n_replicas < 1:
        raise ValueError(f"anneal.run_replicas(n_replicas={n_replicas!r}): must be an int >= 1")
    return jax.vmap(anneal_one, in_axes=(0, None, None))(jr.split(key, n_replicas), data,
                                                         config)


@eqx.filter_jit
def run_instances(key: PRNGKeyArray, data: Dataset, config: AnnealConfig) -> AnnealResult:
    """One chain per data set of a stack (leading instance axis I), vmapped."""
    n = data.xi.shape[0]
    return jax.vmap(anneal_one, in_axes=(0, 0, None))(jr.split(key, n), data, config)
