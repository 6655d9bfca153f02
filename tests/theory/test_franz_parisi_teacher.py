"""Franz-Parisi local entropy with a binary teacher (RS): the identities of the replica
calculation (identity point, storage reduction, the Nishimori symmetry of Bayes-optimal
references), stationarity, the [P2] picture with generalization errors, implicit
derivatives."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from atypical import TeacherStudent
import theory
from theory.local_entropy import franz_parisi as fp
from theory.local_entropy import franz_parisi_teacher as ts
from theory.models import margins

RESIDUAL = 1e-10  # stationarity required of every returned saddle point
ALPHA = 0.5
D_GRID = [0.002, 0.01, 0.1, 0.3, 0.45]


def bound(d):
    d = np.asarray(d)
    return -d * np.log(d) - (1 - d) * np.log1p(-d)


@pytest.fixture(scope="module")
def kappa_near_max():
    """0.01 below the teacher-student RS maximal margin at ALPHA."""
    return float(margins.kappa_max(ALPHA, problem=TeacherStudent).kappa) - 0.01


@pytest.fixture(scope="module")
def curves(kappa_near_max):
    """Zero-margin solutions around Bayes-optimal (kappa_ref = 0: Gibbs samples of the
    posterior) and around near-maximal-margin references, one call."""
    return fp.franz_parisi_curve([ALPHA, ALPHA], [0.0, kappa_near_max], [0.0, 0.0], D_GRID,
                                 query=ts.FranzParisiTeacherStudent, n_kappa=4, n_fill=4)


def test_identity_at_typical_distance():
    """kappa = kappa_ref, p = q_ref: the constrained replica is one more reference replica,
    so S = phi_TS(alpha, kappa_ref) and grad phi = 0 (FP quadrature: 61-node z0 trapezoid x
    12-node half-normal rule; RS: 1001-node trapezoid; both exact to ~1e-14 here)."""
    kappa_ref = 0.2
    ref_sol = ts.reference_saddle_ts(ALPHA, kappa_ref)
    ref = ref_sol.order_params
    problem = ts.FranzParisiTeacherStudent(ALPHA, kappa_ref, kappa_ref, (1 - ref.q) / 2)
    op = ts.identity_order_params(ref)
    value, grad = jax.jit(jax.value_and_grad(ts.free_entropy_franz_parisi_ts))(op, ref,
                                                                              problem)
    assert bool(ref_sol.converged)
    assert float(value) == pytest.approx(float(ref_sol.free_entropy), abs=1e-12)
    assert max(abs(float(g)) for g in jax.tree.leaves(grad)) < RESIDUAL


def test_without_teacher_overlaps_it_is_the_storage_free_entropy():
    """R~ = R = R~_hat = R_hat = 0: the teacher decouples (its sign weight 2 E_{nu>0} = 1) and
    every term is the storage one; at arbitrary (non-saddle) overlaps the two quadratures
    (storage: 101 z0 nodes; teacher: 61 x 12) agree to 1e-9."""
    kappa_ref, d = 0.3, 0.1
    ref = fp.reference_saddle(ALPHA, kappa_ref).order_params
    storage = fp.free_entropy_franz_parisi(
        fp.FPOrderParams(0.7, 0.5, 0.4, 0.3, 0.9), ref,
        fp.FranzParisiStorage(ALPHA, kappa_ref, 0.0, d))
    teacher = ts.free_entropy_franz_parisi_ts(
        ts.FPTSOrderParams(0.7, 0.5, 0.0, 0.4, 0.3, 0.9, 0.0),
        theory.TSOrderParams(ref.q, 0.0, ref.q_hat, 0.0),
        ts.FranzParisiTeacherStudent(ALPHA, kappa_ref, 0.0, d))
    assert float(teacher) == pytest.approx(float(storage), abs=1e-9)


def test_curves_are_stationary_and_bounded(curves):
    assert bool(curves.converged.all())
    assert float(curves.residual.max()) < RESIDUAL
    grad = jax.jit(jax.vmap(jax.vmap(jax.grad(ts.free_entropy_franz_parisi_ts),
                                     in_axes=(0, None, 0)), in_axes=(0, 0, 0)))(
        curves.order_params, curves.reference, curves.problem)
    assert max(float(jnp.abs(g).max()) for g in jax.tree.leaves(grad)) < RESIDUAL
    assert np.all(np.asarray(curves.local_entropy) <= bound(D_GRID) + 1e-12)


def test_bayes_optimal_references_nishimori_symmetry(curves):
    """kappa_ref = kappa = 0: the references are posterior samples, and so is the teacher
    (Nishimori), so a counted solution sees the teacher as one more reference: t = R and
    t_hat = R_hat at every d; the reference itself has R~ = q~. Typical solutions are
    isolated: S < 0 at small d."""
    op = curves.order_params
    np.testing.assert_allclose(op.t[0], op.R[0], atol=1e-9)
    np.testing.assert_allclose(op.t_hat[0], op.R_hat[0], atol=1e-8)
    assert float(curves.reference.R[0]) == pytest.approx(float(curves.reference.q[0]),
                                                         abs=1e-9)
    assert float(curves.local_entropy[0, 0]) < 0


def test_high_margin_references_sit_in_dense_regions_that_generalize_better(curves):
    """Near the maximal margin: S(d) > 0 and rising at small d (a dense region); the
    solutions there generalize better than typical ones (Gibbs, kappa_ref = 0), and their
    error tends to the reference's as d -> 0 (within O(sqrt d): 1e-3 at d = 0.002)."""
    S, slope, eps = (np.asarray(x[1]) for x in (curves.local_entropy, curves.slope,
                                                 curves.gen_error))
    assert np.all(S[:3] > 0) and np.all(slope[:3] > 0)
    gibbs = float(curves.reference_gen_error[0])
    assert np.all(eps[:3] < gibbs - 0.01)
    assert eps[0] == pytest.approx(float(curves.reference_gen_error[1]), abs=2e-3)


@pytest.mark.slow
def test_implicit_derivatives_match_finite_differences(curves, kappa_near_max):
    """dS/dalpha through both saddles (reference and FP) by the implicit function theorem,
    against central differences of converged solves (h = 1e-5: truncation ~1e-10, rounding
    ~1e-12/h)."""
    init = jax.tree.map(lambda x: x[1, 2], curves.order_params)
    d = jnp.float64(D_GRID[2])

    @jax.jit
    def entropy(alpha):
        ref = ts.reference_saddle_ts(alpha, kappa_near_max).order_params
        problem = ts.FranzParisiTeacherStudent(alpha, kappa_near_max, 0.0, d)
        return fp.saddle_franz_parisi(problem, ref, init,
                                      quad=ts.DEFAULT_QUADRATURE).free_entropy

    h = 1e-5
    derivative = float(jax.jit(jax.grad(entropy))(jnp.float64(ALPHA)))
    central = (float(entropy(ALPHA + h)) - float(entropy(ALPHA - h))) / (2 * h)
    assert derivative == pytest.approx(central, abs=5e-7)


def test_monotonicity_threshold_margin_range():
    """The teacher-student sweep is validated at kappa = 0 only: other margins are refused
    before any solve."""
    with pytest.raises(Exception, match=r"FranzParisiTeacherStudent kappa must lie in"):
        fp.monotonicity_threshold(0.3, query=ts.FranzParisiTeacherStudent)


@pytest.mark.slow
def test_monotonicity_threshold():
    """[P2] with a teacher: S(d) of zero-margin solutions around references at the
    teacher-student kappa_max(alpha) develops a dip at alpha_U. The hand grid of
    BENCHMARKS.md (smallest slope on an 18-point dip grid: +0.385 at alpha = 1.025, -0.059
    at 1.05, linear interpolation 1.047) bounds it from above, within its spacing 0.025
    (measured 1.0466, at d = 0.0039); the crossing is checked on the curves themselves 0.01
    below and above."""
    result = fp.monotonicity_threshold(0.0, query=ts.FranzParisiTeacherStudent)
    assert bool(result.converged) and float(result.residual) < RESIDUAL
    alpha = float(result.alpha)
    assert 1.047 - 0.025 < alpha < 1.047
    assert round(alpha, 4) == 1.0466
    assert float(result.kappa_ref) == pytest.approx(
        float(margins.kappa_max(alpha, problem=TeacherStudent).kappa), abs=1e-9)
    d = np.sort(np.append(np.geomspace(1e-3, 0.05, 10), float(result.d)))
    for a, monotone in [(alpha - 0.01, True), (alpha + 0.01, False)]:
        kmax = float(margins.kappa_max(a, problem=TeacherStudent).kappa)
        curve = fp.franz_parisi_curve(a, kmax, 0.0, d, query=ts.FranzParisiTeacherStudent,
                                      n_kappa=6, n_fill=8)
        assert bool(np.all(np.asarray(curve.slope) > 0)) == monotone
