"""paper_figures/fig_rf_phase_diagram.py: its cheap helpers, and a smoke run of --quick
with resume (slow)."""

import math

import pytest

from atypical.results import ResultsCache
from paper_figures import fig_rf_phase_diagram as fig


def _atypical_record(alpha_D: float) -> dict:
    return dict(alpha=0.9, n_over_d=alpha_D / 0.9, d=0.005, kappa_ref=0.1, alpha_lo=0.89,
                alpha_hi=0.91, seconds=1.0)


def test_cached_atypical_reads_only_the_full_mode_cache(tmp_path):
    assert fig.cached_atypical(tmp_path, 2.0, "sign") is None  # no cache directory at all
    cache = ResultsCache(tmp_path / "cache" / fig.FULL["name"])
    params = dict(alpha_D=2.0, sigma="sign", kappa=0.0, start=fig.FULL["atypical_start"])
    cache.get_or_compute("atypical", params, lambda: _atypical_record(2.0))
    assert fig.cached_atypical(tmp_path, 2.0, "sign")["n_over_d"] == pytest.approx(2 / 0.9)
    assert fig.cached_atypical(tmp_path, 1.0, "sign") is None
    assert fig.cached_atypical(tmp_path, 2.0, "erf") is None


def test_min_slope_and_success_probability():
    assert fig.min_slope(dict(slope=[0.3, -0.1, 0.2], error=None)) == -0.1
    assert math.isnan(fig.min_slope(dict(error="branch lost")))
    res = {"sim": {("sgd", 2.0, 3.0): dict(solved=[True, False, True, True])}}
    assert fig.success_probability(res, "sgd", 2.0, 3.0) == 0.75


@pytest.mark.slow
def test_fig_rf_phase_diagram_quick_and_resume(tmp_path, monkeypatch, capsys):
    paths = fig.main(["--quick", "--out", str(tmp_path)])
    for suffix in ("png", "pdf"):
        assert (tmp_path / f"fig_rf_phase_diagram.{suffix}").stat().st_size > 10_000
    assert {p.suffix for p in paths} == {".png", ".pdf"}
    out = capsys.readouterr().out
    assert "interpolation line" in out and "Franz-Parisi" in out and "rsgd" in out
    assert "atypical transition alpha_D" not in out  # --quick computes none
    cached = list((tmp_path / "cache" / fig.QUICK["name"]).glob("*.json"))
    q = fig.QUICK
    n_sim = len(q["algos"]) * len(q["sim_alpha_D"]) * len(q["sim_n_over_d"])
    # + line, typical entropy and the large-deviation thresholds
    assert len(cached) == 2 + len(q["fp_n_over_d"]) + n_sim + len(q["ld_alpha_D"])
    assert "large-deviation (y -> inf) transition alpha_D=2: N/D=2.1" in out

    # a rerun reads the cache: nothing is recomputed; a full-mode atypical record in the
    # same --out is picked up (read only)
    def refuse(*args, **kwargs):
        raise AssertionError("a cached point was recomputed")

    for name in ("rf_algorithm_point", "rf_franz_parisi_max_margin", "rf_interpolation_threshold",
                 "follow_rf", "rf_atypical_threshold",
                 "rf_large_deviation_threshold"):
        monkeypatch.setattr(fig, name, refuse)
    ResultsCache(tmp_path / "cache" / fig.FULL["name"]).get_or_compute(
        "atypical", dict(alpha_D=2.0, sigma="sign", kappa=0.0,
                         start=fig.FULL["atypical_start"]), lambda: _atypical_record(2.0))
    fig.main(["--quick", "--out", str(tmp_path)])
    assert "atypical transition alpha_D=2: N/D=2.2222" in capsys.readouterr().out
