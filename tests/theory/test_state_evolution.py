"""State evolution of Bayes-optimal AMP against the RS iteration of the Bayes free entropy."""

import equinox as eqx
import jax.numpy as jnp
import numpy as np
import pytest

from atypical import TeacherStudent
from theory.models.perceptron import BayesRS, RSOrderParams, saddle_bayes
from theory.dynamics.state_evolution import (channel_q_hat, clipped_overlap, prior_q,
                                    state_evolution, state_evolution_step)

ALPHAS = (0.5, 1.0, 1.3, 1.7)
_rs_map = eqx.filter_jit(lambda op, problem: BayesRS(problem).fixed_point(op))


@pytest.mark.parametrize("alpha", ALPHAS)
def test_se_is_the_rs_iteration_step_by_step(alpha):
    # The RS map (damping 1) is separable: q_new depends on q_hat only and q_hat_new on q
    # only. Applied to the SE state (q^t, q_hat^t) it must give (q^{t+1}, q_hat^t).
    problem = TeacherStudent(alpha)
    se = state_evolution(problem, 25)
    checked = 0
    for t in range(1, 25):  # t = 0 is q = 0, where the RS form (R = q) divides by 0
        q, q_hat = se.q[t], se.q_hat[t]
        if q > 0.999:
            # RS integrates over xi a function of width sqrt((1-q)/q); beyond q = 0.999 its
            # trapezoid grid (spacing 0.02) no longer resolves it while SE changes variables
            break
        rs = _rs_map(RSOrderParams(q, q_hat), problem)
        # both are quadratures of smooth integrands on the same 1001-node grid: agreement
        # to ~1e-12 (measured 3e-12 at q = 0.999); 1e-10 leaves room for summation order
        np.testing.assert_allclose(rs.q, se.q[t + 1], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(rs.q_hat, q_hat, rtol=1e-10)
        checked += 1
    assert checked >= 5


def test_se_reaches_the_rs_saddle_below_the_spinodal():
    problem = TeacherStudent(1.0)
    se = state_evolution(problem, 200)
    sol = saddle_bayes(problem)
    # the iteration contracts by ~0.4 per step at alpha = 1 (measured): 200 steps reach
    # machine precision; Newton's saddle has residual < 1e-10, hence the 1e-9
    np.testing.assert_allclose(se.q[-1], sol.order_params.q, atol=1e-9)
    np.testing.assert_allclose(se.q_hat[-1], sol.order_params.q_hat, rtol=1e-9)


def test_se_perfect_generalization_above_spinodal_only():
    # spinodal of the poorly generalizing branch at alpha ~ 1.493 (Gyorgyi 1990)
    high = state_evolution(TeacherStudent(1.7), 40)
    low = state_evolution(TeacherStudent(1.4), 400)
    # q = 1 up to the sum of the 1001 trapezoid weights (1 within ~1e-15)
    assert 1 - high.q[-1] < 1e-12
    assert high.q_hat[-1] > 1e6
    assert low.q[-1] < 0.9
    assert high.q.dtype == jnp.float64 and high.q_hat.dtype == jnp.float64


def test_half_steps_limits_and_errors():
    # q = 0: G(0)^2/H(0) = 1/pi, so q_hat = 2 alpha / pi (the Hebbian start of AMP)
    np.testing.assert_allclose(channel_q_hat(0.0, 1.5), 3 / np.pi, rtol=1e-12)
    assert jnp.isinf(channel_q_hat(1.0, 1.5)) and prior_q(jnp.inf) == 1.0
    np.testing.assert_allclose(prior_q(0.0), 0.0, atol=1e-15)
    np.testing.assert_allclose(state_evolution_step(0.3, 1.0), prior_q(channel_q_hat(0.3, 1.0)))
    np.testing.assert_allclose(clipped_overlap(0.0), 0.0, atol=1e-15)
    with pytest.raises(Exception, match="q must lie in"):
        channel_q_hat(1.2, 1.0)
    with pytest.raises(Exception, match="q_hat must be >= 0"):
        prior_q(-1.0)
    with pytest.raises(ValueError, match="n_iter must be"):
        state_evolution(TeacherStudent(1.0), -1)
    with pytest.raises(Exception, match="kappa = 0"):
        state_evolution(TeacherStudent(1.0, 0.5), 3)
