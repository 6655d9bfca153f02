"""Realistic networks in flax (``flax.nnx``): MLPs with one or two hidden layers and a small
CNN, whose width sets the number of parameters, with continuous or binary weights.

Every layer is bias-free, as the theory's students, with weights $W \\sim N(0, 1)$ at
initialization and pre-activations $f(W)\\,x/\\sqrt{\\mathrm{fan\\_in}}$ (the perceptron's
$W\\cdot\\xi/\\sqrt N$), ReLU hidden units. Continuous weights: $f(W) = W$. Binary weights
(BinaryConnect, as ``sim/sgd.py`` does for the perceptron): the parameters are latent
continuous weights h, the forward pass uses $\\mathrm{sign}(h) \\in \\{-1, +1\\}$ and the
gradient passes straight through to h.

Architectures (input shape S, channels last; ``n_out`` outputs; width w):

- ``mlp``: flatten, dense D -> w, ReLU, dense w -> n_out: $w(D + n_{out})$ weights;
- ``mlp2``: two hidden layers of w units: $w(D + w + n_{out})$ weights;
- ``cnn``: conv (k = 3 per spatial axis, 1 -> w channels), ReLU, conv (k = 3, stride 2,
  w -> w), ReLU, global mean pool, dense w -> n_out: $w(3^s + 3^s w + n_{out})$ weights,
  s the number of spatial axes (2 for 8x8 digits, 1 for MNIST-1D).

The functional form used by the training code: ``NetworkSpec`` (static) fixes the graph,
``init_params(key, spec)`` returns the parameters as an ``nnx.State`` (a pytree, vmappable
over seeds) and ``apply(spec, params, x)`` the outputs on a batch.
"""

import functools
import math

import equinox as eqx
import jax
import jax.numpy as jnp
from flax import nnx
from jaxtyping import Array, DTypeLike, Float, PRNGKeyArray

from atypical.observables import binary_sign
from atypical.problems import check_one_of

ARCHITECTURES = ("mlp", "mlp2", "cnn")
_KERNEL = 3  # CNN kernel size along every spatial axis


def _weights(h: Array, binary: bool) -> Array:
    """sign(h) (sign(0) = +1) with a straight-through gradient, or h itself."""
    if not binary:
        return h
    return h + jax.lax.stop_gradient(binary_sign(h) - h)


class Dense(nnx.Module):
    """$x \\mapsto x f(W)/\\sqrt{d_{in}}$, W of shape (d_in, d_out)."""

    def __init__(self, d_in: int, d_out: int, *, binary: bool, dtype: DTypeLike,
                 rngs: nnx.Rngs):
        self.kernel = nnx.Param(jax.random.normal(rngs.params(), (d_in, d_out), dtype))
        self.binary = binary

    def __call__(self, x: Float[Array, "B d_in"]) -> Float[Array, "B d_out"]:
        W = _weights(self.kernel[...], self.binary)
        d_in = jnp.asarray(W.shape[0], x.dtype)
        return jnp.matmul(x, W, precision=jax.lax.Precision.HIGHEST) / jnp.sqrt(d_in)


class Conv(nnx.Module):
    """Valid (unpadded) convolution $x \\mapsto x * f(W)/\\sqrt{k^s c_{in}}$, channels last,
    W of shape (k, ..., k, c_in, c_out) with s spatial axes."""

    def __init__(self, n_spatial: int, c_in: int, c_out: int, *, stride: int, binary: bool,
                 dtype: DTypeLike, rngs: nnx.Rngs):
        shape = (_KERNEL,) * n_spatial + (c_in, c_out)
        self.kernel = nnx.Param(jax.random.normal(rngs.params(), shape, dtype))
        self.stride = stride
        self.binary = binary

    def __call__(self, x: Array) -> Array:
        W = _weights(self.kernel[...], self.binary)
        n_spatial = W.ndim - 2
        spatial = "HW"[:n_spatial]  # 1 or 2 spatial axes (NetworkSpec checks)
        dims = (f"N{spatial}C", f"{spatial}IO", f"N{spatial}C")
        fan_in = jnp.asarray(W[..., 0].size, x.dtype)
        y = jax.lax.conv_general_dilated(x, W, (self.stride,) * n_spatial, "VALID",
                                         dimension_numbers=dims,
                                         precision=jax.lax.Precision.HIGHEST)
        return y / jnp.sqrt(fan_in)


class MLP(nnx.Module):
    """Flatten, ``depth`` hidden layers of ``width`` ReLU units, a linear readout."""

    def __init__(self, d_in: int, width: int, n_out: int, depth: int, *, binary: bool,
                 dtype: DTypeLike, rngs: nnx.Rngs):
        sizes = [d_in] + [width] * depth + [n_out]
        self.layers = nnx.List([Dense(a, b, binary=binary, dtype=dtype, rngs=rngs)
                                for a, b in zip(sizes[:-1], sizes[1:])])

    def __call__(self, x: Array) -> Float[Array, "B n_out"]:
        h = jnp.reshape(x, (x.shape[0], -1))
        for layer in self.layers[:-1]:
            h = jax.nn.relu(layer(h))
        return self.layers[-1](h)


class CNN(nnx.Module):
    """Two ReLU convolutions of ``width`` channels (the second with stride 2), global mean
    pool, linear readout."""

    def __init__(self, n_spatial: int, width: int, n_out: int, *, binary: bool,
                 dtype: DTypeLike, rngs: nnx.Rngs):
        kw = dict(binary=binary, dtype=dtype, rngs=rngs)
        self.conv1 = Conv(n_spatial, 1, width, stride=1, **kw)
        self.conv2 = Conv(n_spatial, width, width, stride=2, **kw)
        self.readout = Dense(width, n_out, **kw)

    def __call__(self, x: Array) -> Float[Array, "B n_out"]:
        h = jax.nn.relu(self.conv2(jax.nn.relu(self.conv1(x))))
        return self.readout(jnp.mean(h, axis=tuple(range(1, h.ndim - 1))))


class NetworkSpec(eqx.Module):
    """What fixes a network's graph (all static): architecture (``ARCHITECTURES``), width
    (hidden units or channels, int >= 1), input shape (channels last), outputs, binary or
    continuous weights, dtype."""

    arch: str = eqx.field(static=True)
    width: int = eqx.field(static=True)
    input_shape: tuple[int, ...] = eqx.field(static=True)
    n_out: int = eqx.field(static=True)
    binary: bool = eqx.field(static=True, default=False)
    dtype: DTypeLike = eqx.field(static=True, default=jnp.float32)

    def __check_init__(self):
        check_one_of("NetworkSpec", "arch", self.arch, ARCHITECTURES)
        if not isinstance(self.width, int) or self.width < 1:
            raise ValueError(f"NetworkSpec(width={self.width!r}): the width (hidden units or "
                             "channels) must be an int >= 1")
        if not isinstance(self.n_out, int) or self.n_out < 1:
            raise ValueError(f"NetworkSpec(n_out={self.n_out!r}): must be an int >= 1")
        if self.arch == "cnn" and not 2 <= len(self.input_shape) <= 3:
            raise ValueError(f"NetworkSpec(input_shape={self.input_shape}): the cnn needs 1 "
                             "or 2 spatial axes and a channel axis")
        if self.arch == "cnn" and min(self.input_shape[:-1]) < 2 * _KERNEL:
            raise ValueError(f"NetworkSpec(input_shape={self.input_shape}): the cnn needs "
                             f"every spatial size >= {2 * _KERNEL}")


def build(spec: NetworkSpec, rngs: nnx.Rngs) -> nnx.Module:
    """The flax module of ``spec`` with parameters drawn from ``rngs``."""
    kw = dict(binary=spec.binary, dtype=spec.dtype, rngs=rngs)
    if spec.arch == "cnn":
        return CNN(len(spec.input_shape) - 1, spec.width, spec.n_out, **kw)
    d_in = math.prod(spec.input_shape)
    return MLP(d_in, spec.width, spec.n_out, 1 if spec.arch == "mlp" else 2, **kw)


@functools.cache
def _graphdef(spec: NetworkSpec):
    return nnx.split(nnx.eval_shape(lambda: build(spec, nnx.Rngs(0))))[0]


def init_params(key: PRNGKeyArray, spec: NetworkSpec) -> nnx.State:
    """Fresh parameters of ``spec`` (an ``nnx.State`` pytree of ``nnx.Param``); the same key
    gives the same weights. Vmappable over keys (one compiled program for many seeds)."""
    return nnx.split(build(spec, nnx.Rngs(params=key)))[1]


def apply(spec: NetworkSpec, params: nnx.State, x: Float[Array, "B *S"]
          ) -> Float[Array, "B n_out"]:
    """Outputs of the network ``spec`` with ``params`` on a batch of inputs."""
    return nnx.merge(_graphdef(spec), params)(x)


def n_params(spec: NetworkSpec) -> int:
    """Number of weights of ``spec`` (the formulas of the module docstring)."""
    S, w, c = spec.input_shape, spec.width, spec.n_out
    if spec.arch == "cnn":
        k = _KERNEL ** (len(S) - 1)
        return w * (k + k * w + c)
    D = math.prod(S)
    return w * (D + c) if spec.arch == "mlp" else w * (D + w + c)
