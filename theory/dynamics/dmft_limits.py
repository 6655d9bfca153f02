"""Large-m limits of the two-layer DMFT [P3 App. F-G]: the mean-field ODE (t = O(1),
a = O(1)) and the closed forms of the lazy regime t = O(1/m), a = gamma0 sqrt(m)."""

from __future__ import annotations

from functools import partial

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from atypical.errors import require_x64
from atypical.problems import TwoLayerGradientFlow


class MeanFieldTrajectory(eqx.Module):
    """Solution of the mean-field ODE on $t_k = k\\,dt$; train = test error in this limit."""

    t: Float[Array, " T"]
    a: Float[Array, " T"]
    v: Float[Array, " T"]
    error: Float[Array, " T"]


def mean_field_error(problem: TwoLayerGradientFlow, a: ArrayLike, v: ArrayLike) -> Array:
    """$e = \\frac12[\\tau^2 + \\|\\varphi\\|^2 - 2a\\hat\\varphi(v) + a^2 h(v^2)]$ (eq. 2.10)."""
    a, v = jnp.asarray(a), jnp.asarray(v)
    return 0.5 * (problem.tau**2 + problem.phi_norm2 - 2 * a * problem.phi_hat(v)
                  + a**2 * problem.h(v**2))


def _mf_rhs(y, problem):
    a, v = y[0], y[1]
    vdot = problem.alpha * a * (1 - v**2) * (problem.phi_hat_prime(v)
                                             - a * problem.h_prime(v**2) * v)
    adot = problem.alpha * (problem.phi_hat(v) - a * problem.h(v**2))
    adot = adot if problem.train_second_layer else jnp.zeros_like(adot)
    return jnp.stack([adot, vdot])


@partial(jax.jit, static_argnames=("n_steps",))
def _mf_solve(problem, y0, dt, n_steps: int):
    def rk4(y, _):
        k1 = _mf_rhs(y, problem)
        k2 = _mf_rhs(y + 0.5 * dt * k1, problem)
        k3 = _mf_rhs(y + 0.5 * dt * k2, problem)
        k4 = _mf_rhs(y + dt * k3, problem)
        y = y + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        return y, y

    _, ys = jax.lax.scan(rk4, y0, None, length=n_steps)
    return jnp.concatenate([y0[None], ys])


def solve_mean_field(problem: TwoLayerGradientFlow, *, t_max: float,
                     dt: float = 1e-3) -> MeanFieldTrajectory:
    """m -> infinity at fixed alpha = n/(md), a = O(1), t = O(1) (eq. 2.10/G.44), RK4:
    $\\dot v = \\alpha a(1-v^2)(\\hat\\varphi'(v) - a h'(v^2) v)$,
    $\\dot a = \\alpha(\\hat\\varphi(v) - a h(v^2))$; starts from a0[0], v0[0]."""
    require_x64("solve_mean_field")
    if not (dt > 0 and t_max >= dt):
        raise ValueError(f"solve_mean_field(dt={dt}, t_max={t_max}): need 0 < dt <= t_max")
    n = int(round(t_max / dt))
    y0 = jnp.stack([problem.a0[0], problem.v0[0]])
    ys = _mf_solve(problem, y0, jnp.asarray(dt, jnp.float64), n)
    return MeanFieldTrajectory(dt * jnp.arange(n + 1, dtype=jnp.float64), ys[:, 0], ys[:, 1],
                               mean_field_error(problem, ys[:, 0], ys[:, 1]))


def lazy_gamma0(problem: TwoLayerGradientFlow) -> Array:
    """$\\gamma_0 = a_0/\\sqrt m$ (lazy initialisation a = gamma0 sqrt(m))."""
    return problem.a0[0] / jnp.sqrt(jnp.asarray(problem.m, jnp.float64))


def lazy_short_time_error(problem: TwoLayerGradientFlow, t_hat: ArrayLike) -> Array:
    """Lazy regime t = t_hat/m, m -> infinity, from C0 = I, v0 = 0 (App. F): only the linear
    part $b = c_1\\gamma_0 m^{-1/2}\\sum_i w_i$ of f moves, relaxing to $f_1 u$ at rate
    $\\kappa = \\alpha\\gamma_0^2 h'(0)$, so with $\\varphi_1^2 = \\hat\\varphi'(0)^2/h'(0)$
    $e^{lz1}(\\hat t) = \\frac12[\\tau^2 + \\|\\varphi\\|^2 - \\varphi_1^2 + \\gamma_0^2\\tilde h(1)
    + (\\gamma_0^2 h'(0) + \\varphi_1^2) e^{-2\\kappa\\hat t}]$, $\\tilde h(1) = h(1) - h'(0)$.
    Train = test at this order; pure noise ($\\varphi = 0$) is the paper's closed form.
    Corrections: O(1/m) for pure noise, O(1/sqrt m) when $\\hat\\varphi''(0) \\ne 0$."""
    g2 = lazy_gamma0(problem) ** 2
    hp0 = problem.h_prime(0.0)
    phi1_sq = problem.phi_hat_prime(0.0) ** 2 / hp0
    decay = jnp.exp(-2 * problem.alpha * g2 * hp0 * jnp.asarray(t_hat))
    return 0.5 * (problem.tau**2 + problem.phi_norm2 - phi1_sq + g2 * (problem.h(1.0) - hp0)
                  + (g2 * hp0 + phi1_sq) * decay)


def lazy_short_time_overlap(problem: TwoLayerGradientFlow, t_hat: ArrayLike) -> Array:
    """Teacher overlap in the lazy regime t = t_hat/m, m -> infinity, from v0 = 0 (App. F):
    $v^{lz1}(\\hat t) = \\frac{\\hat\\varphi'(0)}{\\gamma_0 h'(0)\\sqrt m}
    (1 - e^{-\\alpha\\gamma_0^2 h'(0)\\hat t})$ (the component of b along u is
    $c_1\\gamma_0\\sqrt m\\, v$ and relaxes to $f_1$ at rate $\\alpha\\gamma_0^2 h'(0)$)."""
    g0 = lazy_gamma0(problem)
    hp0 = problem.h_prime(0.0)
    rise = 1 - jnp.exp(-problem.alpha * g0**2 * hp0 * jnp.asarray(t_hat))
    return problem.phi_hat_prime(0.0) / (g0 * hp0 * jnp.sqrt(float(problem.m))) * rise


def lazy_plateau_test_error(problem: TwoLayerGradientFlow) -> Array:
    """Test plateau of the lazy t = O(1/m) regime (eq. 2.7, F.59):
    $\\frac12(\\tau^2 + \\|\\varphi\\|^2 - \\hat\\varphi'(0)^2/h'(0) + \\gamma_0^2\\tilde h(1))$,
    $\\tilde h(1) = h(1) - h'(0)$: the best linear predictor plus the random-feature variance."""
    g2 = lazy_gamma0(problem) ** 2
    hp0 = problem.h_prime(0.0)
    return 0.5 * (problem.tau**2 + problem.phi_norm2 - problem.phi_hat_prime(0.0) ** 2 / hp0
                  + g2 * (problem.h(1.0) - hp0))
