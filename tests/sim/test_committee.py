"""Binary committee machines: output function against NumPy, K = 1 is the perceptron, data,
least-action SGD and replicated SGD solve easy instances, teacher-student learning, CLI."""

import json

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

from atypical import BinaryStorage, TeacherStudent
from atypical.cli import main
from sim import rsgd
from sim.committee import (committee_error, committee_output, hidden_fields,
                           least_action_units, n_weights)
from sim.data import sample_storage, sample_teacher_student, sample_test_set
from sim.measure import training_error
from sim.run import default_config, run_algorithm
from sim.sgd import SGDConfig, committee_latent_gradient, latent_gradient, train_replicas


def _numpy_committee(W, xi, K, arch):
    """Plain NumPy reference: loops over examples and hidden units."""
    P, N = xi.shape
    Nk = N // K if arch == "tree" else N
    Wk = W.reshape(K, Nk)
    out = np.empty(P)
    for mu in range(P):
        votes = 0
        for k in range(K):
            x = xi[mu, k * Nk:(k + 1) * Nk] if arch == "tree" else xi[mu]
            votes += 1 if float(np.dot(Wk[k], x)) / np.sqrt(Nk) >= 0 else -1
        out[mu] = 1.0 if votes >= 0 else -1.0
    return out


@pytest.mark.parametrize("K, arch", [(1, "tree"), (3, "tree"), (5, "tree"), (3, "fc"),
                                     (5, "fc")])
def test_output_matches_numpy(K, arch):
    rng = np.random.default_rng(K + 10 * (arch == "fc"))
    N, P = 15 * K if arch == "tree" else 20, 200
    xi = rng.standard_normal((P, N))
    W = rng.choice([-1.0, 1.0], n_weights(N, K, arch))
    out = committee_output(jnp.asarray(W), jnp.asarray(xi), K, arch)
    assert out.dtype == jnp.float64 and out.shape == (P,)
    np.testing.assert_array_equal(np.asarray(out), _numpy_committee(W, xi, K, arch))
    fields = hidden_fields(jnp.asarray(W, jnp.float32), jnp.asarray(xi, jnp.float32), K, arch)
    assert fields.dtype == jnp.float32 and fields.shape == (P, K)
    y = jnp.asarray(rng.choice([-1.0, 1.0], P))
    err = committee_error(jnp.asarray(W), jnp.asarray(xi), y, K, arch)
    np.testing.assert_allclose(float(err), np.mean(_numpy_committee(W, xi, K, arch)
                                                   != np.asarray(y)), atol=1e-15)


def test_least_action_units_pick_the_largest_half():
    stab = jnp.asarray([[0.3, -0.1, -0.5], [-0.2, -0.4, -0.1], [1.0, 2.0, 3.0]], jnp.float32)
    np.testing.assert_array_equal(np.asarray(least_action_units(stab)),
                                  [[1, 1, 0], [1, 0, 1], [0, 1, 1]])
    assert least_action_units(stab).dtype == jnp.float32


@pytest.fixture(scope="module")
def easy():
    return sample_storage(jr.key(0), BinaryStorage(0.3), 201)


def test_k1_is_the_perceptron(easy):
    # K = 1: the committee output is sign(W.xi/sqrt N), its error the perceptron's
    W = jr.rademacher(jr.key(7), (201,), jnp.float32)
    assert float(committee_error(W, easy.xi, easy.y, 1, "tree")) == float(
        training_error(W, easy))
    # the committee gradient at K = 1 is the perceptron's straight-through gradient
    h = jr.normal(jr.key(8), (201,), jnp.float32)
    mask = jnp.ones(10, jnp.float32)
    config = SGDConfig()
    g_c = committee_latent_gradient(h, easy.xi[:10], easy.y[:10], mask, config, 1, "fc")
    g_p = latent_gradient(h, easy.xi[:10], easy.y[:10], mask, config)
    # same float32 terms summed in maybe another order: a few ulps of |g| ~ 1e-2
    np.testing.assert_allclose(np.asarray(g_c), np.asarray(g_p), rtol=1e-5, atol=1e-7)
    # K = 1 "fc" goes through the committee code path and trains as the perceptron does
    same = sample_storage(jr.key(0), BinaryStorage(0.3), 201, K=1, arch="fc")
    np.testing.assert_array_equal(np.asarray(same.xi), np.asarray(easy.xi))
    a = train_replicas(jr.key(1), easy, SGDConfig(epochs=30), 4)
    b = train_replicas(jr.key(1), same, SGDConfig(epochs=30), 4)
    np.testing.assert_array_equal(np.asarray(a.epochs_to_solution),
                                  np.asarray(b.epochs_to_solution))
    np.testing.assert_allclose(np.asarray(a.train_errors), np.asarray(b.train_errors),
                               atol=1 / 60 + 1e-7)  # at most one example apart (P = 60)


def test_committee_data():
    problem = TeacherStudent(1.0)
    for arch, Nw in (("tree", 303), ("fc", 909)):
        data = sample_teacher_student(jr.key(3), problem, 303, K=3, arch=arch)
        assert data.xi.shape == (303, 303) and data.W_T.shape == (Nw,)
        assert data.xi.dtype == data.y.dtype == data.W_T.dtype == jnp.float32
        assert (data.K, data.arch) == (3, arch) and not data.is_perceptron
        assert float(committee_error(data.W_T, data.xi, data.y, 3, arch)) == 0.0
        # committee labels are balanced and not the labels of one hidden unit alone
        assert 0.4 < float(jnp.mean(data.y > 0)) < 0.6  # 303 labels: 3.5 sigma
        test = sample_test_set(jr.key(4), data.W_T, 500, K=3, arch=arch)
        assert float(committee_error(data.W_T, test.xi, test.y, 3, arch)) == 0.0
    stor = sample_storage(jr.key(3), BinaryStorage(0.5), 303, K=3)
    np.testing.assert_array_equal(np.asarray(stor.xi),
                                  np.asarray(sample_storage(jr.key(3), BinaryStorage(0.5),
                                                            303).xi))
    with pytest.raises(ValueError, match="K must be an odd int"):
        sample_storage(jr.key(0), BinaryStorage(0.5), 300, K=2)
    with pytest.raises(ValueError, match="N must be divisible by K"):
        sample_teacher_student(jr.key(0), problem, 301, K=3)
    with pytest.raises(ValueError, match="arch must be one of"):
        sample_storage(jr.key(0), BinaryStorage(0.5), 303, K=3, arch="conv")
    with pytest.raises(ValueError, match="trains the binary perceptron only"):
        run_algorithm("sa", jr.split(jr.key(0), 2), stor, default_config("sa"),
                      instances=False)


def test_sgd_solves_tree_committee_at_small_alpha():
    # tree K = 3, N = 303, alpha = 0.3 (P = 91): far below capacity; measured on 3
    # instances x 8 seeds, all solved within 56 epochs. ">= 6 of 8" in 100 epochs fails
    # only if the per-seed success rate were below ~0.5.
    data = sample_storage(jr.key(0), BinaryStorage(0.3), 303, K=3, arch="tree")
    res = train_replicas(jr.key(1), data, SGDConfig(epochs=100), 8)
    assert res.W.shape == (8, 303) and res.W.dtype == jnp.float32
    assert res.train_errors.dtype == jnp.float32 and res.solved.dtype == jnp.bool_
    assert int(jnp.sum(res.solved)) >= 6
    for r in np.flatnonzero(np.asarray(res.solved)):  # reported solutions are solutions
        assert float(committee_error(res.W[r], data.xi, data.y, 3, "tree")) == 0.0


def test_rsgd_solves_fc_committee_at_small_alpha():
    # fc K = 3 on N = 101 inputs (303 weights), alpha = 0.3: measured on 3 instances x 4
    # seeds, all solved within 8 epochs; ">= 3 of 4" in 40 epochs allows one unlucky seed
    data = sample_storage(jr.key(2), BinaryStorage(0.3), 101, K=3, arch="fc")
    config = rsgd.RSGDConfig(y=3, sgd=SGDConfig(epochs=40))
    res = rsgd.train_replicas(jr.key(3), data, config, 4)
    assert res.W.shape == (4, 303) and res.W_replicas.shape == (4, 3, 303)
    assert res.W.dtype == jnp.float32
    assert int(jnp.sum(res.solved)) >= 3
    for r in np.flatnonzero(np.asarray(res.solved)):
        assert float(committee_error(res.W[r], data.xi, data.y, 3, "fc")) == 0.0


def test_teacher_student_gen_error_decreases_with_alpha():
    # tree K = 3, N = 303: at alpha = 0.5 zero-error students are far from the teacher
    # (measured eps ~0.39-0.44), at alpha = 3 SGD recovers it (eps ~0). The test-set
    # estimate has sem <= 0.011 (2000 examples); the gap asked for is 0.15.
    eps = []
    for alpha in (0.5, 3.0):
        data = sample_teacher_student(jr.key(2), TeacherStudent(alpha), 303, K=3)
        res = train_replicas(jr.key(3), data, SGDConfig(epochs=100), 4)
        test = sample_test_set(jr.key(4), data.W_T, 2000, K=3)
        e = jax.vmap(committee_error, in_axes=(0, None, None, None, None))(
            res.W, test.xi, test.y, 3, "tree")
        assert e.dtype == jnp.float32
        eps.append(float(jnp.mean(e)))
    assert eps[0] > 0.25 and eps[1] < eps[0] - 0.15


def _cli_json(capsys, argv):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_cli_train_committee_json(capsys):
    out = _cli_json(capsys, ["sim", "train", "--task", "teacher-student", "--algo", "sgd",
                             "--n", "99", "--alpha", "1.0", "--k", "3", "--arch", "tree",
                             "--replicas", "2", "--epochs", "10", "--json"])
    assert out["k"] == 3 and out["arch"] == "tree" and out["n_weights"] == 99
    assert len(out["train_error"]) == 2 and len(out["gen_error"]) == 2
    assert 0 <= out["solved_fraction"] <= 1 and out["seconds"] > 0
    assert all(0 <= e <= 1 for e in out["gen_error"])
    out = _cli_json(capsys, ["sim", "train", "--task", "storage", "--algo", "rsgd", "--n",
                             "33", "--alpha", "0.3", "--k", "3", "--arch", "fc",
                             "--replicas", "2", "--epochs", "5", "--json"])
    assert out["n_weights"] == 99 and "gen_error" not in out and len(out["solved"]) == 2


@pytest.mark.parametrize("extra, match", [
    (["--k", "2"], "K must be odd"),
    (["--k", "-1"], "argument --k: '-1': must be an integer >= 1"),
    (["--k", "3", "--n", "100"], "N must be divisible by K"),
    (["--k", "3", "--algo", "sa"], "trains the binary perceptron only"),
    (["--k", "3", "--algo", "amp", "--task", "teacher-student"], "perceptron only"),
    (["--k", "1", "--arch", "fc", "--algo", "sa"], "perceptron only"),
    (["--k", "3", "--task", "random-features"], "random-features trains a perceptron"),
])
def test_cli_committee_errors(capsys, extra, match):
    argv = ["sim", "train", "--n", "99", "--alpha", "0.3", *extra]
    if "--n" in extra:
        argv = ["sim", "train", "--alpha", "0.3", *extra]
    assert main(argv) == 2
    assert match in capsys.readouterr().err


def test_cli_help_explains_k_and_arch(capsys):
    assert main(["sim", "train", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "hidden units of a binary committee machine" in text
    assert "tree = each hidden unit sees its own N/K inputs" in text


def test_measurements_know_committee_data():
    """sim.measure on committee data: the training error is the committee's (majority of
    hidden signs), not a perceptron's on the flat weights; perceptron stabilities refuse."""
    data = sample_storage(jr.key(3), BinaryStorage(0.5), 63, K=3, arch="tree")
    W = jr.rademacher(jr.key(4), (63,), jnp.float32)
    assert float(training_error(W, data)) == float(committee_error(W, data.xi, data.y, 3,
                                                                    "tree"))
    from sim.measure import stabilities

    with pytest.raises(ValueError, match="committee"):
        stabilities(W, data)


def test_cli_threshold_committee(capsys):
    """`sim threshold --k 3`: far below and far above SGD's threshold for the tree
    committee (all solved at alpha = 0.5-0.6, none at 0.8, 16 instances at N = 303)."""
    code = main(["sim", "threshold", "--algo", "sgd", "--k", "3", "--n", "63", "--alpha",
                 "0.3,0.9", "--replicas", "4", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and (out["k"], out["arch"]) == (3, "tree")
    assert out["success_probability"] == [1.0, 0.0]
    code = main(["sim", "threshold", "--algo", "sa", "--k", "3", "--n", "63", "--alpha",
                 "0.3", "--replicas", "2"])
    assert code == 2 and "perceptron only" in capsys.readouterr().err
