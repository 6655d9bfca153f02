"""Smoke run of paper_figures/fig_rf_overparameterization.py in its --quick mode (slow)."""

import json

import pytest


@pytest.mark.slow
def test_fig_rf_overparameterization_quick_and_resume(tmp_path, quick_figure, forbid):
    from paper_figures import fig_rf_overparameterization as fig

    out = quick_figure(fig, "fig_rf_overparameterization")
    assert "interpolation point N/D" in out and "sgd" in out and "rsgd" in out
    cached = list((tmp_path / "cache" / "rf_overparameterization_quick").glob("*.json"))
    n_points = len(fig.QUICK["runs"]) * len(fig.QUICK["n_over_d"])
    assert len(cached) == n_points + 1  # every point and the theory curve
    record = json.loads(next(p for p in cached if p.name.startswith("point")).read_text())
    assert len(record["result"]["solved"]) == fig.QUICK["seeds"]

    # a rerun reads the cache: nothing is recomputed
    forbid(fig, "rf_algorithm_point", "gibbs_theory")
    fig.main(["--quick", "--out", str(tmp_path)])
