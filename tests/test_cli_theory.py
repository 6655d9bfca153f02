"""The ``atypical theory`` command line: JSON contract, lists, errors."""

import json

import jax
import pytest

from atypical.cli import main


def test_rs_storage_json(cli):
    code, out, _ = cli("theory", "rs", "--task", "storage", "--alpha", "0.5",
                       "--kappa", "0", "--json")
    result = json.loads(out)
    assert code == 0 and result["converged"] is True
    assert {"entropy", "q", "qhat", "residual", "replicon"} <= result.keys()
    assert result["replicon"] > 0  # RS locally stable below alpha = 1.015
    assert 0 < result["entropy"] < 0.69 and result["residual"] < 1e-10


def test_rs_alpha_grid_gives_lists_in_order(cli):
    _, out, _ = cli("theory", "rs", "--alpha", "0.2:0.6:3", "--json")
    result = json.loads(out)
    assert result["alpha"] == pytest.approx([0.2, 0.4, 0.6])
    assert result["entropy"][0] > result["entropy"][1] > result["entropy"][2]


def test_rs_teacher_student_branches(cli):
    _, out, _ = cli("theory", "rs", "--task", "teacher-student", "--alpha", "1.3",
                    "--branch", "poor", "--json")
    poor = json.loads(out)
    assert poor["branch"] == "poor" and poor["R"] == pytest.approx(poor["q"], abs=1e-8)
    assert poor["gen_error"] > 0.2
    _, out, _ = cli("theory", "rs", "--task", "teacher-student", "--alpha", "1.3",
                    "--branch", "good", "--json")
    assert json.loads(out)["gen_error"] == 0.0


def test_bad_alpha_is_one_line_error(cli):
    code, out, err = cli("theory", "rs", "--alpha", "-1", "--json")
    assert code == 2 and out == ""
    assert "argument --alpha: '-1': every value must be > 0" in err and err.count("\n") == 1


def test_poor_branch_beyond_spinodal_reports_residual(cli):
    code, _, err = cli("theory", "rs", "--task", "teacher-student", "--alpha", "1.6",
                       "--branch", "poor")
    assert code == 2 and "spinodal" in err and "|grad phi|" in err


def test_capacity(cli):
    _, out, _ = cli("theory", "capacity", "--kappa", "0", "--json")
    result = json.loads(out)
    assert round(result["alpha_c"], 3) == 0.833  # Krauth-Mezard 1989
    assert result["dalpha_c_dkappa"] < 0


def test_help_explains_parameters(capsys):
    assert main(["theory", "rs", "--help"]) == 0
    out = capsys.readouterr().out
    assert "alpha = P/N" in out and "margin kappa" in out


def test_ts_transitions(cli):
    _, out, _ = cli("theory", "ts-transitions", "--json")
    result = json.loads(out)
    # Gyorgyi 1990 (1.245) and the spinodal quoted as 1.493
    assert round(result["alpha_first_order"], 3) == 1.245
    assert round(result["alpha_spinodal"], 3) == 1.493


@pytest.mark.parametrize("task, alpha", [("storage", [0.1, 0.5, 0.8, 1.1]),
                                         ("teacher-student", [0.5, 1.0, 1.3])])
def test_rs_summary_of_a_grid_equals_the_points_one_by_one(task, alpha):
    """The grid summary (one vmapped solve, one vmapped replicon, one transfer per column)
    gives, row by row, what solving and evaluating each alpha alone gives (storage beyond
    the AT line alpha = 1.015, where the replicon is negative; teacher-student across
    Gyorgyi's transition, where the rows switch to the perfectly generalizing branch)."""
    import numpy as np

    import theory
    from atypical.cli.summaries import rs_summary

    rows = rs_summary(task, np.array(alpha))
    solve = theory.solve_storage if task == "storage" else theory.solve_teacher_student
    for a, row in zip(alpha, rows):
        assert row["alpha"] == a
        if row.get("branch") == "good":
            assert a > 1.245 and row == rs_summary(task, np.array([a]), branch="good")[0]
            continue
        sol = solve(a)
        op = jax.tree.map(lambda x: x[0], sol.order_params)
        problem = jax.tree.map(lambda x: x[0], sol.problem)
        alone = {"entropy": sol.free_entropy[0], "q": op.q, "qhat": op.q_hat,
                 "replicon": theory.replicon(op, problem)}
        if task == "teacher-student":
            alone.update(R=op.R, Rhat=op.R_hat, gen_error=theory.gen_error(op))
        for key, value in alone.items():
            assert row[key] == pytest.approx(float(value), rel=1e-12, abs=1e-15), key
        assert row["converged"] is True and row["residual"] < 1e-10
        assert row["newton_steps"] == int(sol.newton_steps[0])
    assert task != "storage" or rows[-1]["replicon"] < 0
