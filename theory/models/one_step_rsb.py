"""One-step replica symmetry breaking (1RSB) of binary storage, and its frozen limit.

Parisi blocks of m replicas, overlap $q_1$ within a block and $q_0$ across blocks, with
conjugates $\\hat q_1, \\hat q_0$ (re-derived here; Krauth-Mezard 1989 for the frozen case):

$\\Phi(m) = -\\hat q_1/2 - [(m-1)\\hat q_1 q_1 - m\\hat q_0 q_0]/2
+ \\frac1m E_{z_0}\\ln E_{z_1}[2\\cosh(\\sqrt{\\hat q_0}z_0 + \\sqrt{\\hat q_1-\\hat q_0}z_1)]^m
+ \\frac\\alpha m E_{z_0}\\ln E_{z_1} H\\Big(\\frac{\\kappa - \\sqrt{q_0}z_0
- \\sqrt{q_1-q_0}z_1}{\\sqrt{1-q_1}}\\Big)^m$;

$q_1 = q_0$ is RS. $\\Psi(m) = m\\Phi(m) = N^{-1}\\ln\\sum_{clusters} Z_c^m$ gives the internal
entropy of the clusters $s = \\partial\\Psi/\\partial m$ and their complexity
$\\Sigma = \\Psi - ms$ (both at the saddle point, by the envelope theorem).

Frozen limit, $q_1 \\to 1$ ($\\hat q_1 \\to \\infty$): every cluster is a single configuration.
The inner energetic average becomes a step function ($\\theta^m = \\theta$) and
$E_{z_1}[2\\cosh(a + bz_1)]^m \\to e^{m^2b^2/2}\\,2\\cosh(ma)$ as $b \\to \\infty$, so

$\\Phi_{frozen}(m) = -m\\hat q(1-q)/2 + \\frac1m E_z\\ln2\\cosh(m\\sqrt{\\hat q}z)
+ \\frac\\alpha m E_z\\ln H\\big((\\kappa-\\sqrt q z)/\\sqrt{1-q}\\big)$,  $(q, \\hat q) = (q_0, \\hat q_0)$.

With $\\hat q \\to \\hat q/m^2$ this is $\\phi_{RS}/m$: $s = 0$ and $\\Sigma = \\phi_{RS}$, so the
frozen-1RSB capacity ($\\Sigma = 0$) is the zero of the RS entropy, 0.833 at kappa = 0. The
tests check the limit on the general $\\Phi(m)$ and these identities on the solver output.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
from jax.scipy.special import logsumexp
from jaxtyping import Array, ArrayLike, Float

from atypical import f64, require_x64
from atypical.gaussian import gauss_mean, gauss_nodes, log_2cosh, log_H

from .perceptron import COLD_START_RS, OverlapModel, RSOrderParams
from ..engine import (SaddleSolution, Threshold, raise_unconverged, saddle,
                     threshold_on_branch)
from .thresholds import CAPACITY_GRID


class OneRSBStorage(eqx.Module):
    """Binary storage (alpha, margin kappa) seen by a 1RSB ansatz with Parisi parameter m."""

    alpha: Float[Array, ""] = eqx.field(converter=f64)
    kappa: Float[Array, ""] = eqx.field(converter=f64, default=0.0)
    m: Float[Array, ""] = eqx.field(converter=f64, default=1.0)


class OneRSBOrderParams(eqx.Module):
    """Overlaps within ($q_1$) and across ($q_0$) Parisi blocks and their conjugates."""

    q0: Float[Array, ""] = eqx.field(converter=f64)
    q1: Float[Array, ""] = eqx.field(converter=f64)
    q0_hat: Float[Array, ""] = eqx.field(converter=f64)
    q1_hat: Float[Array, ""] = eqx.field(converter=f64)


def _block_mean(log_f, m, n_outer: int, n_inner: int) -> Array:
    """$\\frac1m E_{z_0}\\ln E_{z_1} e^{m\\ln f(z_0, z_1)}$, the inner average in the log domain."""
    z0, w0 = gauss_nodes(n_outer)
    z1, w1 = gauss_nodes(n_inner)
    inner = logsumexp(jnp.log(w1)[None, :] + m * log_f(z0[:, None], z1[None, :]), axis=1)
    return w0 @ inner / m


def free_entropy_1rsb(op: OneRSBOrderParams, problem: OneRSBStorage, *, n_outer: int = 401,
                      n_inner: int = 2001) -> Float[Array, ""]:
    """General 1RSB free entropy $\\Phi(m)$ (module docstring), on a trapezoid grid of
    ``n_outer`` x ``n_inner`` nodes (resolve the inner step of width $\\sqrt{1-q_1}$)."""
    m = problem.m
    a, b = jnp.sqrt(op.q0_hat), jnp.sqrt(op.q1_hat - op.q0_hat)
    entropic = (-op.q1_hat / 2 - ((m - 1) * op.q1_hat * op.q1 - m * op.q0_hat * op.q0) / 2
                + _block_mean(lambda z0, z1: log_2cosh(a * z0 + b * z1), m, n_outer, n_inner))
    c, d, sigma = jnp.sqrt(op.q0), jnp.sqrt(op.q1 - op.q0), jnp.sqrt(1 - op.q1)
    energetic = _block_mean(lambda z0, z1: log_H((problem.kappa - c * z0 - d * z1) / sigma),
                            m, n_outer, n_inner)
    return entropic + problem.alpha * energetic


def free_entropy_frozen(op: RSOrderParams, problem: OneRSBStorage) -> Float[Array, ""]:
    """Frozen-1RSB free entropy $\\Phi_{frozen}(m)$ in the inter-cluster overlap
    $q = q_0$ and its conjugate (module docstring)."""
    m, q, q_hat = problem.m, op.q, op.q_hat
    entropic = -m * q_hat * (1 - q) / 2 + gauss_mean(
        lambda z: log_2cosh(m * jnp.sqrt(q_hat) * z)) / m
    energetic = gauss_mean(lambda z: log_H((problem.kappa - jnp.sqrt(q) * z) / jnp.sqrt(1 - q)))
    return entropic + problem.alpha * energetic / m


class FrozenStorage(OverlapModel):
    """Frozen 1RSB of binary storage (``free_entropy_frozen``) as a model of the engine."""

    problem: OneRSBStorage

    def free_entropy(self, op: RSOrderParams) -> Float[Array, ""]:
        return free_entropy_frozen(op, self.problem)

    def bilinear_weight(self) -> ArrayLike:
        return self.problem.m / 2  # q and q_hat enter through m q q_hat / 2


def saddle_frozen(problem: OneRSBStorage, init: RSOrderParams = COLD_START_RS
                  ) -> SaddleSolution:
    """Saddle point of $\\Phi_{frozen}$: damped iteration from ``init``, then Newton.
    Jit- and vmap-able; never throws (check ``converged``)."""
    return saddle(FrozenStorage(problem), init)


def _psi(op: RSOrderParams, problem: OneRSBStorage) -> Array:
    return problem.m * free_entropy_frozen(op, problem)


def internal_entropy(op: RSOrderParams, problem: OneRSBStorage) -> Array:
    """$s = \\partial\\Psi/\\partial m$ at fixed order parameters (envelope theorem): the
    entropy of one cluster (zero for frozen clusters)."""
    return jax.grad(lambda m: _psi(op, eqx.tree_at(lambda p: p.m, problem, m)))(problem.m)


def complexity(op: RSOrderParams, problem: OneRSBStorage) -> Array:
    """$\\Sigma = \\Psi - m\\,s$: the log-number of clusters per weight."""
    return _psi(op, problem) - problem.m * internal_entropy(op, problem)


class FrozenOneRSB(eqx.Module):
    """Frozen-1RSB saddle point: inter-cluster overlap, complexity, internal entropy."""

    saddle: SaddleSolution
    complexity: Float[Array, "..."]
    internal_entropy: Float[Array, "..."]


@eqx.filter_jit
def _frozen_grid(problems: OneRSBStorage) -> FrozenOneRSB:
    sol = jax.vmap(saddle_frozen)(problems)
    return FrozenOneRSB(sol, jax.vmap(complexity)(sol.order_params, problems),
                        jax.vmap(internal_entropy)(sol.order_params, problems))


def frozen_1rsb(alpha: ArrayLike, kappa: ArrayLike = 0.0, m: ArrayLike = 1.0) -> FrozenOneRSB:
    """Frozen-1RSB solution on a broadcast (alpha, kappa, m) grid (one vmapped program);
    raises ``SaddlePointError`` listing the points where Newton did not converge."""
    require_x64("frozen_1rsb")
    alpha, kappa, m = jnp.broadcast_arrays(f64(alpha), f64(kappa), f64(m))
    if not bool(jnp.all(m > 0)):
        raise ValueError("frozen_1rsb(m=...): the Parisi parameter m must be positive")
    shape = alpha.shape
    result = _frozen_grid(OneRSBStorage(alpha.ravel(), kappa.ravel(), m.ravel()))
    raise_unconverged("frozen_1rsb", result.saddle.converged, result.saddle.residual,
                      result.saddle.newton_steps, status=result.saddle.status,
                      alpha=alpha.ravel(), kappa=kappa.ravel(), m=m.ravel())
    return jax.tree.map(lambda x: x.reshape(shape + x.shape[1:]), result)


def _complexity_condition(model: FrozenStorage, op: RSOrderParams) -> Array:
    return complexity(op, model.problem)


@eqx.filter_jit
def _frozen_capacity(kappa: Array, m: Array) -> Threshold:
    return threshold_on_branch(FrozenStorage(OneRSBStorage(1.0, kappa, m)),
                               CAPACITY_GRID, _complexity_condition)


def frozen_1rsb_capacity(kappa: ArrayLike = 0.0, m: ArrayLike = 1.0) -> Threshold:
    """Frozen-1RSB capacity: the alpha where the complexity of frozen clusters vanishes
    (Krauth-Mezard 1989: 0.833 at kappa = 0), independent of m. Differentiable in kappa."""
    require_x64("frozen_1rsb_capacity")
    kappa, m = f64(kappa), f64(m)
    result = _frozen_capacity(kappa, m)
    if isinstance(kappa, jax.core.Tracer):
        return result
    raise_unconverged("frozen_1rsb_capacity", result.converged, result.residual,
                      result.newton_steps, status=result.status, kappa=kappa, m=m)
    return result
