"""BinaryConnect-style SGD for binary perceptrons, with independent replicas vmapped.

Continuous latent weights h; the forward pass uses $W = \\mathrm{sign}(h)$ and the gradient
with respect to W is passed straight through to h (BinaryConnect, Courbariaux et al. 2015).
Loss per example, a cross-entropy with inverse temperature beta and margin m on the
stability $\\Delta_\\mu = y_\\mu W\\cdot\\xi_\\mu/\\sqrt N$:
$\\ell(\\Delta) = \\mathrm{softplus}(-\\beta(\\Delta - m))/\\beta$.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import optax
from jaxtyping import Array, Bool, DTypeLike, Float, Int, PRNGKeyArray

from atypical.observables import train_error
from atypical.problems import f64

from .data import Dataset

_OPTIMIZERS = ("sgd", "adam")


def _positive(name: str):
    def convert(x):
        x = f64(x)
        return eqx.error_if(x, ~(x > 0) | ~jnp.isfinite(x),
                            f"SGDConfig({name}=...): {name} must be finite and > 0")
    return convert


def _finite(name: str):
    def convert(x):
        x = f64(x)
        return eqx.error_if(x, ~jnp.isfinite(x), f"SGDConfig({name}=...): must be finite")
    return convert


class SGDConfig(eqx.Module):
    """Hyperparameters of ``train_one``. Ints and the optimizer fix the compiled program
    (static); the continuous ones are arrays (changing them does not recompile).

    epochs: passes over the data (>= 1); batch_size: examples per step (clipped to P);
    optimizer: "sgd" or "adam" (optax); learning_rate, beta (loss inverse temperature),
    margin (loss margin m, > 0 pushes stabilities beyond zero), init_scale (std of h at
    start); stop_at_solution: freeze a replica once its training error is 0."""

    epochs: int = eqx.field(static=True, default=300)
    batch_size: int = eqx.field(static=True, default=60)
    optimizer: str = eqx.field(static=True, default="adam")
    learning_rate: Float[Array, ""] = eqx.field(converter=_positive("learning_rate"),
                                                 default=0.02)
    beta: Float[Array, ""] = eqx.field(converter=_positive("beta"), default=5.0)
    margin: Float[Array, ""] = eqx.field(converter=_finite("margin"), default=0.5)
    init_scale: Float[Array, ""] = eqx.field(converter=_positive("init_scale"), default=1.0)
    latent_clip: Float[Array, ""] = eqx.field(converter=_positive("latent_clip"), default=1.0)
    stop_at_solution: bool = eqx.field(static=True, default=True)
    dtype: DTypeLike = eqx.field(static=True, default=jnp.float32)

    def __check_init__(self):
        if not isinstance(self.epochs, int) or self.epochs < 1:
            raise ValueError(f"SGDConfig(epochs={self.epochs!r}): epochs must be an int >= 1")
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ValueError(f"SGDConfig(batch_size={self.batch_size!r}): must be an int >= 1")
        if self.optimizer not in _OPTIMIZERS:
            raise ValueError(f"SGDConfig(optimizer={self.optimizer!r}): must be one of "
                             f"{_OPTIMIZERS}")


class SGDResult(eqx.Module):
    """Outcome of one replica (a leading replica axis ``R`` after ``train_replicas``).

    W: final binary weights; train_errors: training error after each epoch (T = epochs);
    solved: training error reached 0; epochs_to_solution: first epoch with zero error
    (0 = already at initialization, -1 = never)."""

    W: Float[Array, "*R N"]
    train_errors: Float[Array, "*R T"]
    solved: Bool[Array, "*R"]
    epochs_to_solution: Int[Array, "*R"]


def _sign(h: Array) -> Array:
    # sign(0) = +1: binary weights must never be 0
    return jnp.where(h >= 0, 1, -1).astype(h.dtype)


def _stabilities(W: Float[Array, " N"], xi: Float[Array, "B N"], y: Float[Array, " B"],
                 precision=None) -> Float[Array, " B"]:
    N = xi.shape[-1]
    return y * jnp.matmul(xi, W, precision=precision) / jnp.sqrt(jnp.asarray(N, xi.dtype))


def _loss(h: Float[Array, " N"], xi: Float[Array, "B N"], y: Float[Array, " B"],
          mask: Float[Array, " B"], config: SGDConfig) -> Float[Array, ""]:
    """Mean over the (masked) batch of softplus(-beta (Delta - m)) / beta, W = sign(h)."""
    W = h + jax.lax.stop_gradient(_sign(h) - h)  # straight-through: dW/dh = 1
    beta = config.beta.astype(h.dtype)
    margin = config.margin.astype(h.dtype)
    losses = jax.nn.softplus(-beta * (_stabilities(W, xi, y) - margin)) / beta
    return jnp.sum(mask * losses) / jnp.sum(mask)


def _optimizer(config: SGDConfig) -> optax.GradientTransformation:
    lr = config.learning_rate.astype(config.dtype)
    if config.optimizer == "sgd":
        return optax.sgd(lr)
    return optax.adam(lr)


def _full_train_error(h: Float[Array, " N"], data: Dataset) -> Float[Array, ""]:
    # HIGHEST: the solved/not-solved decision must not depend on TF32 matmuls on GPUs
    return train_error(_stabilities(_sign(h), data.xi, data.y, jax.lax.Precision.HIGHEST))


def _epoch(h, opt_state, key, data: Dataset, config: SGDConfig):
    """One pass over the data in a random order, in minibatches (the last one padded with
    zero-weight repeats so that every example is seen once)."""
    P = data.xi.shape[0]
    B = min(config.batch_size, P)
    n_batches = -(-P // B)
    perm = jr.permutation(key, P)
    idx = jnp.concatenate([perm, perm[: n_batches * B - P]]).reshape(n_batches, B)
    mask = (jnp.arange(n_batches * B) < P).astype(config.dtype).reshape(n_batches, B)
    tx = _optimizer(config)

    def step(carry, batch):
        h, opt_state = carry
        i, m = batch
        grads = jax.grad(_loss)(h, data.xi[i], data.y[i], m, config)
        updates, opt_state = tx.update(grads, opt_state, h)
        h = optax.apply_updates(h, updates)
        clip = config.latent_clip.astype(h.dtype)
        return (jnp.clip(h, -clip, clip), opt_state), None

    (h, opt_state), _ = jax.lax.scan(step, (h, opt_state), (idx, mask))
    return h, opt_state


def train_one(key: PRNGKeyArray, data: Dataset, config: SGDConfig) -> SGDResult:
    """Train one binary student on ``data`` (one replica, no batch axis): h_0 ~ N(0,
    init_scale^2), then ``config.epochs`` epochs; with ``stop_at_solution`` the state is
    frozen from the first epoch whose training error is 0."""
    if data.xi.dtype != config.dtype:
        raise ValueError(f"train_one: data dtype {data.xi.dtype} differs from "
                         f"SGDConfig(dtype={jnp.dtype(config.dtype)}); sample the data with "
                         "the same dtype")
    N = data.xi.shape[1]
    k_init, k_epochs = jr.split(key)
    h0 = config.init_scale.astype(config.dtype) * jr.normal(k_init, (N,), config.dtype)
    opt_state0 = _optimizer(config).init(h0)
    solved0 = _full_train_error(h0, data) == 0

    def epoch(carry, k):
        h, opt_state, solved = carry
        h_new, opt_state_new = _epoch(h, opt_state, k, data, config)
        if config.stop_at_solution:  # freeze: keep the old state of solved replicas
            h_new, opt_state_new = jax.tree.map(
                lambda new, old: jnp.where(solved, old, new),
                (h_new, opt_state_new), (h, opt_state))
        err = _full_train_error(h_new, data)
        return (h_new, opt_state_new, solved | (err == 0)), err

    (h, _, _), errors = jax.lax.scan(
        epoch, (h0, opt_state0, solved0), jr.split(k_epochs, config.epochs))
    zero = errors == 0
    first = jnp.where(jnp.any(zero), jnp.argmax(zero) + 1, -1)
    first = jnp.where(solved0, 0, first).astype(jnp.int32)
    # frozen replicas keep error 0; without freezing "solved" is about the final weights
    return SGDResult(W=_sign(h), train_errors=errors, solved=errors[-1] == 0,
                     epochs_to_solution=first)


@eqx.filter_jit
def train_replicas(key: PRNGKeyArray, data: Dataset, config: SGDConfig,
                   n_replicas: int) -> SGDResult:
    """``n_replicas`` independent students in one compiled program (vmap of ``train_one``
    over ``jr.split(key, n_replicas)``); outputs carry a leading replica axis R."""
    if not isinstance(n_replicas, int) or n_replicas < 1:
        raise ValueError(f"train_replicas(n_replicas={n_replicas!r}): must be an int >= 1")
    keys = jr.split(key, n_replicas)
    return jax.vmap(train_one, in_axes=(0, None, None))(keys, data, config)
