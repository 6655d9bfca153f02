"""Training realistic networks (``sim.networks``) with optax, independent seeds vmapped in one
compiled program over the split parameters (``nnx.State``).

Loss on a minibatch: the logistic loss $\\mathrm{softplus}(-y f(x))$ with one output, the
softmax cross-entropy with ten. Algorithms (``ALGORITHMS``), each on the chosen optax
``optimizer`` ("sgd" or "adam"; binary weights train their latent weights):

- ``sgd``: plain minibatch training (small or large batches by ``batch_size``);
- ``rsgd``: replicated SGD, the robust ensemble of ``sim/rsgd.py`` on networks: y replicas
  from independent initial weights, each on its own minibatch order, with the elastic
  force $\\gamma_e(W^a - \\bar W)$, $\\bar W = \\frac1y\\sum_a W^a$, added to every
  gradient, $\\gamma_e = \\gamma_0(1+\\gamma_1)^e$ at epoch e; the result, and the weights
  whose training error decides "solved", is the center $\\bar W$ (one epoch costs y
  passes). The coupling acts from the first step, so the replicas meet in
  one basin (one labelling of the hidden units) before their mean is read. With the
  defaults on digits (P = 500, width 16, 8 seeds) the center fitted 8/8 and 5/8 seeds in
  two runs with different keys (SGD: 6/8 and 7/8); copies of ONE initialization instead
  stayed on SGD's trajectory (the same fits, errors and flatness). At width
  128 the center fitted 0/8 seeds in 300 epochs (training error 0.3-0.4%) with
  gamma0 = 0.1 or 0.001, presumably because wide replicas stay near their own
  initializations, whose mean is not a network of the same kind;
- ``entropy-sgd``: Entropy-SGD (Chaudhari et al., ICLR 2017): from W, an inner loop of L
  Langevin steps $W' \\leftarrow W' - \\eta(\\nabla L_b(W') + \\gamma_e(W' - W))
  + \\sqrt{2\\eta T}\\,\\epsilon$ on successive minibatches, with the running mean
  $\\mu \\leftarrow (1-a)\\mu + aW'$ (a = 3/4), then the outer step
  $W \\leftarrow W + \\eta_{out}(\\mu - W)$ along the local-entropy gradient
  $\\gamma_e(\\mu - W)$ (one epoch is P/B gradient steps, as for sgd).

An epoch draws a random permutation and runs floor(P/B) minibatches of B examples. Training
stops for a seed at its first epoch with zero training error (``stop_at_solution``); the
vmapped program runs until every seed stopped or ``epochs`` is reached.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import optax
from flax import nnx
from jaxtyping import Array, Bool, DTypeLike, Float, Int, PRNGKeyArray

from atypical.observables import output_margins, train_error
from atypical.problems import check_one_of, in_range

from .networks import NetworkSpec, apply, init_params
from .real_data import RealData

ALGORITHMS = ("sgd", "rsgd", "entropy-sgd")
OPTIMIZERS = ("sgd", "adam")
_MEAN_RATE = 0.75  # Entropy-SGD's running-mean rate a (Chaudhari et al. 2017)


class NetTrainConfig(eqx.Module):
    """Hyperparameters of ``train_network``; ints, flags, algorithm and optimizer are static.

    algo (``ALGORITHMS``), optimizer (``OPTIMIZERS``), epochs (maximum), batch_size (B,
    clipped to P), learning_rate; y, gamma0, gamma_growth: rsgd's replicas and coupling
    schedule (entropy-sgd uses the same schedule for its gamma); langevin_steps (L),
    langevin_temperature (T), outer_lr ($\\eta_{out}$): entropy-sgd; stop_at_solution."""

    algo: str = eqx.field(static=True, default="sgd")
    optimizer: str = eqx.field(static=True, default="sgd")
    epochs: int = eqx.field(static=True, default=200)
    batch_size: int = eqx.field(static=True, default=32)
    learning_rate: Float[Array, ""] = eqx.field(
        converter=in_range("NetTrainConfig", "learning_rate", 0, open_low=True), default=0.5)
    y: int = eqx.field(static=True, default=5)
    gamma0: Float[Array, ""] = eqx.field(
        converter=in_range("NetTrainConfig", "gamma0", 0), default=0.1)
    gamma_growth: Float[Array, ""] = eqx.field(
        converter=in_range("NetTrainConfig", "gamma_growth", 0), default=0.01)
    langevin_steps: int = eqx.field(static=True, default=5)
    langevin_temperature: Float[Array, ""] = eqx.field(
        converter=in_range("NetTrainConfig", "langevin_temperature", 0), default=1e-5)
    outer_lr: Float[Array, ""] = eqx.field(
        converter=in_range("NetTrainConfig", "outer_lr", 0, 1.0, open_low=True), default=1.0)
    stop_at_solution: bool = eqx.field(static=True, default=True)
    dtype: DTypeLike = eqx.field(static=True, default=jnp.float32)

    def __check_init__(self):
        check_one_of("NetTrainConfig", "algo", self.algo, ALGORITHMS)
        check_one_of("NetTrainConfig", "optimizer", self.optimizer, OPTIMIZERS)
        for name in ("epochs", "batch_size", "langevin_steps"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"NetTrainConfig({name}={value!r}): must be an int >= 1")
        if not isinstance(self.y, int) or self.y < 2:
            raise ValueError(f"NetTrainConfig(y={self.y!r}): the number of coupled replicas "
                             "must be an int >= 2")


class NetTrainResult(eqx.Module):
    """One trained seed (a leading seed axis R after ``train_networks``): params, the found
    weights (latent ones for binary networks); train_error, test_error of those weights;
    solved (zero training error); epochs_to_solution (0 = at initialization, -1 = never;
    without ``stop_at_solution``, the number of epochs run if the final weights fit)."""

    params: nnx.State
    train_error: Float[Array, "*R"]
    test_error: Float[Array, "*R"]
    solved: Bool[Array, "*R"]
    epochs_to_solution: Int[Array, "*R"]


def loss(spec: NetworkSpec, params: nnx.State, x: Array, y: Array) -> Float[Array, ""]:
    """Mean minibatch loss: logistic $\\mathrm{softplus}(-y f)$ for one output, softmax
    cross-entropy for several."""
    out = apply(spec, params, x)
    if spec.n_out == 1:
        return jnp.mean(jax.nn.softplus(-y * out[:, 0]))
    return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(out, y))


def classification_error(spec: NetworkSpec, params: nnx.State, x: Array,
                         y: Array) -> Float[Array, ""]:
    """Misclassified fraction, ``train_error(output_margins(f(x), y))``."""
    return train_error(output_margins(apply(spec, params, x), y))


def _optimizer(config: NetTrainConfig) -> optax.GradientTransformation:
    lr = config.learning_rate.astype(config.dtype)
    return optax.sgd(lr) if config.optimizer == "sgd" else optax.adam(lr)


def _update(tx, grads, opt_state, params):
    # optax's Adam bias correction computes python_float ** int32, refused by strict dtype
    # promotion (the tests' setting); it casts the result back to the parameters' dtype
    with jax.numpy_dtype_promotion("standard"):
        updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state


def _batch_indices(key: PRNGKeyArray, P: int, B: int) -> Int[Array, "nb B"]:
    n_b = P // B
    return jr.permutation(key, P)[: n_b * B].reshape(n_b, B)


def _tree_normal(key: PRNGKeyArray, tree):
    leaves, treedef = jax.tree.flatten(tree)
    keys = jr.split(key, len(leaves))
    return treedef.unflatten([jr.normal(k, x.shape, x.dtype) for k, x in zip(keys, leaves)])


def _sgd_epoch(state, key, gamma, data: RealData, spec, config):
    params, opt_state = state
    tx = _optimizer(config)
    grad = jax.grad(loss, argnums=1)

    def step(carry, i):
        p, s = carry
        return _update(tx, grad(spec, p, data.x[i], data.y[i]), s, p), None

    B = min(config.batch_size, data.x.shape[0])
    return jax.lax.scan(step, (params, opt_state), _batch_indices(key, data.x.shape[0], B))[0]


def _rsgd_epoch(state, key, gamma, data: RealData, spec, config):
    params, opt_state = state  # leading y axis on both
    tx = _optimizer(config)
    grad = jax.grad(loss, argnums=1)
    P, B = data.x.shape[0], min(config.batch_size, data.x.shape[0])
    idx = jax.vmap(lambda k: _batch_indices(k, P, B))(jr.split(key, config.y))

    def step(carry, i):  # i: (y, B), one minibatch per replica
        p, s = carry
        g = jax.vmap(lambda pa, ia: grad(spec, pa, data.x[ia], data.y[ia]))(p, i)
        g = jax.tree.map(
            lambda ga, pa: ga + gamma * (pa - jnp.mean(pa, axis=0, keepdims=True)), g, p)
        return jax.vmap(lambda ga, sa, pa: _update(tx, ga, sa, pa))(g, s, p), None

    return jax.lax.scan(step, (params, opt_state), jnp.swapaxes(idx, 0, 1))[0]


def _entropy_sgd_epoch(state, key, gamma, data: RealData, spec, config):
    params, opt_state = state
    tx = _optimizer(config)
    grad = jax.grad(loss, argnums=1)
    P, B, L = data.x.shape[0], min(config.batch_size, data.x.shape[0]), config.langevin_steps
    k_perm, k_noise = jr.split(key)
    idx = _batch_indices(k_perm, P, B)
    n_outer = idx.shape[0] // L
    idx = idx[: n_outer * L].reshape(n_outer, L, B)
    dtype = config.dtype
    noise_scale = jnp.sqrt(2 * config.learning_rate * config.langevin_temperature).astype(dtype)
    outer_lr = config.outer_lr.astype(dtype)

    def outer(carry, inputs):
        W, s = carry
        i_outer, k = inputs

        def inner(c, inp):
            Wp, mu, s = c
            i, kk = inp
            g = grad(spec, Wp, data.x[i], data.y[i])
            g = jax.tree.map(lambda ga, wp, w: ga + gamma * (wp - w), g, Wp, W)
            Wp, s = _update(tx, g, s, Wp)
            Wp = jax.tree.map(lambda a, e: a + noise_scale * e, Wp, _tree_normal(kk, Wp))
            mu = jax.tree.map(lambda m, a: (1 - _MEAN_RATE) * m + _MEAN_RATE * a, mu, Wp)
            return (Wp, mu, s), None

        (_, mu, s), _ = jax.lax.scan(inner, (W, W, s), (i_outer, jr.split(k, L)))
        W = jax.tree.map(lambda w, m: w + outer_lr * (m - w), W, mu)
        return (W, s), None

    return jax.lax.scan(outer, (params, opt_state), (idx, jr.split(k_noise, n_outer)))[0]


_EPOCHS = {"sgd": _sgd_epoch, "rsgd": _rsgd_epoch, "entropy-sgd": _entropy_sgd_epoch}


def _found(params, data: RealData, spec, config) -> tuple[nnx.State, Array]:
    """The weights a run reports (rsgd: the center of its replicas) and their training
    error."""
    if config.algo == "rsgd":
        params = jax.tree.map(lambda p: jnp.mean(p, axis=0), params)
    return params, classification_error(spec, params, data.x, data.y)


def train_network(key: PRNGKeyArray, data: RealData, spec: NetworkSpec,
                  config: NetTrainConfig) -> NetTrainResult:
    """Train one seed (no seed axis): initial weights ``init_params`` (y independent draws
    for rsgd), then epochs of ``config.algo`` until zero training error or ``epochs``."""
    if data.x.dtype != config.dtype or spec.dtype != config.dtype:
        raise ValueError(f"train_network: data dtype {data.x.dtype} and NetworkSpec(dtype="
                         f"{jnp.dtype(spec.dtype)}) must equal NetTrainConfig(dtype="
                         f"{jnp.dtype(config.dtype)})")
    if (data.input_shape, data.n_out) != (spec.input_shape, spec.n_out):
        raise ValueError(f"train_network: the data have inputs {data.input_shape} and "
                         f"{data.n_out} outputs, the network {spec.input_shape} and "
                         f"{spec.n_out}")
    P, B = data.x.shape[0], min(config.batch_size, data.x.shape[0])
    if config.algo == "entropy-sgd" and P // B < config.langevin_steps:
        raise ValueError(f"NetTrainConfig(langevin_steps={config.langevin_steps}): must be "
                         f"<= P // batch_size = {P // B} (one outer step per L minibatches)")
    k_init, k_epochs = jr.split(key)
    if config.algo == "rsgd":
        params = jax.vmap(init_params, in_axes=(0, None))(jr.split(k_init, config.y), spec)
        opt_state = jax.vmap(_optimizer(config).init)(params)
    else:
        params = init_params(k_init, spec)
        opt_state = _optimizer(config).init(params)
    epoch_fn = _EPOCHS[config.algo]
    growth = (1 + config.gamma_growth).astype(config.dtype)
    gamma0 = config.gamma0.astype(config.dtype)

    def solved_now(p):
        return _found(p, data, spec, config)[1] == 0

    def cond(carry):
        _, _, e, solved = carry
        return (e < config.epochs) & ~(solved & config.stop_at_solution)

    def body(carry):
        p, s, e, _ = carry
        gamma = gamma0 * growth ** e.astype(config.dtype)
        p, s = epoch_fn((p, s), jr.fold_in(k_epochs, e), gamma, data, spec, config)
        return p, s, e + 1, solved_now(p)

    solved0 = solved_now(params)
    params, _, epochs_run, solved = jax.lax.while_loop(
        cond, body, (params, opt_state, jnp.asarray(0, jnp.int32), solved0))
    found, err = _found(params, data, spec, config)
    return NetTrainResult(params=found, train_error=err,
                          test_error=classification_error(spec, found, data.x_test,
                                                          data.y_test),
                          solved=err == 0,
                          epochs_to_solution=jnp.where(solved, epochs_run, -1).astype(jnp.int32))


@eqx.filter_jit
def train_networks(key: PRNGKeyArray, data: RealData, spec: NetworkSpec,
                   config: NetTrainConfig, n_seeds: int) -> NetTrainResult:
    """``n_seeds`` independent seeds in one compiled program: vmap of ``train_network``
    over ``jr.split(key, n_seeds)`` (seed k equals ``train_network(keys[k], ...)``)."""
    if not isinstance(n_seeds, int) or n_seeds < 1:
        raise ValueError(f"train_networks(n_seeds={n_seeds!r}): must be an int >= 1")
    keys = jr.split(key, n_seeds)
    return jax.vmap(train_network, in_axes=(0, None, None, None))(keys, data, spec, config)
