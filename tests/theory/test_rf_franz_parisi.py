"""Franz-Parisi local entropy of the random-features model (RS) on the validation ladder:
the n, s -> 0 block algebra of the Wishart rate against explicit matrices, the identity
with the typical entropy, the alpha_D -> 0 reduction to the storage Franz-Parisi entropy,
stationarity, implicit derivatives, and the [P1] atypical transition (slow)."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from atypical import RandomFeatures
from theory.local_entropy import franz_parisi as fp
from theory.local_entropy import rf_franz_parisi as rfp
from theory.local_entropy.franz_parisi_teacher import half_normal_rule
from theory.models.random_features import (RFOrderParams, rf_interpolation_threshold, rf_kappa_max,
                                    saddle_rf, wishart_rate)

RESIDUAL = 1e-10  # stationarity required of every returned saddle point


# ------------------------------------------------------------ block algebra of the F average

def _block_matrix(n, s, a0, a1, c0, c1, e_own, e_other):
    """Explicit (n+s) matrix: RS reference block, RS constrained block, cross entries e_own
    (with reference 1) and e_other (with references 2..n)."""
    M = np.empty((n + s, n + s))
    M[:n, :n] = (a0 - a1) * np.eye(n) + a1
    M[n:, n:] = (c0 - c1) * np.eye(s) + c1
    M[n:, :n] = e_other
    M[n:, 0] = e_own
    M[:n, n:] = M[n:, :n].T
    return M


def _log_det(n, s, a0, a1, c0, c1, e_own, e_other):
    """ln det of the block matrix for real n, s (Schur complement of the reference block,
    independent of the module's formula): the reference block contributes
    (n-1) ln(a0-a1) + ln(a0+(n-1)a1); the Schur complement is RS with entries shifted by
    K = b A^-1 b, A^-1 = I/(a0-a1) - a1 J/((a0-a1)(a0+(n-1)a1))."""
    g = a0 - a1
    norm2, total = e_own**2 + (n - 1) * e_other**2, e_own + (n - 1) * e_other
    K = norm2 / g - a1 * total**2 / (g * (a0 + (n - 1) * a1))
    return ((n - 1) * np.log(g) + np.log(a0 + (n - 1) * a1) + (s - 1) * np.log(c0 - c1)
            + np.log(c0 - c1 + s * (c1 - K)))


ENTRIES = (1.3, 0.4, 1.1, 0.5, 0.45, 0.3)  # a0, a1, c0, c1, e_own, e_other (positive definite)


@pytest.mark.parametrize("n, s", [(3, 2), (4, 3), (2, 1)])
def test_block_log_det_at_integer_replica_numbers(n, s):
    value = np.linalg.slogdet(_block_matrix(n, s, *ENTRIES))
    assert value[0] > 0
    assert _log_det(n, s, *ENTRIES) == pytest.approx(value[1], abs=1e-12)  # rounding only


def test_s_derivative_at_n_zero():
    # d/ds at s = 0, n = 0 of the closed form (central difference, h = 1e-5: O(h^2) = 1e-10
    # truncation, 1e-16/h rounding) against the module's limit formula
    h = 1e-5
    central = (_log_det(0, h, *ENTRIES) - _log_det(0, -h, *ENTRIES)) / (2 * h)
    assert float(rfp.ds_log_det(*map(jnp.float64, ENTRIES))) == pytest.approx(central,
                                                                              abs=1e-9)
    assert _log_det(0, 0, *ENTRIES) == pytest.approx(0.0, abs=1e-15)  # n = s = 0: no replicas


def _wishart_closed_form(n, s, op, ref, p):
    """ln det(rho - m m^T) - ln det Q - tr Q^-1 rho + n + s for real n, s from the closed
    form ``_log_det`` (trace as d/d eps ln det(Q + eps rho) by a complex step: exact to
    rounding)."""
    Q = (1.0, ref.q, 1.0, op.q, p, op.t)
    rho = (ref.r, ref.p, op.r, op.rho, op.rho_own, op.rho_other)
    shifted = (ref.r - ref.m**2, ref.p - ref.m**2, op.r - op.m**2, op.rho - op.m**2,
               op.rho_own - op.m * ref.m, op.rho_other - op.m * ref.m)
    eps = 1e-30
    trace = _log_det(n, s, *(a + 1j * eps * b for a, b in zip(Q, rho))).imag / eps
    return _log_det(n, s, *shifted) - _log_det(n, s, *Q) - trace + n + s


REF = RFOrderParams(0.45, 1.7, 1.4, 0.62, 0.5)
OP = rfp.RFFPOrderParams(0.55, 0.3, 2.0, 1.0, 1.5, 1.6, 0.9, 0.8, 0.4, 0.45)


def test_wishart_rate_matches_explicit_matrices():
    ref = jax.tree.map(float, REF)
    op = jax.tree.map(float, OP)
    p = 0.7
    # the closed form at integer n, s against numpy: ln det(S), S = rho - m m^T built with
    # reference teacher overlaps m_ref and constrained ones m
    n, s = 3, 2
    Q = _block_matrix(n, s, 1.0, ref.q, 1.0, op.q, p, op.t)
    rho = _block_matrix(n, s, ref.r, ref.p, op.r, op.rho, op.rho_own, op.rho_other)
    m = np.r_[np.full(n, ref.m), np.full(s, op.m)]
    explicit = (np.linalg.slogdet(rho - np.outer(m, m))[1] - np.linalg.slogdet(Q)[1]
                - np.trace(np.linalg.solve(Q, rho)) + n + s)
    assert _wishart_closed_form(n, s, op, ref, p) == pytest.approx(explicit, abs=1e-12)
    # s-derivative at n = 0 (closed form, central difference: O(h^2) ~ 1e-8 truncation,
    # 1e-16/h rounding) against wishart_rate_fp
    h = 1e-4
    central = (_wishart_closed_form(0, h, op, ref, p)
               - _wishart_closed_form(0, -h, op, ref, p)) / (2 * h)
    assert float(rfp.wishart_rate_fp(OP, REF, p)) == pytest.approx(central, abs=1e-7)


def test_wishart_rate_identity_and_typical_point():
    # constrained = one more reference: the typical RS rate of the reference
    op = rfp.identity_order_params(REF)
    assert float(rfp.wishart_rate_fp(op, REF, REF.q)) == pytest.approx(
        float(wishart_rate(REF)), abs=1e-14)
    # typical structure (rho = Q, m = 0 everywhere): no F cost, and stationary
    typical_ref = RFOrderParams(0.45, 1.7, 1.0, 0.45, 0.0)
    typical = rfp.RFFPOrderParams(0.55, 0.3, 2.0, 1.0, 1.5, 1.0, 0.55, 0.7, 0.3, 0.0)
    assert abs(float(rfp.wishart_rate_fp(typical, typical_ref, 0.7))) < 1e-15
    grad = jax.grad(rfp.wishart_rate_fp)(typical, typical_ref, jnp.float64(0.7))
    for name in ("r", "rho", "rho_own", "rho_other", "m"):
        assert abs(float(getattr(grad, name))) < 1e-14


def test_half_normal_rule():
    # moments of the half-normal: E nu^k = 2^(k/2) Gamma((k+1)/2)/sqrt(pi), exact to
    # rounding up to degree 2n - 1
    nu, w = half_normal_rule(12)
    for k in range(0, 23):
        exact = 2 ** (k / 2) * math.gamma((k + 1) / 2) / math.sqrt(math.pi)
        assert np.sum(w * nu**k) == pytest.approx(exact, rel=1e-12)


# ------------------------------------------------------------------------ input errors

def test_distance_outside_range_is_rejected():
    with pytest.raises(Exception, match=r"d must lie in \(0, 1/2\]"):
        rfp.RFFranzParisi(0.5, 2.0, 0.2, 0.0, 0.7)
    with pytest.raises(ValueError, match=r"must lie in \(0, 1/2\]"):
        rfp.rf_franz_parisi_curve(0.5, 2.0, 0.2, 0.0, [0.0, 0.1])


def test_margin_above_reference_margin_is_rejected():
    with pytest.raises(ValueError, match="kappa must be <= kappa_ref"):
        rfp.rf_franz_parisi_curve(0.5, 2.0, 0.1, 0.2, [0.1])


def test_bad_alpha_D_is_rejected():
    with pytest.raises(Exception, match="alpha_D = P/D must be finite and > 0"):
        rfp.RFFranzParisi(0.5, 0.0, 0.2, 0.0, 0.1)
    with pytest.raises(ValueError, match="alpha_D = P/D must be finite and > 0"):
        rfp.rf_atypical_threshold(-1.0)


# ----------------------------------------------------------------------- the identity

ALPHA, ALPHA_D = 0.6, 2.0


@pytest.fixture(scope="module")
def typical():
    sol = saddle_rf(RandomFeatures(ALPHA, ALPHA_D, 0.0))
    assert bool(sol.converged)
    return sol


@pytest.mark.slow
def test_identity_with_typical_entropy(typical):
    """kappa = kappa_ref, d = (1 - q)/2: the constrained replica is one more reference, so
    S = phi_RF, grad phi = 0 and dS/dd = 0 (the maximum over d, see the slow test)."""
    ref = typical.order_params
    problem = rfp.RFFranzParisi(ALPHA, ALPHA_D, 0.0, 0.0, (1 - ref.q) / 2)
    op = rfp.identity_order_params(ref)
    value = jax.jit(rfp.free_entropy_rf_fp)(op, ref, problem)
    # FP quadrature (12 nu x 61 z0 x 110 z1 nodes) against the typical 1001-node trapezoid:
    # measured 2e-14 apart, gradient 2e-14; the identity itself is exact algebra
    assert value.dtype == jnp.float64
    assert float(value) == pytest.approx(float(typical.free_entropy), abs=1e-10)
    grad = jax.jit(jax.grad(rfp.free_entropy_rf_fp))(op, ref, problem)
    assert max(abs(float(g)) for g in jax.tree.leaves(grad)) < RESIDUAL
    assert abs(float(jax.jit(rfp.slope)(op, ref, problem))) < RESIDUAL


@pytest.mark.slow
def test_identity_is_the_maximum_over_d(typical):
    """S(d) at kappa = kappa_ref on both sides of d_typ lies below phi_RF; the curve's
    slope changes sign there."""
    ref = typical.order_params
    d_typ = float((1 - ref.q) / 2)
    d = [0.5 * d_typ, 0.9 * d_typ, d_typ, 1.1 * d_typ]
    curve = rfp.rf_franz_parisi_curve(ALPHA, ALPHA_D, 0.0, 0.0, d, n_kappa=1, n_fill=4)
    assert bool(curve.converged.all()) and float(curve.residual.max()) < RESIDUAL
    S = np.asarray(curve.local_entropy)
    # the identity point again, now reached by continuation (the branch is the RS one)
    assert S[2] == pytest.approx(float(typical.free_entropy), abs=1e-10)
    assert np.all(np.delete(S, 2) < S[2])
    slope = np.asarray(curve.slope)
    assert slope[0] > slope[1] > 0 > slope[3] and abs(slope[2]) < 1e-8
    assert np.all(np.asarray(curve.local_entropy) <= np.asarray(curve.upper_bound))


@pytest.mark.slow
def test_maximum_for_smaller_margin_is_typical_entropy():
    """kappa < kappa_ref: at the maximum over d the constrained replica forgets its own
    reference (p = t, rho_own = rho_other, p_hat = t_hat): S = phi_RF(alpha, alpha_D, kappa)
    with the typical overlaps. Checks the teacher and cross terms away from the identity.
    The maximum is located by secant steps on dS/dd (envelope slope)."""
    kappa_ref, grid = 0.4, [0.15, 0.2, 0.25, 0.3, 0.35]
    curve = rfp.rf_franz_parisi_curve(ALPHA, ALPHA_D, kappa_ref, 0.0, grid, n_kappa=4,
                                      n_fill=4)
    ref = curve.reference
    slopes = np.asarray(curve.slope)
    i = int(np.argmax(slopes < 0))
    assert i > 0 and slopes[i - 1] > 0

    @jax.jit
    def solve(d, init):
        problem = rfp.RFFranzParisi(ALPHA, ALPHA_D, kappa_ref, 0.0, d)
        sol = rfp.saddle_rf_fp(problem, ref, init)
        return sol, rfp.slope(sol.order_params, ref, problem)

    (d0, s0), (d1, s1) = (grid[i - 1], slopes[i - 1]), (grid[i], slopes[i])
    init = jax.tree.map(lambda x: x[i], curve.order_params)
    for _ in range(8):
        d0, s0, d1 = d1, s1, d1 - s1 * (d1 - d0) / (s1 - s0)
        sol, s1 = solve(jnp.float64(d1), init)
        s1, init = float(s1), sol.order_params
        assert bool(sol.converged)
        if abs(s1) < 1e-11:
            break
    typical = saddle_rf(RandomFeatures(ALPHA, ALPHA_D, 0.0))
    # the secant converges superlinearly to |dS/dd| < 1e-11; S is flat there (error
    # quadratic in the distance), and the quadratures agree to ~1e-13
    assert float(sol.free_entropy) == pytest.approx(float(typical.free_entropy), abs=1e-10)
    op, top = sol.order_params, typical.order_params
    # the decoupled point: own and other references alike (first-order in the d error)
    assert float(op.t) == pytest.approx(1 - 2 * d1, abs=1e-8)
    assert float(op.rho_own) == pytest.approx(float(op.rho_other), abs=1e-8)
    assert float(op.p_hat) == pytest.approx(float(op.t_hat), abs=1e-8)
    for mine, theirs in [(op.q, top.q), (op.r, top.r), (op.rho, top.p), (op.m, top.m)]:
        assert float(mine) == pytest.approx(float(theirs), abs=1e-8)


# -------------------------------------------------- alpha_D -> 0: storage Franz-Parisi


@pytest.mark.slow
def test_small_alpha_D_is_storage_franz_parisi():
    """alpha_D -> 0 pins the projections at the typical structure (r = 1, rho = q,
    rho_own = p, rho_other = t, m = 0): S_RF(d) = S_storage(d) + O(alpha_D). Same z0, z1
    rules as the storage code; the difference divided by alpha_D must agree at alpha_D and
    alpha_D/2 (linear approach), and S_RF -> S_storage."""
    alpha, kappa_ref, kappa, d = 0.5, 0.3, 0.0, 0.1
    storage = fp.franz_parisi_curve(alpha, kappa_ref, kappa, [d], n_kappa=4, n_fill=4)
    s_storage = float(storage.local_entropy[0])
    W = jax.tree.map(lambda x: x[0], storage.order_params)
    quad = rfp.RFFPQuadrature(base=fp.FPQuadrature())
    excess = []
    for alpha_D in (2e-3, 1e-3):
        ref = saddle_rf(RandomFeatures(alpha, alpha_D, kappa_ref)).order_params
        init = rfp.RFFPOrderParams(W.q, W.t, W.q_hat, W.t_hat, W.p_hat, 1.0, W.q, 1 - 2 * d,
                                   W.t, 0.0)
        sol = rfp.saddle_rf_fp(rfp.RFFranzParisi(alpha, alpha_D, kappa_ref, kappa, d), ref,
                               init, quad=quad)
        assert bool(sol.converged) and float(sol.residual) < RESIDUAL
        excess.append((float(sol.free_entropy) - s_storage) / alpha_D)
        op = sol.order_params
        assert abs(float(op.r) - 1) < 20 * alpha_D and abs(float(op.m)) < 20 * alpha_D
    # O(alpha_D^2)/alpha_D changes the ratio by ~alpha_D: 1% at alpha_D = 2e-3
    assert excess[0] == pytest.approx(excess[1], rel=1e-2)


# ----------------------------------------------- stationarity and implicit derivatives

@jax.jit
def _entropy_at(alpha, init):
    kappa_ref, d = 0.4, 0.05
    ref = saddle_rf(RandomFeatures(alpha, ALPHA_D, kappa_ref)).order_params
    problem = rfp.RFFranzParisi(alpha, ALPHA_D, kappa_ref, 0.0, d)
    sol = rfp.saddle_rf_fp(problem, ref, init)
    return sol.free_entropy, sol


@pytest.mark.slow
def test_stationarity_and_implicit_derivative():
    """A point of the branch (alpha = 0.6, kappa_ref = 0.4 < kappa_max = 0.45, kappa = 0,
    d = 0.05): grad phi = 0 in the physical order parameters; dS/dalpha through both saddles
    (typical reference, Franz-Parisi) by the implicit function theorem against central
    differences of converged solves."""
    curve = rfp.rf_franz_parisi_curve(ALPHA, ALPHA_D, 0.4, 0.0, [0.05], n_kappa=4, n_fill=4)
    init = jax.tree.map(lambda x: x[0], curve.order_params)
    value, sol = _entropy_at(jnp.float64(ALPHA), init)
    assert bool(sol.converged)
    grad = jax.grad(rfp.free_entropy_rf_fp)(sol.order_params, curve.reference, sol.problem)
    assert max(abs(float(g)) for g in jax.tree.leaves(grad)) < RESIDUAL
    assert float(value) == pytest.approx(float(curve.local_entropy[0]), abs=1e-12)
    dS = jax.jit(jax.grad(lambda a: _entropy_at(a, init)[0]))(jnp.float64(ALPHA))
    h = 1e-5
    S = lambda a: float(_entropy_at(jnp.float64(a), init)[0])
    # O(h^2) truncation ~1e-10; solves converged to ~1e-13, rounding ~1e-13/h = 1e-8
    assert float(dS) == pytest.approx((S(ALPHA + h) - S(ALPHA - h)) / (2 * h), abs=5e-7)


# --------------------------------------------------------------------- maximal margin

@pytest.mark.slow
def test_rf_kappa_max_limits():
    """alpha_D -> 0: the storage kappa_max(0.5) = 0.418062 (test_margins) + O(alpha_D);
    at the interpolation point kappa_max = 0 (both are roots of phi_RF)."""
    small = rf_kappa_max(0.5, 1e-3)
    assert float(small.residual) < RESIDUAL
    # the O(alpha_D) shift measured at 1e-3 is 9.4e-5 (linear in alpha_D)
    assert 0 < float(small.kappa) - 0.4180625 < 2e-4
    alpha_c = float(rf_interpolation_threshold(2.0).alpha)
    assert abs(float(rf_kappa_max(alpha_c, 2.0).kappa)) < 1e-9


# ----------------------------------------------------------- [P1] atypical transition

@pytest.mark.slow
def test_atypical_transition_precedes_interpolation():
    """alpha_D = 2: S(d) around maximal-margin references is monotone below the returned
    alpha and has a dip above; the transition comes before the interpolation point in
    alpha (at larger N/D, interpolation N/D = 1.913). Measured: alpha = 0.90557,
    N/D = 2.2085, dip at d = 0.0051, kappa_max = 0.107 there (alpha_D = 1: alpha = 0.8193,
    N/D = 1.2206 against 1.0618); about an hour of CPU under load."""
    result = rfp.rf_atypical_threshold(2.0)
    alpha_c = float(rf_interpolation_threshold(2.0).alpha)
    assert result.alpha_lo <= result.alpha <= result.alpha_hi
    assert result.alpha_hi - result.alpha_lo <= 1e-4
    assert result.alpha < alpha_c and result.n_over_d > 2.0 / alpha_c
    assert result.n_over_d == pytest.approx(2.0 / result.alpha, rel=1e-12)
    d = np.geomspace(1.5e-3, 0.06, 12)
    for alpha, monotone in [(result.alpha - 0.01, True), (result.alpha + 0.01, False)]:
        top = float(rf_kappa_max(alpha, 2.0).kappa)
        curve = rfp.rf_franz_parisi_curve(alpha, 2.0, top, 0.0, d, n_kappa=6, n_fill=6)
        assert bool(np.all(np.asarray(curve.slope) > 0)) == monotone


def test_features_without_linear_part_are_rejected():
    # mu1 = 0 (quadratic features): exactly the storage problem, theory.local_entropy.franz_parisi
    with pytest.raises(ValueError, match="sigma must be one of"):
        rfp.RFFranzParisi(0.5, 2.0, 0.2, 0.0, 0.1, sigma="quadratic")
