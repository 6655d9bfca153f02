"""Franz-Parisi local entropy of the tree committee: K = 1 is the perceptron's curve; for
K = 3 the exact identity point (the constrained replica is one more reference replica:
S = the committee's RS entropy), stationarity there, and the energetic term against an
independent Monte Carlo estimate of its definition at a generic point; K = 5 the same checks
(slow: its spline tensor) and its quadrature sizes tried on K = 3."""

import itertools

import jax
import jax.flatten_util
import numpy as np
import pytest
from scipy import special

from theory.local_entropy import committee_franz_parisi as cfp
from theory.local_entropy import franz_parisi as fp
from theory.models.committee import committee_capacity

ALPHA, KAPPA_REF = 0.5, 0.2


@pytest.mark.slow
def test_k1_curve_is_the_perceptron():
    """Measured 350 s on a loaded 2-core machine."""
    d = [0.01, 0.05, 0.2]
    a = fp.franz_parisi_curve(0.5, 0.3, 0.0, d, n_kappa=4, n_fill=6)
    b = fp.franz_parisi_curve(0.5, 0.3, 0.0, d, n_kappa=4, n_fill=6,
                              query=cfp.committee_query(1))
    assert np.max(np.abs(a.local_entropy - b.local_entropy)) < 1e-12
    assert np.max(np.abs(a.slope - b.slope)) < 1e-12


def test_interior_minimum_is_the_parabola_vertex():
    """The sweep's dip statistic: exact for a parabola in ln d, +inf without an interior
    minimum (a monotone slope)."""
    d = np.geomspace(1e-3, 0.1, 9)
    value, where = fp.interior_minimum((np.log(d / 0.013)) ** 2 - 0.5, d)
    assert abs(value + 0.5) < 1e-12 and abs(where / 0.013 - 1) < 1e-10
    assert fp.interior_minimum(-np.log(d), d) == (np.inf, pytest.approx(np.nan, nan_ok=True))


@pytest.mark.slow
def test_sweep_threshold_k1_is_the_perceptron_threshold():
    """The sweep (no third derivatives) on the K = 1 committee query finds the perceptron's
    Newton threshold alpha_U = 0.729033 (kappa = 0, ``monotonicity_threshold``) within its
    bracket tolerance plus the d-grid bias (an upper estimate)."""
    result = fp.sweep_monotonicity_threshold(cfp.committee_query(1), 0.0, start=0.70,
                                             step=0.02, tol=2e-3)
    assert result.alpha_lo <= result.alpha <= result.alpha_hi
    assert result.alpha_hi - result.alpha_lo <= 2e-3
    assert -2e-3 < result.alpha - 0.729033 < 4e-3, result


@pytest.mark.slow
def test_sweep_threshold_k3():
    """The K = 3 tree committee's monotonicity threshold (BENCHMARKS.md, 1593 s on one idle
    core): a bracket narrower than the tolerance with S(d) monotone at its lower end and
    dipping at its upper end, the value recorded there, and a smaller fraction of the
    committee's capacity than the perceptron's 0.7290 / 0.8331 = 0.875."""
    result = fp.sweep_monotonicity_threshold(cfp.committee_query(3), 0.0, start=0.65,
                                             step=0.03, tol=2e-3)
    assert result.alpha_lo <= result.alpha <= result.alpha_hi
    assert result.alpha_hi - result.alpha_lo <= 2e-3
    assert round(result.alpha, 3) == 0.744, result
    capacity = lambda K: float(committee_capacity(0.0, K=K).alpha)
    assert result.alpha / capacity(3) < 0.729033 / capacity(1)


@pytest.fixture(scope="module")
def reference():
    return cfp.committee_query(3).reference(ALPHA, KAPPA_REF)


def test_identity_point_is_the_committee_entropy(reference):
    """kappa = kappa_ref, p = q~: S = phi_RS of the K = 3 committee, and the identity
    order parameters are stationary (the quadrature error of G_E and of its gradient)."""
    r = reference.order_params
    problem = cfp.committee_query(3)(ALPHA, KAPPA_REF, KAPPA_REF, (1 - r.q) / 2)
    op = fp.identity_order_params(r)
    phi = lambda o: cfp.free_entropy_committee_fp(o, r, problem)
    assert abs(float(phi(op)) - float(reference.free_entropy)) < 1e-7
    grad = jax.grad(phi)(op)
    assert max(abs(float(g)) for g in jax.tree.leaves(grad)) < 1e-6
    # the Newton Hessian there (C = 0: the smoothing's derivatives by the heat equation)
    flat, unravel = jax.flatten_util.ravel_pytree(op)
    hessian = np.asarray(jax.hessian(lambda v: phi(unravel(v)))(flat))
    assert np.all(np.isfinite(hessian))
    assert np.max(np.abs(hessian - hessian.T)) < 1e-8 * np.max(np.abs(hessian))


def energetic_monte_carlo(op, r, kappa_ref, kappa, d, K=3, n=2_000_000, seed=0):
    """G_E of the K tree committee by direct sampling of its definition (NumPy/SciPy): z0
    ~ N(0, I_K); the own reference's sign pattern sigma given z0, among the majority
    patterns, with probability prod_l P(sigma_l | z0_l) / T~(z0); z1_l from the normal
    truncated to the sigma_l side of x0_l (inverse CDF); z' ~ N(0, I_K); the average of
    ln T(pi), T summed over the majority patterns explicitly. Returns the mean and its
    standard error."""
    rng = np.random.default_rng(seed)
    p = 1 - 2 * d
    A, B = op.t / np.sqrt(r.q), (p - op.t) / np.sqrt(1 - r.q)
    C = np.sqrt(op.q - A**2 - B**2)
    patterns = np.array([s for s in itertools.product((0, 1), repeat=K) if sum(s) > K / 2])
    chance = lambda prob: np.prod(np.where(patterns[None], prob[:, None], 1 - prob[:, None]),
                                  axis=-1)
    values = []
    for chunk in np.array_split(np.arange(n), 8):
        z0 = rng.standard_normal((chunk.size, K))
        x0 = (kappa_ref - np.sqrt(r.q) * z0) / np.sqrt(1 - r.q)
        prob = chance(special.ndtr(-x0))
        cum = np.cumsum(prob / prob.sum(axis=1, keepdims=True), axis=1)
        sigma = patterns[np.argmax(rng.random((chunk.size, 1)) < cum, axis=1)]
        below = special.ndtr(x0)  # P(z1 < x0)
        v = rng.random((chunk.size, K))
        z1 = special.ndtri(np.where(sigma == 1, below + v * (1 - below), v * below))
        m = A * z0 + B * z1 + C * rng.standard_normal((chunk.size, K))
        values.append(np.log(chance(special.ndtr((m - kappa) / np.sqrt(1 - op.q))).sum(-1)))
    values = np.concatenate(values)
    return values.mean(), values.std() / np.sqrt(n)


def generic_point(r, d):
    """Order parameters off the identity (C > 0, B > 0) at distance d."""
    p = 1 - 2 * d
    t = 0.9 * p * r.q
    q_min = t**2 / r.q + (p - t) ** 2 / (1 - r.q)
    return fp.FPOrderParams(q_min + 0.3 * (1 - q_min), t, 1.0, 0.5, 1.0)


def test_energetic_term_against_monte_carlo(reference):
    """A generic point off the identity (kappa < kappa_ref, C > 0, B > 0)."""
    r = reference.order_params
    d = 0.1
    problem = cfp.committee_query(3)(ALPHA, KAPPA_REF, 0.0, d)
    op = generic_point(r, d)
    ours = float(cfp.energetic_committee_fp(op, r, problem, cfp.DEFAULT_QUADRATURE))
    mean, error = energetic_monte_carlo(op, r, KAPPA_REF, 0.0, d)
    assert abs(ours - mean) < 5 * error, (ours, mean, error)


K5_VALUE_TOL, K5_GRADIENT_TOL = 5e-8, 2e-5
"""K = 5's quadrature (``QUADRATURES[5]``: spline step 0.5, 41 z0 nodes) at the identity
point, where no z' smoothing hides the spline's error. At K = 3, spline step 0.5 moves the
free entropy by 2e-9 to 2e-8 and its gradient by 2e-6 to 1.1e-5 from the default's, with
41, 51 or 61 z0 nodes (not monotone in the nodes: the knot grid aliases with the z0 grid
at C = 0; BENCHMARKS)."""


def test_k5_quadrature_at_k3(reference):
    """K = 5's quadrature sizes, used for K = 3: the identity point within the K = 5
    tolerances of the K = 3 default."""
    r = reference.order_params
    problem = cfp.committee_query(3)(ALPHA, KAPPA_REF, KAPPA_REF, (1 - r.q) / 2)
    op = fp.identity_order_params(r)
    phi = lambda quad: jax.value_and_grad(
        lambda o: cfp.free_entropy_committee_fp(o, r, problem, quad=quad))(op)
    (fine, fine_grad), (coarse, coarse_grad) = phi(cfp.QUADRATURES[3]), phi(cfp.QUADRATURES[5])
    assert abs(float(fine - coarse)) < K5_VALUE_TOL
    difference = jax.tree.map(lambda a, b: abs(float(a - b)), fine_grad, coarse_grad)
    assert max(jax.tree.leaves(difference)) < K5_GRADIENT_TOL


@pytest.fixture(scope="module")
def reference_k5():
    return cfp.committee_query(5).reference(ALPHA, KAPPA_REF)


@pytest.mark.slow
def test_k5_identity_point_is_the_committee_entropy(reference_k5):
    """K = 5: S at the identity point is the committee's RS entropy, and the point is
    stationary, within ``K5_VALUE_TOL`` and ``K5_GRADIENT_TOL``. Measured on one CPU core
    (BENCHMARKS): the 2e8-coefficient spline fit 5 min, the value 13 s, each derivative
    about 1 min and 17 GB (forward mode, one direction at a time: reverse mode needs more
    memory than this 24 GB machine had free)."""
    r = reference_k5.order_params
    problem = cfp.committee_query(5)(ALPHA, KAPPA_REF, KAPPA_REF, (1 - r.q) / 2)
    op = fp.identity_order_params(r)
    phi = lambda o: cfp.free_entropy_committee_fp(o, r, problem)
    assert abs(float(jax.jit(phi)(op)) - float(reference_k5.free_entropy)) < K5_VALUE_TOL
    derivative = jax.jit(lambda o, t: jax.jvp(phi, (o,), (t,))[1])
    leaves, treedef = jax.tree.flatten(op)
    for k in range(len(leaves)):
        direction = jax.tree.unflatten(treedef, [float(j == k) for j in range(len(leaves))])
        assert abs(float(derivative(op, direction))) < K5_GRADIENT_TOL, k


@pytest.mark.slow
def test_k5_energetic_term_against_monte_carlo(reference_k5):
    """A generic point off the identity, K = 5 (measured: 0.34 standard errors apart, the
    standard error 2.3e-4)."""
    r = reference_k5.order_params
    d = 0.1
    problem = cfp.committee_query(5)(ALPHA, KAPPA_REF, 0.0, d)
    op = generic_point(r, d)
    ours = float(cfp.energetic_committee_fp(op, r, problem, cfp.QUADRATURES[5]))
    mean, error = energetic_monte_carlo(op, r, KAPPA_REF, 0.0, d, K=5)
    assert abs(ours - mean) < 5 * error, (ours, mean, error)
