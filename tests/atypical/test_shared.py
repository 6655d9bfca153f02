"""Shared layer: stable special functions, quadrature, problem specs, observables, cache."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import special, stats

import atypical
from atypical import observables as obs
from atypical.gaussian import gauss_mean, gauss_nodes, gaussian_over_H
from atypical.results import ResultsCache


def test_log_H_matches_scipy_including_far_tail():
    x = np.array([-30.0, -3.0, 0.0, 2.0, 10.0, 38.0, 100.0])
    ref = stats.norm.logsf(x)  # scipy's log survival function, independent implementation
    np.testing.assert_allclose(atypical.log_H(x), ref, rtol=1e-12)
    assert atypical.log_H(x).dtype == jnp.float64


def test_gaussian_over_H_is_minus_derivative_of_log_H():
    x = jnp.array([-5.0, 0.0, 3.0, 30.0])
    np.testing.assert_allclose(gaussian_over_H(x), -jax.vmap(jax.grad(atypical.log_H))(x),
                               rtol=1e-12)


def test_log_2cosh_no_overflow():
    x = jnp.array([-800.0, -1.0, 0.0, 2.0, 800.0])
    expected = np.where(np.abs(x) > 20, np.abs(x), np.log(2 * np.cosh(np.clip(x, -20, 20))))
    np.testing.assert_allclose(atypical.log_2cosh(x), expected, rtol=1e-14)


@pytest.mark.parametrize("rule, n", [("trapezoid", 1001), ("hermite", 60)])
def test_gauss_mean_moments(rule, n):
    # Gaussian moments E z^{2k} = (2k-1)!!; both rules are exact to rounding here
    for k, moment in [(0, 1.0), (1, 1.0), (2, 3.0), (3, 15.0)]:
        value = gauss_mean(lambda z: z ** (2 * k), n, rule=rule)
        assert value == pytest.approx(moment, rel=1e-12)


def test_trapezoid_resolves_boundary_layer():
    # E_z H(-a z) ln H(-a z) at q = 0.99 (a = sqrt(q/(1-q))): a scipy adaptive quadrature
    # of the same integral is the reference
    a = np.sqrt(0.99 / 0.01)
    f = lambda z: stats.norm.pdf(z) * stats.norm.sf(-a * z) * stats.norm.logsf(-a * z)
    ref = sum(__import__("scipy").integrate.quad(f, lo, hi, limit=200)[0]
              for lo, hi in [(-12, -0.5), (-0.5, 0.5), (0.5, 12)])
    value = gauss_mean(lambda z: atypical.H(-a * z) * atypical.log_H(-a * z))
    assert value == pytest.approx(ref, rel=1e-9)


def test_gauss_nodes_rejects_bad_rule():
    with pytest.raises(ValueError, match="rule must be"):
        gauss_nodes(10, rule="simpson")
    with pytest.raises(ValueError, match="<= 150 for Gauss-Hermite"):
        gauss_nodes(400, rule="hermite")


def test_problem_specs_validate_and_vmap():
    with pytest.raises(Exception, match="alpha = P/N must be finite and > 0"):
        atypical.BinaryStorage(-0.5)
    with pytest.raises(Exception, match="alpha = P/N must be finite and > 0"):
        atypical.TeacherStudent(0.0)
    with pytest.raises(Exception, match="kappa must be finite"):
        atypical.BinaryStorage(0.5, jnp.inf)
    alphas = jax.vmap(lambda a: atypical.BinaryStorage(a, 0.0).alpha)(jnp.array([0.1, 0.2]))
    assert alphas.dtype == jnp.float64 and alphas.shape == (2,)


def test_gen_error_and_hamming():
    np.testing.assert_allclose(atypical.gen_error_from_overlap(jnp.array([1.0, 0.0, -1.0])),
                               [0.0, 0.5, 1.0], atol=1e-15)
    d = jnp.array([0.0, 0.1, 0.5])
    np.testing.assert_allclose(obs.overlap_to_hamming(atypical.hamming_to_overlap(d)), d)


def test_hamming_shell_entropy_counts_configurations():
    assert float(obs.hamming_shell_entropy(0.5)) == pytest.approx(np.log(2), rel=1e-15)
    # ln C(N, dN) / N = H(d) - ln(2 pi N d(1-d)) / (2N) + O(1/N^2) (Stirling), N = 10^6
    N, d = 1_000_000, 0.01
    exact = (special.gammaln(N + 1) - special.gammaln(d * N + 1)
             - special.gammaln(N - d * N + 1)) / N
    stirling = np.log(2 * np.pi * N * d * (1 - d)) / (2 * N)
    assert float(obs.hamming_shell_entropy(d)) == pytest.approx(exact + stirling, abs=1e-10)
    assert float(obs.hamming_shell_entropy(d)) == pytest.approx(0.0560015, rel=1e-6)


def test_bayes_optimal_gen_error_monte_carlo():
    """Teacher field u and posterior-mean field v with Var u = 1, Cov(u, v) = Var v = q
    (Nishimori line): P(sign u != sign v) by 1e6 draws (standard error < 5e-4) against
    arccos(sqrt q)/pi, which lies below the Gibbs error arccos(q)/pi."""
    rng = np.random.default_rng(1)
    q = 0.6
    u = rng.standard_normal(1_000_000)
    v = q * u + np.sqrt(q - q**2) * rng.standard_normal(u.size)
    assert abs(np.mean(np.sign(u) != np.sign(v)) - float(obs.bayes_optimal_gen_error(q))) < 2e-3
    assert obs.bayes_optimal_gen_error(q) < atypical.gen_error_from_overlap(q)


def test_local_energy_matches_direct_flip_model():
    # Delta' = (1-2d) Delta + 2 sqrt(d(1-d)) z: Monte Carlo with 2e6 draws has
    # standard error < 4e-4 on an error probability
    rng = np.random.default_rng(0)
    delta = rng.exponential(1.0, size=2000)
    d = 0.05
    z = rng.standard_normal((1000, delta.size))
    mc = np.mean((1 - 2 * d) * delta + 2 * np.sqrt(d * (1 - d)) * z < 0)
    value = atypical.local_energy(jnp.asarray(delta), d)
    assert value == pytest.approx(mc, abs=4 * 4e-4)
    assert value.dtype == jnp.float64


def test_local_energy_subtracts_training_errors_and_checks_d():
    delta = jnp.array([-1.0, 1.0])
    small = atypical.local_energy(delta, 1e-8)
    assert small == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(Exception, match=r"must lie in \(0, 1/2\]"):
        atypical.local_energy(delta, 0.7)
    with pytest.raises(Exception, match=r"must lie in \(0, 1/2\]"):
        atypical.local_energy(delta, 0.0)


def test_train_error_dtype_follows_input():
    s = jnp.array([[-1.0, 2.0, 3.0, -0.5]], dtype=jnp.float32)
    e = atypical.train_error(s)
    assert e.dtype == jnp.float32 and float(e[0]) == 0.5


def test_results_cache_resumes(tmp_path):
    cache = ResultsCache(tmp_path)
    calls = []
    compute = lambda: calls.append(1) or {"x": [1.0, 2.0]}
    assert cache.get_or_compute("pt", {"alpha": 0.5}, compute) == {"x": [1.0, 2.0]}
    assert cache.get_or_compute("pt", {"alpha": 0.5}, compute) == {"x": [1.0, 2.0]}
    cache.get_or_compute("pt", {"alpha": 0.6}, compute)
    assert len(calls) == 2


def test_local_energy_broadcasts_batched_d():
    delta = jnp.array([0.5, 1.0, 2.0])
    d = jnp.array([[0.1, 0.2], [0.3, 0.5]])
    batched = atypical.local_energy(delta, d)
    assert batched.shape == (2, 2)
    assert float(batched[1, 0]) == pytest.approx(float(atypical.local_energy(delta, 0.3)))
    assert float(batched[1, 1]) == pytest.approx(0.5)  # d = 1/2: a random guess
