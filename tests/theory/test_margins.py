"""RS maximal margin kappa_max(alpha): the inverse of the capacity curve alpha_c(kappa)."""

import jax
import jax.numpy as jnp
import pytest

import theory
from theory.margins import annealed_kappa_max, kappa_max


def test_kappa_max_inverts_the_capacity():
    # both solve phi_RS(alpha, kappa) = 0 (one in alpha, the other in kappa): they must be
    # inverse functions to Newton precision
    for kappa in (0.0, 0.5):
        alpha_c = float(theory.storage_capacity(kappa).alpha)
        result = kappa_max(alpha_c)
        assert float(result.kappa) == pytest.approx(kappa, abs=1e-8)
        assert float(result.residual) < 1e-10


def test_kappa_max_derivative_is_inverse_capacity_slope():
    # implicit differentiation on both sides: d kappa_max/d alpha = 1 / (d alpha_c/d kappa)
    alpha_c = theory.storage_capacity(0.0).alpha
    slope_alpha_c = jax.grad(lambda k: theory.storage_capacity(k).alpha)(jnp.float64(0.0))
    slope_kappa_max = jax.grad(lambda a: kappa_max(a).kappa)(alpha_c)
    assert float(slope_kappa_max) == pytest.approx(1 / float(slope_alpha_c), rel=1e-7)


def test_kappa_max_below_annealed_bound_and_decreasing():
    # Jensen: the quenched entropy is below the annealed ln 2 + alpha ln H(kappa)
    values = [float(kappa_max(a).kappa) for a in (0.3, 0.5, 0.7)]
    assert values == sorted(values, reverse=True)
    for a, k in zip((0.3, 0.5, 0.7), values):
        assert k < float(annealed_kappa_max(a))


def test_teacher_student_kappa_max_zeroes_the_entropy():
    result = kappa_max(0.5, task="teacher-student")
    entropy = theory.solve_teacher_student(0.5, float(result.kappa)).free_entropy[0]
    assert float(result.kappa) > 0
    assert float(entropy) == pytest.approx(0.0, abs=1e-9)  # Newton residual ~1e-15


def test_margin_entropy_matches_plain_solver_and_vanishes_at_kappa_max():
    from theory.margins import margin_entropy

    result = margin_entropy(0.5, jnp.array([0.0, 0.2, 0.4]))
    plain = theory.solve_storage(0.5, jnp.array([0.0, 0.2, 0.4])).free_entropy
    assert jnp.allclose(result.entropy, plain, atol=1e-10)
    assert 0.4 < float(result.kappa_max) < 0.42  # entropy still > 0 at 0.4 (0.4181 measured)
    with pytest.raises(Exception, match=r"alpha must lie in \[0.1, 20.0\]"):
        kappa_max(50.0)
