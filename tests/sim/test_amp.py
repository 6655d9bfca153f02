"""AMP for the Bayes-optimal teacher-student perceptron against its state evolution."""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

from atypical import BinaryStorage, TeacherStudent
from sim.amp import AMPConfig, amp_one, run_amp_instances
from sim.data import sample_storage, sample_teacher_student
from sim.enumerate import sample_instances
from theory.dynamics.state_evolution import state_evolution

N = 2000
SEEDS = 6
T = 16


@pytest.mark.parametrize("alpha", (1.0, 1.7))
def test_amp_overlap_follows_state_evolution(alpha):
    problem = TeacherStudent(alpha)
    data = sample_instances(jr.key(11), problem, N, SEEDS)
    res = run_amp_instances(data, AMPConfig(iterations=T))
    m = np.asarray(res.teacher_overlap, np.float64)
    se = np.asarray(state_evolution(problem, T).q)
    mean, sem = m.mean(0), m.std(0, ddof=1) / np.sqrt(SEEDS)
    # 4 standard errors over the seeds, plus a finite-N allowance 5/N = 0.0025: at N = 2000
    # AMP sits systematically ~0.002-0.003 above SE on the plateau (measured over 8 seeds at
    # alpha = 1.0 and 1.3), an O(1/N) correction to the N -> infinity trajectory
    allowance = 4 * sem + 5 / N
    assert np.all(np.abs(mean - se) <= allowance), (mean, se, allowance)
    # Nishimori at finite N: |w_hat|^2/N equals the teacher overlap on average, same allowance
    q = np.asarray(res.self_overlap, np.float64).mean(0)
    assert np.all(np.abs(q - mean) <= allowance + 4 * sem)
    if alpha > 1.493:  # above the spinodal: perfect generalization (SE reaches q = 1)
        assert bool(jnp.all(res.solved))
        np.testing.assert_array_equal(res.W, data.W_T)
        assert np.all(m[:, -1] == 1.0)
    else:
        assert not bool(jnp.any(res.solved))


def test_amp_structure_dtype_and_vmap():
    problem = TeacherStudent(1.2)
    config = AMPConfig(iterations=5)
    data = sample_instances(jr.key(3), problem, 200, 3)
    batched = run_amp_instances(data, config)
    one = jax.jit(amp_one, static_argnums=1)(jax.tree.map(lambda x: x[1], data), config)
    # vmapped instance 1 equals the single run on instance 1 (same float32 ops; batched
    # matmuls may sum in another order, hence rtol 1e-5 ~ 100 float32 ulps)
    np.testing.assert_allclose(batched.W_hat[1], one.W_hat, rtol=1e-5, atol=1e-6)
    for leaf in (batched.W_hat, batched.W, batched.teacher_overlap, batched.train_errors):
        assert leaf.dtype == jnp.float32
    assert batched.teacher_overlap.shape == (3, 6) and batched.solved.dtype == jnp.bool_
    assert batched.iterations_run.dtype == jnp.int32
    # deterministic
    again = run_amp_instances(data, config)
    np.testing.assert_array_equal(again.W_hat, batched.W_hat)
    # float64 also works
    d64 = sample_teacher_student(jr.key(0), problem, 100, dtype=jnp.float64)
    r64 = amp_one(d64, AMPConfig(iterations=3, dtype=jnp.float64))
    assert r64.W_hat.dtype == jnp.float64


def test_amp_errors():
    with pytest.raises(ValueError, match="iterations"):
        AMPConfig(iterations=0)
    with pytest.raises(ValueError, match="damping"):
        AMPConfig(damping=1.0)
    storage = sample_storage(jr.key(0), BinaryStorage(0.5), 50)
    with pytest.raises(ValueError, match="W_T is None"):
        amp_one(storage, AMPConfig())
    d64 = sample_teacher_student(jr.key(0), TeacherStudent(1.0), 50, dtype=jnp.float64)
    with pytest.raises(ValueError, match="dtype"):
        amp_one(d64, AMPConfig())
