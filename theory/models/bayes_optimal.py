"""Bayes-optimal learning of a perceptron teacher, RS on the Nishimori line.

Teacher $y = \\mathrm{sign}(w_T\\cdot c/\\sqrt D)$ on Gaussian inputs $c \\in R^D$, learned from
$P = \\alpha D$ examples by the posterior with the teacher's own prior. With the overlap
$q = \\langle w\\rangle\\cdot w_T/D$ of the posterior mean and its conjugate $\\hat q$:

$\\phi(q, \\hat q) = -q\\hat q/2 + \\psi_{prior}(\\hat q) + \\alpha\\psi_{out}(q)$,
$\\psi_{out}(q) = 2E_z H(-sz)\\ln H(-sz)$, $s = \\sqrt{q/(1-q)}$ (sign channel);

Gaussian prior $w_T \\sim N(0, I_D)$: $\\psi_{prior} = [\\hat q - \\ln(1+\\hat q)]/2$, so
$q = \\hat q/(1+\\hat q)$ (Opper-Haussler 1991; Engel-Van den Broeck, Statistical Mechanics of
Learning (2001), ch. 3: $\\epsilon \\simeq 0.442/\\alpha$ at large alpha). Binary prior: the
Gyorgyi teacher-student of ``binary_perceptron.free_entropy_bayes`` with its first-order
transition to perfect generalization at alpha = 1.245 (``thresholds``).

The Bayes-optimal predictor $\\mathrm{sign}(\\langle w\\rangle\\cdot c)$ errs with probability
$\\arccos(\\sqrt q)/\\pi$ (``atypical.observables.bayes_optimal_gen_error``).

Use in [P1]: features $x = \\sigma(Fc/\\sqrt D)$ are a function of c, so no student on the
features predicts better than this Bayes-optimal learner that sees c itself: at
$\\alpha = \\alpha_D = P/D$ it is a lower bound for every random-features student, for any N/D.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from atypical import TeacherStudent, f64, require_x64
from atypical.problems import check_one_of
from atypical.gaussian import H, gauss_mean, log_H
from atypical.observables import bayes_optimal_gen_error

from .perceptron import RSOrderParams, saddle_bayes
from ..engine import (RESIDUAL_TOL, SaddleSolution, raise_unconverged, residual_norm,
                      solve_root, status_from)
from .thresholds import teacher_student_transitions

PRIORS = ("gaussian", "binary")


def sign_channel_entropy(q: ArrayLike) -> Float[Array, ""]:
    """$\\psi_{out}(q) = 2E_z H(-sz)\\ln H(-sz)$, $s = \\sqrt{q/(1-q)}$, for q in [0, 1).

    Integrated over z for q < 1/2 and over x = sz for q >= 1/2, where the z-integrand has
    width 1/s that a fixed grid would not resolve."""
    q = f64(q)
    q_z = jnp.where(q < 0.5, q, 0.25)  # placeholders where a form is not selected
    q_x = jnp.where(q < 0.5, 0.75, q)
    f = lambda x: 2 * H(-x) * log_H(-x)
    s_z = jnp.sqrt(q_z / (1 - q_z))
    over_z = gauss_mean(lambda z: f(s_z * z))
    r = jnp.sqrt((1 - q_x) / q_x)  # z = r x
    over_x = gauss_mean(lambda x: r * jnp.exp(-0.5 * ((r * x) ** 2 - x**2)) * f(x))
    return jnp.where(q < 0.5, over_z, over_x)


def free_entropy_bayes_gaussian(op: RSOrderParams, problem: TeacherStudent) -> Float[Array, ""]:
    """$\\phi = -q\\hat q/2 + [\\hat q - \\ln(1+\\hat q)]/2 + \\alpha\\psi_{out}(q)$ (Gaussian
    prior; the spherical teacher-student perceptron on the Nishimori line)."""
    return (-op.q * op.q_hat / 2 + (op.q_hat - jnp.log1p(op.q_hat)) / 2
            + problem.alpha * sign_channel_entropy(op.q))


def _conjugate_gaussian(u: Array, alpha: Array) -> RSOrderParams:
    # the q-equation dphi/dq = 0 solved for q_hat, at q = sigmoid(u)
    q = jax.nn.sigmoid(u)
    q_hat = 2 * jax.grad(free_entropy_bayes_gaussian)(RSOrderParams(q, 0.0),
                                                       TeacherStudent(alpha, 0.0)).q
    return RSOrderParams(q, q_hat)


def _remaining_equation(u: Array, alpha: Array) -> Array:
    # the q_hat-equation q = q_hat/(1+q_hat) in logit form: log q_hat - logit q = 0
    return jnp.log(_conjugate_gaussian(u, alpha).q_hat) - u


_NEWTON_STEPS = 30


@eqx.filter_jit
@jax.vmap
def saddle_bayes_gaussian(alpha):
    """Bayes-optimal saddle points of a Gaussian-prior student at the sample ratios
    ``alpha`` (1-d; vmapped): Newton on the one equation left in u = logit q once
    $\\hat q$ is eliminated. Never throws (see ``converged``)."""
    # one equation in u = logit q (q_hat eliminated): d(log q_hat)/du ~ 1/2, so Newton from
    # the small-alpha solution q_hat = 2 alpha/pi converges in < 10 steps at any alpha. At
    # large alpha the equation's rounding floor (~1e-12, from 1 - q) can keep Newton running
    # to its step limit; convergence is judged on grad phi below
    root = solve_root(_remaining_equation, jnp.log(2 * alpha / jnp.pi), alpha,
                      max_steps=_NEWTON_STEPS)
    op, problem = _conjugate_gaussian(root.value, alpha), TeacherStudent(alpha, 0.0)
    residual = residual_norm(jax.grad(free_entropy_bayes_gaussian)(op, problem))
    return SaddleSolution(problem, op, free_entropy_bayes_gaussian(op, problem), residual,
                          root.newton_steps, status_from(residual < RESIDUAL_TOL, residual))


@eqx.filter_jit
@jax.vmap
def _saddle_binary(alpha):
    return saddle_bayes(TeacherStudent(alpha, 0.0))


def bayes_optimal_overlap(alpha: ArrayLike, prior: str = "gaussian") -> np.ndarray:
    """Teacher overlap q of the posterior mean at sample ratio alpha (any shape).

    Binary prior: the poorly generalizing branch below the first-order transition
    alpha_IT = 1.245 and q = 1 (perfect generalization) from there on."""
    require_x64("bayes_optimal_overlap")
    check_one_of("bayes_optimal_overlap", "prior", prior, PRIORS)
    alpha = np.asarray(alpha, np.float64)
    if not np.all(np.isfinite(alpha) & (alpha > 0)):
        raise ValueError(f"bayes_optimal_overlap(alpha={alpha.tolist()}): alpha must be > 0")
    flat = alpha.ravel()
    if prior == "binary":
        alpha_it = float(teacher_student_transitions()[0].alpha)
        learned = flat >= alpha_it
        flat = np.where(learned, 0.5, flat)  # the poor branch is solved only below alpha_IT
    sol = (saddle_bayes_gaussian if prior == "gaussian" else _saddle_binary)(jnp.asarray(flat))
    raise_unconverged(f"bayes_optimal_overlap(prior={prior!r})", sol.converged,
                      sol.residual, sol.newton_steps, status=sol.status, alpha=flat)
    q = np.asarray(sol.order_params.q)
    if prior == "binary":
        q = np.where(learned, 1.0, q)
    return q.reshape(alpha.shape)


def bayes_optimal_error(alpha: ArrayLike, prior: str = "gaussian") -> np.ndarray:
    """Bayes-optimal generalization error $\\arccos(\\sqrt q)/\\pi$ at sample ratio alpha."""
    return np.asarray(bayes_optimal_gen_error(bayes_optimal_overlap(alpha, prior)))
