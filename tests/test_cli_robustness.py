"""The bad inputs and failed solves of issue 20, each ending in one line with exit status 2
(naming the parameter) or in a flagged, valid result; never in a traceback."""

import json
import re
from pathlib import Path

import pytest

from theory.engine import RESIDUAL_TOL


def refused(cli, *argv) -> str:
    """The one stderr line of a call that must exit 2."""
    code, out, err = cli(*argv)
    lines = err.strip().splitlines()
    assert code == 2 and out == "" and len(lines) == 1, (code, out, err)
    return lines[0]


@pytest.mark.parametrize("argv, name", [
    (["theory", "dmft", "--alpha", "inf", "--t-max", "1", "--dt", "0.1"], "--alpha"),
    (["theory", "dmft", "--tau", "inf", "--t-max", "1", "--dt", "0.1"], "--tau"),
    (["theory", "dmft", "--a0", "nan", "--t-max", "1", "--dt", "0.1"], "--a0"),
    (["theory", "dmft", "--t-max", "inf", "--dt", "inf"], "--t-max"),
    (["sim", "two-layer", "--a0", "inf", "--d", "20", "--t-max", "0.1", "--dt", "0.05"], "--a0"),
    (["sim", "enumerate", "--n", "5", "--alpha", "0.5", "--seed", str(2**63)], "--seed"),
    (["sim", "train", "--n", "11", "--alpha", "0.5", "--seed", "-1"], "--seed"),
    (["sim", "train", "--algo", "fbp", "--n", "101", "--alpha", "0.5", "--lr", "-5",
      "--epochs", "0"], "--lr"),
    (["theory", "rs", "--alpha", "0.5", "--kappa", "nan"], "--kappa"),
    (["theory", "rs", "--alpha", "0:1:0"], "--alpha"),
    (["theory", "rs", "--alph", "0.5"], "--alpha"),  # no abbreviations: --alpha is missing
])
def test_non_finite_and_out_of_range_values_refused_by_the_parser(cli, argv, name):
    line = refused(cli, *argv, "--json")
    assert name in line and line.startswith("atypical")


def test_options_that_do_not_apply_are_refused(cli):
    line = refused(cli, "sim", "train", "--algo", "fbp", "--n", "101", "--alpha", "0.5",
                   "--lr", "0.1", "--epochs", "3")
    assert "--epochs, --lr" in line and "--algo sgd or rsgd" in line
    line = refused(cli, "theory", "rs", "--alpha", "0.5", "--branch", "poor")
    assert "--branch" in line and "teacher-student" in line
    line = refused(cli, "sim", "threshold", "--algo", "amp", "--task", "storage", "--n",
                   "11", "--alpha", "0.5")
    assert "--task storage" in line
    line = refused(cli, "sim", "train", "--n", "11", "--alpha", "0.5", "--alpha-d", "1")
    assert "--alpha-d" in line and "random-features" in line


def test_sizes_that_cannot_fit_are_refused_before_allocation(cli, monkeypatch):
    line = refused(cli, "sim", "train", "--n", "10000000", "--alpha", "1.5")
    assert re.search(r"--n 10000000 --alpha 1.5 .*needs about [\d.e+]+ GiB, more than the "
                     r"[\d.e+]+ GiB", line)
    assert "GiB" in refused(cli, "sim", "enumerate", "--n", "5", "--alpha", "1e300")
    assert "GiB" in refused(cli, "theory", "dmft", "--t-max", "1000", "--dt", "0.001",
                            "--steps-limit", "0")
    monkeypatch.setenv("ATYPICAL_MEMORY_LIMIT", "1000000")  # 1 MB: N = 1001 does not fit
    line = refused(cli, "sim", "train", "--n", "1001", "--alpha", "1.5", "--replicas", "8")
    assert "ATYPICAL_MEMORY_LIMIT" in line


def test_rs_beyond_capacity_is_flagged(cli):
    code, out, _ = cli("theory", "rs", "--alpha", "0.5,1.2", "--json")
    result = json.loads(out)
    assert code == 0 and result["converged"] == [True, True]
    assert result["entropy"][0] > 0 > result["entropy"][1]  # alpha_c = 0.833 (Krauth-Mezard)
    assert result["regime"] == ["below_capacity", "above_capacity"]


def test_convergence_criterion_is_the_readme_one(cli):
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    stated = re.search(r"\|grad phi\| < (1e-\d+)", readme)
    assert stated and float(stated.group(1)) == RESIDUAL_TOL
    code, out, _ = cli("theory", "rs", "--alpha", "0.5", "--kappa", "-5", "--json")
    result = json.loads(out)
    assert code == 0 and result["converged"] and result["residual"] <= RESIDUAL_TOL


def test_unconverged_solve_is_one_line_naming_the_point(cli):
    line = refused(cli, "theory", "rs", "--alpha", "0.5", "--kappa", "1e300", "--json")
    assert "no saddle point" in line and "kappa=1e+300" in line


def test_unreachable_local_entropy_distance_is_refused_not_null(cli):
    line = refused(cli, "sim", "local-entropy", "--n", "41", "--alpha", "0.3", "--d",
                   "0.4,0.45", "--json")
    assert line.startswith("atypical: error: --d [0.45]: outside the distances")


def test_undefined_statistics_are_left_out_not_null(cli):
    code, out, _ = cli("sim", "enumerate", "--n", "6", "--alpha", "3", "--json")
    result = json.loads(out)
    assert code == 0 and result["n_sat"] == 0 and "null" not in out
    assert "mean_entropy" not in result and "sem_entropy" not in result


def test_reference_above_kappa_max_is_refused_before_the_curve(cli):
    line = refused(cli, "theory", "local-entropy", "--alpha", "0.5", "--kappa-ref", "0.6",
                   "--d", "0.1", "--json")
    assert "kappa_ref exceeds the RS maximal margin kappa_max(alpha) = 0.418" in line


@pytest.mark.slow
def test_rf_interpolation_at_tiny_alpha_d_is_the_perceptron_capacity(cli):
    code, out, _ = cli("theory", "rf-interpolation", "--alpha-d", "1e-6", "--json")
    result = json.loads(out)
    assert code == 0 and result["alpha_c"] == pytest.approx(0.8330786, abs=1e-4)


def test_help_and_usage_errors_return_instead_of_exiting(cli):
    assert cli("theory", "rs", "--help")[0] == 0
    assert "invalid choice" in refused(cli, "theory", "nonsense")
