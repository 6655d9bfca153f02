"""The DMFT figures of issue 5: helpers (fast) and --quick smoke runs with resume (slow)."""

import json

import numpy as np
import pytest

from paper_figures import fig_dmft_mean_field as mf


def test_log_spaced_indices_are_sorted_unique_and_cover_the_range():
    t = 0.1 * np.arange(641)
    k = mf.log_spaced(t, 20)
    assert k[0] == 1 and k[-1] == 640  # first positive time and the last one
    assert np.all(np.diff(k) > 0) and k.size <= 20
    # log spacing: the marker density per decade is roughly constant
    decades = np.histogram(np.log10(t[k]), bins=[-1, 0, 1, 2])[0]
    assert decades.min() >= 4


def test_network_gaps_interpolates_the_dmft_and_skips_times_out_of_range():
    dm = dict(t=[0.0, 1.0, 2.0, 3.0, 4.0], test=[1.0, 0.8, 0.6, 0.5, 0.4])
    net = dict(t=[0.0, 0.5, 1.5, 4.0], test_mean=[1.0, 0.99, 0.77, 0.44],
               test_sem=[0.0, 0.01, 0.02, 0.04])
    rows = mf.network_gaps(dm, net, times=(1.5, 4.0, 16.0))
    assert len(rows) == 2  # t = 16 lies beyond the run
    t, e_net, e_th, rel, se = rows[0]
    assert (t, e_net) == (1.5, 0.77)
    assert e_th == pytest.approx(0.7) and rel == pytest.approx(0.1)
    assert se == pytest.approx(0.02 / 0.7)
    assert rows[1][3] == pytest.approx(0.1) and rows[1][4] == pytest.approx(0.1)


def test_train_at_gamma_reads_the_growing_branch():
    from paper_figures import fig_dmft_pure_noise_lazy as pn

    # gamma first dips (linear part fitted), then grows: only the growing branch is a function
    res = {("dmft", 8): dict(gamma=[0.25, 0.24, 0.26, 0.30], train=[1.0, 0.5, 0.2, 0.1])}
    np.testing.assert_allclose(pn.train_at_gamma(res, 8, [0.25, 0.28]), [0.35, 0.15])
    assert np.isnan(pn.train_at_gamma(res, 8, 0.31))  # beyond the range reached: no value


@pytest.fixture
def check_quick(tmp_path, capsys, quick_figure, forbid):
    """``check_quick(module, name, refuse)``: the --quick run of a DMFT figure, one cache
    record per job, and a rerun that reads every job (the ``(module, function)`` pairs in
    ``refuse`` fail when called) and prints the same summary. Returns (records, summary)."""

    def run(module, name, refuse):
        out = quick_figure(module, name)
        records = list((tmp_path / "cache" / "dmft_figures_quick").glob("*.json"))
        assert len(records) == len(module.jobs_for(module.QUICK))
        for target, function in refuse:
            forbid(target, function)
        module.main(["--quick", "--out", str(tmp_path)])
        assert capsys.readouterr().out == out  # the same summary, timings included
        return records, out

    return run


@pytest.mark.slow
def test_fig_dmft_mean_field_quick_and_resume(check_quick):
    records, out = check_quick(mf, "fig_dmft_mean_field", [(mf, "dmft_record"),
                                                           (mf, "network_record"),
                                                           (mf, "solve_mean_field")])
    assert "relative gap" in out
    net = [json.loads(p.read_text()) for p in records if p.name.startswith("network")][0]
    sem = np.asarray(net["result"]["test_sem"])
    assert net["result"]["seeds"] == mf.QUICK["seeds"] and np.all(sem[1:] > 0)


@pytest.mark.slow
def test_fig_dmft_lazy_regimes_quick_and_resume(check_quick):
    from paper_figures import fig_dmft_lazy_regimes as fig

    _, out = check_quick(fig, "fig_dmft_lazy_regimes", [(mf, "dmft_record")])
    assert "e_ts - e^lz1" in out


@pytest.mark.slow
def test_fig_dmft_pure_noise_lazy_quick_and_resume(check_quick):
    from paper_figures import fig_dmft_pure_noise_lazy as fig

    _, out = check_quick(fig, "fig_dmft_pure_noise_lazy", [(mf, "dmft_record")])
    assert "e_tr at gamma" in out


@pytest.mark.slow
def test_fig_dmft_init_scale_quick_and_resume(check_quick):
    from paper_figures import fig_dmft_init_scale as fig

    _, out = check_quick(fig, "fig_dmft_init_scale", [(mf, "dmft_record")])
    assert "plateau" in out
