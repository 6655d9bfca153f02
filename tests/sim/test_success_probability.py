"""Success probability vs alpha: padded data sets (one program over alpha and seeds), the
half-success threshold and its 1/N extrapolation, and the figure script's --quick run."""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

from atypical import BinaryStorage
from sim import rsgd
from sim.data import pad_examples, sample_storage
from sim.run import (default_config, extrapolate_inverse_N, half_success_alpha,
                     half_success_alpha_bootstrap, run_algorithm, success_grid)
from sim.sgd import SGDConfig, train_replicas


def test_padded_full_batch_sgd_equals_unpadded():
    # with one batch per epoch the example order does not matter: padding with y = 0 rows
    # must change nothing but float summation order (measured: identical trajectories)
    data = sample_storage(jr.key(0), BinaryStorage(0.5), 201)  # P = 100
    padded = pad_examples(data, 160)
    assert padded.padded and padded.xi.shape == (160, 201) and padded.xi.dtype == jnp.float32
    a = train_replicas(jr.key(1), data, SGDConfig(epochs=30, batch_size=100), 3)
    b = train_replicas(jr.key(1), padded, SGDConfig(epochs=30, batch_size=160), 3)
    # errors are fractions of the 100 real examples: at most one example apart
    np.testing.assert_allclose(np.asarray(a.train_errors), np.asarray(b.train_errors),
                               atol=1 / 100 + 1e-7)
    np.testing.assert_array_equal(np.asarray(a.epochs_to_solution),
                                  np.asarray(b.epochs_to_solution))


def test_padding_rows_are_inert():
    # minibatch SGD and rsgd: the same data with 0 or 70 padding rows train identically
    # (the order of the real examples does not depend on the padding, padding-only batches
    # are no steps), so a stack over alpha runs each alpha as it would run alone
    data = sample_storage(jr.key(4), BinaryStorage(0.4), 201)  # P = 80
    a = train_replicas(jr.key(5), pad_examples(data, 80), SGDConfig(epochs=15), 2)
    b = train_replicas(jr.key(5), pad_examples(data, 150), SGDConfig(epochs=15), 2)
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
    config = rsgd.RSGDConfig(y=3, sgd=SGDConfig(epochs=5, stop_at_solution=False))
    a = rsgd.train_replicas(jr.key(6), pad_examples(data, 80), config, 2)
    b = rsgd.train_replicas(jr.key(6), pad_examples(data, 150), config, 2)
    np.testing.assert_array_equal(np.asarray(a.W_replicas), np.asarray(b.W_replicas))


def test_padded_minibatch_runs_solve_and_report_real_errors():
    # alpha = 0.3 is easy: SGD (minibatches) and rsgd on padded data solve every seed, and
    # the errors are fractions of the real examples (multiples of 1/60)
    data = sample_storage(jr.key(0), BinaryStorage(0.3), 201)  # P = 60
    padded = pad_examples(data, 150)
    res = train_replicas(jr.key(2), padded, SGDConfig(epochs=60), 4)
    assert bool(jnp.all(res.solved))
    errs = np.asarray(res.train_errors) * 60
    np.testing.assert_allclose(errs, np.round(errs), atol=1e-4)
    assert float(np.max(np.asarray(res.train_errors))) <= 1.0
    config = rsgd.RSGDConfig(y=3, sgd=SGDConfig(epochs=20))
    assert bool(jnp.all(rsgd.train_replicas(jr.key(3), padded, config, 2).solved))
    with pytest.raises(ValueError, match="cannot skip padding"):
        run_algorithm("fbp", jr.split(jr.key(0), 2), padded, default_config("fbp"),
                      instances=False)
    with pytest.raises(ValueError, match="P must be an int >="):
        pad_examples(data, 59)


def test_success_grid_shapes_and_common_instances():
    alphas = (0.2, 1.6)  # far below / above the capacity 0.833 at N = 41
    for algo, config in [("sgd", SGDConfig(epochs=30)), ("fbp", default_config("fbp"))]:
        solved = success_grid(algo, jr.key(0), 41, alphas, 4, config)
        assert solved.shape == (2, 4) and solved.dtype == np.bool_
        assert solved[0].all()  # alpha = 0.2 at N = 41 is easy for both
        assert not solved[1].any()  # at alpha = 1.6 solutions are extremely rare at N = 41
    with pytest.raises(ValueError, match="n_seeds"):
        success_grid("sgd", jr.key(0), 41, alphas, 0, SGDConfig())


def test_half_success_alpha_and_extrapolation():
    alphas = [0.5, 0.6, 0.7, 0.8]
    assert half_success_alpha(alphas, [1.0, 0.75, 0.25, 0.0]) == pytest.approx(0.65)
    assert np.isnan(half_success_alpha(alphas, [1.0, 1.0, 0.9, 0.6]))
    # bootstrap: a sharp 1 -> 0 jump gives the bracket's resolution, width/sqrt(12)
    sharp = np.array([[1] * 8, [1] * 8, [0] * 8, [0] * 8], bool)
    est, sem = half_success_alpha_bootstrap(alphas, sharp)
    assert est == pytest.approx(0.65) and sem == pytest.approx(0.1 / np.sqrt(12))
    rng = np.random.default_rng(0)
    noisy = rng.random((4, 64)) < np.array([0.95, 0.7, 0.3, 0.05])[:, None]
    est, sem = half_success_alpha_bootstrap(alphas, noisy)
    assert 0.6 < est < 0.7 and 0 < sem < 0.05
    # exact a + b/N is recovered; weighted and unweighted
    Ns = np.array([201, 501, 1001, 2001])
    a, a_sem, b = extrapolate_inverse_N(Ns, 0.75 - 5.0 / Ns)
    assert a == pytest.approx(0.75, abs=1e-12) and b == pytest.approx(-5.0, rel=1e-9)
    assert a_sem < 1e-10
    a, a_sem, _ = extrapolate_inverse_N(Ns, 0.75 - 5.0 / Ns, [0.01] * 4)
    assert a == pytest.approx(0.75, abs=1e-12) and 0.005 < a_sem < 0.03
    assert np.isnan(extrapolate_inverse_N(Ns, [0.7, np.nan, np.nan, np.nan])[0])


def test_describe_cache_key_tells_the_scaled_margin_from_an_explicit_one():
    import json

    from paper_figures.fig_success_probability import describe

    scaled = describe(rsgd.RSGDConfig())["sgd"]
    assert scaled["margin"] is None
    assert scaled["margin_coefficient"] == pytest.approx(0.03 * np.sqrt(1001), rel=1e-12)
    explicit = describe(SGDConfig(margin=0.03))
    assert explicit["margin"] == pytest.approx(0.03) and explicit != scaled
    assert describe(SGDConfig(margin_coefficient=0.5)) != describe(SGDConfig())
    json.dumps(scaled)  # a plain JSON value: the cache key can be written


@pytest.mark.slow
def test_fig_success_probability_quick(tmp_path, monkeypatch):
    from paper_figures import fig_success_probability as fig

    fig.main(["--quick", "--out", str(tmp_path)])
    for suffix in ("png", "pdf"):
        assert (tmp_path / f"fig_success_probability.{suffix}").stat().st_size > 10_000
    cache = tmp_path / "cache" / "success_quick"
    records = list(cache.glob("success-*.json"))
    assert len(records) == 6  # 3 algorithms x 2 sizes, one block of seeds each

    # a rerun reads every point from the cache: computing anything would fail
    def refuse(*args, **kwargs):
        raise AssertionError("recomputed a cached point")

    monkeypatch.setattr(fig, "success_grid", refuse)
    assert fig.main(["--quick", "--out", str(tmp_path)])


@pytest.mark.slow
def test_padded_sgd_success_matches_unpadded_statistically():
    # the padded path orders examples differently from jr.permutation, so single runs
    # differ, but the success probability must not: 160 instances at alpha = 0.64, N = 201
    # (measured 0.794 padded vs 0.788 unpadded, 20 vs 19 discordant pairs). McNemar: the
    # discordant counts differ by < 3 sqrt(their sum) unless the two rules differ.
    alphas, n = (0.64, 0.8), 160
    padded = success_grid("sgd", jr.key(11), 201, alphas, n, default_config("sgd"))[0]
    k_data, k_run = jr.split(jr.fold_in(jr.key(11), 0))
    sets = [sample_storage(k, BinaryStorage(0.64), 201) for k in jr.split(k_data, n)]
    data = jax.tree.map(lambda *leaves: jnp.stack(leaves), *sets)
    _, plain = run_algorithm("sgd", jr.split(k_run, n), data, default_config("sgd"),
                             instances=True)
    plain = np.asarray(plain)
    b, c = int(np.sum(padded & ~plain)), int(np.sum(plain & ~padded))
    assert abs(b - c) < 3 * np.sqrt(b + c + 1)


@pytest.mark.parametrize("bad", [["--alphas", "0.7", "0.6"], ["--alphas", "0", "0.6"],
                                 ["--alphas", "0.6", "0.6"], ["--seeds", "0"]])
def test_fig_success_probability_rejects_bad_grid(bad, tmp_path, capsys):
    # decreasing / non-positive alphas or no instances: a usage error before any work
    from paper_figures import fig_success_probability as fig

    with pytest.raises(SystemExit) as exit_info:
        fig.main(bad + ["--out", str(tmp_path)])
    assert exit_info.value.code == 2
    assert "--" in capsys.readouterr().err
