"""Argument types and output helpers shared by the CLI command modules."""

import argparse
import json
import math

import numpy as np


class CLIError(Exception):
    """A user error the CLI reports in one line (exit status 2)."""


def float_list(text: str) -> list[float]:
    """Parse ``A``, a comma list ``A,B,C`` or a grid ``start:stop:num`` (inclusive)."""
    try:
        if ":" in text:
            start, stop, num = text.split(":")
            if int(num) < 1:
                raise ValueError
            return [float(v) for v in np.linspace(float(start), float(stop), int(num))]
        return [float(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected a number, a comma list A,B,C or start:stop:num") from None


K_HELP = ("K, hidden units of a binary tree committee machine (odd: 1, 3 or 5; default 1, the "
          "perceptron); K > 1: storage only, the margin acts on the hidden stabilities "
          "(a majority of them must be >= kappa)")


def problem_class(task: str) -> type:
    """The problem class a ``--task`` string names: model choice by string ends here."""
    from atypical import BinaryStorage, TeacherStudent

    return {"storage": BinaryStorage, "teacher-student": TeacherStudent}[task]


def check_committee_k(k: int, task: str = "storage") -> None:
    """One-line CLI errors for ``--k``: odd and >= 1, tabulated in the theory, storage."""
    if k < 1 or k % 2 == 0:
        raise CLIError(f"--k {k}: the number of hidden units K must be odd and >= 1 (the "
                       "committee's majority vote must not tie); the theory has K in 1, 3, 5")
    if k > 5:
        raise CLIError(f"--k {k}: the committee theory is tabulated for K in 1, 3, 5")
    if k > 1 and task != "storage":
        raise CLIError(f"--k {k} --task {task}: the committee theory (K > 1) is storage only")


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray) or hasattr(value, "__array__"):
        return _jsonable(np.asarray(value).tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, np.generic):
        return value.item()
    return value


def emit(result: dict, as_json: bool) -> None:
    """Print ``result`` as one JSON object (``--json``) or as aligned ``key: value`` lines."""
    result = _jsonable(result)
    if as_json:
        print(json.dumps(result))
        return
    width = max(len(k) for k in result)
    for key, value in result.items():
        print(f"{key:>{width}}: {value}")
