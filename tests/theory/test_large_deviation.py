"""Large-deviation local entropy (RS, finite y; storage and teacher-student) on the
validation ladder: the exact identity at the typical distance, stationarity, the y -> 0
limit (Franz-Parisi around typical solutions), monotonicity in y, the counting bound,
implicit derivatives, error texts. Missing: the alpha -> 0 limit (the cold start fails at
alpha = 0.01, 0.02) and the y -> infinity limit with the [P1] value alpha_U (not
implemented)."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from atypical import TeacherStudent
import theory
from theory.local_entropy import franz_parisi as fp
from theory.local_entropy import franz_parisi_teacher as ts
from theory.local_entropy import large_deviation as ld

RESIDUAL = 1e-10  # stationarity required of every returned saddle point
ALPHA = 0.5
D_GRID = [0.05, 0.15]
# batch of one call: (alpha, y) pairs
BATCH_ALPHA = [ALPHA, ALPHA]
BATCH_Y = [0.5, 3.0]


def bound(d):
    d = np.asarray(d)
    return -d * np.log(d) - (1 - d) * np.log1p(-d)


@pytest.fixture(scope="module")
def curves():
    """Two curves at alpha = 0.5 (y = 0.5 and 3), about a minute each on one core."""
    return ld.large_deviation_curve(BATCH_ALPHA, D_GRID, BATCH_Y)


@pytest.fixture(scope="module")
def rs():
    sol = theory.solve_storage(ALPHA)
    return sol.order_params.q[0], sol.order_params.q_hat[0], sol.free_entropy[0]


def test_identity_at_typical_distance(rs):
    """At p = q_RS every overlap is q_RS and every conjugate q_hat_RS: each replica is one
    more typical solution, so Phi = (1 + y) phi_RS exactly (any y)."""
    q, q_hat, phi = rs
    d_typ = (1 - q) / 2
    for y in (0.5, 2.0, 5.0):
        problem = ld.LargeDeviationStorage(ALPHA, 0.0, 0.0, d_typ, y)
        op = ld.LDOrderParams(q, q, q, q, q_hat, q_hat, q_hat, q_hat, q_hat)
        value = ld.free_entropy_large_deviation(op, problem)
        assert value.dtype == jnp.float64
        # Gauss-Hermite (40 x 24 nodes) against the 1001-node trapezoid of solve_storage:
        # measured 2e-10 to 4e-10; 2e-9 leaves room for the other y only
        np.testing.assert_allclose(float(value), (1 + y) * float(phi), rtol=0, atol=2e-9)


@pytest.mark.slow
def test_stationarity_dtypes_and_bound(curves):
    assert curves.converged.all()
    assert np.all(np.asarray(curves.residual) < RESIDUAL)
    for x in (curves.local_entropy, curves.reference_entropy, curves.free_entropy,
              curves.order_params.q_ref):
        assert x.dtype == jnp.float64
    assert curves.local_entropy.shape == (2, len(D_GRID))
    # S_loc counts solutions at distance d: never more than all configurations there
    assert np.all(np.asarray(curves.local_entropy) < bound(D_GRID))
    # Phi = Sigma + y S_loc by construction; Phi itself is the saddle value
    np.testing.assert_allclose(
        np.asarray(curves.free_entropy),
        np.asarray(curves.reference_entropy) + np.asarray(BATCH_Y)[:, None]
        * np.asarray(curves.local_entropy), rtol=0, atol=1e-13)


@pytest.mark.slow
def test_local_entropy_grows_with_y(curves):
    """Phi(y) is a cumulant generating function (convex in y), so S_loc = dPhi/dy does not
    decrease with y; Sigma = Phi - y S_loc does not increase."""
    s = np.asarray(curves.local_entropy)
    sigma = np.asarray(curves.reference_entropy)
    assert np.all(s[1] > s[0]) and np.all(sigma[1] < sigma[0])


@pytest.mark.slow
def test_small_y_is_franz_parisi():
    """y -> 0: Sigma -> phi_RS (the references are typical solutions) and S_loc -> the
    Franz-Parisi local entropy around typical solutions (theory.local_entropy.franz_parisi with
    kappa_ref = kappa = 0). Richardson in y (2 S(y) - S(2y)) removes the O(y) term."""
    y = 0.02
    d = [0.05, 0.15]
    c = ld.large_deviation_curve([ALPHA, ALPHA], d, [y, 2 * y])
    ref = fp.franz_parisi_curve(ALPHA, 0.0, 0.0, d, n_kappa=2, n_fill=6)
    s0 = 2 * np.asarray(c.local_entropy[0]) - np.asarray(c.local_entropy[1])
    sigma0 = 2 * np.asarray(c.reference_entropy[0]) - np.asarray(c.reference_entropy[1])
    # remainder O(y^2): the O(y) slope is ~3e-3 (S(0.05) - S_FP = 1.2e-4 at d = 0.27), the
    # next coefficient of the same size gives ~1e-6 at y = 0.02; the two quadratures
    # (Hermite here, trapezoid/graded in franz_parisi) differ by < 1e-8
    np.testing.assert_allclose(s0, np.asarray(ref.local_entropy), rtol=0, atol=1e-5)
    np.testing.assert_allclose(sigma0, float(ref.reference_entropy), rtol=0, atol=1e-5)


@pytest.mark.slow
def test_implicit_derivative_matches_central_differences():
    """dS_loc/dalpha through the saddle point (implicit function theorem) against central
    differences with h = 1e-4 (error h^2 S''' ~ 1e-8, rounding 1e-13/h ~ 1e-9)."""
    d, y = 0.1, 3.0
    start = ld.large_deviation_curve(ALPHA, [d], y).order_params
    init = jax.tree.map(lambda x: x[0], start)

    @jax.jit
    def s_loc(alpha):
        problem = ld.LargeDeviationStorage(alpha, 0.0, 0.0, d, y)
        sol = ld.saddle_large_deviation(problem, init)
        return ld.local_entropy(sol.order_params, problem)

    h = 1e-4
    exact = float(jax.grad(s_loc)(jnp.asarray(ALPHA)))
    fd = (float(s_loc(ALPHA + h)) - float(s_loc(ALPHA - h))) / (2 * h)
    np.testing.assert_allclose(exact, fd, rtol=1e-5, atol=1e-7)


def test_bad_input_messages():
    with pytest.raises(ValueError, match="must lie in \\(0, 1/2\\)"):
        ld.large_deviation_curve(ALPHA, [0.1, 0.6], 2.0)
    with pytest.raises(ValueError, match="not within 1e-3 of 1"):
        ld.large_deviation_curve(ALPHA, [0.1], 1.0)
    with pytest.raises(ValueError, match="y = infinity: theory.local_entropy.large_deviation_limit"):
        ld.large_deviation_curve(ALPHA, [0.1], np.inf)
    with pytest.raises(ValueError, match="alpha = P/N must be finite and > 0"):
        ld.large_deviation_curve(0.0, [0.1], 2.0)
    with pytest.raises(ValueError, match="kappa must be <= kappa_ref"):
        ld.large_deviation_curve(ALPHA, [0.1], 2.0, kappa=0.1, kappa_ref=0.0)
    with pytest.raises(Exception, match="must lie in \\(0, 1/2\\)"):
        ld.LargeDeviationStorage(ALPHA, 0.0, 0.0, 0.7, 2.0)
    with pytest.raises(Exception, match="y must be finite and > 0"):
        ld.LargeDeviationStorage(ALPHA, 0.0, 0.0, 0.1, -1.0)


# ------------------------------------------------------------------- teacher-student

@pytest.fixture(scope="module")
def ts_reference():
    sol = ts.reference_saddle_ts(ALPHA, 0.0)
    return sol.order_params, float(sol.free_entropy)


def _ts_identity_point(ref) -> ld.LDTSOrderParams:
    q, q_hat, R, R_hat = ref.q, ref.q_hat, ref.R, ref.R_hat
    return ld.LDTSOrderParams(q, q, q, q, R, R, q_hat, q_hat, q_hat, q_hat, q_hat, R_hat,
                              R_hat)


def test_teacher_student_identity_at_typical_distance(ts_reference):
    """Teacher-student at p = q_TS: every replica is one more typical solution (overlaps
    q_TS, teacher overlaps R_TS, conjugates the RS ones), so Phi = (1 + y) phi_TS; and Phi
    is stationary in the four teacher variables there (the other directions sit on the
    faces C1 = C2 = b1 = s = 0, where the square roots are not differentiable)."""
    ref, phi = ts_reference
    op = _ts_identity_point(ref)
    value_and_grad = jax.jit(jax.value_and_grad(ld.free_entropy_large_deviation))
    for y in (0.5, 2.0, 5.0):
        problem = ld.LargeDeviationTeacherStudent(ALPHA, 0.0, 0.0, (1 - ref.q) / 2, y)
        value, grad = value_and_grad(op, problem)
        # Gauss-Hermite x half-normal rule against the 1001-node trapezoid: measured 3e-10
        np.testing.assert_allclose(float(value), (1 + y) * phi, rtol=0, atol=2e-9)
        for name in ("R_ref", "R", "R_ref_hat", "R_hat"):
            assert abs(float(getattr(grad, name))) < 5e-9, (y, name)  # measured <= 1e-9


def test_teacher_student_without_teacher_is_storage():
    """R_ref = R = R_ref_hat = R_hat = 0: the teacher field decouples (2 E_{nu > 0} of a
    nu-independent integrand) and Phi is the storage one at any overlaps."""
    storage = ld.LDOrderParams(0.5, 0.8, 0.45, 0.4, 0.6, 0.9, 0.7, 0.5, 0.8)
    teacher = ld.LDTSOrderParams(0.5, 0.8, 0.45, 0.4, 0.0, 0.0, 0.6, 0.9, 0.7, 0.5, 0.8, 0.0,
                                 0.0)
    for y in (0.5, 3.0):
        a = ld.free_entropy_large_deviation(storage,
                                            ld.LargeDeviationStorage(ALPHA, 0.0, 0.0, 0.1, y))
        b = ld.free_entropy_large_deviation(
            teacher, ld.LargeDeviationTeacherStudent(ALPHA, 0.0, 0.0, 0.1, y))
        # the half-normal weights sum to 1 up to rounding
        assert float(b) == pytest.approx(float(a), abs=1e-13)


@pytest.mark.slow
def test_teacher_student_curve_prefers_dense_well_generalizing_references():
    """Teacher-student, y = 3 (27 min on one core): a stationary saddle
    (grad Phi in the physical order parameters, independently of the solver), S_loc below
    the counting bound, Phi = Sigma + y S_loc; and the exp(y N S_loc) tilt selects
    references with more solutions around them and better generalization than typical
    (Gibbs, kappa_ref = 0) ones: S_loc(y = 3) > S_FP and eps(y = 3) < eps_FP at each d.
    Measured: S_loc = 0.1452, 0.2902; eps = 0.3878, 0.3915 (d = 0.05, 0.15)."""
    d, y = [0.05, 0.15], 3.0
    c = ld.large_deviation_curve(ALPHA, d, y, problem=TeacherStudent)
    assert bool(c.converged.all())
    grad = jax.vmap(jax.grad(ld.free_entropy_large_deviation))(c.order_params, c.problem)
    assert max(float(jnp.abs(g).max()) for g in jax.tree.leaves(grad)) < RESIDUAL
    assert np.all(np.asarray(c.local_entropy) < bound(d))
    np.testing.assert_allclose(np.asarray(c.free_entropy), np.asarray(c.reference_entropy)
                               + y * np.asarray(c.local_entropy), rtol=0, atol=1e-13)
    typical = fp.franz_parisi_curve(ALPHA, 0.0, 0.0, d, query=ts.FranzParisiTeacherStudent,
                                    n_kappa=2, n_fill=6)
    assert np.all(np.asarray(c.local_entropy) > np.asarray(typical.local_entropy))
    assert np.all(np.asarray(c.gen_error) < np.asarray(typical.gen_error))


# ------------------------------------------------------------------------- Sigma = 0

SIGMA0_ALPHA, SIGMA0_D, SIGMA0_H = 0.72, 0.02, 2e-3
# central differences of S*(d): error h^2 S'''/6 with |S'''| <~ 1/d^2 (that of the shell
# entropy -d ln d bounding S*), 1.7e-3 on a slope of ~1.2; twice that as a relative bound
FD_SLOPE_RTOL = 3e-3
# of y*(alpha), h = 1e-3: y* changes on a scale of ~0.1 in alpha (5.80 at 0.72, 4.49 at
# 0.75), so h^2 y'''/6 ~ |y'| h^2 / (6 * 0.1^2) ~ 2e-5 relative; root errors 1e-9 / h
FD_Y_RTOL = 1e-4


@pytest.fixture(scope="module")
def sigma_zero():
    """y*(d) at alpha = 0.72 on d = 0.02 -+ h (h = 2e-3)."""
    d = [SIGMA0_D - SIGMA0_H, SIGMA0_D, SIGMA0_D + SIGMA0_H]
    return ld.sigma_zero_curve(SIGMA0_ALPHA, d)


@pytest.mark.slow
def test_sigma_zero_is_a_root_of_the_reference_entropy(sigma_zero):
    """At y*: a saddle point with Sigma = Phi - y dPhi/dy = 0, i.e. Phi = y* S*; and by
    another route, the branch continued in y without the augmented system (the engine's
    ``continue_to``; cold starts at y ~ 6 fail), Sigma changes sign between y* -+ h."""
    c = sigma_zero
    assert np.all(np.asarray(c.converged))
    assert np.all(np.asarray(c.residual) < RESIDUAL)
    op = jax.tree.map(lambda x: x[1], c.order_params)
    problem = jax.tree.map(lambda x: x[1], c.problem)
    model = ld.LargeDeviationModel(problem, ld.DEFAULT_QUADRATURE)
    np.testing.assert_allclose(float(ld.reference_entropy(model, op)), 0.0, atol=1e-10)
    np.testing.assert_allclose(float(model.free_entropy(op)),
                               float(c.y[1]) * float(c.local_entropy[1]), rtol=0, atol=1e-10)
    # the continuation in y from y = 3 (points at d = 0.01, 0.02, 0.04 first measured with
    # a grid of 0.1 in y and linear interpolation of Sigma: y* = 6.33, 5.80, 7.11)
    assert 5.5 < float(c.y[1]) < 6.1
    start = ld.large_deviation_curve(SIGMA0_ALPHA, [SIGMA0_D], 3.0)
    model = ld.LargeDeviationModel(jax.tree.map(lambda x: x[0], start.problem),
                                   ld.DEFAULT_QUADRATURE)
    y_star, h = float(c.y[1]), 0.02
    run = theory.engine.continue_to(model, jax.tree.map(lambda x: x[0], start.order_params),
                                    "y", y_star + h, step=0.25, stations=(y_star - h, y_star + h))
    sigma = [float(ld.reference_entropy(eqx.tree_at(lambda m: m.problem.y, model, jnp.asarray(v)),
                                        jax.tree.map(jnp.asarray, run.stations[v][0])))
             for v in (y_star - h, y_star + h)]
    assert sigma[0] > 0 > sigma[1]
    # linear interpolation of Sigma (slope ~ -0.02 per unit y): error ~ h^2 |Sigma''/Sigma'| / 2
    y_linear = y_star - h + 2 * h * sigma[0] / (sigma[0] - sigma[1])
    assert abs(y_linear - y_star) < 1e-3


@pytest.mark.slow
def test_sigma_zero_slope_is_the_envelope_derivative(sigma_zero):
    """dS*/dd = dPhi/dd / y* (the dy*/dd terms cancel at Sigma = 0) against central
    differences of S* with h = 2e-3: error h^2 S'''/6, measured below."""
    c = sigma_zero
    s = np.asarray(c.local_entropy)
    fd = (s[2] - s[0]) / (2 * SIGMA0_H)
    np.testing.assert_allclose(float(c.slope[1]), fd, rtol=FD_SLOPE_RTOL)


@pytest.mark.slow
def test_sigma_zero_y_star_implicit_derivative_in_alpha():
    """dy*/dalpha through the augmented system {saddle, Sigma = 0} (implicit function
    theorem) against central differences of re-solved roots, h = 1e-3."""
    start = ld.large_deviation_curve(SIGMA0_ALPHA, [SIGMA0_D], 3.0)
    init = jax.tree.map(lambda x: x[0], start.order_params)
    grid = jnp.linspace(3.0, 8.0, 21)

    @jax.jit
    def y_star(alpha):
        model = ld.LargeDeviationModel(ld.LargeDeviationStorage(alpha, 0.0, 0.0, SIGMA0_D, 3.0),
                                       ld.DEFAULT_QUADRATURE)
        found = theory.engine.threshold_on_branch(model, grid, ld.reference_entropy,
                                                  control=ld.Y_CONTROL, init=init)
        return found.alpha, found.converged

    value, ok = y_star(jnp.asarray(SIGMA0_ALPHA))
    assert bool(ok)
    exact = float(jax.grad(lambda a: y_star(a)[0])(jnp.asarray(SIGMA0_ALPHA)))
    h = 1e-3
    fd = (float(y_star(SIGMA0_ALPHA + h)[0]) - float(y_star(SIGMA0_ALPHA - h)[0])) / (2 * h)
    assert exact < 0  # more patterns, fewer dense references: Sigma vanishes at a smaller y
    np.testing.assert_allclose(exact, fd, rtol=FD_Y_RTOL)


def test_sigma_zero_bad_input_messages():
    with pytest.raises(ValueError, match="need 1 < y_start < y_max <= 8"):
        ld.sigma_zero_curve(ALPHA, [0.1], y_start=0.5)
    with pytest.raises(ValueError, match="need 1 < y_start < y_max <= 8"):
        ld.sigma_zero_curve(ALPHA, [0.1], y_max=12.0)
    with pytest.raises(ValueError, match="must lie in \\(0, 1/2\\)"):
        ld.sigma_zero_curve(ALPHA, [0.6])
    with pytest.raises(ValueError, match="kappa must be <= kappa_ref"):
        ld.sigma_zero_curve(ALPHA, [0.1], kappa=0.1, kappa_ref=0.0)
