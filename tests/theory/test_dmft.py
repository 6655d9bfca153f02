"""Gaussian-model DMFT of two-layer gradient flow [P3]: structure, convergence, limits."""

import jax.numpy as jnp
import numpy as np
import pytest

from atypical.problems import TwoLayerGradientFlow, two_layer_preset, TWO_LAYER_KERNELS
from theory.dynamics import dmft as dmft_mod
from theory.dynamics.dmft import DMFTBlowUpError, solve_dmft
from theory.dynamics.dmft_limits import (lazy_plateau_test_error, lazy_short_time_error,
                                solve_mean_field)


@pytest.fixture(scope="module")
def single_index():
    return two_layer_preset("cubic", m=4, alpha=0.3, tau=0.6, a0=1.0)


@pytest.fixture(scope="module")
def pure_noise_unequal():
    c = jnp.asarray(TWO_LAYER_KERNELS["quad_small"])
    return TwoLayerGradientFlow(1.5 / 4, 1.0, c, jnp.zeros_like(c),
                                jnp.array([0.5, 1.0, 1.5, 2.0]))


@pytest.mark.parametrize("scheme", ["euler", "heun"])
def test_symmetric_and_full_solvers_agree(scheme):
    # non-trivial symmetric data: correlated rows, v(0) != 0; same recursion, so only
    # round-off separates them (1e-12)
    p = two_layer_preset("cubic", m=3, alpha=0.4, tau=0.3, a0=0.8, c0_offdiag=0.2, v0=0.1)
    sym = solve_dmft(p, t_max=1.5, dt=0.05, scheme=scheme, symmetric=True)
    full = solve_dmft(p, t_max=1.5, dt=0.05, scheme=scheme)
    np.testing.assert_allclose(sym.full_blocks(sym.C), full.C, rtol=0, atol=1e-12)
    np.testing.assert_allclose(sym.full_blocks(sym.R), full.R, rtol=0, atol=1e-12)
    np.testing.assert_allclose(sym.full_vector(sym.a), full.a, rtol=0, atol=1e-12)
    np.testing.assert_allclose(sym.full_vector(sym.v), full.v, rtol=0, atol=1e-12)
    np.testing.assert_allclose(sym.C_A, full.C_A, rtol=0, atol=1e-12)
    np.testing.assert_allclose(sym.test_error, full.test_error, rtol=0, atol=1e-12)
    for x in (full.C, full.R, full.a, full.C_A, full.R_A, full.train_error, sym.C):
        assert x.dtype == jnp.float64


@pytest.mark.parametrize("scheme", ["euler", "heun"])
def test_structural_identities(pure_noise_unequal, scheme):
    sol = solve_dmft(pure_noise_unequal, t_max=3.0, dt=0.05, scheme=scheme)
    k = np.arange(sol.t.shape[0])
    Ctt = np.asarray(sol.C_equal_time)
    np.testing.assert_array_equal(np.diagonal(Ctt, axis1=1, axis2=2), 1.0)  # C_ii(t,t) = 1
    C = np.asarray(sol.C)
    np.testing.assert_array_equal(C, np.swapaxes(np.swapaxes(C, 0, 1), 2, 3))  # C(t,s)=C(s,t)^T
    R = np.asarray(sol.R)
    eye = np.eye(4)
    if scheme == "heun":  # R(t^+, t) = 1 stored on the diagonal
        np.testing.assert_array_equal(R[k, k], np.broadcast_to(eye, R[k, k].shape))
    else:  # App. D.2 (sign fixed, note section 6.4): R(t + dt, t) = 1, R(t, t) = 0
        np.testing.assert_array_equal(R[k[1:], k[:-1]], np.broadcast_to(eye, (k.size - 1, 4, 4)))
        np.testing.assert_array_equal(R[k, k], 0.0)
    assert np.all(np.triu(np.abs(R).sum(axis=(2, 3)), 1) == 0)  # causality
    e_tr, e_ts = np.asarray(sol.train_error), np.asarray(sol.test_error)
    assert e_tr[0] == pytest.approx(e_ts[0], abs=1e-14)  # train = test at t = 0
    # gradient flow decreases the training loss; the discrete schemes may break it only at
    # O(dt^2) per step, far below 1e-10 here (measured increments all < -1e-4)
    assert np.all(np.diff(e_tr) < 1e-10)
    assert np.all(e_tr > 0)
    assert np.all(np.asarray(sol.Sigma_C) == np.asarray(sol.Sigma_C).T)


def test_convergence_orders(single_index):
    # Richardson: successive differences shrink by 2 (Euler) and 4 (Heun); the ratios are
    # within 10% of that from dt = 0.1 on (measured at t = 2: 2.01 and 4.04 at the coarsest
    # pair); t = 1.2 keeps N <= 48 (two compilations per scheme)
    def at_end(scheme, dt):
        s = solve_dmft(single_index, t_max=1.2, dt=dt, scheme=scheme, symmetric=True)
        return np.array([s.test_error[-1], s.train_error[-1], s.a[-1, 0], s.v[-1, 0]])

    for scheme, order in (("euler", 1), ("heun", 2)):
        x = [at_end(scheme, dt) for dt in (0.1, 0.05, 0.025)]
        ratio = np.abs(x[0] - x[1]) / np.abs(x[1] - x[2])
        np.testing.assert_allclose(ratio, 2.0**order, rtol=0.1)
    # both converge to the same flow: the Richardson extrapolation 2 e(dt/2) - e(dt) of Euler
    # removes its O(dt) term and leaves O(dt^2) ~ 2e-5 (measured) at dt = 0.05; Heun at
    # dt = 0.025 is within 6e-6 of its limit (measured against dt = 0.0125)
    eul = 2 * at_end("euler", 0.025) - at_end("euler", 0.05)
    np.testing.assert_allclose(eul, at_end("heun", 0.025), rtol=0, atol=1e-4)


def test_dmft_matches_tiny_population_limit_at_t0(single_index):
    # dot a(0) is the population gradient alpha [phi_hat(v) - (1/m) sum_l a_l h(C_il)]
    p = single_index
    s = solve_dmft(p, t_max=0.01, dt=0.001, symmetric=True, scheme="heun")
    slope = (float(s.a[1, 0]) - 1.0) / 0.001
    expect = float(p.alpha * (p.phi_hat(0.0) - p.h(1.0) / p.m))
    assert slope == pytest.approx(expect, abs=2e-3)  # O(dt) finite difference of a smooth a(t)


def test_mean_field_limit(single_index):
    # linear fit in 1/m of e_ts(t=3) over m = 16, 32, 64 vs the mean-field ODE (issue: ~2e-3);
    # Heun at dt = 0.05 is converged to 2e-5 here, RK4 at dt = 1e-3 to 1e-12; the residual
    # (measured 1.1e-3) is the O(1/m^2) curvature
    vals = []
    for m in (16, 32, 64):
        p = two_layer_preset("cubic", m=m, alpha=0.3, tau=0.6, a0=1.0)
        vals.append(float(solve_dmft(p, t_max=3.0, dt=0.05, symmetric=True).test_error[-1]))
    slope, intercept = np.polyfit(1 / np.array([16, 32, 64]), vals, 1)
    mf = solve_mean_field(single_index, t_max=3.0)
    assert intercept == pytest.approx(float(mf.error[-1]), abs=2e-3)
    assert slope > 0  # finite m is worse than the mean-field limit at t = 3
    assert mf.error.dtype == jnp.float64
    # the mean-field flow with phi_hat = h goes to (a, v) = (1, 1), the Bayes error tau^2/2;
    # near v = 1 the drift of v is O((1-v)^2), so the approach is algebraic, e - tau^2/2 ~ 1/t
    # (derived; measured 2.0e-5 at t = 400 and 2.0e-6 at t = 4000)
    long = solve_mean_field(single_index, t_max=4000.0, dt=0.05)
    excess = np.asarray(long.error - 0.5 * 0.6**2)
    assert 0 < excess[8000] < 4e-5 and 0 < excess[-1] < 4e-6
    assert abs(float(long.a[-1]) - 1) < 1e-3 and abs(float(long.v[-1]) - 1) < 1e-3


def test_lazy_short_time_closed_form_rate_one_over_m():
    # a = gamma0 sqrt(m), pure noise, t = t_hat/m: DMFT -> e^{lz1}(t_hat) with error ~ 1/m
    t_hat, gaps = 2.0, []
    for m in (32, 64, 128):
        p = two_layer_preset("quad", m=m, alpha=0.3, tau=0.6, a0=np.sqrt(m), teacher=False)
        s = solve_dmft(p, t_max=t_hat / m, dt=t_hat / m / 40, symmetric=True)
        gaps.append([float(s.train_error[-1] - lazy_short_time_error(p, t_hat)),
                     float(s.test_error[-1] - lazy_short_time_error(p, t_hat))])
    gaps = np.abs(np.array(gaps))
    # the gap halves when m doubles (measured ratios 1.9-2.0); 15% covers the O(1/m^2) term
    np.testing.assert_allclose(gaps[:-1] / gaps[1:], 2.0, rtol=0.15)
    # Richardson 2 e(128) - e(64) removes the 1/m term (measured residual 9e-4 for train)
    assert gaps[-1, 0] < 0.03 and gaps[-1, 1] < 0.01


def test_lazy_plateau_formula():
    # pure noise: the plateau is tau^2/2 + gamma0^2 (h(1) - h'(0))/2, the t_hat -> inf limit
    p = two_layer_preset("quad", m=16, alpha=0.3, tau=0.6, a0=4.0, teacher=False)
    assert float(lazy_plateau_test_error(p)) == pytest.approx(
        float(lazy_short_time_error(p, 1e4)), abs=1e-12)


def test_fixed_second_layer(pure_noise_unequal):
    p = TwoLayerGradientFlow(pure_noise_unequal.alpha, 1.0, pure_noise_unequal.sigma_coeffs,
                             pure_noise_unequal.target_coeffs, pure_noise_unequal.a0,
                             train_second_layer=False)
    s = solve_dmft(p, t_max=1.0, dt=0.05)
    np.testing.assert_array_equal(s.a, jnp.broadcast_to(p.a0, s.a.shape))


def test_cache_resumes(tmp_path, single_index, monkeypatch):
    path = str(tmp_path / "dmft.npz")
    ref = solve_dmft(single_index, t_max=1.0, dt=0.05, symmetric=True)
    real, calls = dmft_mod._advance, []

    def interrupted(*args, **kw):
        if calls:
            raise KeyboardInterrupt
        calls.append(1)
        return real(*args, **kw)

    monkeypatch.setattr(dmft_mod, "_advance", interrupted)
    with pytest.raises(KeyboardInterrupt):
        solve_dmft(single_index, t_max=1.0, dt=0.05, symmetric=True, cache=path, chunk=7)
    with np.load(path) as z:
        assert int(z["done"]) == 7
    monkeypatch.setattr(dmft_mod, "_advance", real)
    res = solve_dmft(single_index, t_max=1.0, dt=0.05, symmetric=True, cache=path, chunk=7)
    np.testing.assert_allclose(res.C, ref.C, rtol=0, atol=1e-14)
    np.testing.assert_allclose(res.test_error, ref.test_error, rtol=0, atol=1e-14)


def test_blow_up_error_names_step_and_stiffness():
    p = two_layer_preset("quad", m=16, alpha=0.3, tau=0.6, a0=4.0 * 4.0, teacher=False)
    with pytest.raises(DMFTBlowUpError, match=r"step \d+.*dt = 0\.5.*stiffness"):
        solve_dmft(p, t_max=20.0, dt=0.5, symmetric=True, scheme="euler")


def test_bad_input_errors(single_index, pure_noise_unequal):
    with pytest.raises(ValueError, match="scheme must be one of"):
        solve_dmft(single_index, t_max=1.0, dt=0.1, scheme="rk4")
    with pytest.raises(ValueError, match="dt must be finite and > 0"):
        solve_dmft(single_index, t_max=1.0, dt=-0.1)
    with pytest.raises(ValueError, match="t_max must be finite"):
        solve_dmft(single_index, t_max=0.01, dt=0.1)
    with pytest.raises(ValueError, match="not permutation symmetric"):
        solve_dmft(pure_noise_unequal, t_max=1.0, dt=0.1, symmetric=True)
    with pytest.raises(Exception, match="alpha = P/N must be finite and > 0"):
        two_layer_preset("cubic", m=4, alpha=0.0, tau=0.6, a0=1.0)
    with pytest.raises(Exception, match="tau must be finite and >= 0"):
        two_layer_preset("cubic", m=4, alpha=0.3, tau=-1.0, a0=1.0)
    with pytest.raises(Exception, match="positive semi-definite"):
        two_layer_preset("cubic", m=4, alpha=0.3, tau=0.6, a0=1.0, c0_offdiag=-0.5)
    with pytest.raises(Exception, match="sigma must be centred"):
        TwoLayerGradientFlow(0.3, 0.5, jnp.array([0.1, 1.0]), jnp.array([0.0, 1.0]),
                             jnp.ones(2))
    with pytest.raises(ValueError, match="kernel must be one of"):
        two_layer_preset("relu", m=4, alpha=0.3, tau=0.6, a0=1.0)


def test_euler_matches_independent_numpy_recursion():
    # the straightforward NumPy loop of App. D.1 kept in benchmarks/ (written from the note,
    # not from theory/dmft.py): same Euler recursion, so only round-off separates them
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_dmft.py"
    spec = importlib.util.spec_from_file_location("bench_dmft", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    c = jnp.asarray(TWO_LAYER_KERNELS["cubic"])
    p = TwoLayerGradientFlow(0.4, 0.3, c, 0.8 * c, jnp.array([0.7, 1.2, -0.4]),
                             0.9 * jnp.eye(3) + 0.1, jnp.array([0.1, 0.0, -0.2]))
    ref = bench.dmft_euler_numpy(p, t_max=1.5, dt=0.05)
    sol = solve_dmft(p, t_max=1.5, dt=0.05, scheme="euler")
    np.testing.assert_allclose(sol.C, ref["C"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(sol.a, ref["a"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(sol.train_error, ref["train_error"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(sol.test_error, ref["test_error"], rtol=0, atol=1e-12)
