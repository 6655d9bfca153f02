"""BinaryConnect-style SGD for binary perceptrons, with independent replicas vmapped.

Continuous latent weights h, forward pass with $W = \\mathrm{sign}(h)$, and the gradient with
respect to W passed straight through to h (BinaryConnect, Courbariaux et al. 2015). Loss per
example, a cross-entropy on the stability $\\Delta = y\\,W\\cdot\\xi/\\sqrt N$ with inverse
temperature beta and margin m: $\\ell(\\Delta) = \\mathrm{softplus}(-\\beta(\\Delta - m))/\\beta$.
By default the margin scales with the number of inputs N that the stabilities are
normalised by, $m = c/\\sqrt N$ (``SGDConfig.loss_margin``): flipping one binary weight moves
a stability by $2/\\sqrt N$, so a margin that protects against O(1) flips is a fixed number
of such steps whatever N.

With ``stabilize_correct`` (default) the gradient of correctly classified examples
($\\Delta \\ge 0$, inside the margin) is kept only where it increases $|h_i|$: such examples
can deepen the current weights but never flip one, the rule of SBPI (Baldassi, Braunstein,
Brunel, Zecchina, PNAS 104, 11079 (2007)). Measured at N = 1001 with the defaults
(benchmarks/SIM_RESULTS.md): without it no seed solves alpha = 0.6 (training stalls near 6-8%
error); with it 512/512 seeds solve 0.6 and about half solve 0.7 within 500 epochs.

Committee machines (``data.K``, ``data.arch``; ``sim.committee``): the latent vector h is the
flat committee layout, the forward pass is the committee of sign(h), and the loss of an
example is the loss above on the hidden stabilities of its least-action units (the
$(K+1)/2$ largest; Mitchison & Durbin 1989), straight through to h. "Correctly classified"
in the SBPI rule means the committee output is right. K = 1 is the perceptron code path.
"""

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import optax
from jaxtyping import Array, Bool, DTypeLike, Float, Int, PRNGKeyArray

from atypical.observables import binary_sign, train_error
from atypical.problems import check_one_of, in_range

from .committee import (backprop_hidden, committee_error, committee_output, hidden_fields,
                        inputs_per_unit, least_action_units, n_weights)
from .data import Dataset

_OPTIMIZERS = ("sgd", "adam")
MARGIN_COEFFICIENT = 0.03 * math.sqrt(1001)
"""c of the default loss margin $m = c/\\sqrt N$ (0.949): m = 0.03 at N = 1001, where the
SGD defaults were tuned."""


def _optional_margin(x):
    """Converter of ``SGDConfig.margin``: None (the scaled default) or a finite float."""
    return None if x is None else in_range("SGDConfig", "margin")(x)


class SGDConfig(eqx.Module):
    """Hyperparameters of ``train_one``; ints, flags and the optimizer fix the compiled
    program (static), the continuous ones are arrays (new values do not recompile).

    epochs: passes over the data; batch_size: examples per step (clipped to P); optimizer:
    "adam" or "sgd" (optax); learning_rate; beta: the loss above; the loss margin, in units
    of Delta, is (``loss_margin``)

        m(N) = margin                          if margin is given (absolute, any N),
        m(N) = margin_coefficient / sqrt(N)    if margin is None (the default),

    N being the number of inputs a stability is normalised by (the perceptron's N; a
    committee unit's N/K (tree) or N (fc)); margin_coefficient defaults to
    ``MARGIN_COEFFICIENT`` = 0.03 sqrt(1001) = 0.949, i.e. m = 0.03 at N = 1001 (there 0.02
    and 0.05 solved fewer seeds than 0.03), 0.0212 at N = 2001. init_scale: std of h at
    start; stabilize_correct: the SBPI rule above; stop_at_solution: freeze a replica from
    its first epoch with zero training error. Defaults tuned on storage at N = 1001 (batch
    10, Adam 0.3: larger batches solved fewer seeds at equal epochs)."""

    epochs: int = eqx.field(static=True, default=500)
    batch_size: int = eqx.field(static=True, default=10)
    optimizer: str = eqx.field(static=True, default="adam")
    learning_rate: Float[Array, ""] = eqx.field(
        converter=in_range("SGDConfig", "learning_rate", 0, open_low=True), default=0.3)
    beta: Float[Array, ""] = eqx.field(
        converter=in_range("SGDConfig", "beta", 0, open_low=True), default=100.0)
    margin: Float[Array, ""] | None = eqx.field(converter=_optional_margin, default=None)
    margin_coefficient: Float[Array, ""] = eqx.field(
        converter=in_range("SGDConfig", "margin_coefficient", 0), default=MARGIN_COEFFICIENT)
    init_scale: Float[Array, ""] = eqx.field(
        converter=in_range("SGDConfig", "init_scale", 0, open_low=True), default=1.0)
    stabilize_correct: bool = eqx.field(static=True, default=True)
    stop_at_solution: bool = eqx.field(static=True, default=True)
    dtype: DTypeLike = eqx.field(static=True, default=jnp.float32)

    def __check_init__(self):
        if not isinstance(self.epochs, int) or self.epochs < 1:
            raise ValueError(f"SGDConfig(epochs={self.epochs!r}): epochs must be an int >= 1")
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ValueError(f"SGDConfig(batch_size={self.batch_size!r}): must be an int >= 1")
        check_one_of("SGDConfig", "optimizer", self.optimizer, _OPTIMIZERS)

    def loss_margin(self, N: int) -> Float[Array, ""]:
        """The loss margin m(N), a scalar array: ``margin`` if given, else
        ``margin_coefficient / sqrt(N)``, N the inputs a stability is normalised by."""
        if not isinstance(N, int) or isinstance(N, bool) or N < 1:
            raise ValueError(f"SGDConfig.loss_margin(N={N!r}): N must be an int >= 1")
        if self.margin is not None:
            return self.margin
        return self.margin_coefficient / math.sqrt(N)


class SGDResult(eqx.Module):
    """Outcome of one replica (a leading replica axis ``R`` after ``train_replicas``).

    W: final binary weights (a committee's in the flat layout of ``sim.committee``);
    train_errors: training error after each epoch (T = epochs); solved: training error
    reached 0; epochs_to_solution: first epoch with zero error (0 = already at
    initialization, -1 = never)."""

    W: Float[Array, "*R N"]
    train_errors: Float[Array, "*R T"]
    solved: Bool[Array, "*R"]
    epochs_to_solution: Int[Array, "*R"]


def _stabilities(W: Float[Array, " N"], xi: Float[Array, "B N"], y: Float[Array, " B"],
                 precision=None) -> Float[Array, " B"]:
    N = xi.shape[-1]
    return y * jnp.matmul(xi, W, precision=precision) / jnp.sqrt(jnp.asarray(N, xi.dtype))


def example_loss(stability: Float[Array, ""], beta: Float[Array, ""],
                 margin: Float[Array, ""]) -> Float[Array, ""]:
    """$\\ell(\\Delta) = \\mathrm{softplus}(-\\beta(\\Delta - m))/\\beta$: a cross-entropy on the
    stability, tending to the hinge $\\max(0, m - \\Delta)$ as $\\beta \\to \\infty$."""
    return jax.nn.softplus(-beta * (stability - margin)) / beta


def latent_gradient(h: Float[Array, " Nw"], xi: Float[Array, "B N"], y: Float[Array, " B"],
                    mask: Float[Array, " B"], config: SGDConfig, K: int = 1,
                    arch: str = "tree") -> Float[Array, " Nw"]:
    """Straight-through gradient of the masked batch-mean loss at W = sign(h), with the
    SBPI restriction on correctly classified examples; a committee (K, arch) other than
    the perceptron (1, "tree") goes through ``committee_latent_gradient``."""
    if (K, arch) != (1, "tree"):
        return committee_latent_gradient(h, xi, y, mask, config, K, arch)
    N = xi.shape[-1]
    dtype = h.dtype
    beta, margin = config.beta.astype(dtype), config.loss_margin(N).astype(dtype)
    stab = _stabilities(binary_sign(h), xi, y)
    dloss = jax.vmap(jax.grad(example_loss), in_axes=(0, None, None))(stab, beta, margin)
    coef = mask * dloss / jnp.sum(mask)
    scale = jnp.sqrt(jnp.asarray(N, dtype))

    def grad_from(c):  # d/dW of sum_b c_b l(Delta_b): sum_b c_b l'(Delta_b) y_b xi_b / sqrt N
        return jnp.matmul(c * y, xi) / scale

    if not config.stabilize_correct:
        return grad_from(coef)
    wrong = (stab < 0).astype(dtype)
    g_wrong = grad_from(coef * wrong)
    g_right = grad_from(coef * (1 - wrong))
    # a descent step -g deepens |h_i| where g_i h_i < 0: keep only those components
    return g_wrong + g_right * (g_right * h < 0).astype(dtype)


def committee_latent_gradient(h: Float[Array, " Nw"], xi: Float[Array, "B N"],
                              y: Float[Array, " B"], mask: Float[Array, " B"],
                              config: SGDConfig, K: int, arch: str) -> Float[Array, " Nw"]:
    """Least-action committee gradient: the loss on the hidden stabilities
    $\\Delta_{bk} = y_b\\lambda_{bk}$ of the $(K+1)/2$ largest units of each example, straight
    through to h; SBPI restriction on examples whose committee output is right. The margin
    is ``config.loss_margin`` of a unit's inputs N/K (tree) or N (fc)."""
    dtype = h.dtype
    Nk = inputs_per_unit(xi.shape[-1], K, arch)
    beta, margin = config.beta.astype(dtype), config.loss_margin(Nk).astype(dtype)
    stab = y[:, None] * hidden_fields(binary_sign(h), xi, K, arch)  # (B, K)
    dloss = jax.vmap(jax.vmap(jax.grad(example_loss), in_axes=(0, None, None)),
                     in_axes=(0, None, None))(stab, beta, margin)
    coef = least_action_units(stab) * dloss * (mask / jnp.sum(mask))[:, None]

    def grad_from(c):  # d/dW of sum_bk c_bk l(Delta_bk)
        return backprop_hidden(c * y[:, None], xi, K, arch)

    if not config.stabilize_correct:
        return grad_from(coef)
    # wrong output: fewer than (K+1)/2 hidden units agree with the label (sign(0) = +1)
    agree = jnp.sum((jnp.where(stab == 0, y[:, None], stab) > 0).astype(jnp.int32), axis=1)
    wrong = (agree < (K + 1) // 2).astype(dtype)[:, None]
    g_wrong = grad_from(coef * wrong)
    g_right = grad_from(coef * (1 - wrong))
    return g_wrong + g_right * (g_right * h < 0).astype(dtype)


def sgd_optimizer(config: SGDConfig) -> optax.GradientTransformation:
    """The optax optimizer of the latent weights: SGD or Adam at the configured rate."""
    lr = config.learning_rate.astype(config.dtype)
    return optax.sgd(lr) if config.optimizer == "sgd" else optax.adam(lr)


def full_train_error(h: Float[Array, " Nw"], data: Dataset) -> Float[Array, ""]:
    """Training error of the binary weights sign(h) on the whole data set."""
    # HIGHEST: the solved/not-solved decision must not depend on TF32 matmuls on GPUs
    if data.padded:  # the misclassified fraction of the real (y != 0) examples
        valid = data.y != 0
        if data.is_perceptron:
            wrong = _stabilities(binary_sign(h), data.xi, data.y, jax.lax.Precision.HIGHEST) < 0
        else:
            wrong = committee_output(binary_sign(h), data.xi, data.K, data.arch,
                                     jax.lax.Precision.HIGHEST) != data.y
        return (jnp.sum(wrong & valid) / jnp.sum(valid)).astype(data.xi.dtype)
    if not data.is_perceptron:
        return committee_error(binary_sign(h), data.xi, data.y, data.K, data.arch)
    return train_error(_stabilities(binary_sign(h), data.xi, data.y, jax.lax.Precision.HIGHEST))


def minibatches(key: PRNGKeyArray, data: Dataset, B: int, n_batches: int) -> tuple[Array, Array]:
    """Example indices (``n_batches B``) of one epoch in a random order, and the mask of the
    real examples; the last batch is filled with zero-weight repeats. Padded data: the real
    examples come first in a random order (the same for any number of padding rows), and
    the batches after them are all masked."""
    P = data.xi.shape[0]
    if data.padded:
        valid = data.y != 0
        # a random key per example index: the order of the real examples does not depend on
        # how many padding rows follow them (one stack pads each data set differently)
        u = jax.vmap(lambda i: jr.uniform(jr.fold_in(key, i)))(jnp.arange(P))
        perm = jnp.argsort(jnp.where(valid, u, 2.0)).astype(jnp.int32)
        n_real = jnp.sum(valid)
    else:
        perm = jr.permutation(key, P)
        n_real = P
    idx = jnp.concatenate([perm, perm[: n_batches * B - P]]).reshape(n_batches, B)
    mask = (jnp.arange(n_batches * B) < n_real).astype(data.xi.dtype).reshape(n_batches, B)
    return idx, mask


def _epoch(h, opt_state, key, data: Dataset, config: SGDConfig):
    """One pass over the data in a random order, in minibatches (the last one padded with
    zero-weight repeats so that every example is seen exactly once)."""
    P = data.xi.shape[0]
    B = min(config.batch_size, P)
    n_batches = -(-P // B)
    idx, mask = minibatches(key, data, B, n_batches)
    tx = sgd_optimizer(config)

    def step(carry, batch):
        h, opt_state = carry
        i, m = batch
        grads = latent_gradient(h, data.xi[i], data.y[i], m, config, data.K, data.arch)
        # optax's Adam bias correction computes python_float ** int32, which strict dtype
        # promotion (the tests' setting) refuses; it casts the result back to h's dtype
        with jax.numpy_dtype_promotion("standard"):
            updates, new_state = tx.update(grads, opt_state, h)
        new = (optax.apply_updates(h, updates), new_state)
        if data.padded:  # a batch of padding only is no step (Adam would still move h)
            new = jax.tree.map(lambda a, b: jnp.where(m[0] > 0, a, b), new, (h, opt_state))
        return new, None

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
    N = n_weights(data.xi.shape[1], data.K, data.arch)  # latent weights: committee layout
    k_init, k_epochs = jr.split(key)
    h0 = config.init_scale.astype(config.dtype) * jr.normal(k_init, (N,), config.dtype)
    opt_state0 = sgd_optimizer(config).init(h0)
    solved0 = full_train_error(h0, data) == 0

    def epoch(carry, k):
        h, opt_state, solved = carry
        h_new, opt_state_new = _epoch(h, opt_state, k, data, config)
        if config.stop_at_solution:  # freeze: keep the old state of solved replicas
            h_new, opt_state_new = jax.tree.map(
                lambda new, old: jnp.where(solved, old, new),
                (h_new, opt_state_new), (h, opt_state))
        err = full_train_error(h_new, data)
        return (h_new, opt_state_new, solved | (err == 0)), err

    (h, _, _), errors = jax.lax.scan(
        epoch, (h0, opt_state0, solved0), jr.split(k_epochs, config.epochs))
    zero = errors == 0
    first = jnp.where(jnp.any(zero), jnp.argmax(zero) + 1, -1)
    first = jnp.where(solved0, 0, first).astype(jnp.int32)
    # frozen replicas keep error 0; without freezing "solved" is about the final weights
    return SGDResult(W=binary_sign(h), train_errors=errors, solved=errors[-1] == 0,
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
