"""Projected full-batch gradient descent of two-layer networks [P3], vmapped over seeds.

Two models of the same ``TwoLayerGradientFlow`` spec, with $\\bar\\alpha = n/d = \\alpha m$:

* ``"network"``: $f(x) = \\frac1m\\sum_i a_i\\sigma(\\langle w_i,x\\rangle)$, $x\\sim N(0,I_d)$,
  $y = \\varphi(\\langle u,x\\rangle) + \\tau\\varepsilon$;
* ``"gaussian"``: the Gaussian surrogate (paper App. D.4) $g_\\mu(w) = \\sum_k c_k
  J^{(k)}_\\mu[w,\\dots,w]$ with iid N(0,1) tensors of degree k <= 3,
  $y_\\mu = \\sum_k f_k J^{(k)}_\\mu[u,\\dots,u] + \\tau\\varepsilon_\\mu$ (memory n d^k).

One step: $\\theta \\leftarrow \\theta - \\eta\\,\\bar\\alpha\\,\\nabla\\hat R_n$ with
$\\hat R_n = \\frac1{2n}\\sum_\\mu(y_\\mu - f_\\mu)^2$, then $w_i \\leftarrow w_i/\\|w_i\\|$.
"""

from __future__ import annotations

import math
from functools import partial

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray

from atypical.problems import TwoLayerGradientFlow, check_one_of

MODELS = ("network", "gaussian")
INITS = ("orthogonal", "uniform")
MAX_TENSOR_ELEMENTS = 2**28  # per seed: n d^k floats of the degree-k Gaussian-model tensor


class TwoLayerData(eqx.Module):
    """One training set: inputs ``x`` (n, d) for the network, or the Gaussian-model tensors
    ``J`` (degree k: (n, d^k) reshaped (n, d, ..., d)); labels ``y`` (n,)."""

    x: Array | None
    J: tuple
    y: Float[Array, " n"]


class TwoLayerTrajectory(eqx.Module):
    """Observables of projected GD, seeds first: ``train_error``/``test_error`` (S, R),
    ``a``/``v`` (S, R, m), ``C_o`` (S, R) the mean off-diagonal $\\langle w_i,w_j\\rangle$,
    at times ``t`` (R,).  Test error exact for unit rows (J.10)."""

    t: Float[Array, " R"]
    train_error: Float[Array, "S R"]
    test_error: Float[Array, "S R"]
    a: Float[Array, "S R m"]
    v: Float[Array, "S R m"]
    C_o: Float[Array, "S R"]
    d: int = eqx.field(static=True)
    n: int = eqx.field(static=True)
    model: str = eqx.field(static=True)

    @property
    def a_l1(self) -> Float[Array, "S R"]:
        """Complexity proxy $\\|a\\|_1/m$."""
        return jnp.mean(jnp.abs(self.a), axis=-1)

    @property
    def gamma(self) -> Float[Array, "S R m"]:
        """$\\gamma = a/\\sqrt m$."""
        return self.a / math.sqrt(self.a.shape[-1])


def mean_sem(x: Array) -> tuple[Array, Array]:
    """Mean and standard error over the leading (seed) axis, $s/\\sqrt{S}$ with ddof = 1."""
    S = x.shape[0]
    sem = jnp.std(x, axis=0, ddof=1) / math.sqrt(S) if S > 1 else jnp.full(x.shape[1:], jnp.nan,
                                                                            x.dtype)
    return jnp.mean(x, axis=0), sem


def _poly(coeffs: Array, x: Array) -> Array:
    out = jnp.zeros_like(x)
    for k in range(coeffs.shape[0] - 1, -1, -1):
        out = out * x + coeffs[k]
    return out


def hermite_series(z: Array, coeffs: Array) -> Array:
    """$\\sum_k c_k He_k(z)/\\sqrt{k!}$ (probabilists' Hermite, $He_{k+1} = zHe_k - kHe_{k-1}$)."""
    he_prev, he = jnp.ones_like(z), z
    out = coeffs[0] * he_prev
    if coeffs.shape[0] > 1:
        out = out + coeffs[1] * he
    for k in range(1, coeffs.shape[0] - 1):
        he_prev, he = he, z * he - k * he_prev
        out = out + coeffs[k + 1] / math.sqrt(math.factorial(k + 1)) * he
    return out


def _tensor_apply(J: Array, W: Array) -> Array:
    """$J_\\mu[w_i,\\dots,w_i]$ for every sample and row: (n, m)."""
    k = J.ndim - 1
    if k == 1:
        return J @ W.T
    if k == 2:  # one GEMM (n d, d) x (d, m), then the contraction with w_i
        n, d = J.shape[0], J.shape[1]
        JW = (J.reshape(n * d, d) @ W.T).reshape(n, d, -1)
        return jnp.einsum("nam,ma->nm", JW, W)
    JW = jnp.einsum("nabc,ic->niab", J, W)
    return jnp.einsum("nia,ia->ni", jnp.einsum("niab,ib->nia", JW, W), W)


def hermite_degrees(problem: TwoLayerGradientFlow) -> tuple[int, ...]:
    """The Hermite degrees k >= 1 where the activation or the target has a coefficient."""
    c, f = np.asarray(problem.sigma_coeffs), np.asarray(problem.target_coeffs)
    return tuple(k for k in range(1, c.shape[0]) if c[k] != 0 or f[k] != 0)


def sample_two_layer(key: PRNGKeyArray, problem: TwoLayerGradientFlow, u: Array, *, model: str,
                     d: int, dtype=jnp.float32,
                     degrees: tuple[int, ...] | None = None, n: int | None = None) -> TwoLayerData:
    """A training set of n = round(alpha m d) samples for teacher direction u (d,);
    ``degrees``: Hermite degrees present in sigma or phi (computed if None; pass it under jit)."""
    n = round(float(problem.n_over_d) * d) if n is None else n
    f = problem.target_coeffs.astype(dtype)
    k_x, k_eps = jr.split(key)
    eps = jr.normal(k_eps, (n,), dtype)
    tau = problem.tau.astype(dtype)
    if model == "network":
        x = jr.normal(k_x, (n, d), dtype)
        return TwoLayerData(x, (), hermite_series(x @ u, f) + tau * eps)
    degs = hermite_degrees(problem) if degrees is None else degrees
    J = tuple(jr.normal(k, (n,) + (d,) * deg, dtype)
              for k, deg in zip(jr.split(k_x, len(degs)), degs))
    y = tau * eps
    for deg, Jk in zip(degs, J):
        y = y + f[deg] * _tensor_apply(Jk, u[None])[:, 0]
    return TwoLayerData(None, J, y)


def init_two_layer(key: PRNGKeyArray, problem: TwoLayerGradientFlow, *, d: int, init: str,
                   dtype=jnp.float32) -> tuple[Array, Array]:
    """(W (m, d), u (d,)).  ``"orthogonal"``: exact overlaps C(0,0) = C0, v(0) = v0 (Gram
    square root in a random orthonormal frame; C0 = I, v0 = 0 gives orthonormal rows
    orthogonal to u).  ``"uniform"``: rows iid uniform on the sphere, u independent."""
    m = problem.m
    if init == "uniform":
        k_w, k_u = jr.split(key)
        W = jr.normal(k_w, (m, d), dtype)
        u = jr.normal(k_u, (d,), dtype)
        return W / jnp.linalg.norm(W, axis=1, keepdims=True), u / jnp.linalg.norm(u)
    gram = jnp.block([[jnp.ones((1, 1)), problem.v0[None, :]],
                      [problem.v0[:, None], problem.C0]])
    lam, V = jnp.linalg.eigh(gram)
    L = V * jnp.sqrt(jnp.maximum(lam, 0.0))[None, :]  # eigenvalues >= -1e-10 (spec check)
    Q, _ = jnp.linalg.qr(jr.normal(key, (d, m + 1), jnp.float64))
    vecs = (L @ Q.T).astype(dtype)  # rows: u, w_1..w_m
    vecs = vecs / jnp.linalg.norm(vecs, axis=1, keepdims=True)
    return vecs[1:], vecs[0]


def two_layer_features(data: TwoLayerData, W: Array, c: Array, model: str) -> Array:
    """Hidden features of the data under first-layer weights W (network or Gaussian model)."""
    if model == "network":
        return hermite_series(data.x @ W.T, c)
    degs = [J.ndim - 1 for J in data.J]
    return sum(c[k] * _tensor_apply(J, W) for k, J in zip(degs, data.J))


def gaussian_grad(data: TwoLayerData, a: Array, W: Array, c: Array, degrees):
    r"""(dL/da, dL/dW) of $L = \frac1{2n}\sum_\mu r_\mu^2$ for the Gaussian model, by hand:
    with $A_k = \sum_\mu r_\mu J^{(k)}_\mu$ the gradient costs one contraction of each
    tensor (autodiff of the batched einsum ran about 10x slower on CPU)."""
    n, m = data.y.shape[0], a.shape[0]
    F = two_layer_features(data, W, c, "gaussian")
    r = data.y - F @ a / m
    g_a = -(r @ F) / (n * m)
    grad_feat = jnp.zeros_like(W)  # sum_mu r_mu grad g_mu(w_i)
    for deg, J in zip(degrees, data.J):
        A = jnp.tensordot(r, J, axes=1)
        if deg == 1:
            gk = jnp.broadcast_to(A[None], W.shape)
        elif deg == 2:
            gk = W @ (A + A.T)
        else:
            Aw = jnp.einsum("abc,ic->iab", A, W)
            gk = (jnp.einsum("iab,ib->ia", Aw, W) + jnp.einsum("iab,ia->ib", Aw, W)
                  + jnp.einsum("abc,ia,ib->ic", A, W, W))
        grad_feat = grad_feat + c[deg] * gk
    g_W = -(a / (n * m))[:, None] * grad_feat
    return g_a, g_W


def _observe(problem, data, a, W, u, c, model):
    dtype = a.dtype
    m = a.shape[0]
    resid = data.y - two_layer_features(data, W, c, model) @ a / m
    train = 0.5 * jnp.mean(resid**2)
    Cww = W @ W.T
    v = W @ u
    cc = problem.sigma_coeffs.astype(dtype)
    h = _poly(cc**2, Cww)
    phi_hat = _poly(cc * problem.target_coeffs.astype(dtype), v)
    test = 0.5 * (problem.tau.astype(dtype)**2 + jnp.sum(problem.target_coeffs.astype(dtype)**2)
                  - 2 * jnp.sum(a * phi_hat) / m + a @ h @ a / m**2)
    off = (jnp.sum(Cww) - jnp.trace(Cww)) / max(m * (m - 1), 1)
    return train, test, a, v, off


def _train_one(key, problem, *, model, d, n_steps, record_every, dt, init, dtype, degrees, n):
    k_init, k_data = jr.split(key)
    W, u = init_two_layer(k_init, problem, d=d, init=init, dtype=dtype)
    data = sample_two_layer(k_data, problem, u, model=model, d=d, dtype=dtype, degrees=degrees,
                            n=n)
    c = problem.sigma_coeffs.astype(dtype)
    a = problem.a0.astype(dtype)
    m = a.shape[0]
    lr = (problem.n_over_d * dt).astype(dtype)

    def loss(params):
        a_, W_ = params
        return 0.5 * jnp.mean((data.y - two_layer_features(data, W_, c, model) @ a_ / m) ** 2)

    def gd(_, params):
        a_, W_ = params
        if model == "gaussian":
            g_a, g_W = gaussian_grad(data, a_, W_, c, degrees)
        else:
            g_a, g_W = jax.grad(loss)((a_, W_))
        if problem.train_second_layer:
            a_ = a_ - lr * g_a
        W_ = W_ - lr * g_W
        return a_, W_ / jnp.linalg.norm(W_, axis=1, keepdims=True)

    def record(params, _):
        out = _observe(problem, data, *params, u, c, model)
        return jax.lax.fori_loop(0, record_every, gd, params), out

    n_rec = n_steps // record_every
    params, obs = jax.lax.scan(record, (a, W), None, length=n_rec)
    last = _observe(problem, data, *params, u, c, model)
    return jax.tree.map(lambda x, y: jnp.concatenate([x, y[None]]), obs, last)


@partial(jax.jit, static_argnames=("model", "d", "n_steps", "record_every", "init", "dtype",
                                   "batch", "degrees", "n"))
def _train_seeds(keys, problem, dt, *, model, d, n_steps, record_every, init, dtype, batch,
                 degrees, n):
    one = partial(_train_one, problem=problem, model=model, d=d, n_steps=n_steps,
                  record_every=record_every, dt=dt, init=init, dtype=dtype, degrees=degrees, n=n)
    return jax.lax.map(one, keys, batch_size=batch)


def train_two_layer(key: PRNGKeyArray, problem: TwoLayerGradientFlow, *, model: str, d: int,
                    t_max: float, dt: float, n_seeds: int, init: str = "orthogonal",
                    record_every: int = 1, dtype=jnp.float32,
                    seed_batch: int | None = None) -> TwoLayerTrajectory:
    """Projected full-batch GD (time step dt in units of the rescaled time) of ``n_seeds``
    independent data sets and initialisations (seed k uses ``jr.split(key, n_seeds)[k]``),
    vmapped in batches of ``seed_batch`` (default: 4 for the Gaussian model, else all).
    n = round(alpha m d)."""
    check_one_of("train_two_layer", "model", model, MODELS)
    check_one_of("train_two_layer", "init", init, INITS)
    if not isinstance(d, int) or d < problem.m + 1:
        raise ValueError(f"train_two_layer(d={d}): d must be an integer >= m + 1 = "
                         f"{problem.m + 1}")
    if not (dt > 0 and t_max >= dt):
        raise ValueError(f"train_two_layer(dt={dt}, t_max={t_max}): need 0 < dt <= t_max")
    if n_seeds < 1 or record_every < 1:
        raise ValueError(f"train_two_layer(n_seeds={n_seeds}, record_every={record_every}): "
                         "both must be >= 1")
    n = round(float(problem.n_over_d) * d)
    if model == "gaussian":
        degs = hermite_degrees(problem)
        if max(degs) > 3:
            raise ValueError(f"train_two_layer(model='gaussian'): Hermite degrees <= 3 only, "
                             f"got {degs}")
        if n * d ** max(degs) > MAX_TENSOR_ELEMENTS:
            raise ValueError(f"train_two_layer(model='gaussian', d={d}): the degree-"
                             f"{max(degs)} tensor has n d^k = {n * d ** max(degs)} elements "
                             f"per seed, more than {MAX_TENSOR_ELEMENTS}; lower d")
    n_steps = int(round(t_max / dt))
    n_steps -= n_steps % record_every
    # the Gaussian model streams n d^k floats per seed and step: small batches stay in cache
    # (d = 150, 16 seeds: 9 s with batches of 4 against 24 s in one vmap, measured on CPU)
    batch = seed_batch or (min(n_seeds, 4) if model == "gaussian" else n_seeds)
    train, test, a, v, off = _train_seeds(
        jr.split(key, n_seeds), problem, jnp.asarray(dt, jnp.float64), model=model, d=d,
        n_steps=n_steps, record_every=record_every, init=init, dtype=dtype, batch=batch,
        degrees=hermite_degrees(problem), n=n)
    t = dt * record_every * jnp.arange(n_steps // record_every + 1, dtype=jnp.float64)
    return TwoLayerTrajectory(t, train, test, a, v, off, d=d, n=n, model=model)
