"""The engine on problems with known answers: Newton in a box with step halving, the
implicit derivative of a root against finite differences, continuation to the end of a
branch, thresholds, and the status contract."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import atypical
from theory.engine import (ReplicaModel, Status, continue_to, demote, follow,
                           raise_unconverged, saddle, solve_root, status_from,
                           threshold_on_branch)


class Quadratic(eqx.Module):
    """phi(x) = -(x - a)^2 / 2 + b x^3 / 3: stationary at x with b x^2 - (x - a) = 0."""

    a: jax.Array = eqx.field(converter=atypical.f64)
    b: jax.Array = eqx.field(converter=atypical.f64, default=0.0)


class Cubic(ReplicaModel):
    """A one-coordinate model; for b > 0 its branch x(a) = (1 - sqrt(1 - 4 a b)) / (2 b)
    (from a = 0) folds at a = 1 / (4 b), where the two roots of b x^2 - x + a meet."""

    problem: Quadratic

    def free_entropy(self, op):
        return -(op - self.problem.a) ** 2 / 2 + self.problem.b * op**3 / 3

    def cold_start(self):
        return jnp.asarray(0.0)


def test_newton_stays_in_the_box_and_halves_steps_out_of_the_domain():
    """log x = a from x0 = 10: the full Newton step lands at x < 0 (log undefined); halving
    brings it back. With a box [1e-9, inf) the projection does the same job."""
    f = lambda x, a: jnp.log(x) - a
    for bounds in (None, (jnp.asarray(1e-9), jnp.asarray(jnp.inf))):
        root = solve_root(f, jnp.asarray(10.0), 0.0, bounds=bounds)
        assert bool(root.converged) and float(root.value) == pytest.approx(1.0, abs=1e-12)


def test_implicit_derivative_of_a_root_matches_finite_differences():
    """d/da of the root of x^2 = a is 1/(2 sqrt a): the implicit adjoint, not the
    iterations; central differences with h = 1e-6 agree to 1e-9 (error h^2 |x'''| ~ 1e-12)."""
    f = lambda x, a: x**2 - a
    root = lambda a: solve_root(f, jnp.asarray(1.0), a).value
    a = 2.0
    exact = 0.5 / np.sqrt(a)
    assert float(jax.grad(root)(a)) == pytest.approx(exact, abs=1e-12)
    fd = (float(root(a + 1e-6)) - float(root(a - 1e-6))) / 2e-6
    assert fd == pytest.approx(exact, abs=1e-9)


def test_saddle_is_differentiable_in_the_problem():
    """x*(a, b) of the cubic model and dx*/da = 1/(1 - 2 b x*) (implicit function theorem)."""
    x_of = lambda a: saddle(Cubic(Quadratic(a, 0.1)), warm_up_steps=0).order_params
    a = 0.5
    x = float(x_of(a))
    assert x == pytest.approx((1 - np.sqrt(1 - 4 * a * 0.1)) / 0.2, abs=1e-12)
    assert float(jax.grad(x_of)(a)) == pytest.approx(1 / (1 - 0.2 * x), abs=1e-10)


def test_follow_ends_the_branch_at_the_fold_and_says_so():
    """Continuation in a through the fold at a = 2.5 (b = 0.1): every point before it
    converges on the branch from a = 0, every point after it is lost (status
    branch_lost or its own failure, never converged)."""
    a = jnp.linspace(0.1, 3.0, 28)  # the fold a = 2.5 falls between grid points
    sols, _, progress = follow(Cubic(Quadratic(a, jnp.full_like(a, 0.1))), jnp.asarray(0.0))
    before = np.asarray(a) < 2.5
    assert np.all(np.asarray(sols.converged) == before)
    x = np.asarray(sols.order_params)[before]
    np.testing.assert_allclose(x, (1 - np.sqrt(1 - 0.4 * np.asarray(a)[before])) / 0.2,
                               atol=1e-10)
    assert float(progress[int(before.sum())]) < 1


def test_continue_to_finds_the_end_of_the_branch():
    """``continue_to`` from a = 0 towards 3 in legs of 0.07: the furthest point reached
    lies just below the fold a = 2.5 (legs halved up to 20 times), where the two roots meet
    at x = 1 / (2 b) = 5."""
    model = Cubic(Quadratic(0.0, 0.1))
    c = continue_to(model, jnp.asarray(0.0), "a", 3.0, step=0.07, max_halvings=20,
                    max_leg_steps=400)
    assert c.reached < 2.5 <= c.reached + 0.07
    assert 2.5 - 1e-3 < c.end <= 2.5
    assert float(c.end_coords) == pytest.approx(5.0, abs=0.2)


def test_threshold_on_branch_and_its_derivative():
    """The a where the branch reaches x = 3 (condition 3 - x, positive at small a): from
    b x^2 = x - a, a* = 3 - 9 b (2.1 at b = 0.1) and d a*/d b = -9, by the engine's
    implicit derivative."""
    def alpha_of(b):
        return threshold_on_branch(_Renamed(1.0, b), jnp.geomspace(0.05, 2.4, 40),
                                   lambda m, op: 3.0 - op)

    result = alpha_of(0.1)
    assert bool(result.converged)
    assert float(result.alpha) == pytest.approx(2.1, abs=1e-12)
    assert float(result.order_params) == pytest.approx(3.0, abs=1e-12)
    assert float(jax.grad(lambda b: alpha_of(b).alpha)(0.1)) == pytest.approx(-9.0, abs=1e-9)


class _Problem(eqx.Module):
    alpha: jax.Array = eqx.field(converter=atypical.f64)
    b: jax.Array = eqx.field(converter=atypical.f64)


class _Renamed(ReplicaModel):
    """``Cubic`` with its control parameter called alpha (the threshold layer's default)."""

    problem: _Problem

    def __init__(self, alpha, b):
        self.problem = _Problem(alpha, b)

    def free_entropy(self, op):
        return -(op - self.problem.alpha) ** 2 / 2 + self.problem.b * op**3 / 3

    def cold_start(self):
        return jnp.asarray(0.0)


def test_status_contract_and_the_error_listing_every_point():
    """Elementwise status helpers, and ``raise_unconverged`` on a 2-d grid naming each
    failing point with its reason."""
    residual = jnp.array([[1e-12, 1.0], [jnp.nan, 1e-13]])
    status = status_from(residual < 1e-10, residual)
    assert (status == Status.converged).tolist() == [[True, False], [False, True]]
    assert (status == Status.nonfinite).tolist() == [[False, False], [True, False]]
    lost = demote(status, jnp.array([[True, True], [True, False]]), Status.branch_lost)
    assert (lost == Status.branch_lost).tolist() == [[False, False], [False, True]]
    with pytest.raises(atypical.SaddlePointError) as err:
        raise_unconverged("grid", lost == Status.converged, residual, jnp.ones((2, 2), int),
                          status=lost, a=jnp.array([[1.0], [2.0]]), d=jnp.array([[0.1, 0.2]]))
    text = str(err.value)
    assert "3 of 4 points" in text and "a=2, d=0.1" in text and "not finite" in text
    assert "lost the branch" in text
