"""``atypical theory rs | capacity | kappa-max --k K``: the tree committee on the CLI."""

import json

import pytest


def test_rs_committee_json(cli):
    code, out, _ = cli("theory", "rs", "--alpha", "0.3,0.9", "--k", "3", "--json")
    result = json.loads(out)
    assert code == 0 and result["K"] == [3, 3] and all(result["converged"])
    # RS entropies of the K = 3 committee (tests/theory/test_committee_machine.py)
    assert result["entropy"] == pytest.approx([0.4799462471, 0.0169766555], abs=1e-9)
    assert max(result["residual"]) < 1e-10


@pytest.mark.parametrize("k", ["2", "0", "-1", "4"])
def test_bad_k_is_one_line_error(cli, k):
    for argv in (("rs", "--alpha", "0.5"), ("capacity",), ("kappa-max", "--alpha", "0.5")):
        code, out, err = cli("theory", *argv, "--k", k)
        assert code == 2 and out == ""
        assert f"--k {k}: the number of hidden units K must be odd and >= 1" in err
        assert err.count("\n") == 1


def test_untabulated_k_and_teacher_student_are_refused(cli):
    code, _, err = cli("theory", "rs", "--alpha", "0.5", "--k", "7")
    assert code == 2 and "tabulated for K in 1, 3, 5" in err
    code, _, err = cli("theory", "rs", "--alpha", "0.5", "--k", "3", "--task",
                       "teacher-student")
    assert code == 2 and "storage only" in err


@pytest.mark.slow
def test_capacity_and_kappa_max_committee(cli):
    _, out, _ = cli("theory", "capacity", "--k", "3", "--json")
    cap = json.loads(out)
    assert cap["alpha_c"] == pytest.approx(0.9206194010, abs=1e-9) and cap["converged"]
    assert cap["dalpha_c_dkappa"] < 0
    _, out, _ = cli("theory", "kappa-max", "--alpha", str(cap["alpha_c"]), "--k", "3",
                    "--json")
    km = json.loads(out)
    assert km["kappa_max"] == pytest.approx(0.0, abs=1e-8) and km["dkappa_max_dalpha"] < 0


def test_local_entropy_k_is_checked(cli):
    argv = ("theory", "local-entropy", "--alpha", "0.5", "--kappa-ref", "0.2", "--d", "0.1")
    code, out, err = cli(*argv, "--k", "5")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "--k 5: the command line computes the committee Franz-Parisi curve for K in 1, 3" in err
    code, _, err = cli(*argv, "--k", "4")
    assert code == 2 and "must be odd and >= 1" in err
    code, _, err = cli(*argv, "--k", "3", "--task", "teacher-student")
    assert code == 2 and "storage only" in err


@pytest.mark.slow
def test_local_entropy_k3_json(cli):
    """One K = 3 Franz-Parisi point around committee references (tens of minutes on a loaded
    2-core CPU): converged, under the Hamming-shell bound, references of the committee."""
    code, out, _ = cli("theory", "local-entropy", "--alpha", "0.5", "--kappa-ref",
                       "0.3", "--kappa", "0", "--d", "0.05", "--k", "3", "--json")
    result = json.loads(out)
    assert code == 0 and result["converged"] is True and result["k"] == 3
    assert 0 < result["local_entropy"] < result["upper_bound"]
    assert result["residual"] < 1e-10
