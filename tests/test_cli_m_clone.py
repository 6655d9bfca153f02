"""``atypical theory clone-entropy | ogp``: JSON contract, lists, one-line errors."""

import json

import pytest



def test_clone_entropy_json(cli):
    """Two overlaps: phi_m at q1 = 0.99 is the saddle of tests/theory/test_m_clone.py
    (0.0019643 at alpha = 0.78, m = 4); phi_m falls from phi_RS at q_RS through q1 = 0.9
    into the dip near 0.99 (below phi_RS/m, which it approaches as q1 -> 1)."""
    code, out, _ = cli("theory", "clone-entropy", "--alpha", "0.78", "--m", "4",
                       "--q1", "0.9,0.99", "--json")
    result = json.loads(out)
    assert code == 0 and result["converged"] == [True, True]
    assert result["entropy"][1] == pytest.approx(0.0019643, abs=1e-7)
    assert result["entropy"][1] < result["entropy"][0] < result["rs_entropy"]
    assert result["entropy"][1] < result["rs_entropy_over_m"]
    assert result["q_typical"] < 0.9 and max(result["residual"]) < 1e-10


@pytest.mark.parametrize("argv, message", [
    (("--m", "1"), "argument --m: '1': the number of clones must be > 1"),
    (("--m", "4", "--q1", "1.0"), "--q1 1.0: the overlap must lie in (0, 1)"),
    (("--m", "4", "--task", "teacher-student", "--kappa", "0.2"),
     "solved at kappa = 0 only"),
])
def test_clone_entropy_bad_input_is_one_line(cli, argv, message):
    args = ["theory", "clone-entropy", "--alpha", "0.78", "--q1", "0.9", *argv]
    code, out, err = cli(*args)  # argparse keeps the last --q1
    assert code == 2 and out == "" and message in err and err.count("\n") == 1


def test_ogp_rejects_a_bad_m(cli):
    code, out, err = cli("theory", "ogp", "--m", "four")
    assert code == 2 and out == "" and "argument --m: 'four'" in err


@pytest.mark.slow
def test_ogp_json(cli):
    code, out, _ = cli("theory", "ogp", "--m", "4", "--json")
    result = json.loads(out)
    assert code == 0 and result["converged"] is True and result["m"] == 4.0
    assert result["alpha"] == pytest.approx(0.784, abs=5e-4) and result["q1"] < 1
