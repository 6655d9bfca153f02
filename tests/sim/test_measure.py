"""Measurements: stabilities against NumPy, teacher overlaps and errors, local energy by
actual flips against the large-N formula, mean/sem."""

import math

import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

from atypical import BinaryStorage, TeacherStudent
from sim.data import sample_storage, sample_teacher_student, sample_test_set
from sim.measure import (flip_random_weights, gen_error, local_energy_by_flips,
                         local_energy_large_N, mean_sem, stabilities, teacher_overlap,
                         test_error, training_error)


@pytest.fixture(scope="module")
def teacher_data():
    """Teacher-student at alpha = 1, N = 1001: the teacher is a zero-error solution."""
    return sample_teacher_student(jr.key(0), TeacherStudent(1.0), 1001)


def test_stabilities_against_numpy():
    data = sample_storage(jr.key(1), BinaryStorage(0.5), 40)
    W = jr.rademacher(jr.key(2), (40,), jnp.float32)
    stab = stabilities(W, data)
    assert stab.dtype == jnp.float32 and stab.shape == (20,)
    xi, y = np.asarray(data.xi, np.float64), np.asarray(data.y, np.float64)
    expected = y * (xi @ np.asarray(W, np.float64)) / np.sqrt(40)
    np.testing.assert_allclose(np.asarray(stab), expected, rtol=0, atol=1e-5)  # float32 sums
    # 12 of 20 wrong: float32(0.6) exactly (no stability within 1e-5 of 0 for this key)
    assert float(training_error(W, data)) == pytest.approx(np.mean(expected < 0), rel=1e-7)


def test_teacher_overlap_and_errors(teacher_data):
    W_T = teacher_data.W_T
    assert float(training_error(W_T, teacher_data)) == 0.0
    assert float(teacher_overlap(W_T, W_T)) == 1.0
    assert float(gen_error(W_T, W_T)) == 0.0
    assert float(gen_error(-W_T, W_T)) == pytest.approx(1.0, abs=1e-6)  # arccos(-1)/pi
    assert gen_error(W_T, W_T).dtype == jnp.float32


def test_empirical_test_error_matches_arccos_formula(teacher_data):
    # a student at Hamming fraction 0.2 from the teacher: R = 0.6, eps = arccos(0.6)/pi
    W = flip_random_weights(jr.key(3), teacher_data.W_T, 0.2)
    assert int(jnp.sum(W != teacher_data.W_T)) == round(0.2 * 1001)  # exactly round(dN)
    eps = float(gen_error(W, teacher_data.W_T))
    test = sample_test_set(jr.key(4), teacher_data.W_T, 20000)
    measured = float(test_error(W, test))
    # binomial standard error on 20000 test examples; 4 sigma
    assert abs(measured - eps) < 4 * math.sqrt(eps * (1 - eps) / 20000)


def test_local_energy_flips_agree_with_formula(teacher_data):
    """Flipping round(dN) weights: Delta' = Delta - 2u with u a sum over the flipped set,
    mean d Delta and variance 4 d(1-d) |xi|^2/N, Gaussian at large N."""
    W = teacher_data.W_T
    d = jnp.array([0.01, 0.05, 0.2, 0.5], jnp.float32)
    samples = local_energy_by_flips(jr.key(5), W, teacher_data, d, 200)
    assert samples.shape == (4, 200) and samples.dtype == jnp.float32
    mean, sem, n = mean_sem(samples, axis=-1)
    assert n == 200
    # the formula at the Hamming fraction actually realized, round(dN)/N
    d_eff = jnp.round(d * 1001) / 1001
    formula = local_energy_large_N(W, teacher_data, d_eff)
    assert formula.dtype == jnp.float32
    # statistical: 4 sem of the flip samples. Finite N (1001): |xi_mu|^2/N fluctuates by
    # sqrt(2/N) = 4.5% per example, entering dE at second order (~0.1% relative), and the
    # flipped sum is not exactly Gaussian for 10 flips: allow 1% of dE on top.
    np.testing.assert_array_less(np.abs(np.asarray(mean - formula)),
                                 np.asarray(4 * sem + 0.01 * formula))


def test_local_energy_shapes_follow_d(teacher_data):
    d = jnp.array([[0.1, 0.2, 0.3], [0.4, 0.45, 0.5]], jnp.float32)
    samples = local_energy_by_flips(jr.key(6), teacher_data.W_T, teacher_data, d, 3)
    assert samples.shape == (2, 3, 3)
    assert local_energy_large_N(teacher_data.W_T, teacher_data, d).shape == (2, 3)


def test_mean_sem_against_numpy():
    x = jr.normal(jr.key(7), (5, 30), jnp.float32)
    mean, sem, n = mean_sem(x, axis=1)
    xn = np.asarray(x, np.float64)
    assert n == 30 and mean.dtype == jnp.float32
    np.testing.assert_allclose(np.asarray(mean), xn.mean(1), atol=1e-6)  # float32 rounding
    np.testing.assert_allclose(np.asarray(sem), xn.std(1, ddof=1) / np.sqrt(30), atol=1e-6)
    flags_mean, _, _ = mean_sem(jnp.array([True, False, True, True]))
    assert float(flags_mean) == 0.75


@pytest.mark.parametrize("d", [0.0, 0.6, -0.1])
def test_bad_d(teacher_data, d):
    with pytest.raises(Exception, match=r"must lie in \(0, 1/2\]"):
        local_energy_by_flips(jr.key(0), teacher_data.W_T, teacher_data, d, 2)
    with pytest.raises(Exception, match=r"must lie in \(0, 1/2\]"):
        local_energy_large_N(teacher_data.W_T, teacher_data, d)


def test_shape_errors(teacher_data):
    with pytest.raises(ValueError, match="W has shape"):
        stabilities(jnp.ones(5, jnp.float32), teacher_data)
    with pytest.raises(ValueError, match="n_samples"):
        local_energy_by_flips(jr.key(0), teacher_data.W_T, teacher_data, 0.1, 0)


@pytest.mark.slow
def test_local_energy_of_an_sgd_solution_agrees_with_formula():
    from sim.sgd import SGDConfig, train_replicas

    data = sample_storage(jr.key(0), BinaryStorage(0.5), 1001)
    result = train_replicas(jr.key(1), data, SGDConfig(), 1)
    assert bool(result.solved[0])
    W = result.W[0]
    d = jnp.array([0.02, 0.1, 0.3], jnp.float32)
    mean, sem, _ = mean_sem(local_energy_by_flips(jr.key(2), W, data, d, 300), axis=-1)
    formula = local_energy_large_N(W, data, jnp.round(d * 1001) / 1001)
    # same allowance as the teacher test: 4 sem + 1% finite-N (second-order) effects
    np.testing.assert_array_less(np.abs(np.asarray(mean - formula)),
                                 np.asarray(4 * sem + 0.01 * formula))
