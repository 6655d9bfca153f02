"""BinaryConnect SGD: dtypes, vmapped replicas equal single runs, determinism, freezing at
the solution, an easy instance solved, no retracing, error messages, the loss margin
c/sqrt(N) by default (perceptron and committees) and an explicit one."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

from atypical import BinaryStorage, TeacherStudent
from sim.data import sample_storage, sample_teacher_student
from sim.measure import gen_error, training_error
from sim.sgd import (MARGIN_COEFFICIENT, SGDConfig, committee_latent_gradient, latent_gradient,
                     train_one, train_replicas)


@pytest.fixture(scope="module")
def easy():
    """Storage at alpha = 0.3, N = 201 (P = 60): far below the SGD threshold (~0.7)."""
    return sample_storage(jr.key(0), BinaryStorage(0.3), 201)


@pytest.fixture(scope="module")
def easy_run(easy):
    return train_replicas(jr.key(1), easy, SGDConfig(epochs=200), 8)


def test_output_shapes_and_dtypes(easy_run):
    assert easy_run.W.shape == (8, 201) and easy_run.W.dtype == jnp.float32
    assert easy_run.train_errors.shape == (8, 200)
    assert easy_run.train_errors.dtype == jnp.float32
    assert easy_run.solved.dtype == jnp.bool_ and easy_run.solved.shape == (8,)
    assert easy_run.epochs_to_solution.dtype == jnp.int32
    assert set(np.unique(np.asarray(easy_run.W))) <= {-1.0, 1.0}


def test_solves_easy_instance_and_freezes(easy, easy_run):
    assert bool(jnp.all(easy_run.solved))  # every seed: alpha = 0.3 is easy at N = 201
    for r in range(8):
        assert float(training_error(easy_run.W[r], easy)) == 0.0
        t = int(easy_run.epochs_to_solution[r])
        errors = np.asarray(easy_run.train_errors[r])
        assert 1 <= t <= 200 and np.all(errors[t - 1:] == 0) and np.all(errors[: t - 1] > 0)


def test_replica_k_equals_single_run_with_key_k_and_is_deterministic(easy, easy_run):
    config = SGDConfig(epochs=200)  # the easy_run program: no new compilation
    single = eqx.filter_jit(train_one)
    keys = jr.split(jr.key(1), 8)
    for k in (0, 5):
        one = single(keys[k], easy, config)
        for x, y in zip(jax.tree.leaves(one), jax.tree.leaves(easy_run)):
            np.testing.assert_array_equal(np.asarray(x), np.asarray(y[k]))
    again = train_replicas(jr.key(1), easy, config, 8)
    for x, y in zip(jax.tree.leaves(easy_run), jax.tree.leaves(again)):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def test_plain_sgd_optimizer_learns(easy):
    config = SGDConfig(epochs=15, optimizer="sgd", learning_rate=30.0, stop_at_solution=False)
    result = train_replicas(jr.key(3), easy, config, 4)
    # from ~0.5 at a random start to well below it in 15 epochs (alpha = 0.3 is easy)
    assert float(jnp.mean(result.train_errors[:, -1])) < 0.1
    np.testing.assert_array_equal(np.asarray(result.solved),  # no freezing: final weights
                                  np.asarray(result.train_errors[:, -1] == 0))


def test_new_hyperparameter_values_do_not_retrace(easy):
    @eqx.filter_jit
    @eqx.debug.assert_max_traces(max_traces=1)
    def run(key, data, config):
        return jax.vmap(train_one, in_axes=(0, None, None))(jr.split(key, 2), data, config)

    for lr, beta, margin in [(0.3, 100.0, 0.03), (0.1, 20.0, 0.1)]:
        run(jr.key(0), easy, SGDConfig(epochs=3, learning_rate=lr, beta=beta, margin=margin))


def test_teacher_student_generalizes():
    # alpha = 2, N = 201: a zero-error student has eps_g well below 1/2 (Gibbs learning
    # gives ~0.1 at alpha = 2 in the large-N limit); 0.25 leaves room for N = 201 and SGD.
    data = sample_teacher_student(jr.key(4), TeacherStudent(2.0), 201)
    result = train_replicas(jr.key(5), data, SGDConfig(epochs=100), 4)
    eps = jax.vmap(gen_error, in_axes=(0, None))(result.W, data.W_T)
    assert eps.dtype == jnp.float32
    assert float(jnp.mean(eps)) < 0.25


def test_float64_on_request(easy):
    data = sample_storage(jr.key(0), BinaryStorage(0.3), 31, dtype=jnp.float64)
    result = train_replicas(jr.key(0), data, SGDConfig(epochs=2, dtype=jnp.float64), 2)
    assert result.W.dtype == jnp.float64 and result.train_errors.dtype == jnp.float64


def test_errors(easy):
    with pytest.raises(ValueError, match="epochs must be an int >= 1"):
        SGDConfig(epochs=0)
    with pytest.raises(ValueError, match="batch_size"):
        SGDConfig(batch_size=0)
    with pytest.raises(ValueError, match="optimizer"):
        SGDConfig(optimizer="lbfgs")
    with pytest.raises(Exception, match="learning_rate must be finite and > 0"):
        SGDConfig(learning_rate=-1.0)
    with pytest.raises(Exception, match="beta must be finite and > 0"):
        SGDConfig(beta=0.0)
    with pytest.raises(ValueError, match="data dtype"):
        train_one(jr.key(0), easy, SGDConfig(dtype=jnp.float64))
    with pytest.raises(ValueError, match="n_replicas"):
        train_replicas(jr.key(0), easy, SGDConfig(), 0)


def test_default_margin_is_c_over_sqrt_N_and_explicit_margin_overrides():
    config = SGDConfig()
    assert config.margin is None
    # the coefficient keeps the margin the defaults were tuned with at N = 1001
    assert abs(MARGIN_COEFFICIENT - 0.03 * np.sqrt(1001)) < 1e-12
    assert abs(float(config.loss_margin(1001)) - 0.03) < 1e-3
    assert float(config.loss_margin(1001).astype(jnp.float32)) == float(np.float32(0.03))
    for N in (201, 2001):
        np.testing.assert_allclose(float(config.loss_margin(N)), 0.03 * np.sqrt(1001 / N),
                                   rtol=1e-12)
        np.testing.assert_allclose(float(SGDConfig(margin_coefficient=0.5).loss_margin(N)),
                                   0.5 / np.sqrt(N), rtol=1e-12)
        # an explicit margin is absolute: the same at every N, the coefficient ignored
        for margin in (0.0, 0.05):
            explicit = SGDConfig(margin=margin, margin_coefficient=0.5)
            assert float(explicit.loss_margin(N)) == margin
    assert float(config.loss_margin(201)) > 0.066 and float(config.loss_margin(2001)) < 0.022
    with pytest.raises(ValueError, match="N must be an int >= 1"):
        config.loss_margin(0)
    with pytest.raises(Exception, match="margin_coefficient must be finite and >= 0"):
        SGDConfig(margin_coefficient=-1.0)
    with pytest.raises(Exception, match="margin must be finite"):
        SGDConfig(margin=float("nan"))


def _gradients(config, N, K=1, arch="tree", B=40):
    """Latent gradients of ``config`` at a random h on B storage examples of N inputs (beta
    small in the callers: the gradient depends on the margin for every example)."""
    data = sample_storage(jr.key(N), BinaryStorage(B / N), N, K=K, arch=arch)
    Nw = N if arch == "tree" else K * N
    h = jr.normal(jr.key(N + 1), (Nw,), jnp.float32)
    mask = jnp.ones(B, jnp.float32)
    if (K, arch) == (1, "tree"):
        return np.asarray(latent_gradient(h, data.xi[:B], data.y[:B], mask, config))
    return np.asarray(committee_latent_gradient(h, data.xi[:B], data.y[:B], mask, config, K,
                                                arch))


# wrong: the margin of another reading of N (the old fixed 0.03 = c/sqrt(1001); a
# committee's margin from its K N_k = 603 weights instead of its unit's N_k = 201 inputs)
@pytest.mark.parametrize("N, K, arch, n_unit, n_wrong", [
    (201, 1, "tree", 201, 1001), (2001, 1, "tree", 2001, 1001), (603, 3, "tree", 201, 603),
    (201, 3, "fc", 201, 603)])
def test_gradient_uses_margin_of_the_unit_inputs(N, K, arch, n_unit, n_wrong):
    # the default margin in the gradient is c/sqrt(N_k), N_k the inputs a stability is
    # normalised by (perceptron: N; tree committee: N/K; fc committee: N)
    beta = 5.0
    default = _gradients(SGDConfig(beta=beta), N, K, arch)
    for n, same in ((n_unit, True), (n_wrong, False)):
        explicit = _gradients(SGDConfig(beta=beta, margin=MARGIN_COEFFICIENT / np.sqrt(n)),
                              N, K, arch)
        if same:
            np.testing.assert_allclose(default, explicit, rtol=1e-6, atol=1e-9)
        else:
            assert np.max(np.abs(default - explicit)) > 1e-3 * np.max(np.abs(default))


@pytest.mark.slow
def test_storage_alpha_0_6_at_N_1001_mostly_solved():
    # measured with these defaults: 64/64 (instances 0-3 x 16 seeds, CPU) solved within
    # 500 epochs (median ~90). Asking >= 12 of 16 fails only if the true rate were < ~0.6.
    data = sample_storage(jr.key(0), BinaryStorage(0.6), 1001)
    result = train_replicas(jr.key(1000), data, SGDConfig(), 16)
    assert int(jnp.sum(result.solved)) >= 12


@pytest.mark.slow
def test_benchmark_quick_mode_runs():
    import pathlib
    import subprocess
    import sys

    bench = pathlib.Path(__file__).parents[2] / "benchmarks"
    for extra in ([], ["--solved", "0.3", "--n", "101", "--replicas", "2", "--instances", "1"]):
        done = subprocess.run([sys.executable, "bench_sgd_replicas.py", "--quick", *extra],
                              cwd=bench, capture_output=True, text=True, timeout=600,
                              env={**__import__("os").environ, "PYTHONPATH": str(bench.parent)})
        assert done.returncode == 0, done.stderr
        assert "replicas/s" in done.stdout or "solved" in done.stdout
