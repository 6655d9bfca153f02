"""RS theory of the binary perceptron on the validation ladder (DESIGN.md section 7)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate, stats

import atypical
import theory

RESIDUAL = 1e-10  # stationarity required of every returned saddle point


@pytest.fixture(scope="module")
def storage_grid():
    alpha = jnp.linspace(0.05, 1.0, 9)
    return alpha, theory.solve_storage(alpha, 0.0)


def test_storage_grid_is_stationary_and_float64(storage_grid):
    alpha, sol = storage_grid
    assert bool(sol.converged.all())
    assert float(sol.residual.max()) < RESIDUAL
    np.testing.assert_array_equal(sol.problem.alpha, alpha)  # results carry coordinates
    for leaf in jax.tree.leaves((sol.order_params, sol.free_entropy)):
        assert leaf.dtype == jnp.float64
    grads = jax.vmap(jax.grad(theory.free_entropy_storage))(
        sol.order_params, atypical.BinaryStorage(alpha, jnp.zeros_like(alpha)))
    assert max(float(jnp.abs(g).max()) for g in jax.tree.leaves(grads)) < RESIDUAL


def test_vmapped_grid_equals_point_by_point(storage_grid):
    alpha, sol = storage_grid
    for i in (0, 4, 8):
        single = theory.saddle_storage(atypical.BinaryStorage(alpha[i]))
        np.testing.assert_allclose(single.free_entropy, sol.free_entropy[i], rtol=1e-12)
        np.testing.assert_allclose(single.order_params.q, sol.order_params.q[i], rtol=1e-10)


def test_entropy_decreases_with_alpha(storage_grid):
    _, sol = storage_grid
    assert bool(jnp.all(jnp.diff(sol.free_entropy) < 0))


def test_small_alpha_limit_is_ln2():
    # S = ln 2 + alpha ln H(kappa) + O(alpha^2): at alpha = 1e-3 the O(alpha^2) term is
    # ~1e-6 (q ~ alpha)
    for kappa in (0.0, 0.7):
        alpha = 1e-3
        sol = theory.solve_storage(alpha, kappa)
        expected = np.log(2) + alpha * stats.norm.logsf(kappa)
        assert float(sol.free_entropy[0]) == pytest.approx(expected, abs=5e-6)


def _scipy_rs_fixed_point(alpha, kappa, q, q_hat, steps):
    """Independent reference: the textbook RS equations (Gardner-Derrida; Krauth-Mezard)
    q = E tanh^2(sqrt(q_hat) z), q_hat = alpha/(1-q) E[(G/H)(u)^2],
    u = (kappa - sqrt(q) z)/sqrt(1-q), by scipy adaptive quadrature."""
    def expect(f):
        return integrate.quad(lambda z: stats.norm.pdf(z) * f(z), -12, 12, limit=200)[0]
    for _ in range(steps):
        new_q = expect(lambda z: np.tanh(np.sqrt(q_hat) * z) ** 2)
        u = lambda z: (kappa - np.sqrt(q) * z) / np.sqrt(1 - q)
        mills = lambda z: np.exp(stats.norm.logpdf(u(z)) - stats.norm.logsf(u(z)))
        new_q_hat = alpha / (1 - q) * expect(lambda z: mills(z) ** 2)
        q, q_hat = new_q, new_q_hat
    return q, q_hat


def test_saddle_matches_independent_scipy_fixed_point():
    # the scipy iteration contracts by ~0.93 per step here: 250 steps from (0.64, 4.2)
    # shrink the initial distance 2e-2 to ~3e-10; quad's absolute error is ~1e-10
    q_ref, q_hat_ref = _scipy_rs_fixed_point(0.6, 0.3, q=0.64, q_hat=4.2, steps=250)
    sol = theory.solve_storage(0.6, 0.3)
    assert float(sol.order_params.q[0]) == pytest.approx(q_ref, abs=1e-8)
    assert float(sol.order_params.q_hat[0]) == pytest.approx(q_hat_ref, abs=1e-7)


def test_implicit_derivative_of_order_params_matches_finite_differences():
    def q_of(alpha):
        return theory.saddle_storage(atypical.BinaryStorage(alpha, 0.2)).order_params.q

    alpha, h = 0.5, 1e-5
    implicit = jax.jacfwd(q_of)(jnp.float64(alpha))
    central = (q_of(alpha + h) - q_of(alpha - h)) / (2 * h)
    # central differences: O(h^2) truncation ~1e-10, rounding ~1e-16/h = 1e-11
    assert float(implicit) == pytest.approx(float(central), abs=1e-8)


def test_entropy_derivative_is_energetic_term():
    # envelope theorem: dS/dalpha = E_z ln H((kappa - sqrt(q) z)/sqrt(1-q)) at the saddle
    problem = atypical.BinaryStorage(0.4, 0.1)
    sol = theory.saddle_storage(problem)
    dS = jax.grad(lambda a: theory.saddle_storage(atypical.BinaryStorage(a, 0.1)).free_entropy)(
        jnp.float64(0.4))
    q = sol.order_params.q
    energetic = atypical.gauss_mean(
        lambda z: atypical.log_H((0.1 - jnp.sqrt(q) * z) / jnp.sqrt(1 - q)))
    assert float(dS) == pytest.approx(float(energetic), rel=1e-9)


def test_stability_density_normalised_and_small_d_local_energy():
    problem = atypical.BinaryStorage(0.6, 0.0)
    op = theory.saddle_storage(problem).order_params
    delta, weights = theory.stability_quadrature(op, problem)
    # trapezoid on 4001 points over [0, 12] with a density jump at 0 handled as endpoint:
    # error ~ h^2 |p''| ~ 1e-5
    assert float(weights.sum()) == pytest.approx(1.0, abs=1e-5)
    # dE(d) -> 2 p(0) sqrt(d) / sqrt(2 pi) as d -> 0 (typical solutions: p(kappa) > 0).
    # At d = 1e-5 the boundary layer 2 sqrt(d) = 6e-3 spans 20 grid steps of a 40001-point
    # grid on [0, 12]; the next order is O(sqrt(d) p'(0)/p(0)) ~ 1e-2 relative
    p0 = theory.stability_density(op, problem, jnp.array([0.0]))[0]
    d = 1e-5
    fine_delta, fine_weights = theory.stability_quadrature(op, problem, n=40001)
    dE = atypical.local_energy(fine_delta, d, fine_weights)
    assert float(dE) == pytest.approx(float(2 * p0 * np.sqrt(d / (2 * np.pi))), rel=2e-2)


# ------------------------------------------------------------------ teacher-student

def test_teacher_student_at_kappa0_lies_on_nishimori_line():
    alpha = jnp.array([0.3, 0.8, 1.2, 1.45])
    sol = theory.solve_teacher_student(alpha, 0.0)
    op = sol.order_params
    np.testing.assert_allclose(op.R, op.q, atol=1e-8)
    np.testing.assert_allclose(op.R_hat, op.q_hat, atol=1e-7)
    bayes = jax.vmap(theory.saddle_bayes)(atypical.TeacherStudent(alpha, jnp.zeros_like(alpha)))
    np.testing.assert_allclose(bayes.order_params.q, op.q, atol=1e-8)
    np.testing.assert_allclose(bayes.free_entropy, sol.free_entropy, atol=1e-10)
    assert float(sol.residual.max()) < RESIDUAL


def test_teacher_student_gen_error_decreases_and_starts_at_half():
    alpha = jnp.array([1e-3, 0.5, 1.0])
    err = theory.gen_error(theory.solve_teacher_student(alpha).order_params)
    assert float(err[0]) == pytest.approx(0.5, abs=1e-2)
    assert bool(jnp.all(jnp.diff(err) < 0))


def test_both_branches_are_reachable_and_labelled():
    # between Gyorgyi's 1.245 and the spinodal 1.493 the poor branch (q < 1, negative
    # entropy) coexists with perfect generalization (q = R = 1, entropy 0)
    from atypical.cli.summaries import rs_summary
    poor, = rs_summary("teacher-student", np.array([1.35]), branch="poor")
    good, = rs_summary("teacher-student", np.array([1.35]), branch="good")
    assert poor["branch"] == "poor" and poor["entropy"] < 0 and poor["gen_error"] > 0.1
    assert good["branch"] == "good" and good["gen_error"] == 0.0 and good["entropy"] == 0.0
    below, above = rs_summary("teacher-student", np.array([1.2, 1.35]))
    assert (below["branch"], above["branch"]) == ("poor", "good")
    with pytest.raises(ValueError, match="exists only at kappa = 0"):
        rs_summary("teacher-student", np.array([1.0]), kappa=0.5, branch="good")


def test_follow_teacher_student_ends_at_the_spinodal():
    alpha = jnp.linspace(1.0, 1.6, 25)
    sol = theory.follow_teacher_student(alpha)
    ends = float(alpha[jnp.argmin(sol.converged)])
    assert bool(sol.converged[alpha < 1.49].all()) and not bool(sol.converged[alpha > 1.5].any())
    assert 1.49 < ends <= 1.5


def test_theory_refuses_float32():
    with jax.enable_x64(False):
        with pytest.raises(RuntimeError, match="theory needs float64"):
            theory.solve_storage(0.5)


def test_throw_false_returns_the_status_of_every_point():
    """The results contract: ``throw=False`` returns the grid with a status per point (here
    alpha = 1e6, far beyond any branch the cold start reaches, fails and says why), and
    ``throw=True`` raises the one project error listing that point."""
    alpha = jnp.array([0.5, 1e6])
    sol = theory.solve_storage(alpha, throw=False)
    assert sol.converged.tolist() == [True, False]
    assert (sol.status == theory.Status.not_converged).tolist() == [False, True]
    with pytest.raises(atypical.SaddlePointError, match="alpha=1e\\+06"):
        theory.solve_storage(alpha)
