"""``atypical theory kappa-max | local-entropy | monotonicity-threshold``: JSON contract,
lists, one-line errors."""

import json

import pytest


def test_kappa_max_json(cli):
    code, out, _ = cli("theory", "kappa-max", "--task", "storage", "--alpha", "0.5",
                       "--json")
    result = json.loads(out)
    assert code == 0 and result["converged"] is True
    assert round(result["kappa_max"], 4) == 0.4181  # tests/theory/test_margins.py
    assert result["dkappa_max_dalpha"] < 0 and result["residual"] < 1e-10


def test_kappa_max_teacher_student_json(cli):
    code, out, _ = cli("theory", "kappa-max", "--task", "teacher-student",
                       "--alpha", "0.5", "--json")
    result = json.loads(out)
    assert code == 0 and result["kappa_max"] > 0.4181 and "R" in result


def test_kappa_max_alpha_out_of_range_is_one_line(cli):
    code, out, err = cli("theory", "kappa-max", "--alpha", "50")
    assert code == 2 and out == "" and "alpha must lie in [0.1, 20.0]" in err
    assert err.count("\n") == 1


def test_local_entropy_rejects_distance_outside_range(cli):
    code, out, err = cli("theory", "local-entropy", "--alpha", "0.5", "--kappa-ref",
                         "0.3", "--d", "0.1,0.7", "--json")
    assert code == 2 and out == "" and "--d 0.7" in err and "(0, 1/2]" in err


def test_local_entropy_rejects_reference_above_maximal_margin(cli):
    code, out, err = cli("theory", "local-entropy", "--alpha", "0.5", "--kappa-ref",
                         "0.5", "--d", "0.1")
    assert code == 2 and out == ""
    assert "kappa_ref exceeds the RS maximal margin kappa_max(alpha) = 0.418062" in err
    assert err.count("\n") == 1


@pytest.mark.slow
def test_local_entropy_json_single_and_grid(cli):
    code, out, _ = cli("theory", "local-entropy", "--task", "storage", "--alpha",
                       "0.5", "--kappa-ref", "0.41", "--kappa", "0", "--d", "0.01", "--json")
    result = json.loads(out)
    assert code == 0 and result["converged"] is True
    assert 0 < result["local_entropy"] < result["upper_bound"]
    code, out, _ = cli("theory", "local-entropy", "--alpha", "0.5", "--kappa-ref",
                       "0.41", "--d", "0.01:0.03:3", "--json")
    result = json.loads(out)
    assert result["d"] == pytest.approx([0.01, 0.02, 0.03])
    assert len(result["local_entropy"]) == 3 and all(result["converged"])
    assert result["local_entropy"][0] < result["local_entropy"][1] < result["local_entropy"][2]


def test_local_entropy_teacher_student_alpha_out_of_range_is_one_line(cli):
    code, _, err = cli("theory", "local-entropy", "--task", "teacher-student",
                       "--alpha", "2", "--kappa-ref", "0", "--d", "0.3")
    assert code == 2 and "alpha must lie in (0, 1.5]" in err and len(err.splitlines()) == 1


@pytest.mark.slow
def test_local_entropy_teacher_student_json(cli):
    code, out, _ = cli("theory", "local-entropy", "--task", "teacher-student",
                       "--alpha", "0.5", "--kappa-ref", "0", "--kappa", "0", "--d", "0.3",
                       "--json")
    result = json.loads(out)
    assert code == 0 and result["converged"] is True and result["task"] == "teacher-student"
    # Bayes-optimal references (Nishimori): the teacher is one more reference, t = R
    assert result["t"] == pytest.approx(result["R"], abs=1e-9)
    assert 0 < result["gen_error"] < 0.5 and result["R_ref"] == pytest.approx(result["q_ref"])


@pytest.mark.slow
def test_monotonicity_threshold_json(cli):
    code, out, _ = cli("theory", "monotonicity-threshold", "--task", "storage",
                       "--kappa", "0", "--json")
    result = json.loads(out)
    assert code == 0 and result["converged"] is True
    assert round(result["alpha"], 3) == 0.729  # tests/theory/test_franz_parisi.py (slow)


def test_monotonicity_threshold_teacher_student_margin_is_one_line(cli):
    code, _, err = cli("theory", "monotonicity-threshold", "--task", "teacher-student",
                       "--kappa", "0.3", "--json")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "--kappa 0.3" in err
