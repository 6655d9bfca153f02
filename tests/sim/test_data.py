"""Data sampling: shapes, dtypes, label rules, reproducibility, errors."""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

from atypical import BinaryStorage, TeacherStudent
from sim.data import Dataset, sample_storage, sample_teacher_student, sample_test_set


def test_storage_shapes_dtypes_labels():
    data = sample_storage(jr.key(1), BinaryStorage(0.7495), 400)
    assert data.xi.shape == (300, 400) and data.y.shape == (300,)  # P = round(299.8)
    assert data.xi.dtype == jnp.float32 and data.y.dtype == jnp.float32
    assert data.W_T is None
    assert set(np.unique(np.asarray(data.y))) <= {-1.0, 1.0}


def test_storage_float64_on_request():
    data = sample_storage(jr.key(0), BinaryStorage(0.5), 20, dtype=jnp.float64)
    assert data.xi.dtype == jnp.float64 and data.y.dtype == jnp.float64


def test_same_key_same_data_other_key_other_data():
    a = sample_teacher_student(jr.key(3), TeacherStudent(2.0), 64)
    b = sample_teacher_student(jr.key(3), TeacherStudent(2.0), 64)
    c = sample_teacher_student(jr.key(4), TeacherStudent(2.0), 64)
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
    assert not np.array_equal(np.asarray(a.xi), np.asarray(c.xi))


def test_storage_moments():
    # xi ~ N(0,1): with 300*400 = 1.2e5 entries the sample mean has std 1/sqrt(1.2e5) ~ 0.003
    # and the sample variance std sqrt(2/1.2e5) ~ 0.004; 5 sigma tolerances. Labels: 300
    # fair coins, mean std 1/sqrt(300) ~ 0.058, 4 sigma.
    data = sample_storage(jr.key(1), BinaryStorage(0.75), 400)
    xi = np.asarray(data.xi, np.float64)
    assert abs(xi.mean()) < 5 * 0.003
    assert abs(xi.var() - 1) < 5 * 0.004
    assert abs(np.asarray(data.y).mean()) < 4 * 0.058


def test_teacher_student_labels_are_teacher_signs():
    data = sample_teacher_student(jr.key(2), TeacherStudent(2.0), 64)
    assert data.W_T.shape == (64,) and data.W_T.dtype == jnp.float32
    assert set(np.unique(np.asarray(data.W_T))) <= {-1.0, 1.0}
    field = np.asarray(data.xi, np.float64) @ np.asarray(data.W_T, np.float64)
    np.testing.assert_array_equal(np.where(field >= 0, 1.0, -1.0), np.asarray(data.y))


def test_test_set_uses_teacher():
    train = sample_teacher_student(jr.key(5), TeacherStudent(2.0), 64)
    test = sample_test_set(jr.key(6), train.W_T, 1000)
    assert test.xi.shape == (1000, 64) and test.y.dtype == jnp.float32
    field = np.asarray(test.xi, np.float64) @ np.asarray(train.W_T, np.float64)
    np.testing.assert_array_equal(np.where(field >= 0, 1.0, -1.0), np.asarray(test.y))
    np.testing.assert_array_equal(np.asarray(test.W_T), np.asarray(train.W_T))


def test_dataset_is_a_pytree_module():
    data = sample_storage(jr.key(0), BinaryStorage(0.75), 400)
    assert isinstance(data, Dataset)
    assert len(jax.tree.leaves(data)) == 2  # W_T = None is no leaf


@pytest.mark.parametrize("alpha, N, match", [
    (0.01, 10, "P = round"),       # round(0.1) = 0 examples
    (-1.0, 10, "alpha = P/N"),     # the spec itself refuses alpha <= 0
])
def test_bad_sizes(alpha, N, match):
    with pytest.raises(Exception, match=match):
        sample_storage(jr.key(0), BinaryStorage(alpha), N)


def test_bad_N_and_P_test():
    with pytest.raises(ValueError, match="N must be a Python int >= 1"):
        sample_teacher_student(jr.key(0), TeacherStudent(1.0), 0)
    with pytest.raises(ValueError, match="P_test must be an int >= 1"):
        sample_test_set(jr.key(0), jnp.ones(5, jnp.float32), 0)


def test_traced_alpha_is_refused():
    with pytest.raises(ValueError, match="must be a concrete number"):
        jax.jit(lambda a: sample_storage(jr.key(0), BinaryStorage(a), 10))(0.5)
