"""Projected GD of two-layer networks and of the Gaussian model, and overlays on the DMFT."""

import math

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

from atypical.problems import TWO_LAYER_KERNELS, TwoLayerGradientFlow, two_layer_preset
from sim.two_layer import (hermite_degrees, two_layer_features, gaussian_grad, hermite_series,
                           init_two_layer, mean_sem, sample_two_layer, train_two_layer)
from theory.dynamics.dmft import solve_dmft


def _pure_noise_unequal():
    # issue 5: pure noise, tau = 1, m = 4, n/d = 1.5, h = 0.1 q + q^2/2, unequal a(0)
    c = jnp.asarray(TWO_LAYER_KERNELS["quad_small"])
    return TwoLayerGradientFlow(1.5 / 4, 1.0, c, jnp.zeros_like(c),
                                jnp.array([0.5, 1.0, 1.5, 2.0]))


def test_hermite_series_matches_numpy():
    z = np.linspace(-3, 3, 13)
    c = np.array([0.0, 0.3, -0.7, 0.2])
    ref = np.polynomial.hermite_e.hermeval(z, c / np.sqrt([1, 1, 2, 6]))
    np.testing.assert_allclose(hermite_series(jnp.asarray(z), jnp.asarray(c)), ref, atol=1e-13)


def test_gaussian_model_gradient_matches_autodiff():
    c = jnp.asarray(TWO_LAYER_KERNELS["cubic"])  # degrees 1 and 3, plus a degree-2 target
    f = jnp.array([0.0, 0.5, 0.4, 0.3])
    p = TwoLayerGradientFlow(0.5, 0.3, c, f, jnp.array([0.5, -1.0, 2.0]))
    W, u = init_two_layer(jr.key(1), p, d=9, init="uniform", dtype=jnp.float64)
    data = sample_two_layer(jr.key(2), p, u, model="gaussian", d=9, dtype=jnp.float64)
    m = p.m

    def loss(params):
        a, W_ = params
        return 0.5 * jnp.mean((data.y - two_layer_features(data, W_, c, "gaussian") @ a / m) ** 2)

    ga, gW = jax.jit(jax.grad(loss))((p.a0, W))  # jit: one compilation, not one per op
    ha, hW = jax.jit(gaussian_grad, static_argnums=4)(data, p.a0, W, c, hermite_degrees(p))
    np.testing.assert_allclose(ha, ga, atol=1e-13)  # float64 round-off
    np.testing.assert_allclose(hW, gW, atol=1e-13)


def test_orthogonal_init_has_exact_overlaps():
    p = two_layer_preset("quad", m=3, alpha=0.3, tau=0.5, a0=1.0, c0_offdiag=0.3, v0=0.2)
    W, u = init_two_layer(jr.key(0), p, d=50, init="orthogonal", dtype=jnp.float32)
    assert W.dtype == jnp.float32 and W.shape == (3, 50)
    np.testing.assert_allclose(W @ W.T, p.C0, atol=1e-6)  # float32 round-off
    np.testing.assert_allclose(W @ u, p.v0, atol=1e-6)


def test_test_error_formula_matches_fresh_samples():
    # J.10 is exact for unit rows: compare with a Monte-Carlo estimate on 4e5 fresh inputs
    p = two_layer_preset("cubic", m=3, alpha=0.5, tau=0.4, a0=jnp.array([0.5, 1.5, -1.0]))
    W, u = init_two_layer(jr.key(3), p, d=20, init="uniform", dtype=jnp.float64)
    x = jr.normal(jr.key(4), (400_000, 20), jnp.float64)
    y = hermite_series(x @ u, p.target_coeffs) + 0.4 * jr.normal(jr.key(5), (400_000,),
                                                                 jnp.float64)
    err = 0.5 * (y - hermite_series(x @ W.T, p.sigma_coeffs) @ p.a0 / 3) ** 2
    Cww, v = W @ W.T, W @ u
    exact = 0.5 * (0.4**2 + p.phi_norm2 - 2 * jnp.sum(p.a0 * p.phi_hat(v)) / 3
                   + p.a0 @ p.h(Cww) @ p.a0 / 9)
    sem = float(jnp.std(err) / math.sqrt(err.shape[0]))
    assert abs(float(jnp.mean(err) - exact)) < 4 * sem


def test_seed_batches_equal_one_vmap_and_dtypes():
    p = two_layer_preset("quad", m=2, alpha=0.5, tau=0.3, a0=1.0)
    kw = dict(model="gaussian", d=16, t_max=0.4, dt=0.1, n_seeds=3)
    full = train_two_layer(jr.key(0), p, **kw)
    batched = train_two_layer(jr.key(0), p, seed_batch=1, **kw)
    np.testing.assert_allclose(full.test_error, batched.test_error, rtol=1e-6)
    np.testing.assert_allclose(full.a, batched.a, rtol=1e-6)
    assert full.train_error.shape == (3, 5) and full.a.shape == (3, 5, 2)
    for x in (full.train_error, full.test_error, full.a, full.v, full.C_o):
        assert x.dtype == jnp.float32
    assert full.t.dtype == jnp.float64
    mean, sem = mean_sem(full.test_error)
    assert mean.shape == sem.shape == (5,)


def test_bad_input_errors():
    p = two_layer_preset("cubic", m=4, alpha=0.3, tau=0.3, a0=1.0)
    with pytest.raises(ValueError, match="model must be one of"):
        train_two_layer(jr.key(0), p, model="mlp", d=10, t_max=1, dt=0.1, n_seeds=1)
    with pytest.raises(ValueError, match="d must be an integer >= m"):
        train_two_layer(jr.key(0), p, model="network", d=3, t_max=1, dt=0.1, n_seeds=1)
    with pytest.raises(ValueError, match="elements per seed"):
        train_two_layer(jr.key(0), p, model="gaussian", d=400, t_max=1, dt=0.1, n_seeds=1)
    with pytest.raises(ValueError, match="init must be one of"):
        train_two_layer(jr.key(0), p, model="network", d=10, t_max=1, dt=0.1, n_seeds=1,
                        init="he")


def _overlay(problem, *, model, d, seeds, t_max=5.0, key=3):
    """GD at dt = 0.02 recorded every 0.5 against Heun DMFT at dt = 0.05 on the same times.
    GD's own O(dt) error is below 1e-4 here (dt = 0.01 and 0.005 agree to 1e-4, measured)."""
    sol = solve_dmft(problem, t_max=t_max, dt=0.05, symmetric=problem.is_symmetric)
    traj = train_two_layer(jr.key(key), problem, model=model, d=d, t_max=t_max, dt=0.02,
                           n_seeds=seeds, record_every=25)
    return sol, traj


def _assert_within(sim, theory, *, n_se, allowance, skip_t0=False):
    mean, sem = (np.asarray(x) for x in mean_sem(sim))
    theory = np.asarray(theory)
    sl = slice(1, None) if skip_t0 else slice(None)
    gap = np.abs(mean - theory)[sl]
    assert np.all(gap <= n_se * sem[sl] + allowance), (gap, sem[sl])


_TRAIN_GAP = ("open question: the train-error gap at t = 5 (sim - DMFT) measured 0.0090, 0.0051, "
              "0.0040, 0.0043 (+-0.0012-0.0022) at d = 50, 100, 150, 200 does not fall like 1/d "
              "as the test-error gap does; at d = 200 it exceeds 3 SE (32 seeds)")


@pytest.mark.parametrize("d", [100, pytest.param(200, marks=[
    pytest.mark.slow, pytest.mark.xfail(reason=_TRAIN_GAP, strict=True)])])
def test_full_dmft_matches_gaussian_model_gd_pure_noise(d):
    # 32 seeds: with 16 the 3-SE band on a_i(5) (SE 0.015) is as wide as "a few hundredths"
    sol, traj = _overlay(_pure_noise_unequal(), model="gaussian", d=d, seeds=32)
    every = 10  # records every 0.5 = 10 DMFT steps
    # test error: 3 SE plus the finite-d bias, measured ~0.37/d at t = 5 (sim - DMFT at
    # d = 25, 50, 100 with 64 seeds: 0.0151, 0.0066, 0.0038) and smaller before
    _assert_within(traj.test_error, sol.test_error[::every], n_se=3, allowance=0.4 / d,
                   skip_t0=True)  # t = 0 is exact up to float32 round-off
    _assert_within(traj.train_error, sol.train_error[::every], n_se=3, allowance=0.0)
    # a_i within 3 SE and a few hundredths (issue): seed-to-seed spread of a_i(5) ~0.06 at
    # d = 100; with 64 seeds the measured |gap| is <= 0.015 (d = 100) and 0.007 (d = 200)
    _assert_within(traj.a, sol.a[::every], n_se=3, allowance=0.0, skip_t0=True)
    mean_a, _ = mean_sem(traj.a)
    np.testing.assert_allclose(mean_a, sol.a[::every], atol=0.05)


@pytest.mark.parametrize("d", [100, pytest.param(200, marks=pytest.mark.slow)])
def test_symmetric_dmft_matches_gaussian_model_gd_single_index(d):
    # issue 5: m = 4, a0 = 1, tau = 0.6, alpha = 0.3; h = phi_hat = 0.9 q + q^2/2 (degree <= 2
    # tensors); measured |z| < 1 at d = 200 for every t, so no finite-d allowance is used
    p = two_layer_preset("quad", m=4, alpha=0.3, tau=0.6, a0=1.0)
    sol, traj = _overlay(p, model="gaussian", d=d, seeds=16)
    _assert_within(traj.test_error, sol.test_error[::10], n_se=3, allowance=0.0, skip_t0=True)
    _assert_within(traj.train_error, sol.train_error[::10], n_se=3, allowance=0.0)
    _assert_within(traj.v.mean(axis=-1), sol.v[::10, 0], n_se=3, allowance=0.0, skip_t0=True)


def test_linear_network_is_the_gaussian_model():
    # linear sigma and target: the real network is exactly the Gaussian model, so network GD
    # at d = 1000 matches the DMFT within 3 SE (measured |z| < 1 for t = 0.5..5)
    p = two_layer_preset("linear", m=4, alpha=0.3, tau=0.6, a0=1.0)
    sol, traj = _overlay(p, model="network", d=1000, seeds=16)
    _assert_within(traj.test_error, sol.test_error[::10], n_se=3, allowance=0.0, skip_t0=True)
    _assert_within(traj.train_error, sol.train_error[::10], n_se=3, allowance=0.0)
    _assert_within(traj.v.mean(axis=-1), sol.v[::10, 0], n_se=3, allowance=0.0, skip_t0=True)
    _assert_within(traj.a.mean(axis=-1), sol.a[::10, 0], n_se=3, allowance=0.0, skip_t0=True)
