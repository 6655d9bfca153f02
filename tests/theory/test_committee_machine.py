"""RS theory of the binary tree committee machine (``theory.models.committee``).

Checks: K = 1 is the perceptron; identities (alpha -> 0, annealed point, stationarity);
an independent NumPy/SciPy computation written here (product Gauss-Hermite rule over all K
fields with the explicit majority sum, the saddle reduced to one equation in q, derivative
of G_E by central differences); exact enumeration of K = 3 at small N; implicit derivative
of the capacity against central differences.
"""

import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.optimize import brentq
from scipy.special import ndtr

from atypical import (BinaryStorage, TeacherStudent, TreeCommittee, TreeCommitteeTeacherStudent,
                      gen_error_from_overlap, tree_committee_gen_error)
from theory import (committee_capacity, committee_kappa_max, free_entropy_committee,
                    kappa_max, solve_committee, solve_storage, storage_capacity)
from theory.models.committee import (committee_gen_error, committee_replicon,
                                     committee_rs_instability, committee_rule,
                                     energetic_committee,
                                     energetic_committee_teacher,
                                     free_entropy_committee_teacher_student, log_majority,
                                     solve_committee_teacher_student)
from theory.models.perceptron import (RSOrderParams, TSOrderParams, free_entropy_storage,
                                      free_entropy_teacher_student, replicon,
                                      solve_teacher_student)
from theory.models.thresholds import storage_rs_instability

LN2 = math.log(2)


# ------------------------------------------------------------ independent reference

def _gh(n):
    z, w = np.polynomial.hermite_e.hermegauss(n)
    return z, w / np.sqrt(2 * np.pi)


def _majority_explicit(p):
    """P(#successes >= (K+1)/2) by the explicit sum over the 2^K outcomes (p: (..., K))."""
    K = p.shape[-1]
    total = np.zeros(p.shape[:-1])
    for tau in itertools.product((0, 1), repeat=K):
        if sum(tau) >= (K + 1) // 2:
            total += np.prod(np.where(np.array(tau, bool), p, 1 - p), axis=-1)
    return total


def _majority(p):
    """P(#successes >= (K+1)/2) from the full distribution of the count (p: (..., K))."""
    K = p.shape[-1]
    pmf = np.zeros(p.shape[:-1] + (K + 1,))
    pmf[..., 0] = 1.0
    for l in range(K):
        pl = p[..., l, None]
        pmf = pmf * (1 - pl) + np.concatenate([np.zeros_like(pl), pmf[..., :-1]], -1) * pl
    return pmf[..., (K + 1) // 2:].sum(-1)


class Reference:
    """G_E on the full product Gauss-Hermite grid of order n in K dimensions; the saddle
    as the 1-d problem q = E tanh^2(sqrt(q_hat) z), q_hat = -2 alpha G_E'(q)."""

    def __init__(self, K, n, kappa=0.0):
        z, w = _gh(n)
        grid = np.stack(np.meshgrid(*[z] * K, indexing="ij"), -1).reshape(-1, K)
        self.z, self.w = grid, np.prod(np.stack(np.meshgrid(*[w] * K, indexing="ij"), -1)
                                       .reshape(-1, K), axis=1)
        self.kappa = kappa
        self.z1, self.w1 = _gh(150)

    def G(self, q):
        p = ndtr(-(self.kappa - np.sqrt(q) * self.z) / np.sqrt(1 - q))
        return float(np.sum(self.w * np.log(_majority(p))))

    def dG(self, q, h=1e-4):  # central difference: error G''' h^2/6 ~ 1e-9
        return (self.G(q + h) - self.G(q - h)) / (2 * h)

    def q_of(self, q_hat):
        return float(np.sum(self.w1 * np.tanh(np.sqrt(q_hat) * self.z1) ** 2))

    def phi(self, q, q_hat, alpha):
        entropic = -q_hat * (1 - q) / 2 + np.sum(
            self.w1 * (np.logaddexp(np.sqrt(q_hat) * self.z1, -np.sqrt(q_hat) * self.z1)))
        return float(entropic + alpha * self.G(q))

    def saddle(self, alpha):
        """(q, q_hat, phi) at alpha: root in q of E tanh^2(sqrt(-2 alpha G'(q)) z) - q."""
        q = brentq(lambda q: self.q_of(-2 * alpha * self.dG(q)) - q, 1e-4, 0.7, xtol=1e-14)
        q_hat = -2 * alpha * self.dG(q)
        return q, q_hat, self.phi(q, q_hat, alpha)

    def capacity(self):
        """Root of phi along the saddle line parametrised by q: alpha(q) = q_hat(q)/gamma."""
        def along(q):
            q_hat = brentq(lambda x: self.q_of(x) - q, 1e-10, 50.0, xtol=1e-15)
            alpha = q_hat / (-2 * self.dG(q))
            return alpha, self.phi(q, q_hat, alpha)
        q_c = brentq(lambda q: along(q)[1], 0.2, 0.6, xtol=1e-13)
        return along(q_c)[0], q_c


# ---------------------------------------------------------------------------- specs

def test_spec_checks_K_and_alpha():
    for K in (0, 2, -1, True, 3.0):
        with pytest.raises(ValueError, match="odd int >= 1"):
            TreeCommittee(0.5, 0.0, K)
    with pytest.raises(Exception, match="alpha = P/N must be finite and > 0"):
        TreeCommittee(-0.1, 0.0, 3)
    with pytest.raises(ValueError, match=r"K in \[1, 3, 5\]"):
        solve_committee(0.5, K=7)
    with pytest.raises(Exception, match=r"kappa must lie in \[-2.0, 2.0\]"):
        committee_capacity(3.0, K=3)
    spec = TreeCommittee(jnp.array([0.2, 0.4]), 0.0, 3)
    assert spec.alpha.dtype == jnp.float64 and spec.K == 3


# ------------------------------------------------------------------------ quadrature

def test_rule_is_normalised_and_symmetric_polynomials_exact():
    # trapezoid with step <= 0.4 is spectrally exact on Gaussian moments (error ~
    # exp(-2 pi^2 / h^2) < 1e-50); the pruning drops chi^2 mass 1e-14
    for K in (3, 5):
        rule = committee_rule(K)
        z, w = rule.nodes[rule.rows], rule.weights
        assert w.dtype == jnp.float64
        np.testing.assert_allclose(jnp.sum(w), 1.0, atol=1e-13)
        np.testing.assert_allclose(jnp.sum(w * jnp.sum(z**2, axis=1)), K, atol=1e-11)
        np.testing.assert_allclose(jnp.sum(w * jnp.prod(z**2, axis=1)), 1.0, atol=1e-11)
        np.testing.assert_allclose(jnp.sum(w * jnp.sum(z**4, axis=1)), 3 * K, atol=1e-10)


def test_log_majority_is_the_poisson_binomial_tail():
    p = np.random.default_rng(0).uniform(0.01, 0.99, (50, 5))
    for K in (1, 3, 5):
        got = log_majority(jnp.asarray(p[:, :K]), jnp.asarray(1 - p[:, :K]))
        np.testing.assert_allclose(got, np.log(_majority_explicit(p[:, :K])), rtol=0,
                                   atol=1e-14)


# ---------------------------------------------------------------------- K = 1 limit

def test_K1_free_entropy_is_the_perceptron():
    for q, q_hat in ((0.05, 0.1), (0.3, 0.5), (0.6, 2.0), (0.9, 8.0)):
        for alpha, kappa in ((0.5, 0.0), (0.8, 0.7), (1.2, -0.5)):
            op = RSOrderParams(q, q_hat)
            a = free_entropy_committee(op, TreeCommittee(alpha, kappa, 1))
            b = free_entropy_storage(op, BinaryStorage(alpha, kappa))
            assert a.dtype == jnp.float64
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)


def test_K1_saddle_is_the_perceptron():
    # the cold start fails past alpha_c(0.3) ~ 0.6 for both
    alpha, kappa = jnp.array([0.2, 0.5, 0.6]), jnp.array([0.3, 0.0, 0.3])
    a, b = solve_committee(alpha, kappa, K=1), solve_storage(alpha, kappa)
    np.testing.assert_allclose(a.free_entropy, b.free_entropy, rtol=0, atol=1e-12)
    np.testing.assert_allclose(a.order_params.q, b.order_params.q, rtol=0, atol=1e-12)
    # Gardner-Derrida RS entropy at alpha = 0.5, kappa = 0 (quoted to 8 digits)
    np.testing.assert_allclose(a.free_entropy[1], 0.31439007, atol=5e-9)


@pytest.mark.slow
def test_K1_capacity_is_the_perceptron():
    # Krauth-Mezard (J. Phys. France 50, 3057 (1989)): alpha_c = 0.833 (RS, kappa = 0)
    cap = committee_capacity(0.0, K=1)
    np.testing.assert_allclose(cap.alpha, storage_capacity(0.0).alpha, rtol=0, atol=1e-12)
    np.testing.assert_allclose(cap.alpha, 0.8330786, atol=5e-8)


# ----------------------------------------------------------------------- identities

def test_annealed_point_and_small_alpha():
    # q = q_hat = 0: every weight vector solves each pattern with probability 1/2
    for K in (3, 5):
        for alpha in (0.3, 1.1):
            phi = free_entropy_committee(RSOrderParams(0.0, 0.0), TreeCommittee(alpha, 0.0, K))
            # the 1001-node entropic rule sums to 1 - 2e-14: error ln 2 * 2e-14
            np.testing.assert_allclose(phi, (1 - alpha) * LN2, rtol=0, atol=1e-13)
    # small alpha: q = q_hat = alpha gamma_0 + O(alpha^2) and
    # phi = (1 - alpha) ln 2 - alpha^2 gamma_0^2 / 4 + O(alpha^3), gamma_0 = -2 G_E'(0) =
    # K (2 D)^2 / (2 pi), D = C(K-1, m-1) / 2^(K-1) (K = 3: gamma_0 = 3 / (2 pi))
    alpha = jnp.array([1e-3, 3e-3, 1e-2])
    sol = solve_committee(alpha, 0.0, K=3)
    gamma_0 = 3 / (2 * math.pi)
    np.testing.assert_allclose(sol.order_params.q / alpha, gamma_0, rtol=2 * float(alpha[-1]))
    curvature = (sol.free_entropy - (1 - alpha) * LN2) / alpha**2
    np.testing.assert_allclose(curvature, -gamma_0**2 / 4, rtol=0.1 * float(alpha[-1]))


def test_saddle_is_stationary_and_q_grows_with_alpha():
    sol = solve_committee(jnp.array([0.3, 0.6, 0.9]), jnp.array(0.0), K=3)
    assert sol.free_entropy.dtype == jnp.float64
    assert bool(jnp.all(sol.residual < 1e-10)) and bool(jnp.all(sol.converged))
    assert bool(jnp.all(jnp.diff(sol.order_params.q) > 0))
    assert bool(jnp.all(jnp.diff(sol.free_entropy) < 0))


# ------------------------------------------------------ against the reference (K = 3)

# Gauss-Hermite converges only algebraically here (ln T has complex singularities near
# the real axis): orders 40, 56, 72 differ by < 5e-12 in G_E at q <= 0.4 and by 1e-12 in
# phi at alpha = 0.9; the central difference in G_E' (h = 1e-4) is good to ~1e-9, which
# moves q, q_hat at first and phi (stationary) at second order. Tolerances: 1e-9 on G_E
# and phi, 1e-7 on q and q_hat.
REF_TOL = 1e-9
OP_TOL = 1e-7


def test_K3_free_entropy_and_saddle_against_reference():
    ref = Reference(3, 56)
    for q, kappa in ((0.2, 0.0), (0.4, 0.0), (0.35, 0.5), (0.3, -0.5)):
        ref.kappa = kappa
        np.testing.assert_allclose(energetic_committee(jnp.float64(q), jnp.float64(kappa), 3),
                                   ref.G(q), rtol=0, atol=REF_TOL)
    ref.kappa = 0.0
    alphas = (0.3, 0.6, 0.9)
    sol = solve_committee(jnp.array(alphas), 0.0, K=3)
    for i, alpha in enumerate(alphas):
        q, q_hat, phi = ref.saddle(alpha)
        np.testing.assert_allclose(sol.order_params.q[i], q, atol=OP_TOL)
        np.testing.assert_allclose(sol.order_params.q_hat[i], q_hat, atol=OP_TOL)
        np.testing.assert_allclose(sol.free_entropy[i], phi, atol=REF_TOL)


@pytest.mark.slow
def test_K3_capacity_against_reference():
    cap = committee_capacity(0.0, K=3)
    alpha_c, q_c = Reference(3, 56).capacity()
    assert cap.residual < 1e-10
    np.testing.assert_allclose(cap.alpha, alpha_c, atol=1e-6)
    np.testing.assert_allclose(cap.order_params.q, q_c, atol=1e-6)
    # capacity lies between the perceptron's and the annealed bound alpha = 1
    assert 0.8330786 < float(cap.alpha) < 1.0


@pytest.mark.slow
def test_K5_entropy_and_capacity_against_reference():
    # product Gauss-Hermite of order 16 in 5 dimensions (1.0 M nodes): orders 16 and 20
    # differ by 1.3e-8 in G_E at q = 0.4 and by 1.2e-10 in phi at the alpha = 0.9 saddle
    # (phi is stationary); the capacity moves by G_E's error / |d phi/d alpha| ~ 1e-8
    ref = Reference(5, 16)
    sol = solve_committee(0.9, 0.0, K=5)
    np.testing.assert_allclose(sol.free_entropy[0], ref.saddle(0.9)[2], atol=1e-8)
    cap = committee_capacity(0.0, K=5)
    np.testing.assert_allclose(cap.alpha, ref.capacity()[0], atol=1e-6)
    assert float(committee_capacity(0.0, K=3).alpha) < float(cap.alpha) < 1.0


@pytest.mark.slow
def test_capacity_derivative_in_kappa_matches_central_differences():
    # FD step 1e-4: truncation alpha''' h^2/6 ~ 1e-9, Newton noise 1e-13/h = 1e-9
    for K in (1, 3):
        slope = jax.grad(lambda k: committee_capacity(k, K=K).alpha)(jnp.float64(0.2))
        h = 1e-4
        fd = (committee_capacity(0.2 + h, K=K).alpha
              - committee_capacity(0.2 - h, K=K).alpha) / (2 * h)
        assert slope < 0
        np.testing.assert_allclose(slope, fd, rtol=1e-6)


@pytest.mark.slow
def test_kappa_max_K1_is_the_perceptron_and_K3_vanishes_at_capacity():
    np.testing.assert_allclose(committee_kappa_max(0.5, K=1).kappa, kappa_max(0.5).kappa,
                               atol=1e-12)
    cap = committee_capacity(0.0, K=3)
    np.testing.assert_allclose(committee_kappa_max(cap.alpha, K=3).kappa, 0.0, atol=1e-9)


# --------------------------------------------------------------- exact enumeration

def _count_K3(xi, n):
    """Number of K = 3 tree committees with every pattern's majority positive (labels
    gauged to +1, kappa = 0): per block, the mask of patterns with a positive hidden field
    for each of the 2^n configurations; a triple of masks (a, b, c) is a solution iff every
    bit is set in at least two, i.e. a | b is full and c contains a ^ b (superset sums)."""
    P = xi.shape[0]
    W = np.array(list(itertools.product((-1.0, 1.0), repeat=n)))
    bits = 1 << np.arange(P)
    hist = []
    for l in range(3):
        positive = (xi[:, l * n:(l + 1) * n] @ W.T) > 0  # (P, 2^n)
        hist.append(np.bincount(bits @ positive, minlength=2**P).astype(np.float64))
    superset = hist[2].copy()
    for b in range(P):  # F(s) = sum of hist over supersets of s
        has = (np.arange(2**P) >> b) & 1 == 1
        superset[~has] += superset[has]
    full = 2**P - 1
    a, b = np.nonzero(hist[0])[0], np.nonzero(hist[1])[0]
    A, B = np.meshgrid(a, b, indexing="ij")
    ok = (A | B) == full
    return float(np.sum((hist[0][A] * hist[1][B] * superset[A ^ B])[ok]))


def test_enumeration_counts_against_brute_force():
    rng = np.random.default_rng(1)
    n, P = 3, 5
    for _ in range(5):
        xi = rng.standard_normal((P, 3 * n))
        W = np.array(list(itertools.product((-1.0, 1.0), repeat=3 * n)))
        hidden = np.stack([xi[:, l * n:(l + 1) * n] @ W[:, l * n:(l + 1) * n].T > 0
                           for l in range(3)])
        brute = np.sum(np.all(hidden.sum(axis=0) >= 2, axis=0))
        assert _count_K3(xi, n) == brute


def _enumerated_minus_rs(alpha, Ns, instances, seed):
    rng = np.random.default_rng(seed)
    out = []
    for N in Ns:
        P = round(alpha * N)
        s = [math.log(c) / N for c in (_count_K3(rng.standard_normal((P, N)), N // 3)
                                       for _ in range(instances)) if c > 0]
        rs = float(solve_committee(P / N, K=3).free_entropy[0])
        out.append((np.mean(s) - rs, np.std(s, ddof=1) / np.sqrt(len(s))))
    return [o[0] for o in out], [o[1] for o in out]


def _extrapolate_in_inverse_N(Ns, means, sems):
    """Weighted least-squares fit y = a + b/N; returns a and its standard error."""
    X = np.stack([np.ones(len(Ns)), 1 / np.asarray(Ns, float)], axis=1)
    Wt = np.diag(1 / np.asarray(sems) ** 2)
    cov = np.linalg.inv(X.T @ Wt @ X)
    return (cov @ X.T @ Wt @ np.asarray(means))[0], np.sqrt(cov[0, 0])


def test_enumeration_extrapolates_to_rs():
    Ns = (9, 15, 21)
    deviations, sems = _enumerated_minus_rs(0.4, Ns, 100, 0)
    a, sa = _extrapolate_in_inverse_N(Ns, deviations, sems)
    assert abs(a) < 3 * sa, (deviations, sems, a, sa)


# ----------------------------------------------------------------- teacher-student

def test_teacher_student_K1_is_the_perceptron_and_K3_matches_reference():
    for op in (TSOrderParams(0.3, 0.2, 0.5, 0.3), TSOrderParams(0.6, 0.5, 2.0, 1.0)):
        for alpha, kappa in ((0.5, 0.0), (1.2, 0.3)):
            a = free_entropy_committee_teacher_student(
                op, TreeCommitteeTeacherStudent(alpha, kappa, 1))
            b = free_entropy_teacher_student(op, TeacherStudent(alpha, kappa))
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)
    # 2 E M(t) ln T(p) on the product Gauss-Hermite grid (order 56; see REF_TOL)
    ref = Reference(3, 56)
    for q, R, kappa in ((0.3, 0.2, 0.0), (0.45, 0.4, 0.3)):
        p = ndtr(-(kappa - np.sqrt(q) * ref.z) / np.sqrt(1 - q))
        t = ndtr(R * ref.z / np.sqrt(q - R**2))
        expected = 2 * np.sum(ref.w * _majority(t) * np.log(_majority(p)))
        got = energetic_committee_teacher(jnp.float64(q), jnp.float64(R), jnp.float64(kappa), 3)
        np.testing.assert_allclose(got, expected, rtol=0, atol=REF_TOL)


def test_tree_committee_gen_error():
    R = jnp.array([0.0, 0.3, 0.8, 1.0])
    np.testing.assert_allclose(tree_committee_gen_error(R, 1), gen_error_from_overlap(R),
                               atol=1e-15)
    # K = 3 from the definition: the majority is reversed by 2 or 3 flips, and by one flip
    # when the teacher's hidden signs are split 2:1 and the flip hits the majority side
    # (probability 3/4 * 2/3 = 1/2 per single flip)
    eps = gen_error_from_overlap(R)
    expected = 3 * eps * (1 - eps) ** 2 / 2 + 3 * eps**2 * (1 - eps) / 2 + eps**3
    np.testing.assert_allclose(tree_committee_gen_error(R, 3), expected, atol=1e-15)


@pytest.mark.slow
def test_teacher_student_saddle_K1_and_nishimori_K3():
    alpha = jnp.array([0.3, 0.8, 1.0])
    a, b = solve_committee_teacher_student(alpha, 0.0, K=1), solve_teacher_student(alpha, 0.0)
    np.testing.assert_allclose(a.free_entropy, b.free_entropy, rtol=0, atol=1e-12)
    np.testing.assert_allclose(a.order_params.R, b.order_params.R, rtol=0, atol=1e-12)
    # kappa = 0 is Bayes-optimal: the Nishimori line R = q, R_hat = q_hat holds at the saddle
    sol = solve_committee_teacher_student(alpha, 0.0, K=3)
    op = sol.order_params
    np.testing.assert_allclose(op.R, op.q, atol=1e-9)
    np.testing.assert_allclose(op.R_hat, op.q_hat, atol=1e-8)
    errors = committee_gen_error(op, 3)
    assert bool(jnp.all(jnp.diff(errors) < 0)) and bool(jnp.all(errors < 0.5))


# ------------------------------------------------------------------------ replicon

def test_replicon_K1_is_the_perceptron():
    for q, q_hat in ((0.3, 0.5), (0.6, 2.0), (0.8, 5.0)):
        for alpha, kappa in ((0.5, 0.0), (1.0, 0.5)):
            op = RSOrderParams(q, q_hat)
            np.testing.assert_allclose(committee_replicon(op, TreeCommittee(alpha, kappa, 1)),
                                       replicon(op, BinaryStorage(alpha, kappa)),
                                       rtol=0, atol=1e-12)


@pytest.mark.slow
def test_rs_instability_K1_is_gardner_derrida_and_K3_lies_above_capacity():
    # Gardner-Derrida (J. Phys. A 22, 1983 (1989)): the AT line of binary storage at
    # kappa = 0 is alpha = 1.015, above the RS capacity 0.833
    at = committee_rs_instability(0.0, K=1)
    np.testing.assert_allclose(at.alpha, storage_rs_instability(0.0).alpha, atol=1e-12)
    np.testing.assert_allclose(at.alpha, 1.015, atol=5e-4)
    at_3 = committee_rs_instability(0.0, K=3)
    assert at_3.residual < 1e-10
    assert float(at_3.alpha) > float(committee_capacity(0.0, K=3).alpha)


@pytest.mark.slow
def test_enumeration_up_to_N_27_extrapolates_to_rs():
    # 200 instances per N (block sizes 3..9, P = round(0.4 N) <= 11)
    Ns = (9, 15, 21, 27)
    deviations, sems = _enumerated_minus_rs(0.4, Ns, 200, 1)
    a, sa = _extrapolate_in_inverse_N(Ns, deviations, sems)
    assert abs(a) < 3 * sa, (deviations, sems, a, sa)
