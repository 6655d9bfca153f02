"""State evolution of AMP for the Bayes-optimal teacher-student binary perceptron.

AMP (``sim/amp.py``) on $y = \\mathrm{sign}(W_T\\cdot\\xi/\\sqrt N)$ with a uniform binary
teacher is tracked, as $N \\to \\infty$, by one overlap $q^t = \\hat w^t\\cdot W_T/N$
(on the Nishimori line it is also $|\\hat w^t|^2/N$):

$\\hat q^t = \\frac{2\\alpha}{1-q^t}\\,E_\\xi\\,\\frac{G(x)^2}{H(x)}$, $x = \\sqrt{q^t/(1-q^t)}\\,\\xi$
(sign channel), and $q^{t+1} = E_z \\tanh(\\hat q^t + \\sqrt{\\hat q^t} z)$ (binary prior);
Zdeborova-Krzakala, Adv. Phys. 65, 453 (2016), sec. 6; Barbier et al., PNAS 116, 5451
(2019). The two half-steps are written here from AMP's denoisers, independently of the free
entropy; tests check that each equals one half of the RS iteration derived from
``free_entropy_bayes`` (``binary_perceptron._fixed_point_bayes``).
"""

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from atypical import TeacherStudent, checked, f64, require_x64
from atypical.gaussian import H, gauss_mean, log_H


class StateEvolution(eqx.Module):
    """A state-evolution trajectory: ``q[t]`` (t = 0..T) the teacher overlap of AMP's
    estimate after t iterations, ``q_hat[t]`` the channel's conjugate computed from ``q[t]``."""

    q: Float[Array, " T+1"]
    q_hat: Float[Array, " T+1"]


def _g2_over_h(x: Array) -> Array:
    # G(x)^2 / H(x) in the log domain (stable for large x)
    return jnp.exp(-x**2 - jnp.log(2 * jnp.pi) - log_H(x))


def channel_q_hat(q: ArrayLike, alpha: ArrayLike) -> Float[Array, ""]:
    """Sign-channel half-step $\\hat q = \\alpha E[g_{\\rm out}^2]
    = \\frac{2\\alpha}{1-q} E_\\xi [G(x)^2/H(x)]$, $x = \\sqrt{q/(1-q)}\\xi$, for $q \\in [0, 1]$;
    $\\hat q = \\infty$ at $q = 1$ (perfect generalization)."""
    q, alpha = f64(q), f64(alpha)
    q = checked(q, lambda: ~((q >= 0) & (q <= 1)), "channel_q_hat(q=...): q must lie in [0, 1]")
    interior = jnp.where(q < 1, q, 0.5)  # the q = 1 branch is handled exactly below
    # integrate over xi for q < 1/2 (x varies slower than xi) and over x for q >= 1/2 (the
    # xi-integrand is peaked on a width sqrt((1-q)/q) that the grid would not resolve);
    # each form gets a harmless placeholder q where it is not selected
    q_xi = jnp.where(interior < 0.5, interior, 0.25)
    q_x = jnp.where(interior < 0.5, 0.75, interior)
    s = jnp.sqrt((1 - q_x) / q_x)  # xi = s x, dxi G(xi) = dx s G(s x)
    over_xi = gauss_mean(lambda z: _g2_over_h(jnp.sqrt(q_xi / (1 - q_xi)) * z))
    over_x = gauss_mean(lambda x: s * jnp.exp(-0.5 * (s * x) ** 2 - 0.5 * x**2
                                              - jnp.log(2 * jnp.pi) - log_H(x)))
    mean = jnp.where(interior < 0.5, over_xi, over_x)
    return jnp.where(q < 1, 2 * alpha * mean / (1 - interior), jnp.inf)


def prior_q(q_hat: ArrayLike) -> Float[Array, ""]:
    """Binary-prior half-step $q = E_z \\tanh(\\hat q + \\sqrt{\\hat q} z)$ for $\\hat q \\ge 0$
    ($q = 1$ at $\\hat q = \\infty$)."""
    q_hat = f64(q_hat)
    q_hat = checked(q_hat, lambda: ~(q_hat >= 0), "prior_q(q_hat=...): q_hat must be >= 0")
    finite = jnp.where(jnp.isinf(q_hat), 0.0, q_hat)
    q = gauss_mean(lambda z: jnp.tanh(finite + jnp.sqrt(finite) * z))
    return jnp.where(jnp.isinf(q_hat), 1.0, q)


def state_evolution_step(q: ArrayLike, alpha: ArrayLike) -> Float[Array, ""]:
    """One AMP iteration in the large-N limit: $q^{t+1} = $ prior_q(channel_q_hat($q^t$))."""
    return prior_q(channel_q_hat(q, alpha))


def state_evolution(problem: TeacherStudent, n_iter: int, *,
                    q0: ArrayLike = 0.0) -> StateEvolution:
    """Trajectory of ``n_iter`` AMP iterations from teacher overlap ``q0`` (AMP's
    uninformed start $\\hat w = 0$ is q0 = 0), in a ``lax.scan``; kappa must be 0."""
    require_x64("state_evolution")
    if not isinstance(n_iter, int) or n_iter < 0:
        raise ValueError(f"state_evolution(n_iter={n_iter!r}): n_iter must be an int >= 0")
    alpha = checked(problem.alpha, lambda: problem.kappa != 0,
                    "state_evolution: Bayes-optimal AMP needs kappa = 0")
    return _trajectory(f64(q0), alpha, n_iter)


@eqx.filter_jit
def _trajectory(q0, alpha, n_iter: int) -> StateEvolution:
    def step(q, _):
        q_hat = channel_q_hat(q, alpha)
        return prior_q(q_hat), (q, q_hat)

    q_last, (q, q_hat) = jax.lax.scan(step, q0, None, length=n_iter)
    q = jnp.append(q, q_last)
    return StateEvolution(q=q, q_hat=jnp.append(q_hat, channel_q_hat(q_last, alpha)))


def clipped_overlap(q_hat: ArrayLike) -> Float[Array, ""]:
    """Teacher overlap of the clipped estimate $\\mathrm{sign}(\\hat w)$ predicted by state
    evolution: $R = E_z\\,\\mathrm{sign}(\\hat q + \\sqrt{\\hat q}z) = 1 - 2H(\\sqrt{\\hat q})$."""
    return 1 - 2 * H(jnp.sqrt(f64(q_hat)))
