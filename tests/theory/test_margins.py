"""Maximal margin and margin-resolved RS entropy: roots, inverse of the capacity,
implicit derivatives, bounds, errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import atypical
import theory
from theory.models import margins

RESIDUAL = 1e-10


@pytest.fixture(scope="module")
def storage_half():
    return margins.kappa_max(0.5)


def test_kappa_max_is_a_root_of_the_rs_entropy(storage_half):
    result = storage_half
    assert bool(result.converged) and float(result.residual) < RESIDUAL
    assert result.kappa.dtype == jnp.float64
    problem = atypical.BinaryStorage(0.5, result.kappa)
    # the augmented Newton system is [grad phi; phi] = 0 to 1e-10 by construction; checked
    # here with the foundation's free entropy directly
    assert abs(float(theory.free_entropy_storage(result.order_params, problem))) < RESIDUAL
    grads = jax.grad(theory.free_entropy_storage)(result.order_params, problem)
    assert max(abs(float(g)) for g in jax.tree.leaves(grads)) < RESIDUAL
    assert round(float(result.kappa), 4) == 0.4181


def test_kappa_max_inverts_the_capacity():
    """kappa_max(alpha_c(kappa)) = kappa: two independent root searches (a sweep in alpha in
    theory.models.thresholds, one in kappa here) of the same RS entropy; both converge to 1e-10 in
    the residual, so they agree to ~1e-10/|d phi/d kappa| ~ 1e-9."""
    for kappa in (0.0, 0.3):
        alpha_c = float(theory.storage_capacity(kappa).alpha)
        assert float(margins.kappa_max(alpha_c).kappa) == pytest.approx(kappa, abs=1e-8)


def test_kappa_max_derivative_is_inverse_of_capacity_slope():
    """Implicit d kappa_max / d alpha against central differences and against the inverse
    function theorem with the capacity's own implicit slope d alpha_c / d kappa."""
    alpha = 0.6
    slope = float(jax.grad(lambda a: margins.kappa_max(a).kappa)(jnp.float64(alpha)))
    h = 1e-5
    central = (float(margins.kappa_max(alpha + h).kappa)
               - float(margins.kappa_max(alpha - h).kappa)) / (2 * h)
    # O(h^2) truncation ~1e-10, rounding of converged roots ~1e-13/h ~ 1e-8
    assert slope == pytest.approx(central, abs=1e-7)
    kappa = float(margins.kappa_max(alpha).kappa)
    capacity_slope = float(jax.grad(lambda k: theory.storage_capacity(k).alpha)(
        jnp.float64(kappa)))
    assert slope * capacity_slope == pytest.approx(1.0, abs=1e-7)


def test_kappa_max_below_annealed_bound_and_decreasing():
    # Jensen: the quenched entropy is below the annealed ln 2 + alpha ln H(kappa), so the
    # storage maximal margin is below the annealed root
    alphas = [0.2, 0.5, 0.9, 2.0]
    values = [float(margins.kappa_max(a).kappa) for a in alphas]
    assert values == sorted(values, reverse=True)
    assert all(v < float(margins.annealed_kappa_max(a)) for a, v in zip(alphas, values))
    assert values[2] < 0  # beyond alpha_c = 0.833 even zero margin is out of reach


def test_teacher_student_kappa_max():
    """Teacher labels are realisable, so larger margins are reachable than for random
    labels at the same alpha; the root is a zero of the teacher-student RS entropy."""
    result = margins.kappa_max(0.5, problem=atypical.TeacherStudent)
    assert bool(result.converged)
    problem = atypical.TeacherStudent(0.5, result.kappa)
    assert abs(float(theory.free_entropy_teacher_student(result.order_params, problem))) < RESIDUAL
    assert float(result.kappa) > float(margins.kappa_max(0.5).kappa)
    assert float(margins.kappa_max(0.8, problem=atypical.TeacherStudent).kappa) < float(result.kappa)


@pytest.mark.parametrize("Problem, alphas", [
    (atypical.BinaryStorage, [0.1, 0.3, 1.0, 5.0, 12.0, 20.0]),  # 12, 20 once lost the start
    (atypical.TeacherStudent, [0.1, 0.125, 0.3, 1.0, 1.5]),  # 0.125 once lost the branch
])
def test_kappa_max_over_the_documented_alpha_range(Problem, alphas):
    """One vmapped call over the ends and the inside of ``ALPHA_RANGE``: every point is a
    root of the RS entropy, and kappa_max decreases with alpha."""
    assert (alphas[0], alphas[-1]) == margins.ALPHA_RANGE[Problem]
    result = margins.kappa_max(np.asarray(alphas), problem=Problem)
    free_entropy = (theory.free_entropy_storage if Problem is atypical.BinaryStorage else
                    theory.free_entropy_teacher_student)
    for i, alpha in enumerate(alphas):
        op = jax.tree.map(lambda x: x[i], result.order_params)
        assert abs(float(free_entropy(op, Problem(alpha, result.kappa[i])))) < RESIDUAL
    assert np.all(np.diff(np.asarray(result.kappa)) < 0)


def test_high_margin_solutions_are_exponentially_rare(storage_half):
    """The entropy of margin-kappa solutions decreases with kappa and vanishes at
    kappa_max: a fraction exp(-N [phi(0) - phi(kappa)]) of the zero-margin solutions."""
    kappa = jnp.linspace(-0.2, 0.4, 7)
    result = margins.margin_entropy(0.5, kappa)
    S = np.asarray(result.entropy)
    assert np.all(np.diff(S) < 0) and S[-1] > 0
    assert float(result.kappa_max) == pytest.approx(float(storage_half.kappa), abs=1e-12)
    # the branch value at kappa = 0 is the foundation's RS entropy
    assert S[2] == pytest.approx(float(theory.solve_storage(0.5, 0.0).free_entropy[0]),
                                 abs=1e-12)
    assert result.entropy.dtype == jnp.float64


def test_alpha_outside_range_is_rejected():
    with pytest.raises(Exception, match=r"alpha must lie in \[0\.1, 20\.0\]"):
        margins.kappa_max(50.0)
    with pytest.raises(Exception, match=r"alpha must lie in \[0\.1, 1\.5\]"):
        margins.kappa_max(3.0, problem=atypical.TeacherStudent)
    with pytest.raises(ValueError, match="must be one of"):
        margins.kappa_max(0.5, problem=atypical.TreeCommittee)
