"""Thresholds: literature values and implicit derivatives."""

import jax
import jax.numpy as jnp
import pytest

import atypical
import theory


@pytest.fixture(scope="module")
def transitions():
    return theory.teacher_student_transitions()


def test_krauth_mezard_capacity():
    # Krauth & Mezard, J. Phys. France 50, 3057 (1989): alpha_c = 0.833 at kappa = 0
    result = theory.storage_capacity(0.0)
    assert round(float(result.alpha), 3) == 0.833
    assert float(result.residual) < 1e-10


def test_capacity_derivative_matches_finite_differences():
    slope = jax.grad(lambda k: theory.storage_capacity(k).alpha)(jnp.float64(0.3))
    h = 1e-4
    central = (theory.storage_capacity(0.3 + h).alpha
               - theory.storage_capacity(0.3 - h).alpha) / (2 * h)
    # O(h^2) truncation ~1e-8 with alpha_c'' ~ 1; rounding 1e-15/h ~ 1e-11
    assert float(slope) == pytest.approx(float(central), abs=1e-7)
    assert float(slope) < 0


def test_capacity_decreases_with_margin():
    """On a grid of margins in one vmapped call, equal to the scalar solves (the same
    Newton roots, to their 1e-10 residual) and decreasing in kappa."""
    kappa = jnp.array([-0.5, 0.0, 0.5, 1.0])
    caps = theory.storage_capacity(kappa).alpha
    assert caps.shape == (4,)
    assert list(map(float, caps)) == sorted(map(float, caps), reverse=True)
    for k, c in zip((-0.5, 1.0), (caps[0], caps[3])):
        assert float(c) == pytest.approx(float(theory.storage_capacity(k).alpha), abs=1e-9)
    with pytest.raises(Exception, match=r"kappa must lie in \[-2, 2\]"):
        theory.storage_capacity(jnp.array([0.0, 5.0]))


def test_capacity_rejects_out_of_range_margin():
    with pytest.raises(Exception, match=r"kappa must lie in \[-2, 2\]"):
        theory.storage_capacity(5.0)


def test_gyorgyi_first_order_transition(transitions):
    # Gyorgyi, Phys. Rev. A 41, 7097 (1990); Sompolinsky, Tishby & Seung, PRL 65, 1683
    # (1990): the poor branch's entropy vanishes at alpha = 1.245
    first, _ = transitions
    assert round(float(first.alpha), 3) == 1.245
    assert float(first.residual) < 1e-10


def test_spinodal_of_poor_branch(transitions):
    # Sompolinsky, Tishby & Seung (1990): the metastable branch ends near alpha = 1.49
    # (quoted 1.493 in the later literature)
    first, spinodal = transitions
    assert round(float(spinodal.alpha), 2) == 1.49
    assert round(float(spinodal.alpha), 3) == 1.493
    assert float(spinodal.order_params.q) > float(first.order_params.q)


def test_rs_instability_of_storage_gardner_derrida():
    # Gardner & Derrida, J. Phys. A 21, 271 (1988): the RS solution of the binary perceptron
    # turns unstable (replicon = 0) at alpha = 1.015, above the capacity 0.833
    result = theory.storage_rs_instability(0.0)
    assert round(float(result.alpha), 3) == 1.015
    assert float(result.residual) < 1e-10
    capacity = theory.storage_capacity(0.0)
    at_capacity = atypical.BinaryStorage(capacity.alpha)
    assert float(theory.replicon(capacity.order_params, at_capacity)) > 0


def test_rs_instability_lies_beyond_the_capacity_at_every_margin():
    """On the margins where it is solved (a vmapped call over kappa), the AT line lies above
    the capacity and the replicon vanishes there. At kappa = 1 a continuation without
    predictor lost the branch with the replicon still positive (alpha = 0.302); the
    engine's predictor-corrector follows it to the AT line, at 1.133 alpha_c (1.140 at 0.9)."""
    kappa = jnp.array([-2.0, -1.0, 0.5, 0.9, 1.0])
    capacity = theory.storage_capacity(kappa)
    unstable = theory.storage_rs_instability(kappa)
    assert bool(jnp.all(unstable.alpha > capacity.alpha))
    for i, k in enumerate(kappa):
        op = jax.tree.map(lambda x: x[i], unstable.order_params)
        problem = atypical.BinaryStorage(unstable.alpha[i], k)
        assert abs(float(theory.replicon(op, problem))) < 1e-8
    ratio = unstable.alpha / capacity.alpha
    assert 1.12 < float(ratio[-1]) < float(ratio[-2])  # alpha_AT / alpha_c falls with kappa
