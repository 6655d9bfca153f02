"""The random-features CLI: JSON contract of ``theory rf``, ``theory rf-interpolation`` and
``theory rf-atypical``."""

import json

import pytest

from atypical.cli import main


def test_rf_json_contract(cli):
    code, out, _ = cli("theory", "rf", "--alpha", "0.3", "--alpha-d", "1.0", "--json")
    result = json.loads(out)
    assert code == 0
    assert set(result) == {"entropy", "gen_error", "vote_gen_error", "bayes_gen_error", "q", "r",
                           "m", "converged", "regime"}
    assert result["regime"] == "below_interpolation"  # entropy > 0
    assert result["converged"] is True
    # values of the library solve (theory/random_features.py) at this point, to the
    # Newton tolerance: the CLI only formats them
    assert result["entropy"] == pytest.approx(0.500944, abs=1e-6)
    assert result["gen_error"] == pytest.approx(0.4025, abs=1e-4)
    assert result["vote_gen_error"] == pytest.approx(0.32156, abs=1e-5)
    # theory.models.bayes_optimal at alpha_D = 1 (alpha = P/D for a learner that sees the latents)
    assert result["bayes_gen_error"] == pytest.approx(0.254373, abs=1e-6)
    assert 0 < result["q"] < 1 and result["r"] > 0 and 0 < result["m"] < 1


def test_rf_rejects_bad_alpha_d_in_one_line(cli):
    code, out, err = cli("theory", "rf", "--alpha", "0.3", "--alpha-d", "-1", "--json")
    assert code == 2 and out == ""
    assert "--alpha-d: '-1': must be finite and > 0" in err and err.count("\n") == 1


def test_rf_interpolation_json_contract(cli):
    code, out, _ = cli("theory", "rf-interpolation", "--alpha-d", "1.0", "--json")
    result = json.loads(out)
    assert code == 0 and set(result) == {"alpha_c", "n_over_d"}
    assert result["alpha_c"] == pytest.approx(0.941804, abs=1e-6)  # library value
    assert result["n_over_d"] == pytest.approx(1.0 / result["alpha_c"], rel=1e-12)


def test_help_lists_commands(capsys):
    assert main(["theory", "--help"]) == 0
    out, _ = capsys.readouterr()
    assert "rf-interpolation" in out and "rf" in out and "rf-atypical" in out


def test_rf_atypical_rejects_bad_alpha_d_in_one_line(cli):
    code, out, err = cli("theory", "rf-atypical", "--alpha-d", "0", "--json")
    assert code == 2 and out == ""
    assert "--alpha-d: '0': must be finite and > 0" in err and err.count("\n") == 1


@pytest.mark.slow
def test_rf_atypical_json_contract(cli):
    # the full threshold search (minutes): the CLI only formats the library result
    code, out, _ = cli("theory", "rf-atypical", "--alpha-d", "2.0", "--json")
    result = json.loads(out)
    assert code == 0
    assert set(result) == {"alpha", "n_over_d", "method"}
    assert result["method"] == "franz-parisi-monotonicity"
    assert result["n_over_d"] == pytest.approx(2.0 / result["alpha"], rel=1e-12)
    # the atypical transition comes before interpolation (N/D = 1.913 at alpha_D = 2)
    assert result["n_over_d"] > 1.913


@pytest.mark.slow
def test_rf_atypical_large_deviation_json(cli):
    # bisection of the y -> infinity threshold (about 2 min): N/D = 2.113 at alpha_D = 2,
    # between the Franz-Parisi transition (2.2085) and the interpolation point (1.913)
    code, out, _ = cli("theory", "rf-atypical", "--alpha-d", "2.0", "--method",
                       "large-deviation", "--json")
    result = json.loads(out)
    assert code == 0 and result["method"] == "large-deviation-y-infinity"
    assert 1.913 < result["n_over_d"] < 2.2085
    assert result["n_over_d"] == pytest.approx(2.113, abs=2e-3)
