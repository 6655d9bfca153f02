"""y -> infinity large-deviation local entropy (theory/large_deviation_limit.py)."""


import numpy as np
import pytest

from atypical import TeacherStudent
from theory.local_entropy.franz_parisi import reference_saddle
from theory.local_entropy.franz_parisi_teacher import reference_saddle_ts
from theory.local_entropy.large_deviation_limit import (large_deviation_limit_curve,
                                                       large_deviation_threshold, limit_branch)

H2 = lambda d: -d * np.log(d) - (1 - d) * np.log1p(-d)


@pytest.fixture(scope="module")
def curve_06():
    return large_deviation_limit_curve(0.6, [0.003, 0.01, 0.02, 0.05, 0.05005, 0.04995, 0.15])


def test_stationary_below_the_bound_and_dense_at_small_d(curve_06):
    """Every point a saddle (|grad| < 1e-10); S_inf <= -d ln d - (1-d) ln(1-d) and, well below
    the threshold (alpha = 0.6), close to it at small d: the dense regions fill almost every
    configuration near the best references (at d = 0.003: 0.9998 of the bound)."""
    assert curve_06.converged.all() and (curve_06.residual < 1e-10).all()
    ratio = curve_06.local_entropy / H2(curve_06.d)
    assert (ratio < 1).all() and ratio[0] > 0.999
    assert curve_06.local_entropy[3] == pytest.approx(0.1300822560, abs=1e-9)


def test_slope_is_twice_p_hat(curve_06):
    """Envelope theorem dS/dd = 2 p_hat against a central difference (h = 5e-5: error
    h^2 |S'''|/6 with |S'''| ~ 1/d^2 = 400, i.e. 2e-7)."""
    S = dict(zip(curve_06.d.tolist(), curve_06.local_entropy))
    fd = (S[0.05005] - S[0.04995]) / 1e-4
    assert fd == pytest.approx(curve_06.slope[3], abs=1e-6)


def test_branch_ends_on_the_equilibrium_entropy():
    """Identity: continued up in d, the branch ends (delta -> 0) on phi_RS, the largest value
    a local entropy can take (all solutions at that distance), and never exceeds it
    (alpha = 0.6: phi_RS = 0.2277850, end at d = 0.2234)."""
    phi = float(reference_saddle(0.6, 0.0).free_entropy)
    branch = limit_branch(0.6, 0.0, 0.15, 0.3)
    values = [*branch.local_entropy, branch.end_local_entropy]
    assert 0.222 < branch.d_end < 0.225
    assert max(values) <= phi + 1e-12 and values[-1] == pytest.approx(phi, abs=1e-9)


def test_threshold_against_the_literature():
    """The curve stays monotone down to d = 0.002 up to alpha = 0.755 and breaks (fold, then
    a gap in d) by 0.756. Literature: wide flat regions of the zero-margin binary perceptron
    disappear near alpha_U ~ 0.77-0.78 (Baldassi, Ingrosso, Lucibello, Saglietti, Zecchina,
    PRL 115, 128101 (2015); Baldassi et al., PRE 106, 014116 (2022) [P1]); this RS limit
    gives 0.7552, 2-3% below (RS Franz-Parisi around kappa_max gives 0.7290). The
    discrepancy is open (module docstring)."""
    result = large_deviation_threshold(bracket=(0.75, 0.76), tol=1e-3)
    assert 0.755 <= result.alpha_monotone < result.alpha_broken <= 0.7565


def test_gap_above_the_threshold():
    """At alpha = 0.77 the dense small-d branch and the large-d branch do not meet: d = 0.02
    has no saddle (NaN, not converged), both sides do."""
    curve = large_deviation_limit_curve(0.77, [0.002, 0.02, 0.05])
    assert curve.converged.tolist() == [True, False, True]
    assert np.isnan(curve.local_entropy[1])
    assert curve.local_entropy[0] / H2(0.002) > 0.99


def test_rejects_bad_distances():
    with pytest.raises(ValueError, match=r"\(0, 1/2\)"):
        large_deviation_limit_curve(0.6, [0.1, 0.5])


@pytest.mark.slow
def test_finite_y_approaches_from_below(curve_06):
    """Phi(y) is convex in y, so S_loc = dPhi/dy rises with y towards S_inf: at alpha = 0.6,
    d = 0.05, S_loc(2) < S_loc(3) < S_inf = 0.1301 (measured further: S_loc(7) = 0.1174,
    y (S_inf - S_loc) between 0.089 and 0.100 for y = 3 ... 7)."""
    from theory.local_entropy.large_deviation import large_deviation_curve

    finite = large_deviation_curve(0.6, [0.05], [2.0, 3.0]).local_entropy[:, 0]
    assert finite[0] < finite[1] < curve_06.local_entropy[3]
    assert 3 * (curve_06.local_entropy[3] - finite[1]) == pytest.approx(0.096, abs=0.002)


@pytest.mark.slow
def test_rs_limit_needs_negative_reference_entropy(curve_06):
    """d(Phi/y)/dy = -Sigma/y^2 and Sigma = Phi - y Phi' falls with y (Phi convex), so while
    Sigma >= 0, Phi/y falls; continued in y from 6 to 7 (alpha = 0.6, d = 0.05), Phi/y drops
    below S_inf = 0.13008 (0.12948 at y = 7) with Sigma(7) = 0.0847 still positive. Phi/y
    can come back up to S_inf only where Sigma < 0: the RS y -> infinity limit is reached
    through a negative reference entropy and overestimates the local entropy of references
    that exist (here by more than 6e-4; Sigma = 0 extrapolates to y ~ 11.5, beyond the
    finite-y solver's reach: Newton loses the branch at y = 7.25)."""
    import jax

    from theory.local_entropy.large_deviation import (LargeDeviationStorage, large_deviation_curve,
                                        local_entropy, saddle_large_deviation)

    op = jax.tree.map(lambda x: x.reshape(-1)[0],
                      large_deviation_curve(0.6, [0.05], [6.0]).order_params)
    solve = jax.jit(saddle_large_deviation)
    for y in (6.25, 6.5, 6.75, 7.0):
        problem = LargeDeviationStorage(0.6, 0.0, 0.0, 0.05, y)
        sol = solve(problem, op)
        assert bool(sol.converged)
        op = sol.order_params
    phi, S = float(sol.free_entropy), float(local_entropy(op, problem))
    assert phi / 7 == pytest.approx(0.129476, abs=1e-5)
    assert phi - 7 * S == pytest.approx(0.084668, abs=1e-5)  # Sigma(7) > 0
    assert phi / 7 < curve_06.local_entropy[3] - 5e-4


def test_teacher_student_branch_ends_on_the_gibbs_measure():
    """Teacher-student identity: continued up in d, the branch ends (delta -> 0) on the RS
    teacher-student entropy phi_TS with the Gibbs teacher overlap R (alpha = 0.5: end at
    d = 0.2652, phi_TS = 0.3721328, R = 0.29309)."""
    reference = reference_saddle_ts(0.5, 0.0)
    branch = limit_branch(0.5, 0.0, 0.15, 0.4, problem=TeacherStudent)
    values = [*branch.local_entropy, branch.end_local_entropy]
    phi = float(reference.free_entropy)
    assert 0.26 < branch.d_end < 0.27
    assert max(values) <= phi + 1e-12 and values[-1] == pytest.approx(phi, abs=1e-9)
    assert float(branch.end_order_params.R) == pytest.approx(float(reference.order_params.R),
                                                             abs=1e-5)


def test_teacher_student_dense_regions_generalize_better():
    """alpha = 0.5, d = 0.05: S_inf = 0.18348 (0.92 of the bound); the solutions there have
    error 0.3723, below the finite-y large-deviation value at y = 3 (0.3878, slow test of
    test_large_deviation.py) and the typical (Gibbs) 0.4053, above the maximal-margin 0.3636;
    the dominating reference (sign of the cavity field, a centre of the dense region)
    0.3589, below the maximal margin."""
    curve = large_deviation_limit_curve(0.5, [0.05], problem=TeacherStudent)
    assert curve.converged.all()
    assert curve.local_entropy[0] == pytest.approx(0.1834815, abs=1e-6)
    assert curve.gen_error[0] == pytest.approx(0.372299, abs=1e-5)
    assert curve.reference_gen_error[0] == pytest.approx(0.358946, abs=1e-5)
    assert 0.3636 < curve.gen_error[0] < 0.3878 and curve.reference_gen_error[0] < 0.3636


@pytest.mark.slow
def test_teacher_student_threshold():
    """Teacher-student (binary teacher, kappa = 0): the dense branch folds between alpha =
    1.0859 and 1.0867 (measured with d_small = 0.005: below alpha ~ 1 the small-d saddle
    stiffens before 0.002; the fold sits at d ~ 0.02, so the criterion does not depend on
    it). Above the Franz-Parisi dip onset (1.0466) as for storage, below Gyorgyi's 1.245."""
    result = large_deviation_threshold(bracket=(1.0, 1.1), tol=1e-3, problem=TeacherStudent,
                                       d_small=0.005)
    assert 1.084 < result.alpha < 1.089
