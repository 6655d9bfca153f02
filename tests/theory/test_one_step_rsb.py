"""1RSB of binary storage: the general free entropy reduces to RS at q1 = q0 and to the
frozen form as q1 -> 1; the frozen saddle has zero internal entropy and complexity equal
to the RS entropy; the frozen capacity is Krauth-Mezard's 0.833."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from atypical import BinaryStorage
from theory.models.perceptron import RSOrderParams, free_entropy_storage, solve_storage
from theory.models.one_step_rsb import (OneRSBOrderParams, OneRSBStorage, free_entropy_1rsb,
                                 free_entropy_frozen, frozen_1rsb, frozen_1rsb_capacity)


@pytest.mark.parametrize("m", [0.5, 2.0])
def test_general_reduces_to_rs_at_equal_overlaps(m):
    """q1 = q0, q1_hat = q0_hat: the inner average is trivial, Phi(m) = phi_RS for any m
    (both on trapezoid rules that resolve these smooth integrands to ~1e-14)."""
    op = OneRSBOrderParams(0.4, 0.4, 0.9, 0.9)
    rs = free_entropy_storage(RSOrderParams(0.4, 0.9), BinaryStorage(0.6, 0.1))
    assert abs(free_entropy_1rsb(op, OneRSBStorage(0.6, 0.1, m)) - rs) < 1e-12


def _energetic_gap(eps):
    """General minus frozen energetic term at q1 = 1 - eps (alpha-coefficient of Phi)."""
    problem, empty = OneRSBStorage(1.0, 0.1, 1.5), OneRSBStorage(0.0, 0.1, 1.5)
    op = OneRSBOrderParams(0.4, 1 - eps, 0.9, 0.9)
    general = (free_entropy_1rsb(op, problem, n_inner=8001)
               - free_entropy_1rsb(op, empty, n_inner=8001))
    frozen = (free_entropy_frozen(RSOrderParams(0.4, 0.9), problem)
              - free_entropy_frozen(RSOrderParams(0.4, 0.9), empty))
    return float(general - frozen)


def test_energetic_term_tends_to_frozen_limit():
    """H((kappa - h)/sqrt(1 - q1))^m smooths a step over a width sqrt(eps): the gap to the
    frozen limit falls like sqrt(eps), a factor sqrt(10) = 3.16 per decade of eps."""
    gaps = [_energetic_gap(eps) for eps in (1e-1, 1e-2, 1e-3)]
    ratios = np.array(gaps[:-1]) / np.array(gaps[1:])
    assert np.all((ratios > 2.5) & (ratios < 4.0)), (gaps, ratios)
    assert abs(gaps[-1]) < 0.02


def test_entropic_term_tends_to_frozen_limit():
    """E_z1[2cosh(a + b z1)]^m -> e^{m^2 b^2/2} 2cosh(m a) as b = sqrt(q1_hat - q0_hat) grows:
    the remainder comes from |a + b z1| = O(1), a set of measure O(1/b), so it falls at
    least like 1/b (b from 2.0 to 4.4: more than a factor 2.2). At q1 = 1 (to 1e-6) the
    conjugate term -q1_hat(1 - q1)(m - 1)/2 is negligible."""
    problem, frozen = OneRSBStorage(0.0, 0.1, 1.5), RSOrderParams(0.4, 0.9)
    gaps = [abs(float(free_entropy_1rsb(OneRSBOrderParams(0.4, 1 - 1e-6, 0.9, q1_hat), problem,
                                         n_inner=8001) - free_entropy_frozen(frozen, problem)))
            for q1_hat in (5.0, 20.0)]
    assert gaps[1] < gaps[0] / 2.2 and gaps[1] < 1e-3, gaps


def test_frozen_saddle_identities():
    """Frozen clusters: s = 0; complexity = RS entropy; the inter-cluster overlap is the RS
    overlap, for every m (to Newton's 1e-10)."""
    alpha = jnp.array([0.3, 0.5, 0.7])
    result = frozen_1rsb(alpha, 0.0, jnp.array([[0.5], [1.0], [2.0]]))
    rs = solve_storage(alpha)
    assert np.max(np.abs(result.internal_entropy)) < 1e-10
    assert np.max(np.abs(result.complexity - rs.free_entropy[None, :])) < 1e-10
    assert np.max(np.abs(result.saddle.order_params.q - rs.order_params.q[None, :])) < 1e-8
    assert np.all(result.saddle.residual < 1e-10)


def test_frozen_capacity_krauth_mezard():
    """Krauth & Mezard, J. Phys. France 50, 3057 (1989): alpha_c = 0.833 at kappa = 0 (the
    complexity of frozen clusters vanishes there); independent of the Parisi m; the RS
    entropy vanishes at the same alpha (Newton's 1e-10)."""
    one, two = frozen_1rsb_capacity(0.0, 1.0), frozen_1rsb_capacity(0.0, 2.0)
    assert abs(float(one.alpha) - 0.833) < 5e-4
    assert abs(float(one.alpha - two.alpha)) < 1e-10
    assert abs(float(solve_storage(one.alpha).free_entropy[0])) < 1e-10


@pytest.mark.slow
def test_frozen_capacity_implicit_derivative():
    """d alpha_c/d kappa by implicit differentiation against a central difference (step
    1e-4: O(h^2) = 1e-8 truncation, Newton's 1e-10 on each side)."""
    slope = jax.grad(lambda k: frozen_1rsb_capacity(k).alpha)(0.0)
    h = 1e-4
    fd = (frozen_1rsb_capacity(h).alpha - frozen_1rsb_capacity(-h).alpha) / (2 * h)
    assert abs(float(slope - fd)) < 1e-6


def test_rejects_non_positive_m():
    with pytest.raises(ValueError, match="Parisi parameter m must be positive"):
        frozen_1rsb(0.5, 0.0, 0.0)
