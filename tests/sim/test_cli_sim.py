"""``atypical sim enumerate|train``: JSON contract, help texts, one-line errors (exit 2)."""

import json

import pytest

from atypical.cli import main


def _run_json(capsys, argv):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_enumerate_storage_json(capsys):
    out = _run_json(capsys, ["sim", "enumerate", "--task", "storage", "--n", "12", "--alpha",
                             "0.5", "--instances", "4", "--seed", "1", "--json"])
    assert out["n"] == 12 and out["alpha"] == 0.5 and out["P"] == 6 and out["kappa"] == 0.0
    assert 0 <= out["sat_fraction"] <= 1 and len(out["counts"]) == 4
    assert 0 < out["mean_entropy"] < 0.7 and out["sem_entropy"] > 0
    assert "gibbs_gen_error" not in out


def test_enumerate_teacher_student_json(capsys):
    out = _run_json(capsys, ["sim", "enumerate", "--task", "teacher-student", "--n", "10",
                             "--alpha", "1.0", "--instances", "3", "--kappa", "0", "--json"])
    assert out["sat_fraction"] == 1.0  # the teacher is a solution
    assert 0 < out["gibbs_gen_error"] < 0.5 and out["sem_gibbs_gen_error"] >= 0


def test_enumerate_same_seed_same_answer(capsys):
    argv = ["sim", "enumerate", "--n", "8", "--alpha", "0.6", "--instances", "2", "--json"]
    assert _run_json(capsys, argv)["counts"] == _run_json(capsys, argv)["counts"]


def test_train_storage_json(capsys):
    out = _run_json(capsys, ["sim", "train", "--task", "storage", "--algo", "sgd", "--n", "101",
                             "--alpha", "0.3", "--replicas", "3", "--seed", "2", "--epochs",
                             "60", "--json"])
    assert len(out["train_error"]) == 3 and len(out["solved"]) == 3
    assert out["solved_fraction"] == pytest.approx(sum(out["solved"]) / 3)
    assert out["seconds"] > 0 and out["P"] == 30 and out["replicas"] == 3
    assert "gen_error" not in out


def test_train_teacher_student_json(capsys):
    out = _run_json(capsys, ["sim", "train", "--task", "teacher-student", "--n", "101",
                             "--alpha", "1.0", "--replicas", "2", "--epochs", "20", "--json"])
    assert len(out["gen_error"]) == 2 and 0 <= out["mean_gen_error"] <= 1
    assert "sem_gen_error" in out and "mean_train_error" in out


def test_plain_text_output(capsys):
    assert main(["sim", "enumerate", "--n", "6", "--alpha", "0.5", "--instances", "2"]) == 0
    assert "sat_fraction:" in capsys.readouterr().out


@pytest.mark.parametrize("argv, match", [
    (["sim", "enumerate", "--n", "30", "--alpha", "0.5"], "N must lie in [1, 25]"),
    (["sim", "enumerate", "--n", "10", "--alpha", "0"], "--alpha: '0': must be finite and > 0"),
    (["sim", "enumerate", "--n", "10", "--alpha", "0.01"], "P = round(alpha*N) = 0"),
    (["sim", "enumerate", "--n", "10", "--alpha", "0.5", "--kappa", "nan"],
     "--kappa: 'nan': must be finite"),
    (["sim", "train", "--n", "100", "--alpha", "-1"], "--alpha: '-1': must be finite and > 0"),
    (["sim", "train", "--n", "100", "--alpha", "0.5", "--lr", "-1"],
     "--lr: '-1': must be finite and > 0"),
    (["sim", "train", "--n", "100", "--alpha", "0.5", "--epochs", "0"],
     "--epochs: '0': must be an integer >= 1"),
    (["sim", "train", "--n", "100", "--alpha", "0.5", "--beta", "0", "--algo", "rsgd"],
     "--beta: '0': must be finite and > 0"),
])
def test_bad_input_one_line_exit_2(capsys, argv, match):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("atypical: error: ") and match in err
    assert err.count("\n") == 1  # one line


@pytest.mark.parametrize("command", ["enumerate", "train"])
def test_help_explains_physics(capsys, command):
    assert main(["sim", command, "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "alpha = P/N" in text and "storage" in text and "teacher" in text
    if command == "enumerate":
        assert "margin kappa" in text and "2^N" in text
