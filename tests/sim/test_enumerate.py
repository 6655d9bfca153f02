"""Exact enumeration against an itertools reference, exact identities and limits."""

import itertools
import math

import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

from atypical import BinaryStorage, TeacherStudent, gen_error_from_overlap
from sim.data import Dataset, sample_storage
from sim.enumerate import (configuration, configuration_margins, enumerate_instances,
                           enumerate_solutions, sample_instances)


def _numpy_data(seed, P, N, *, teacher):
    """float64 Gaussian data from NumPy (no JAX sampler to compile for every shape)."""
    rng = np.random.default_rng(seed)
    xi = rng.standard_normal((P, N))
    if not teacher:
        return Dataset(jnp.asarray(xi), jnp.asarray(rng.choice([-1.0, 1.0], P)))
    W_T = rng.choice([-1.0, 1.0], N)
    return Dataset(jnp.asarray(xi), jnp.asarray(np.where(xi @ W_T >= 0, 1.0, -1.0)),
                   jnp.asarray(W_T))


def _brute_force(data, kappa):
    """All 2^N weight vectors by itertools, stabilities in float64 NumPy."""
    xi, y = np.asarray(data.xi, np.float64), np.asarray(data.y, np.float64)
    N = xi.shape[1]
    W = np.array(list(itertools.product([-1.0, 1.0], repeat=N)))
    ok = np.all(y * (W @ xi.T) / np.sqrt(N) >= kappa, axis=1)
    return W[ok]


# few distinct shapes (N, P): each costs a compilation, kappa is traced and costs none
@pytest.mark.parametrize("N", [2, 7, 10])
@pytest.mark.parametrize("alpha, kappa", [(0.6, 0.0), (0.6, 0.3), (0.6, -0.4), (1.0, 0.0)])
def test_storage_counts_equal_brute_force(N, alpha, kappa):
    # float64 data: the meet-in-the-middle sums differ from the reference only by ~1e-16,
    # so no stability lands on the other side of kappa and the counts must match exactly
    data = _numpy_data(N, round(alpha * N), N, teacher=False)
    count, hist = enumerate_solutions(data, kappa)
    assert hist is None and count.dtype == jnp.int32
    assert int(count) == len(_brute_force(data, kappa))


@pytest.mark.parametrize("N", [5, 10])
@pytest.mark.parametrize("kappa", [0.0, 0.5, -0.3])
def test_teacher_student_counts_and_agreements_equal_brute_force(N, kappa):
    data = _numpy_data(N, round(1.2 * N), N, teacher=True)
    count, hist = enumerate_solutions(data, kappa)
    W = _brute_force(data, kappa)
    agreements = (W == np.asarray(data.W_T)[None]).sum(axis=1)
    assert int(count) == len(W)
    np.testing.assert_array_equal(np.asarray(hist), np.bincount(agreements, minlength=N + 1))


def test_float32_default_matches_reference():
    # float32 data summed in another order: a flip of a solution needs a stability within
    # ~1e-6 of kappa, probability ~1e-6 * 2^10 * 10 ~ 1e-2 for this fixed key (checked)
    data = sample_storage(jr.key(7), BinaryStorage(0.6), 10)
    assert data.xi.dtype == jnp.float32
    assert int(enumerate_solutions(data)[0]) == len(_brute_force(data, 0.0))


def test_chunk_size_does_not_change_counts():
    data = _numpy_data(1, 8, 16, teacher=True)
    ref = enumerate_solutions(data, chunk_size=2**16)
    for chunk in (1, 2**10):  # one row per chunk; several rows per chunk
        count, hist = enumerate_solutions(data, chunk_size=chunk)
        assert int(count) == int(ref[0])
        np.testing.assert_array_equal(np.asarray(hist), np.asarray(ref[1]))


def test_one_pattern_halves_the_cube():
    # P = 1, kappa = 0: exactly one of W, -W has Delta >= 0 (Delta = 0 has probability 0)
    N = 20
    result = enumerate_instances(jr.key(0), BinaryStorage(1 / N), N, 3)
    np.testing.assert_array_equal(np.asarray(result.counts), 2 ** (N - 1))
    assert result.sat_fraction == 1.0
    assert result.mean_entropy == pytest.approx(math.log(2) * (N - 1) / N, rel=1e-12)


def test_annealed_count_is_exact_on_average():
    # For any fixed W the P stabilities are iid symmetric, so E[#solutions] = 2^(N-P)
    # exactly at kappa = 0. 40 instances: compare within 4 standard errors.
    N, alpha = 14, 4 / 14
    counts = np.asarray(enumerate_instances(jr.key(3), BinaryStorage(alpha), N, 40).counts)
    sem = counts.std(ddof=1) / np.sqrt(counts.size)
    assert abs(counts.mean() - 2 ** (N - 4)) < 4 * sem


def test_entropy_decreases_with_alpha_and_tends_to_ln2():
    N, n = 12, 12
    stats = [enumerate_instances(jr.key(5), BinaryStorage(a), N, n).entropy_stats
             for a in (0.15, 0.4, 0.7)]
    for (m1, s1, _), (m2, s2, _) in zip(stats, stats[1:]):
        assert m1 - m2 > 4 * math.hypot(s1, s2)  # each step is a clear decrease
    # small alpha (P = 2): ln(#)/N at most ln 2 (1 - 1/N) (one pattern halves the cube),
    # close to the annealed value ln 2 (1 - P/N) = 0.578
    assert math.log(2) * (1 - 2 / N) - 0.05 < stats[0][0] <= math.log(2) * (1 - 1 / N)


def test_teacher_student_summaries():
    N, n = 12, 6
    result = enumerate_instances(jr.key(2), TeacherStudent(1.0), N, n)
    counts, hist = np.asarray(result.counts), np.asarray(result.agreements)
    assert result.counts.dtype == jnp.int32 and result.agreements.shape == (n, N + 1)
    assert result.sat_fraction == 1.0  # the teacher itself is a solution at kappa = 0
    assert np.all(hist[:, N] >= 1)  # ... the one agreeing on all N weights
    np.testing.assert_array_equal(hist.sum(axis=1), counts)
    # Gibbs error per instance: mean of arccos(R)/pi over solutions, recomputed here
    data = sample_instances(jr.key(2), TeacherStudent(1.0), N, n, dtype=jnp.float32)
    for i in range(n):
        W = _brute_force(type(data)(data.xi[i], data.y[i], data.W_T[i]), 0.0)
        R = W @ np.asarray(data.W_T[i], np.float64) / N
        expected = np.mean(np.asarray(gen_error_from_overlap(jnp.asarray(R))))
        # 1e-12: the same float64 arccos, summed over the histogram instead of solutions
        assert result.gibbs_gen_errors[i] == pytest.approx(expected, abs=1e-12)
    mean, sem, count = result.gibbs_gen_error_stats
    assert count == n and 0 < mean < 0.5 and sem > 0


def test_unsatisfiable_instances_are_excluded_from_the_entropy():
    # the data of test_entropy_decreases... at alpha = 0.7: instance 3 has no solution
    result = enumerate_instances(jr.key(5), BinaryStorage(0.7), 12, 12)
    counts = np.asarray(result.counts)
    assert 0 < result.sat_fraction < 1
    assert result.sat_fraction == pytest.approx(np.mean(counts > 0))
    assert result.entropy_stats[2] == int(np.sum(counts > 0))


@pytest.mark.parametrize("N, teacher", [(7, False), (10, True)])
def test_configuration_margins_equal_brute_force(N, teacher):
    data = _numpy_data(3, round(0.8 * N), N, teacher=teacher)
    margins = np.asarray(configuration_margins(data))
    s = np.stack([configuration(N, r) for r in range(2**N)])  # s = W * W_T with a teacher
    W = s * np.asarray(data.W_T)[None] if teacher else s
    xi, y = np.asarray(data.xi), np.asarray(data.y)
    np.testing.assert_allclose(margins, (y * (W @ xi.T) / np.sqrt(N)).min(axis=1), atol=1e-12)
    assert len({tuple(w) for w in s}) == 2**N  # every configuration exactly once
    assert int(np.sum(margins >= 0)) == int(enumerate_solutions(data)[0])


def test_errors():
    data = sample_storage(jr.key(0), BinaryStorage(0.5), 30)
    message = r"enumerate_solutions\(N=30\): N must be <= 25 \(2\*\*N configurations\)"
    with pytest.raises(ValueError, match=message):
        enumerate_solutions(data)
    with pytest.raises(ValueError, match="N must be <= 25"):
        enumerate_instances(jr.key(0), BinaryStorage(0.5), 26, 1)
    with pytest.raises(ValueError, match="chunk_size"):
        enumerate_solutions(sample_storage(jr.key(0), BinaryStorage(0.6), 10), chunk_size=3)
    with pytest.raises(ValueError, match=r"configuration_margins\(N=30\)"):
        configuration_margins(data)
    with pytest.raises(ValueError, match=r"r must lie in \[0, 2\*\*N\)"):
        configuration(4, 16)
    with pytest.raises(ValueError, match="only teacher-student"):
        enumerate_instances(jr.key(0), BinaryStorage(0.15), 12, 12).gibbs_gen_errors


@pytest.mark.slow
def test_benchmark_quick_mode_runs():
    import os
    import pathlib
    import subprocess
    import sys

    bench = pathlib.Path(__file__).parents[2] / "benchmarks"
    done = subprocess.run([sys.executable, "bench_enumeration.py", "--quick"], cwd=bench,
                          capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTHONPATH": str(bench.parent)})
    assert done.returncode == 0, done.stderr
    assert "cfg*pat/s" in done.stdout


@pytest.mark.slow
def test_entropy_at_N_20_against_annealed_bound():
    # E[#] = 2^(N-P) exactly (see test_annealed_count_is_exact_on_average), so by Jensen
    # the mean entropy lies below ln 2 (1 - alpha) + O(1/N) and the mean count matches
    N, alpha, n = 20, 0.5, 16
    result = enumerate_instances(jr.key(11), BinaryStorage(alpha), N, n)
    counts = np.asarray(result.counts, np.float64)
    sem = counts.std(ddof=1) / np.sqrt(n)
    assert abs(counts.mean() - 2.0 ** (N - 10)) < 4 * sem
    assert result.mean_entropy < math.log(2) * (1 - alpha) + 1 / N
