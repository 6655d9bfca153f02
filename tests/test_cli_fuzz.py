"""Property-based fuzzing of every ``atypical`` command (Hypothesis), called in-process.

Arguments are drawn per option from valid values (tiny sizes, so that solves stay fast) and
from invalid ones (non-finite, extreme magnitudes, wrong types, out of range, missing). The
contract checked on every call:
- exit 0 with one strict JSON object on stdout (no NaN/Infinity token), no null outside the
  fields documented as nullable, every option given either applies to the call or was
  refused, and the echoed parameters equal the ones given; or
- exit 2 with exactly one line on stderr that names a parameter of the command;
- never a traceback (any other exception fails the test).
"""

import argparse
import contextlib
import io
import json
import math
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from atypical.cli import build_parser, main

BAD_FLOAT = ["nan", "inf", "-inf", "NaN", "1e999", "-1e999", "abc", "", "0x1p3", "1,,2",
             "--", "1.0.0"]
BAD_INT = ["1.5", "x", "", "-1", "0", "1e3", "nan"]
BAD_LIST = ["nan", "0.1,inf", "0:1:0", "0:1:x", "1:2", "a,b", "", "0.1:0.2:100000000"]
BAD_SEED = ["-1", "9223372036854775808", "18446744073709551616", "1.5", "x"]

# option -> (kind, valid values); kinds: float, int, list, seed, choice, flag
_TASK = ("choice", ["storage", "teacher-student"])
CHEAP = {
    ("theory", "rs"): {
        "task": _TASK, "alpha": ("list", ["0.5", "1.2", "0.3,0.9", "0.05", "1e-300", "1e300"]),
        "kappa": ("float", ["0", "-5", "0.5", "1e300", "-1e300"]), "k": ("int", ["1", "3", "2"]),
        "branch": ("choice", ["poor", "good", "equilibrium"])},
    ("theory", "capacity"): {"kappa": ("float", ["0", "1", "-2", "3", "1e300"]),
                             "k": ("int", ["1", "2", "9"])},
    ("theory", "kappa-max"): {"task": _TASK, "alpha": ("float", ["0.5", "0.05", "30", "1e300"]),
                              "k": ("int", ["1", "4"])},
    ("theory", "dmft"): {
        "kernel": ("choice", ["cubic", "linear"]), "m": ("int", ["2"]),
        "alpha": ("float", ["0.3", "1e300"]), "tau": ("float", ["0", "0.6"]),
        "a0": ("float", ["1", "1e30", "-2"]), "t-max": ("float", ["0.2", "0.05", "1e300"]),
        "dt": ("float", ["0.1", "0.3", "1e-300"]), "steps-limit": ("count", ["0", "1"]),
        "symmetric": ("flag", []), "scheme": ("choice", ["heun", "exp"])},
    ("sim", "enumerate"): {
        "task": _TASK, "n": ("int", ["6", "26", "100000"]),
        "alpha": ("float", ["0.5", "3", "1e300", "1e-300"]),
        "kappa": ("float", ["0", "-1", "1e300"]), "instances": ("int", ["2", "1000000000000"]),
        "seed": ("seed", ["0", "9223372036854775807"])},
    ("sim", "train"): {
        "task": ("choice", ["storage", "teacher-student", "random-features"]),
        "algo": ("choice", ["sgd", "fbp", "amp", "sa"]), "n": ("int", ["12", "10000000"]),
        "alpha": ("float", ["0.5", "1e300"]), "k": ("int", ["1", "3", "2"]),
        "arch": ("choice", ["tree", "fc"]), "replicas": ("int", ["2", "1000000000000"]),
        "seed": ("seed", ["3"]), "epochs": ("int", ["2"]), "batch-size": ("int", ["4"]),
        "lr": ("float", ["0.1", "1e300"]), "beta": ("float", ["2"]),
        "margin": ("float", ["0.1"]), "alpha-d": ("float", ["1", "1e-300"]),
        "sigma": ("choice", ["sign", "relu"]), "features": ("choice", ["exact", "gaussian"]),
        "test-examples": ("int", ["20", "1000000000000"])},
    ("sim", "two-layer"): {
        "model": ("choice", ["network", "gaussian"]), "m": ("int", ["2"]),
        "d": ("int", ["6", "2", "100000"]), "alpha": ("float", ["0.5"]),
        "tau": ("float", ["0.3"]), "a0": ("float", ["1", "1e30"]),
        "t-max": ("float", ["0.1", "1e300"]), "dt": ("float", ["0.05"]),
        "seeds": ("int", ["2"]), "seed": ("seed", ["1"]), "record-every": ("int", ["1", "2"]),
        "init": ("choice", ["orthogonal", "uniform"])},
    ("sim", "threshold"): {
        "task": _TASK, "algo": ("choice", ["sgd", "amp"]), "n": ("int", ["12"]),
        "alpha": ("list", ["0.3", "0.3,0.6", "1e300"]), "k": ("int", ["1", "3"]),
        "replicas": ("int", ["2"]), "seed": ("seed", ["0"])},
}
EXPENSIVE = {  # minutes per valid call at worst: the default suite sends them invalid input
    ("theory", "ts-transitions"): {},
    ("theory", "local-entropy"): {
        "task": _TASK, "alpha": ("float", ["0.5"]), "kappa-ref": ("float", ["0.41", "0.6"]),
        "kappa": ("float", ["0", "0.5"]), "d": ("list", ["0.1", "0.6", "0.05,0.1"]),
        "k": ("int", ["1", "5", "2"])},
    ("theory", "monotonicity-threshold"): {"task": _TASK, "kappa": ("float", ["0", "1", "0.3"])},
    ("theory", "large-deviation"): {
        "task": _TASK, "alpha": ("float", ["0.5"]), "y": ("y", ["3", "inf", "1", "-1"]),
        "d": ("list", ["0.1", "0.5"]), "kappa": ("float", ["0"])},
    ("theory", "rf"): {"alpha": ("float", ["0.5", "2"]), "alpha-d": ("float", ["1", "100"]),
                       "kappa": ("float", ["0", "0.5"]),
                       "sigma": ("choice", ["sign", "relu"])},
    ("theory", "rf-interpolation"): {"alpha-d": ("float", ["1", "1e-6"]),
                                     "sigma": ("choice", ["sign", "erf"])},
    ("theory", "rf-atypical"): {"alpha-d": ("float", ["2"]),
                                "method": ("choice", ["franz-parisi", "large-deviation"])},
    ("theory", "clone-entropy"): {
        "task": _TASK, "alpha": ("float", ["0.5", "0.8"]), "m": ("float", ["4", "2.5", "1"]),
        "q1": ("list", ["0.9", "0.7,0.95", "1.5"]), "kappa": ("float", ["0", "0.2", "2"])},
    ("theory", "ogp"): {"task": _TASK, "m": ("float", ["4", "1"]),
                        "kappa": ("float", ["0", "0.3", "2"])},
    ("sim", "local-entropy"): {
        "algo": ("choice", ["sa", "sgd"]), "n": ("int", ["12", "1"]), "alpha": ("float", ["0.3"]),
        "d": ("list", ["0.1", "0.45", "0.05,0.1"]), "seed": ("seed", ["0"]),
        "exact": ("flag", [])},
    ("sim", "width-sweep"): {
        "widths": ("list", ["2", "2,4", "4,2", "0"]), "arch": ("choice", ["mlp"]),
        "P": ("int", ["20"]), "seeds": ("int", ["1"]), "epochs": ("int", ["1"]),
        "samples": ("int", ["2"]), "strengths": ("list", ["0.1", "0.7"]),
        "binary": ("flag", [])},
}
REQUIRED = {("theory", "rs"): ["alpha"], ("theory", "kappa-max"): ["alpha"],
            ("theory", "local-entropy"): ["alpha", "kappa-ref", "d"],
            ("theory", "large-deviation"): ["alpha", "y", "d"],
            ("theory", "rf"): ["alpha", "alpha-d"], ("theory", "rf-interpolation"): ["alpha-d"],
            ("theory", "rf-atypical"): ["alpha-d"], ("sim", "enumerate"): ["n", "alpha"],
            ("sim", "train"): ["n", "alpha"], ("sim", "threshold"): ["n", "alpha"],
            ("sim", "local-entropy"): ["n", "alpha"], ("sim", "width-sweep"): ["widths"],
            ("theory", "clone-entropy"): ["alpha", "m", "q1"]}
BAD = {"float": BAD_FLOAT, "int": BAD_INT, "list": BAD_LIST, "seed": BAD_SEED,
       "choice": ["nonsense", ""], "count": [v for v in BAD_INT if v != "0"],
       "y": [v for v in BAD_FLOAT if "inf" not in v and "999" not in v]}

# fields documented as null: RS replicon of the perfectly generalizing branch; y -> infinity
# reference entropy (not computed) and the points of the gap where no RS saddle was reached
NULLABLE = {("theory", "rs"): {"replicon"},
            ("theory", "large-deviation"): {"reference_entropy", "*unconverged*"}}
# options that apply only under a condition on the other arguments (else they are refused)
CONDITIONAL = {
    ("theory", "rs"): [({"branch"}, lambda a: a.get("task") == "teacher-student")],
    ("sim", "train"): [
        ({"epochs", "batch-size", "lr", "beta", "margin"},
         lambda a: a.get("algo", "sgd") in ("sgd", "rsgd")),
        ({"alpha-d", "sigma", "features", "test-examples"},
         lambda a: a.get("task") == "random-features")],
    ("sim", "threshold"): [({"task"}, lambda a: a.get("algo") != "amp"
                            or a.get("task") == "teacher-student")],
}
ECHOED = ("alpha", "kappa", "n", "replicas", "seed", "instances", "kappa_ref", "epochs")


def call(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def _strict(text: str):
    def refuse(token):
        raise AssertionError(f"non-strict JSON token {token}")
    return json.loads(text, parse_constant=refuse)


def _null_fields(result: dict) -> set[str]:
    nulls = set()
    for key, value in result.items():
        items = value if isinstance(value, list) else [value]
        if any(v is None for v in items):
            nulls.add(key)
    return nulls


def check_contract(command: tuple[str, str], options: dict[str, str | None],
                   code: int, out: str, err: str) -> None:
    """The CLI contract (module docstring) for one call with ``options`` (None: a flag)."""
    argv_names = set(options) | set({**CHEAP, **EXPENSIVE}[command])
    if code == 2:
        lines = err.strip().splitlines()
        assert len(lines) == 1, f"exit 2 with {len(lines)} lines on stderr:\n{err}"
        line = lines[0]
        assert line.startswith("atypical"), line
        named = any(f"--{o}" in line or re.search(rf"\b{o.replace('-', '_')}\s*=", line)
                    or ("-" in o and o.replace("-", "_") in line) for o in argv_names)
        assert named, f"the error names no parameter of {argv_names}: {line}"
        return
    assert code == 0, f"exit {code}: {err}"
    result = _strict(out)
    assert isinstance(result, dict) and result, out
    nullable = NULLABLE.get(command, set())
    bad_nulls = _null_fields(result) - nullable
    if "*unconverged*" in nullable and result.get("converged") is not True:
        bad_nulls = set()
    assert not bad_nulls, f"null in promised fields {bad_nulls}: {out[:300]}"
    for names, applies in CONDITIONAL.get(command, []):
        assert not (names & set(options)) or applies(options), \
            f"exit 0 although {names & set(options)} does not apply: {options}"
    for key in ECHOED:
        flag = key.replace("_", "-")
        if flag in options and key in result and not isinstance(result[key], list):
            assert math.isclose(float(result[key]), float(options[flag]), rel_tol=1e-12), \
                f"{key} given {options[flag]}, echoed {result[key]}"


def argv_of(command: tuple[str, str], options: dict[str, str | None]) -> list[str]:
    argv = list(command)
    for name, value in options.items():
        argv += [f"--{name}"] if value is None else [f"--{name}", value]
    return argv + ["--json"]


@st.composite
def valid_options(draw, command):
    """Required options and a random subset of the others, all from the valid values."""
    spec = {**CHEAP, **EXPENSIVE}[command]
    options = {}
    for name, (kind, values) in spec.items():
        if name in REQUIRED.get(command, []) or draw(st.booleans()):
            options[name] = None if kind == "flag" else draw(st.sampled_from(values))
    return options


@st.composite
def invalid_options(draw, command):
    """Valid options with one of them made invalid (bad value, missing required option, an
    unknown or abbreviated option)."""
    options = draw(valid_options(command))
    spec = {**CHEAP, **EXPENSIVE}[command]
    targets = [n for n, (kind, _) in spec.items() if kind != "flag"]
    how = draw(st.sampled_from(["value", "value", "value", "missing", "unknown"]))
    if how == "value" and targets:
        name = draw(st.sampled_from(targets))
        options[name] = draw(st.sampled_from(BAD[spec[name][0]]))
    elif how == "missing" and REQUIRED.get(command):
        options.pop(draw(st.sampled_from(REQUIRED[command])))
    else:
        options[draw(st.sampled_from(["bogus", "alph", "jso"]))] = "1"
    return options


def _run_checked(command, options):
    code, out, err = call(argv_of(command, options))
    check_contract(command, options, code, out, err)
    return code


def budget(n: int, **kw) -> settings:
    """``n`` examples, no deadline (first calls compile), nothing stored between runs."""
    return settings(max_examples=n, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow], **kw)


ALL = sorted({**CHEAP, **EXPENSIVE})
DEFAULT_VALID = [("sim", "enumerate"), ("sim", "train"), ("theory", "rs")]  # seconds a call


def test_the_tables_cover_every_command():
    parser = build_parser()
    commands = {(group, name) for group, sub in _subparsers(parser).items()
                for name in _subparsers(sub)}
    assert commands == set(ALL)


def _subparsers(parser) -> dict:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices


@pytest.mark.parametrize("command", ALL, ids=" ".join)
@budget(30, derandomize=True)
@given(data=st.data())
def test_invalid_input_is_refused_in_one_line(command, data):
    assert _run_checked(command, data.draw(invalid_options(command))) == 2


@pytest.mark.parametrize("command", DEFAULT_VALID, ids=" ".join)
@budget(6, derandomize=True)
@given(data=st.data())
def test_valid_and_extreme_input_keeps_the_contract(command, data):
    _run_checked(command, data.draw(valid_options(command)))


@pytest.mark.slow
@pytest.mark.parametrize("command", ALL, ids=" ".join)
@budget(300)
@given(data=st.data())
def test_invalid_input_is_refused_in_one_line_long(command, data):
    assert _run_checked(command, data.draw(invalid_options(command))) == 2


@pytest.mark.slow
@pytest.mark.parametrize("command", sorted(CHEAP), ids=" ".join)
@budget(40)
@given(data=st.data())
def test_valid_and_extreme_input_keeps_the_contract_long(command, data):
    _run_checked(command, data.draw(valid_options(command)))


@pytest.mark.slow
@pytest.mark.parametrize("command", sorted(EXPENSIVE), ids=" ".join)
@budget(4)
@given(data=st.data())
def test_expensive_commands_keep_the_contract(command, data):
    _run_checked(command, data.draw(valid_options(command)))
