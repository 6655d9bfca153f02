"""Realistic networks [P1 numerics]: offline data, flax networks, vmapped training, local
energies, width sweeps and their CLI (sim/real_data.py, networks.py, net_train.py,
net_measure.py, width_sweep.py)."""

import json
import re

import chex
import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

from atypical.cli import main
from atypical.observables import multiplicative_noise_local_energy, output_margins
from sim.net_measure import flip_local_energy, gaussian_local_energy
from sim.net_train import NetTrainConfig, train_network, train_networks
from sim.networks import NetworkSpec, apply, init_params, n_params
from sim.real_data import load_real_data
from sim.width_sweep import interpolation_point


def _spec(data, arch="mlp", width=4, binary=False):
    return NetworkSpec(arch, width, data.input_shape, data.n_out, binary=binary)


@pytest.fixture(scope="module")
def digits10():
    return load_real_data(jr.key(0), "digits", 64, task="digits10", n_test=100)


def test_same_key_same_data():
    a = load_real_data(jr.key(3), "digits", 50, task="parity")
    b = load_real_data(jr.key(3), "digits", 50, task="parity")
    c = load_real_data(jr.key(4), "digits", 50, task="parity")
    assert a.x.shape == (50, 8, 8, 1) and a.x_test.shape == (1747, 8, 8, 1)
    assert a.x.dtype == jnp.float32 and a.y.dtype == jnp.float32
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.y_test, b.y_test)
    assert not np.array_equal(a.x, c.x)
    assert set(np.unique(a.y).tolist()) == {-1.0, 1.0}
    # standardized with the training statistics: zero mean per pixel, unit mean square
    np.testing.assert_allclose(a.x.mean(axis=0), 0, atol=1e-5)  # float32 rounding
    np.testing.assert_allclose(jnp.mean(a.x**2), 1, rtol=1e-5)


def test_mnist1d_generated_locally():
    a = load_real_data(jr.key(0), "mnist1d", 100, task="digits10", n_test=200)
    b = load_real_data(jr.key(0), "mnist1d", 100, task="digits10", n_test=200)
    assert a.x.shape == (100, 40, 1) and a.y.dtype == jnp.int32 and a.n_out == 10
    np.testing.assert_array_equal(a.x_test, b.x_test)
    state = np.random.get_state()[1]  # the generator must leave NumPy's global state alone
    load_real_data(jr.key(1), "mnist1d", 10)
    np.testing.assert_array_equal(np.random.get_state()[1], state)


@pytest.mark.parametrize("arch", ["mlp", "mlp2", "cnn"])
def test_parameter_count_and_initial_weights(digits10, arch):
    spec = _spec(digits10, arch, width=5)
    p = init_params(jr.key(1), spec)
    assert sum(leaf.size for leaf in jax.tree.leaves(p)) == n_params(spec)
    chex.assert_trees_all_equal(p, init_params(jr.key(1), spec))
    chex.assert_trees_all_equal_dtypes(p, jax.tree.map(lambda a: a.astype(jnp.float32), p))
    out = apply(spec, p, digits10.x)
    assert out.shape == (64, 10) and out.dtype == jnp.float32


def test_binary_forward_uses_signs(digits10):
    spec = _spec(digits10, "mlp2", binary=True)
    p = init_params(jr.key(2), spec)
    signs = jax.tree.map(lambda h: jnp.where(h >= 0, 1.0, -1.0).astype(h.dtype), p)
    np.testing.assert_array_equal(apply(spec, p, digits10.x), apply(spec, signs, digits10.x))


@pytest.mark.parametrize("algo", ["sgd", pytest.param("rsgd", marks=pytest.mark.slow),
                                  pytest.param("entropy-sgd", marks=pytest.mark.slow)])
def test_vmapped_seeds_equal_single_runs_and_are_reproducible(algo):
    data = load_real_data(jr.key(0), "digits", 40, task="parity", n_test=50)
    spec = _spec(data, width=32)
    config = NetTrainConfig(algo=algo, epochs=200, batch_size=8, langevin_steps=2)
    res = train_networks(jr.key(5), data, spec, config, 2)
    assert bool(jnp.all(res.solved)) and bool(jnp.all(res.train_error == 0))
    # early stopping: each seed at its own first epoch with zero training error
    assert bool(jnp.all((res.epochs_to_solution >= 1) & (res.epochs_to_solution < 200)))
    single = eqx.filter_jit(train_network)
    for k, key in enumerate(jr.split(jr.key(5), 2)):
        one = single(key, data, spec, config)
        assert int(one.epochs_to_solution) == int(res.epochs_to_solution[k])
        # vmapped and single matmuls may round differently (float32, tens of epochs)
        chex.assert_trees_all_close(jax.tree.map(lambda a: a[k], res.params), one.params,
                                    rtol=1e-3, atol=1e-4)
        assert float(one.test_error) == pytest.approx(float(res.test_error[k]), abs=0.021)
    chex.assert_trees_all_equal(res.params, train_networks(jr.key(5), data, spec, config,
                                                           2).params)
    assert res.train_error.dtype == jnp.float32 and res.solved.dtype == jnp.bool_
    assert res.epochs_to_solution.dtype == jnp.int32


def _linear_problem(P=300, D=10):
    rng = np.random.default_rng(7)  # NumPy: no eager JAX programs to compile
    x = rng.standard_normal((P, D))
    w_teacher = rng.standard_normal(D)
    y = np.sign(x @ w_teacher + 0.3)  # not linearly separable by w
    w = w_teacher + 0.5 * rng.standard_normal(D)
    f32 = lambda a: jnp.asarray(a, jnp.float32)
    return f32(x), f32(y), {"w": f32(w)}


def _linear(params, x):
    return (x @ params["w"])[:, None]


def test_gaussian_local_energy_matches_the_linear_closed_form():
    x, y, params = _linear_problem(P=200)
    sigma = jnp.asarray([0.0, 0.1, 0.3, 1.0], jnp.float32)
    samples = jax.jit(gaussian_local_energy, static_argnums=(1, 6))(
        jr.key(1), _linear, params, x, y, sigma, 1000)
    assert samples.shape == (4, 1000) and samples.dtype == jnp.float32
    margins = output_margins(_linear(params, x), y)
    norms = jnp.sqrt(jnp.sum((x * params["w"][None, :]) ** 2, axis=1))
    exact = multiplicative_noise_local_energy(margins, sigma[1:], norms)
    # no noise, no change (but float32 rounding of the error inside and outside the vmap)
    assert float(jnp.max(jnp.abs(samples[0]))) < 1e-6
    noisy = np.asarray(samples[1:], np.float64)
    mean, sem = noisy.mean(axis=1), noisy.std(axis=1) / np.sqrt(1000)
    # Monte Carlo of 1000 draws: within 4 standard errors (+ float32 rounding)
    np.testing.assert_array_less(np.abs(mean - np.asarray(exact)), 4 * sem + 1e-6)
    assert float(exact[-1]) > float(exact[0]) > 0


def test_flip_local_energy_of_a_binary_linear_classifier_single_flips():
    x, y, params = _linear_problem(P=200, D=16)
    W = jnp.sign(params["w"])
    N = W.shape[0]
    # exact: d = 1/N flips one weight chosen uniformly, the mean over the N choices
    xn, yn, Wn = np.asarray(x, np.float64), np.asarray(y, np.float64), np.asarray(W, np.float64)
    flipped = Wn[None, :] * (1 - 2 * np.eye(N))  # row i: weight i flipped
    exact = np.mean(yn[None, :] * (flipped @ xn.T) < 0) - np.mean(yn * (xn @ Wn) < 0)
    samples = flip_local_energy(jr.key(2), _linear, {"w": params["w"]}, x, y,
                                jnp.asarray([1 / N], jnp.float32), 2000)
    sem = float(np.std(np.asarray(samples, np.float64))) / np.sqrt(2000)
    assert abs(float(samples.mean()) - exact) < 4 * sem + 1e-6  # 2000 draws, 4 sem


def test_interpolation_point():
    solved = np.array([[0, 1, 0, 1, 1], [0, 0, 1, 1, 1], [0, 0, 0, 0, 0]], bool)
    out = interpolation_point([1.0, 2.0, 3.0, 4.0, 5.0], solved)
    assert out["n"] == 2 and out["mean"] == pytest.approx(3.5) and np.isnan(out["reliable"])
    out = interpolation_point([1.0, 2.0, 3.0, 4.0, 5.0], solved[:2])
    assert out["reliable"] == 4.0 and out["sem"] == pytest.approx(0.5)


@pytest.mark.parametrize("call, match", [
    (lambda d: NetworkSpec("mlp", 0, d.input_shape, d.n_out), r"width=0.*int >= 1"),
    (lambda d: NetworkSpec("resnet", 4, d.input_shape, d.n_out), r"arch='resnet'.*must be one of"),
    (lambda d: load_real_data(jr.key(0), "cifar", 10), r"name='cifar'.*must be one of.*digits"),
    (lambda d: load_real_data(jr.key(0), "digits", 1797), r"P=1797.*\[1, 1796\]"),
    (lambda d: load_real_data(jr.key(0), "digits", 10, task="xor"), r"task='xor'"),
    (lambda d: NetTrainConfig(algo="lbfgs"), r"algo='lbfgs'.*must be one of"),
    (lambda d: NetTrainConfig(learning_rate=-1.0), r"learning_rate=.*must be finite and > 0"),
    (lambda d: multiplicative_noise_local_energy(jnp.ones(3), -0.1, jnp.ones(3)),
     r"sigma=.*>= 0"),
    (lambda d: gaussian_local_energy(jr.key(0), _linear, {"w": jnp.ones(10, jnp.float32)},
                                     jnp.ones((4, 10), jnp.float32),
                                     jnp.ones(4, jnp.float32), [-0.5], 2), r"sigma=.*>= 0"),
    (lambda d: flip_local_energy(jr.key(0), _linear, {"w": jnp.ones(10, jnp.float32)},
                                 jnp.ones((4, 10), jnp.float32),
                                 jnp.ones(4, jnp.float32), [0.7], 2), r"d=.*\(0, 1/2\]"),
])
def test_bad_inputs_name_the_parameter(digits10, call, match):
    with pytest.raises(Exception, match=match):
        jax.block_until_ready(call(digits10))


def test_cli_width_sweep_json(capsys):
    argv = ["sim", "width-sweep", "--data", "digits", "--task", "parity", "--arch", "mlp",
            "--widths", "16", "--P", "40", "--test", "100", "--seeds", "2", "--epochs", "10",
            "--batch-size", "8", "--samples", "2", "--json"]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert [w["width"] for w in out["widths"]] == [16]
    assert out["widths"][0]["n_params"] == 16 * 65
    assert out["widths"][0]["params_per_example"] == pytest.approx(16 * 65 / 40)
    assert set(out["widths"][0]["local_energy"]) == {"0.1", "0.3", "0.5"}
    assert 0 <= out["widths"][0]["solved_fraction"][0] <= 1
    quantiles = list(out["widths"][0]["margin_quantiles"].values())
    assert len(quantiles) == 5 and quantiles == sorted(quantiles)
    assert "mean" in out["interpolation_params_per_example"]


@pytest.mark.parametrize("argv, match", [
    (["--widths", "0,4"], "--widths"), (["--widths", "4", "--P", "5000"], "P=5000"),
    (["--widths", "4", "--strengths", "-0.1"], "sigma must be >= 0"),
    (["--widths", "4", "--binary", "--strengths", "0.7"], r"\(0, 1/2\]"),
])
def test_cli_width_sweep_errors(capsys, argv, match):
    assert main(["sim", "width-sweep", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and re.search(match, err[0])
