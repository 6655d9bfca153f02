"""The ``atypical theory`` command line: JSON contract, lists, errors."""

import json

import pytest

from atypical.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_rs_storage_json(capsys):
    code, out, _ = run(capsys, "theory", "rs", "--task", "storage", "--alpha", "0.5",
                       "--kappa", "0", "--json")
    result = json.loads(out)
    assert code == 0 and result["converged"] is True
    assert {"entropy", "q", "qhat", "residual", "replicon"} <= result.keys()
    assert result["replicon"] > 0  # RS locally stable below alpha = 1.015
    assert 0 < result["entropy"] < 0.69 and result["residual"] < 1e-10


def test_rs_alpha_grid_gives_lists_in_order(capsys):
    _, out, _ = run(capsys, "theory", "rs", "--alpha", "0.2:0.6:3", "--json")
    result = json.loads(out)
    assert result["alpha"] == pytest.approx([0.2, 0.4, 0.6])
    assert result["entropy"][0] > result["entropy"][1] > result["entropy"][2]


def test_rs_teacher_student_branches(capsys):
    _, out, _ = run(capsys, "theory", "rs", "--task", "teacher-student", "--alpha", "1.3",
                    "--branch", "poor", "--json")
    poor = json.loads(out)
    assert poor["branch"] == "poor" and poor["R"] == pytest.approx(poor["q"], abs=1e-8)
    assert poor["gen_error"] > 0.2
    _, out, _ = run(capsys, "theory", "rs", "--task", "teacher-student", "--alpha", "1.3",
                    "--branch", "good", "--json")
    assert json.loads(out)["gen_error"] == 0.0


def test_bad_alpha_is_one_line_error(capsys):
    code, out, err = run(capsys, "theory", "rs", "--alpha", "-1", "--json")
    assert code == 2 and out == ""
    assert "argument --alpha: '-1': every value must be > 0" in err and err.count("\n") == 1


def test_poor_branch_beyond_spinodal_reports_residual(capsys):
    code, _, err = run(capsys, "theory", "rs", "--task", "teacher-student", "--alpha", "1.6",
                       "--branch", "poor")
    assert code == 2 and "spinodal" in err and "|grad phi|" in err


def test_capacity(capsys):
    _, out, _ = run(capsys, "theory", "capacity", "--kappa", "0", "--json")
    result = json.loads(out)
    assert round(result["alpha_c"], 3) == 0.833  # Krauth-Mezard 1989
    assert result["dalpha_c_dkappa"] < 0


def test_help_explains_parameters(capsys):
    assert main(["theory", "rs", "--help"]) == 0
    out = capsys.readouterr().out
    assert "alpha = P/N" in out and "margin kappa" in out


def test_ts_transitions(capsys):
    _, out, _ = run(capsys, "theory", "ts-transitions", "--json")
    result = json.loads(out)
    # Gyorgyi 1990 (1.245) and the spinodal quoted as 1.493
    assert round(result["alpha_first_order"], 3) == 1.245
    assert round(result["alpha_spinodal"], 3) == 1.493
