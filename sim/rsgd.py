"""Replicated SGD ("robust ensemble"): y coupled BinaryConnect students.

Baldassi, Borgs, Chayes, Ingrosso, Lucibello, Saglietti, Zecchina, PNAS 113, E7655 (2016):
minimising $\\sum_a L(W^a) + \\frac{\\gamma}{2}\\sum_a |h^a - \\bar h|^2$ over y replicas samples
the local-entropy measure around the center as $\\gamma$ grows ("scoping"), which steers the
replicas into wide, dense regions of solutions. Each replica runs the SGD of ``sim/sgd.py``
(latent h, sign forward, straight-through gradient, SBPI rule) on its own minibatch order;
the elastic force $\\gamma_e (h^a - \\bar h)$, $\\bar h = \\frac1y\\sum_a h^a$, is added to
every gradient, with $\\gamma_e = \\gamma_0 (1 + \\gamma_1)^e$ at epoch e. A run is solved
when a replica or the center $\\mathrm{sign}(\\bar h)$ has zero training error.

Committee machines (``data.K``, ``data.arch``) are trained with the least-action gradient of
``sim.sgd`` on the flat committee weights; the center is the sign of the mean latent vector.

The y coupled replicas are one state with a leading y axis (the coupling needs their mean);
independent seeds are vmapped around it (``train_replicas``).
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import optax
from jaxtyping import Array, Bool, Float, Int, PRNGKeyArray

from atypical.observables import binary_sign
from atypical.problems import in_range

from .committee import n_weights
from .data import Dataset
from .sgd import SGDConfig, full_train_error, latent_gradient, minibatches, sgd_optimizer


class RSGDConfig(eqx.Module):
    """y: coupled replicas (int >= 2); gamma0, gamma_growth: the elastic coupling
    $\\gamma_e = \\gamma_0(1+\\gamma_1)^e$ at epoch e; sgd: each replica's ``SGDConfig``
    (epochs, batch size, optimizer, loss, dtype, stop_at_solution)."""

    y: int = eqx.field(static=True, default=5)
    gamma0: Float[Array, ""] = eqx.field(
        converter=in_range("RSGDConfig", "gamma0", 0), default=1e-4)
    gamma_growth: Float[Array, ""] = eqx.field(
        converter=in_range("RSGDConfig", "gamma_growth", 0), default=0.03)
    sgd: SGDConfig = SGDConfig()

    def __check_init__(self):
        if not isinstance(self.y, int) or self.y < 2:
            raise ValueError(f"RSGDConfig(y={self.y!r}): y, the number of coupled replicas, "
                             "must be an int >= 2")

    @property
    def dtype(self):
        return self.sgd.dtype


class RSGDResult(eqx.Module):
    """One robust-ensemble run (a leading seed axis R after ``train_replicas``).

    W: the solution found (the center if it solves, else the first solving replica, else
    the center); W_replicas: the y replicas' weights; train_errors[e]: the smallest training
    error among the replicas and the center after epoch e; solved; epochs_to_solution (0 =
    at initialization, -1 = never); distance_to_center[e]: mean Hamming fraction between
    the replicas and $\\mathrm{sign}(\\bar h)$."""

    W: Float[Array, "*R N"]
    W_replicas: Float[Array, "*R y N"]
    train_errors: Float[Array, "*R T"]
    solved: Bool[Array, "*R"]
    epochs_to_solution: Int[Array, "*R"]
    distance_to_center: Float[Array, "*R T"]


def _errors(h: Float[Array, "y N"], data: Dataset) -> Float[Array, " y+1"]:
    """Training errors of the y replicas and, last, of the center sign(mean h)."""
    replicas = jax.vmap(full_train_error, in_axes=(0, None))(h, data)
    return jnp.append(replicas, full_train_error(jnp.mean(h, axis=0), data))


def _epoch(h, opt_state, key, gamma, data: Dataset, config: RSGDConfig):
    """One pass of every replica over the data, each in its own random order."""
    sgd = config.sgd
    P = data.xi.shape[0]
    B = min(sgd.batch_size, P)
    n_batches = -(-P // B)

    idx, masks = jax.vmap(lambda k: minibatches(k, data, B, n_batches))(jr.split(key, config.y))
    idx, mask = jnp.swapaxes(idx, 0, 1), masks[0]  # (batches, y, B); the same mask for all
    tx = sgd_optimizer(sgd)

    def step(carry, batch):
        h, opt_state = carry
        i, m = batch
        data_grad = jax.vmap(lambda h_a, i_a: latent_gradient(
            h_a, data.xi[i_a], data.y[i_a], m, sgd, data.K, data.arch))(h, i)
        grads = data_grad + gamma * (h - jnp.mean(h, axis=0, keepdims=True))
        with jax.numpy_dtype_promotion("standard"):  # optax's Adam (see sgd._epoch)
            updates, new_state = jax.vmap(tx.update)(grads, opt_state, h)
        new = (optax.apply_updates(h, updates), new_state)
        if data.padded:  # a batch of padding only is no step (see sgd._epoch)
            new = jax.tree.map(lambda a, b: jnp.where(m[0] > 0, a, b), new, (h, opt_state))
        return new, None

    (h, opt_state), _ = jax.lax.scan(step, (h, opt_state), (idx, mask))
    return h, opt_state


def train_one(key: PRNGKeyArray, data: Dataset, config: RSGDConfig) -> RSGDResult:
    """One robust ensemble of ``config.y`` coupled students on ``data`` (no seed axis):
    $h^a_0 \\sim N(0, \\mathrm{init\\_scale}^2)$ independently, then ``sgd.epochs`` epochs."""
    sgd = config.sgd
    if data.xi.dtype != sgd.dtype:
        raise ValueError(f"rsgd.train_one: data dtype {data.xi.dtype} differs from "
                         f"SGDConfig(dtype={jnp.dtype(sgd.dtype)}); sample the data with it")
    N = n_weights(data.xi.shape[1], data.K, data.arch)  # latent weights: committee layout
    dtype = sgd.dtype
    k_init, k_epochs = jr.split(key)
    h0 = sgd.init_scale.astype(dtype) * jr.normal(k_init, (config.y, N), dtype)
    opt_state0 = jax.vmap(sgd_optimizer(sgd).init)(h0)
    solved0 = jnp.min(_errors(h0, data)) == 0
    n_epochs = sgd.epochs
    gammas = (config.gamma0 * (1 + config.gamma_growth) ** jnp.arange(
        n_epochs, dtype=jnp.float64)).astype(dtype)

    def epoch(carry, inputs):
        h, opt_state, solved = carry
        k, gamma = inputs
        h_new, opt_new = _epoch(h, opt_state, k, gamma, data, config)
        if sgd.stop_at_solution:
            h_new, opt_new = jax.tree.map(lambda new, old: jnp.where(solved, old, new),
                                          (h_new, opt_new), (h, opt_state))
        errs = _errors(h_new, data)
        center = binary_sign(jnp.mean(h_new, axis=0))
        dist = jnp.mean((binary_sign(h_new) != center[None]).astype(dtype))
        return (h_new, opt_new, solved | (jnp.min(errs) == 0)), (jnp.min(errs), dist, errs)

    (h, _, _), (errors, dist, _) = jax.lax.scan(
        epoch, (h0, opt_state0, solved0), (jr.split(k_epochs, n_epochs), gammas))
    errs = _errors(h, data)
    candidates = jnp.concatenate([binary_sign(jnp.mean(h, axis=0))[None], binary_sign(h)])
    order = jnp.concatenate([errs[-1:], errs[:-1]])  # center first, then the replicas
    W = candidates[jnp.argmax(order == 0)]  # argmax of all-False is 0: the center
    zero = errors == 0
    first = jnp.where(jnp.any(zero), jnp.argmax(zero) + 1, -1)
    first = jnp.where(solved0, 0, first).astype(jnp.int32)
    return RSGDResult(W=W, W_replicas=binary_sign(h), train_errors=errors,
                      solved=errors[-1] == 0, epochs_to_solution=first,
                      distance_to_center=dist)


@eqx.filter_jit
def train_replicas(key: PRNGKeyArray, data: Dataset, config: RSGDConfig,
                   n_replicas: int) -> RSGDResult:
    """``n_replicas`` independent robust ensembles (seeds) in one compiled program: vmap of
    ``train_one`` over ``jr.split(key, n_replicas)``; outputs have a leading axis R."""
    if not isinstance(n_replicas, int) or n_replicas < 1:
        raise ValueError(f"rsgd.train_replicas(n_replicas={n_replicas!r}): must be an int >= 1")
    keys = jr.split(key, n_replicas)
    return jax.vmap(train_one, in_axes=(0, None, None))(keys, data, config)
