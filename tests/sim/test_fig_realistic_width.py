"""``paper_figures/fig_realistic_width.py --quick``: figure files, per-point cache, resume
(slow: about 2 minutes on a 2-core CPU)."""

import time

import pytest


@pytest.mark.slow
def test_fig_realistic_width_quick_and_resume(tmp_path):
    from paper_figures import fig_realistic_width as fig

    fig.main(["--quick", "--out", str(tmp_path)])
    for suffix in ("png", "pdf"):
        assert (tmp_path / f"fig_realistic_width.{suffix}").stat().st_size > 10_000
    cache = tmp_path / "cache" / fig.QUICK["name"]
    n_points = len(fig.QUICK["algos"]) * len(fig.QUICK["widths"])
    assert len(list(cache.glob("point-*.json"))) == n_points
    start = time.perf_counter()  # a rerun reads every point and recomputes nothing
    fig.main(["--quick", "--out", str(tmp_path)])
    assert time.perf_counter() - start < 60  # plotting and data loading only
    assert len(list(cache.glob("point-*.json"))) == n_points
