"""AMP for the Bayes-optimal teacher-student binary perceptron (kappa = 0, Gaussian xi).

Generalized AMP (Rangan 2011) with scalar variances, for the channel
$y = \\mathrm{sign}(z)$, $z = W_T\\cdot\\xi/\\sqrt N$, and the uniform prior on $\\{\\pm1\\}^N$;
with $F = \\xi/\\sqrt N$, starting from $\\hat w^0 = 0$, $v^0 = 1$, $g^{-1} = 0$:

$V^t = \\overline{v^t}$, $\\omega^t = F\\hat w^t - V^t g^{t-1}$,
$g^t_\\mu = \\frac{y_\\mu}{\\sqrt{V^t}}\\frac{G(u_\\mu)}{H(u_\\mu)}$ with $u_\\mu = -y_\\mu\\omega^t_\\mu/\\sqrt{V^t}$,
$A^t = -\\frac1N\\sum_\\mu \\partial_\\omega g^t_\\mu$, $B^t = F^\\top g^t + A^t\\hat w^t$,
$\\hat w^{t+1} = \\tanh B^t$, $v^{t+1} = 1 - (\\hat w^{t+1})^2$.

Its teacher overlap $\\hat w^t\\cdot W_T/N$ follows ``theory.dynamics.state_evolution``
(Zdeborova-Krzakala, Adv. Phys. 65, 453 (2016), sec. 6). Once $V$ is below the working
precision the posterior is a point mass and the iteration stops (state frozen): beyond it
$g_{\\rm out}$ divides by $\\sqrt V \\to 0$.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, DTypeLike, Float, Int

from atypical.gaussian import gaussian_over_H
from atypical.observables import binary_sign, train_error

from .data import Dataset

_HI = jax.lax.Precision.HIGHEST  # overlaps compared with theory must not see TF32 matmuls


class AMPConfig(eqx.Module):
    """iterations: AMP steps T (a Python int fixing the scan length); damping: weight
    $\\in [0, 1)$ of the old estimate in $\\hat w^{t+1}$ (0 = plain AMP, what state evolution
    tracks); dtype of the iteration (float32 default; the data must have it)."""

    iterations: int = eqx.field(static=True, default=30)
    damping: float = eqx.field(static=True, default=0.0)
    dtype: DTypeLike = eqx.field(static=True, default=jnp.float32)

    def __check_init__(self):
        if not isinstance(self.iterations, int) or self.iterations < 1:
            raise ValueError(f"AMPConfig(iterations={self.iterations!r}): must be an int >= 1")
        if not 0 <= self.damping < 1:
            raise ValueError(f"AMPConfig(damping={self.damping!r}): must lie in [0, 1)")


class AMPResult(eqx.Module):
    """One AMP run (a leading instance axis after ``run_amp_instances``).

    W_hat: posterior-mean estimate after T iterations; W: its sign (binary student);
    teacher_overlap[t] = $\\hat w^t\\cdot W_T/N$ and self_overlap[t] = $|\\hat w^t|^2/N$
    (t = 0..T; equal on average by Nishimori); train_errors[t] of $\\mathrm{sign}(\\hat w^t)$;
    solved: zero training error at the end; iterations_run: steps before the freeze."""

    W_hat: Float[Array, "*I N"]
    W: Float[Array, "*I N"]
    teacher_overlap: Float[Array, "*I T+1"]
    self_overlap: Float[Array, "*I T+1"]
    train_errors: Float[Array, "*I T+1"]
    solved: Bool[Array, "*I"]
    iterations_run: Int[Array, "*I"]


def _g_out(y: Float[Array, " P"], omega: Float[Array, " P"], V: Float[Array, ""]
           ) -> tuple[Float[Array, " P"], Float[Array, " P"]]:
    """Sign channel: $g = \\partial_\\omega\\ln H(-y\\omega/\\sqrt V)$ and $\\partial_\\omega g
    = -\\phi(u)(\\phi(u) - u)/V$ with $\\phi = G/H$, $u = -y\\omega/\\sqrt V$."""
    sqrt_V = jnp.sqrt(V)
    u = -y * omega / sqrt_V
    phi = gaussian_over_H(u)
    return y * phi / sqrt_V, -phi * (phi - u) / V


def amp_one(data: Dataset, config: AMPConfig) -> AMPResult:
    """Run AMP on one teacher-student data set (deterministic: no key; one instance)."""
    if data.W_T is None:
        raise ValueError("amp_one: AMP here is the Bayes-optimal teacher-student algorithm; "
                         "data.W_T is None (storage data)")
    dtype = jnp.dtype(config.dtype)
    if data.xi.dtype != dtype:
        raise ValueError(f"amp_one: data dtype {data.xi.dtype} differs from "
                         f"AMPConfig(dtype={dtype}); sample the data with the same dtype")
    P, N = data.xi.shape
    F = data.xi / jnp.sqrt(jnp.asarray(N, dtype))
    y, W_T = data.y, data.W_T.astype(dtype)
    tiny = jnp.asarray(jnp.finfo(dtype).eps, dtype)
    damping = jnp.asarray(config.damping, dtype)

    def measure(w_hat):
        stab = y * jnp.matmul(F, binary_sign(w_hat), precision=_HI)
        return jnp.mean(w_hat * W_T), jnp.mean(w_hat * w_hat), train_error(stab)

    def step(carry, _):
        w_hat, v, g_old, running, n_run = carry
        V = jnp.mean(v)
        running = running & (V > tiny)  # posterior collapsed to a point: stop
        V_safe = jnp.where(running, V, jnp.ones((), dtype))
        omega = jnp.matmul(F, w_hat, precision=_HI) - V_safe * g_old
        g, dg = _g_out(y, omega, V_safe)
        A = -jnp.sum(dg) / jnp.asarray(N, dtype)
        B = jnp.matmul(g, F, precision=_HI) + A * w_hat
        w_new = (1 - damping) * jnp.tanh(B) + damping * w_hat
        # 1 - tanh^2 B = 1/cosh^2 B keeps its relative precision when |B| is large
        v_new = 1 - w_new**2 if config.damping > 0 else 1 / jnp.cosh(B) ** 2
        w_hat, v, g_old = jax.tree.map(lambda new, old: jnp.where(running, new, old),
                                       (w_new, v_new, g), (w_hat, v, g_old))
        n_run = n_run + running.astype(jnp.int32)
        return (w_hat, v, g_old, running, n_run), measure(w_hat)

    w0 = jnp.zeros((N,), dtype)
    init = (w0, jnp.ones((N,), dtype), jnp.zeros((P,), dtype), jnp.asarray(True),
            jnp.asarray(0, jnp.int32))
    (w_hat, _, _, _, n_run), (m, q, err) = jax.lax.scan(step, init, None,
                                                        length=config.iterations)
    m0, q0, e0 = measure(w0)
    return AMPResult(W_hat=w_hat, W=binary_sign(w_hat),
                     teacher_overlap=jnp.concatenate([m0[None], m]),
                     self_overlap=jnp.concatenate([q0[None], q]),
                     train_errors=jnp.concatenate([e0[None], err]),
                     solved=err[-1] == 0, iterations_run=n_run)


@eqx.filter_jit
def run_amp_instances(data: Dataset, config: AMPConfig) -> AMPResult:
    """AMP on a stack of data sets (leading instance axis I, e.g. from
    ``sim.enumerate.sample_instances``), vmapped in one compiled program."""
    return jax.vmap(amp_one, in_axes=(0, None))(data, config)
