"""``atypical theory large-deviation``: JSON contract, one-line errors."""

import json

import pytest

from atypical.cli import main


def test_help_explains_the_physics(capsys):
    assert main(["theory", "large-deviation", "--help"]) == 0
    out, _ = capsys.readouterr()
    assert "exp(y N S_loc" in out and "Hamming fraction" in out and "replicas" in out


def test_negative_infinite_y_is_a_one_line_error(cli):
    code, out, err = cli("theory", "large-deviation", "--alpha", "0.5", "--y=-inf",
                         "--d", "0.1")
    assert code == 2 and out == "" and "must be finite, inf or sigma0" in err
    assert err.count("\n") == 1


@pytest.mark.slow
def test_infinite_y_teacher_student_json(cli):
    """Values of tests/theory/test_large_deviation_limit.py."""
    code, out, _ = cli("theory", "large-deviation", "--task", "teacher-student",
                       "--alpha", "0.5", "--y", "inf", "--d", "0.05", "--json")
    result = json.loads(out)
    assert code == 0 and result["converged"] and result["reference_entropy"] is None
    assert result["gen_error"] == pytest.approx(0.372299, abs=1e-5)
    assert result["reference_gen_error"] == pytest.approx(0.358946, abs=1e-5)


def test_infinite_y_json(cli):
    """--y inf: S_inf below the bound, rising (slope 2 p_hat > 0) at alpha = 0.6; values of
    tests/theory/test_large_deviation_limit.py."""
    code, out, _ = cli("theory", "large-deviation", "--alpha", "0.6", "--y", "inf",
                       "--d", "0.05,0.1", "--json")
    result = json.loads(out)
    assert code == 0 and result["y"] == "inf" and result["converged"] == [True, True]
    assert result["reference_entropy"] == [None, None]
    assert result["local_entropy"][0] == pytest.approx(0.130082, abs=1e-6)
    assert all(s < b for s, b in zip(result["local_entropy"], result["upper_bound"]))
    assert all(v > 0 for v in result["slope"])


def test_teacher_student_alpha_out_of_range_is_one_line(cli):
    code, out, err = cli("theory", "large-deviation", "--task", "teacher-student",
                         "--alpha", "2", "--y", "2", "--d", "0.1")
    assert code == 2 and out == "" and "alpha must lie in (0, 1.5]" in err
    assert err.count("\n") == 1


def test_rejects_distance_outside_range(cli):
    code, out, err = cli("theory", "large-deviation", "--alpha", "0.5", "--y", "2",
                         "--d", "0.1,0.5")
    assert code == 2 and out == "" and "--d 0.5" in err and "(0, 1/2)" in err


def test_rejects_y_equal_one(cli):
    code, out, err = cli("theory", "large-deviation", "--alpha", "0.5", "--y", "1",
                         "--d", "0.1")
    assert code == 2 and out == "" and "within 1e-3 of 1" in err


@pytest.mark.slow
def test_json_single_distance(cli):
    code, out, _ = cli("theory", "large-deviation", "--task", "storage", "--alpha",
                       "0.5", "--y", "3", "--d", "0.1", "--json")
    result = json.loads(out)
    assert code == 0 and result["converged"] is True and result["residual"] < 1e-10
    assert 0 < result["local_entropy"] < result["upper_bound"]
    assert abs(result["free_entropy"] - result["reference_entropy"]
               - 3 * result["local_entropy"]) < 1e-12


@pytest.mark.slow
def test_sigma_zero_json(cli):
    """--y sigma0: y* and S* of tests/theory/test_large_deviation.py at alpha = 0.72,
    d = 0.02 (Sigma vanishes there, so Phi = y* S*)."""
    code, out, _ = cli("theory", "large-deviation", "--alpha", "0.72", "--y", "sigma0",
                       "--d", "0.02", "--json")
    result = json.loads(out)
    assert code == 0 and result["converged"] and result["y"] == "sigma0"
    assert 5.5 < result["y_star"] < 6.1 and result["reference_entropy"] == 0.0
    assert 0 < result["local_entropy"] < 0.0981  # the shell entropy at d = 0.02
    assert result["slope"] > 0
