"""CLI: ``atypical theory dmft`` and ``atypical sim two-layer`` (JSON contract of issue 5)."""

import json

import numpy as np
import pytest


def test_theory_dmft_json(cli):
    argv = ["theory", "dmft", "--kernel", "cubic", "--m", "4", "--alpha", "0.3", "--tau", "0.6",
            "--a0", "1", "--t-max", "1", "--dt", "0.05", "--symmetric", "--json"]
    rc, out, _ = cli(*argv)
    assert rc == 0
    res = json.loads(out)
    assert set(res) == {"t", "train_error", "test_error", "a", "v"}
    assert len(res["t"]) == 21 and res["t"][-1] == pytest.approx(1.0)
    assert res["train_error"][0] == pytest.approx(res["test_error"][0], abs=1e-14)
    assert np.all(np.diff(res["train_error"]) < 0)
    # the full solver gives the same numbers on this symmetric data (1e-12, round-off)
    rc, out_full, _ = cli(*argv[:-2] + ["--json"])
    full = json.loads(out_full)
    np.testing.assert_allclose(full["test_error"], res["test_error"], atol=1e-12)


def test_sim_two_layer_json(cli):
    rc, out, _ = cli("sim", "two-layer", "--model", "network", "--kernel", "linear",
                     "--m", "2", "--d", "40", "--alpha", "0.5", "--tau", "0.3",
                     "--a0", "1", "--t-max", "0.2", "--dt", "0.1", "--seeds", "3",
                     "--json")
    assert rc == 0
    res = json.loads(out)
    for key in ("t", "train_error", "test_error", "a", "v"):
        assert len(res[key]) == 3
    for key in ("train_error", "test_error", "a", "v"):
        assert len(res[key + "_sem"]) == 3
    assert res["seeds"] == 3 and res["n"] == 40


@pytest.mark.parametrize("argv, match", [
    (["theory", "dmft", "--m", "0"], "--m: '0': must be an integer >= 1"),
    (["theory", "dmft", "--alpha", "-1"], "--alpha: '-1': must be finite and > 0"),
    (["theory", "dmft", "--dt", "0"], "--dt: '0': must be finite and > 0"),
    (["theory", "dmft", "--dt", "0.5", "--t-max", "0.1"], "need 0 < dt"),
    (["theory", "dmft", "--t-max", "100", "--dt", "0.001"], "steps exceeds"),
    (["sim", "two-layer", "--d", "3", "--m", "4"], "must exceed m"),
    (["sim", "two-layer", "--seeds", "0"], "--seeds: '0'"),
    (["sim", "two-layer", "--model", "gaussian", "--d", "400"], "GiB|elements per seed"),
])
def test_bad_input_exits_2(cli, argv, match):
    rc, _, err = cli(*argv + ["--json"])
    assert rc == 2
    assert err.startswith("atypical: error:")
    assert __import__("re").search(match, err), err


def test_blow_up_is_reported(cli):
    rc, _, err = cli("theory", "dmft", "--kernel", "quad", "--m", "16", "--a0", "16",
                     "--target", "noise", "--t-max", "20", "--dt", "0.5",
                     "--symmetric", "--scheme", "euler", "--json")
    assert rc == 2 and "stiffness" in err and "step" in err
