"""y -> infinity large-deviation local entropy of the random-features model
(theory/rf_large_deviation_limit.py)."""

import math

import jax
import numpy as np
import pytest

from atypical import RandomFeatures
from theory.models.random_features import RFOrderParams, solve_rf, wishart_rate
from theory.local_entropy.rf_large_deviation_limit import (
    RFLDLimitOrderParams, free_entropy_rf_large_deviation_limit, rf_large_deviation_limit_curve,
    rf_large_deviation_threshold, rf_limit_branch, wishart_rate_limit)

STORAGE_S_INF = 0.1300822560  # storage S_inf at alpha = 0.6, d = 0.05 (test_large_deviation_limit)
H2 = lambda d: -d * np.log(d) - (1 - d) * np.log1p(-d)


def test_wishart_limit_identities():
    """At delta = delta_rho = 0 the y -> infinity rate is the RS rate ``wishart_rate``; at
    r = 1, p = q, delta_rho = delta, m = 0 (projections as F makes them typically) it
    vanishes and is stationary in the projections' overlaps."""
    op = RFLDLimitOrderParams(0.7, 0.0, 1.0, 1.0, 1.0, 1.2, 0.8, 0.0, 0.3)
    rs = RFOrderParams(0.7, 1.0, 1.2, 0.8, 0.3)
    assert float(wishart_rate_limit(op)) == pytest.approx(float(wishart_rate(rs)), abs=1e-14)
    typical = RFLDLimitOrderParams(0.7, 1.3, 1.0, 1.0, 1.0, 1.0, 0.7, 1.3, 0.0)
    assert abs(float(wishart_rate_limit(typical))) < 1e-14
    g = jax.grad(wishart_rate_limit)(typical)
    assert max(abs(float(x)) for x in (g.r, g.p, g.delta_rho, g.m)) < 1e-13


def test_small_alpha_D_is_the_storage_limit():
    """alpha_D -> 0 (features carry no latent structure) gives the binary perceptron's
    S_inf; the difference is O(alpha_D) (3.0e-5 at alpha_D = 1e-3), so the linear
    extrapolation from 1e-3 and 2e-3 agrees to 1e-6."""
    values = []
    for alpha_D in (1e-3, 2e-3):
        curve = rf_large_deviation_limit_curve(0.6, alpha_D, [0.05])
        assert curve.residual[0] < 1e-10
        values.append(curve.local_entropy[0])
    assert 2 * values[0] - values[1] == pytest.approx(STORAGE_S_INF, abs=1e-6)


@pytest.fixture(scope="module")
def curve():
    return rf_large_deviation_limit_curve(0.6, 2.0, [0.01, 0.05, 0.05005, 0.04995, 0.15])


def test_stationary_below_the_bound_and_slope(curve):
    """Every point a saddle, S_inf below the counting bound and dense at small d (alpha_D =
    2, N/D = 3.33, d = 0.01: 0.996 of the bound); dS/dd = 2 p_hat against a central
    difference (h = 5e-5, error ~2e-7)."""
    assert curve.converged.all() and (curve.residual < 1e-10).all()
    ratio = curve.local_entropy / H2(curve.d)
    assert (ratio < 1).all() and ratio[0] > 0.99
    fd = (curve.local_entropy[2] - curve.local_entropy[3]) / 1e-4
    assert fd == pytest.approx(curve.slope[1], abs=1e-6)
    # the dense regions' solutions generalize better than typical ones (Gibbs 0.3394 here)
    problem = RandomFeatures(0.6, 2.0)
    from theory.models.random_features import gen_error_rf
    typical = float(gen_error_rf(jax.tree.map(lambda x: x[0], solve_rf(0.6, 2.0).order_params),
                                 problem))
    assert (curve.gen_error < typical).all()


def test_branch_ends_on_the_rs_entropy():
    """Identity: continued up in d, the branch ends (delta, delta_rho -> 0) on the RS
    entropy of the random-features model, the largest value a local entropy can take."""
    phi = float(solve_rf(0.6, 2.0).free_entropy[0])
    branch = rf_limit_branch(0.6, 2.0, 0.15, 0.45)
    values = [*branch.local_entropy, branch.end_local_entropy]
    assert max(values) <= phi + 1e-12 and values[-1] == pytest.approx(phi, abs=1e-9)
    assert float(branch.end_order_params.delta) < 1e-3


def test_free_entropy_is_nan_outside_the_admissible_set():
    op = RFLDLimitOrderParams(0.7, 1.0, 0.3, 0.5, 0.5, 0.9, 0.8, 1.0, 0.95)  # p < m^2
    assert math.isnan(float(free_entropy_rf_large_deviation_limit(
        op, RandomFeatures(0.6, 2.0), 0.05)))


def test_rejects_bad_input():
    with pytest.raises(ValueError, match=r"\(0, 1/2\)"):
        rf_large_deviation_limit_curve(0.6, 2.0, [0.5])
    with pytest.raises(ValueError, match="alpha_D"):
        rf_large_deviation_limit_curve(0.6, -1.0, [0.1])
    with pytest.raises(ValueError, match="bracket"):
        rf_large_deviation_threshold(2.0, bracket=(0.95, 0.9))


@pytest.mark.slow
def test_densest_references_beat_maximal_margin_ones(curve):
    """S_inf is the largest local entropy of any reference, so it lies above the
    Franz-Parisi S(d) around maximal-margin references at the same point (alpha = 0.6,
    alpha_D = 2, d = 0.05; as for storage: 0.1835 vs 0.1777 at alpha = 0.5)."""
    from theory.models.random_features import rf_kappa_max
    from theory.local_entropy.rf_franz_parisi import rf_franz_parisi_curve

    kappa_max = float(rf_kappa_max(0.6, 2.0).kappa)
    fp = rf_franz_parisi_curve(0.6, 2.0, kappa_max - 1e-6, 0.0, [0.05])
    assert float(fp.local_entropy[0]) < curve.local_entropy[1] < H2(0.05)
