"""Bayes-optimal perceptron learning (Nishimori line): the lower bound on every
random-features student's error."""

import jax
import numpy as np
import pytest

from atypical import SaddlePointError  # noqa: F401  (float64 on)
from theory.models.bayes_optimal import (bayes_optimal_error, bayes_optimal_overlap,
                                         saddle_bayes_gaussian, sign_channel_entropy)
from theory.dynamics.state_evolution import channel_q_hat


def test_channel_derivative_is_the_amp_channel_update():
    """2 psi_out'(q) (autodiff of the free entropy's channel term) equals the sign-channel
    half-step of AMP's state evolution, written independently from the denoiser."""
    for q in (0.05, 0.3, 0.5, 0.7, 0.95, 0.999):
        assert 2 * float(jax.grad(sign_channel_entropy)(q)) == pytest.approx(
            float(channel_q_hat(q, 1.0)), rel=1e-11)


def test_gaussian_prior_saddle_is_stationary():
    sol = saddle_bayes_gaussian(np.array([0.1, 1.0, 10.0, 1000.0]))
    assert np.all(sol.converged) and np.max(sol.residual) < 1e-10
    q, q_hat = sol.order_params.q, sol.order_params.q_hat
    np.testing.assert_allclose(q, q_hat / (1 + q_hat), rtol=1e-12)


def test_gaussian_prior_limits():
    """Small alpha: q = 2 alpha/pi + O(alpha^2), so eps = 1/2 - sqrt(2 alpha/pi)/pi + O(alpha^1.5)
    (2.5e-6 at alpha = 0.01). Large alpha: eps = 0.442/alpha (Opper-Haussler 1991; Engel-Van
    den Broeck, Statistical Mechanics of Learning, ch. 3); measured alpha eps = 0.44145 at 50,
    0.44170 at 1000."""
    alpha = 0.01
    assert bayes_optimal_error(alpha) == pytest.approx(
        0.5 - np.sqrt(2 * alpha / np.pi) / np.pi, abs=1e-5)
    assert 1000 * bayes_optimal_error(1000.0) == pytest.approx(0.442, abs=5e-4)
    errors = bayes_optimal_error([0.5, 1.0, 2.0, 5.0])
    assert np.all(np.diff(errors) < 0)


def test_binary_prior_learns_perfectly_above_the_gyorgyi_transition():
    """Binary teacher: the poorly generalizing branch below alpha_IT = 1.245, error 0 above;
    below, the binary prior knows more than the Gaussian one and predicts better."""
    alpha = np.array([0.5, 1.0, 1.2, 1.3, 2.0])
    binary = bayes_optimal_error(alpha, "binary")
    assert np.all(binary[:3] > 0) and np.all(binary[3:] == 0)
    assert np.all(binary[:3] < bayes_optimal_error(alpha[:3]))
    np.testing.assert_array_equal(bayes_optimal_overlap(alpha[3:], "binary"), 1.0)


def test_bad_input():
    with pytest.raises(ValueError, match="prior"):
        bayes_optimal_error(1.0, "ising")
    with pytest.raises(ValueError, match="alpha"):
        bayes_optimal_error([1.0, -1.0])
