"""paper_figures/fig_rf_local_energy.py: the table and its verdicts (the --quick smoke run is
in test_figures_and_benchmarks.py, slow)."""

import numpy as np
import pytest

from paper_figures import fig_rf_local_energy as fig


def _res() -> dict:
    d = [1e-3, 1e-2, 1e-1]
    return {"energy": dict(d=d, kappa_max=0.35, typical=[0.02, 0.08, 0.2],
                           max_margin=[0.0, 0.01, 0.1]),
            "entropy": {"typical": dict(d=[1e-2, 1e-1], local_entropy=[-0.01, 0.2], error=None),
                        "max_margin": dict(error="branch lost")},
            "sim": {("sgd", 50, False): dict(solved=3, instances=4, mean=[0.005, 0.07],
                                             sem=[0.001, 0.01], local_entropy=[0.0, 0.25],
                                             local_entropy_sem=[0.01, 0.01]),
                    ("rsgd", 50, True): dict(solved=0, instances=4)}}


def test_theory_interpolates_in_log_d():
    at = fig.theory_at(_res(), [1e-2, np.sqrt(1e-3 * 1e-2)])
    np.testing.assert_allclose(at["mean"]["typical"], [0.08, 0.05], rtol=1e-12)
    np.testing.assert_allclose(at["mean"]["max_margin"], [0.01, 0.005], rtol=1e-12)
    # the local entropy only on its own grid; a lost curve is nan
    np.testing.assert_array_equal(np.isnan(at["local_entropy"]["typical"]), [False, True])
    assert np.isnan(at["local_entropy"]["max_margin"]).all()


def test_summary_says_which_line_is_nearer():
    cfg = dict(alpha_D=2.0, n_over_d=3.0, sim_d=[1e-2, 1e-1])
    lines = fig.summary(cfg, _res())
    text = "\n".join(lines)
    # 0.005 at d = 0.01 is nearer 0.01 (maximal margin) than 0.08; 0.07 at 0.1 nearer 0.1
    assert "nearer: max-margin max-margin" in text
    assert "nearer: -- --" in text  # no maximal-margin entropy curve to compare with
    assert "rsgd D=50 surrogate: no solved instance" in text
    assert fig.sim_name(100, False) == "D=100"


@pytest.mark.parametrize("cfg", [fig.FULL, fig.QUICK])
def test_grids_are_valid_distances(cfg):
    for key in ("entropy_d", "energy_d", "sim_d"):
        d = np.asarray(cfg[key])
        assert np.all((d > 0) & (d <= 0.5)) and np.all(np.diff(d) > 0)
    # the RS lines cover every simulated distance (no extrapolation in theory_at)
    assert min(cfg["energy_d"]) <= min(cfg["sim_d"]) and max(cfg["sim_d"]) <= max(cfg["energy_d"])
