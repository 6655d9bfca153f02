"""paper_figures/fig_rf_generalization.py: its cheap helpers (reading and averaging the
phase-diagram simulation cache, the comparison), and a smoke run of --quick with resume
(slow)."""

import math

import pytest

from atypical.results import ResultsCache
from paper_figures import fig_rf_generalization as fig
from paper_figures import fig_rf_phase_diagram as phase


def _sim_result(solved, test_error) -> dict:
    return dict(N=150, P=100, D=50, solved=solved, test_error=test_error, seconds=1.0)


def _refuse(*args, **kwargs):
    raise AssertionError("a cached point was recomputed")


def test_sim_record_reads_the_phase_diagram_cache(tmp_path, monkeypatch):
    cfg = fig.FULL
    cache = ResultsCache(tmp_path / "cache" / phase.FULL["name"])
    # the key exactly as fig_rf_phase_diagram.compute writes it (literal, not sim_params)
    params = dict(algo="rsgd", alpha_D=2.0, n_over_d=3.0, D=phase.FULL["D"],
                  seeds=phase.FULL["seeds"], epochs=phase.FULL["epochs"], sigma="sign", seed=0)
    stored = _sim_result([True, False, True], [0.25, 0.5, 0.35])
    cache.get_or_compute("sim", params, lambda: stored)
    monkeypatch.setattr(phase, "sim_point", _refuse)
    rec, computed = fig.sim_record(cache, cfg, "rsgd", 3, 0)  # an int N/D finds it too
    assert rec == stored and not computed

    # a missing point is computed by the phase-diagram function, into the same cache
    calls = []

    def fake_sim_point(sim_cfg, algo, alpha_D, ratio, seed):
        calls.append((algo, alpha_D, ratio, seed, sim_cfg["D"], sim_cfg["epochs"]))
        return _sim_result([True], [0.3])

    monkeypatch.setattr(phase, "sim_point", fake_sim_point)
    rec, computed = fig.sim_record(cache, cfg, "sgd", 3.5, 0)
    assert computed and rec["test_error"] == [0.3]
    assert calls == [("sgd", 2.0, 3.5, 0, phase.FULL["D"], phase.FULL["epochs"])]
    rec, computed = fig.sim_record(cache, cfg, "sgd", 3.5, 0)
    assert not computed and len(calls) == 1
    assert len(list(cache.directory.glob("sim-*.json"))) == 2


def test_solved_test_error_averages_only_solved_runs():
    s = fig.solved_test_error(_sim_result([True, False, True], [0.25, 0.5, 0.35]))
    assert (s["solved"], s["instances"]) == (2, 3)
    assert s["mean"] == pytest.approx(0.3, rel=1e-14)
    assert s["sem"] == pytest.approx(0.05, rel=1e-12)  # std_{n-1} = 0.0707.., / sqrt 2
    none = fig.solved_test_error(_sim_result([False, False], [0.3, 0.4]))
    assert none["solved"] == 0 and math.isnan(none["mean"]) and math.isnan(none["sem"])
    one = fig.solved_test_error(_sim_result([False, True], [0.3, 0.4]))
    assert one["mean"] == pytest.approx(0.4) and math.isnan(one["sem"])


def test_table_theory_at_and_the_comparison():
    cfg = dict(fp_n_over_d=(2.3, 3.0), sim_n_over_d=(2.0, 3, 4.0))
    assert fig.table_n_over_d(cfg) == [2.0, 2.3, 3.0, 4.0]
    res = {"lines": dict(typical=dict(n_over_d=[3.0, 2.0], gen_error=[0.34, 0.35],
                                      vote_error=[0.28, 0.3]),
                         max_margin=dict(n_over_d=[3.0, 2.0], gen_error=[0.32, 0.35],
                                         kappa_max=[0.35, 0.03])),
           "fp": {3.0: dict(d=[0.005, 0.02], gen_error=[0.325, 0.33], error=None),
                  2.3: dict(error="branch lost")}}
    at = fig.theory_at(res, 3.0)
    assert (at["typical"], at["max_margin"], at["kappa_max"]) == (0.34, 0.32, 0.35)
    assert at["vote"] == 0.28
    assert at["atypical"] == {0.005: 0.325, 0.02: 0.33}
    assert fig.theory_at(res, 2.3)["atypical"] == {}
    assert math.isnan(fig.theory_at(res, 2.3)["typical"])
    assert fig.closest(0.331, dict(a=0.34, b=0.33, c=float("nan"))) == ("b", pytest.approx(1e-3))
    assert fig.closest(float("nan"), dict(a=0.3))[0] == "none"
    assert fig.verdict(0.3, 0.34, {0.02: 0.33}) == "atypical"
    assert fig.verdict(0.339, 0.34, {0.02: 0.33}) == "typical"
    assert fig.verdict(0.3, 0.34, {}) == "none"


@pytest.mark.slow
def test_fig_rf_generalization_quick_and_resume(tmp_path, monkeypatch, capsys):
    paths = fig.main(["--quick", "--out", str(tmp_path)])
    for suffix in ("png", "pdf"):
        assert (tmp_path / f"fig_rf_generalization.{suffix}").stat().st_size > 10_000
    assert {p.suffix for p in paths} == {".png", ".pdf"}
    out = capsys.readouterr().out
    q = fig.QUICK
    n_sim = len(q["algos"]) * len(q["sim_n_over_d"])
    assert f"0 read from {tmp_path / 'cache' / phase.QUICK['name']}, {n_sim} computed" in out
    assert "closer to the atypical" in out
    theory = list((tmp_path / "cache" / q["name"]).glob("*.json"))
    # lines + Franz-Parisi and large-deviation curves
    assert len(theory) == 1 + 2 * len(q["fp_n_over_d"])
    sims = list((tmp_path / "cache" / phase.QUICK["name"]).glob("sim-*.json"))
    assert len(sims) == n_sim  # in the phase diagram's own --quick cache

    # a rerun reads the caches: nothing is recomputed
    for name in ("rf_franz_parisi_max_margin", "rf_kappa_max", "follow_rf",
                 "rf_interpolation_threshold", "rf_large_deviation_limit_curve"):
        monkeypatch.setattr(fig, name, _refuse)
    monkeypatch.setattr(phase, "sim_point", _refuse)
    monkeypatch.setattr(phase, "rf_algorithm_point", _refuse)
    fig.main(["--quick", "--out", str(tmp_path)])
    assert f"{n_sim} read from" in capsys.readouterr().out
