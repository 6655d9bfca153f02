"""Closed forms of the lazy t = O(1/m) regime with a teacher [P3 App. F] against the DMFT."""

import jax.numpy as jnp
import numpy as np
import pytest

from atypical.problems import two_layer_preset
from theory.dynamics.dmft import solve_dmft
from theory.dynamics.dmft_limits import (lazy_plateau_test_error, lazy_short_time_error,
                                lazy_short_time_overlap)


@pytest.mark.slow  # ~6 s of CPU (mostly compiling the cubic-kernel solve), 18 s when busy
def test_lazy_short_time_single_index_rate_one_over_m():
    # single index, phi = sigma cubic (phi_hat''(0) = 0): the neglected terms are O(1/m), so
    # the DMFT - closed-form gaps of e_tr, e_ts and sqrt(m) v halve when m doubles (measured
    # ratios 1.93-1.99 at t_hat = 2); Heun with 40 steps on [0, t_hat/m] is converged to
    # < 1e-5 here (80 steps change the gaps by less)
    t_hat, gaps = 2.0, []
    for m in (32, 64, 128):
        p = two_layer_preset("cubic", m=m, alpha=0.3, tau=0.6, a0=np.sqrt(m))
        s = solve_dmft(p, t_max=t_hat / m, dt=t_hat / m / 40, symmetric=True)
        e = float(lazy_short_time_error(p, t_hat))
        gaps.append([float(s.train_error[-1]) - e, float(s.test_error[-1]) - e,
                     np.sqrt(m) * (float(s.v[-1, 0]) - float(lazy_short_time_overlap(p, t_hat)))])
    gaps = np.abs(np.array(gaps))
    np.testing.assert_allclose(gaps[:-1] / gaps[1:], 2.0, rtol=0.1)  # O(1/m^2) remainder
    # what is left at m = 128 (measured 0.020, 0.008, 0.003) against the O(1) signal: the
    # test error falls from 1.03 (t_hat = 0) to 0.65, sqrt(m) v rises from 0 to 0.42
    assert gaps[-1, 0] < 0.03 and gaps[-1, 1] < 0.012 and gaps[-1, 2] < 0.005


def test_lazy_short_time_limits_and_dtypes():
    p = two_layer_preset("quad", m=16, alpha=0.3, tau=0.6, a0=4.0)  # gamma0 = 1, teacher
    g2, tau2, norm2 = 1.0, 0.36, float(p.h(1.0))  # phi = sigma: ||phi||^2 = h(1)
    # t_hat = 0: the initial error, f uncorrelated with phi: (tau^2 + ||phi||^2 + g^2 h(1))/2
    assert float(lazy_short_time_error(p, 0.0)) == pytest.approx(
        0.5 * (tau2 + norm2 + g2 * float(p.h(1.0))), abs=1e-12)
    # t_hat -> infinity: the plateau of eq. 2.7 / F.59, and v -> phi_hat'(0)/(g0 h'(0) sqrt m)
    assert float(lazy_short_time_error(p, 1e4)) == pytest.approx(
        float(lazy_plateau_test_error(p)), abs=1e-12)
    assert float(lazy_short_time_overlap(p, 1e4)) == pytest.approx(1 / 4, abs=1e-12)
    assert float(lazy_short_time_overlap(p, 0.0)) == 0.0
    # pure noise reduces to the paper's closed form (tau^2 + g^2 h(1) + g^2 h'(0)(e - 1))/2
    noise = two_layer_preset("quad", m=16, alpha=0.3, tau=0.6, a0=4.0, teacher=False)
    t_hat = jnp.linspace(0.0, 3.0, 7)
    paper = 0.5 * (tau2 + 1.4 + 0.9 * (jnp.exp(-2 * 0.3 * 0.9 * t_hat) - 1))
    np.testing.assert_allclose(lazy_short_time_error(noise, t_hat), paper, rtol=0, atol=1e-12)
    assert lazy_short_time_error(noise, t_hat).dtype == jnp.float64
    assert lazy_short_time_overlap(noise, t_hat).dtype == jnp.float64
    np.testing.assert_array_equal(lazy_short_time_overlap(noise, t_hat), 0.0)
