"""What the CLI command modules share: the parser class (one-line usage errors), argument
types that refuse non-finite and out-of-range values, argument blocks several commands
repeat, the refusal of options that do not apply, the memory check before allocation, and
the JSON/text output."""

import argparse
import inspect
import json
import math
import os

import numpy as np


class CLIError(Exception):
    """A user error the CLI reports in one line (exit status 2)."""


class Parser(argparse.ArgumentParser):
    """``argparse.ArgumentParser`` whose usage errors are one line on stderr (exit status 2)
    and which takes no abbreviated option names (``--alph`` is refused, not guessed)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str):
        self.exit(2, f"atypical: error: {' '.join(message.split())} ({self.prog} --help)\n")


# ----------------------------------------------------------------------- argument types

SEED_MAX = 2**63 - 1
"""Seeds are integers in [0, SEED_MAX] (the 64-bit range of ``jax.random.key``)."""

GRID_MAX = 10_000
"""Most points of one ``start:stop:num`` grid or comma list."""


def _number(text: str, kind=float):
    try:
        return kind(text)
    except ValueError:
        expected = "an integer" if kind is int else "a number"
        raise argparse.ArgumentTypeError(f"{text!r}: expected {expected}") from None


def finite(text: str) -> float:
    """A finite float."""
    value = _number(text)
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r}: must be finite")
    return value


def positive(text: str) -> float:
    """A finite float > 0."""
    value = finite(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r}: must be finite and > 0")
    return value


def nonnegative(text: str) -> float:
    """A finite float >= 0."""
    value = finite(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: must be finite and >= 0")
    return value


def at_least(low: int):
    """The argument type of an integer >= ``low``."""
    def parse(text: str) -> int:
        value = _number(text, int)
        if value < low:
            raise argparse.ArgumentTypeError(f"{text!r}: must be an integer >= {low}")
        return value
    parse.__name__ = f"int>={low}"
    return parse


def seed(text: str) -> int:
    """An integer in [0, SEED_MAX]."""
    value = _number(text, int)
    if not 0 <= value <= SEED_MAX:
        raise argparse.ArgumentTypeError(f"{text!r}: a seed must be an integer in [0, 2^63 - 1]")
    return value


def float_list(text: str) -> list[float]:
    """Parse ``A``, a comma list ``A,B,C`` or a grid ``start:stop:num`` (inclusive) of finite
    numbers, at most ``GRID_MAX`` of them."""
    bad = argparse.ArgumentTypeError(
        f"{text!r}: expected a number, a comma list A,B,C or start:stop:num of finite numbers "
        f"(at most {GRID_MAX})")
    try:
        if ":" in text:
            start, stop, num = text.split(":")
            num = int(num)
            if not 1 <= num <= GRID_MAX:
                raise bad
            values = [float(v) for v in np.linspace(float(start), float(stop), num)]
        else:
            values = [float(v) for v in text.split(",")]
    except ValueError:
        raise bad from None
    if len(values) > GRID_MAX or not all(math.isfinite(v) for v in values):
        raise bad
    return values


def positive_list(text: str) -> list[float]:
    """``float_list`` whose values are all > 0."""
    values = float_list(text)
    if not all(v > 0 for v in values):
        raise argparse.ArgumentTypeError(f"{text!r}: every value must be > 0")
    return values


# ------------------------------------------------------------------- argument blocks

def add_command(subparsers, name: str, handler, help_text: str) -> argparse.ArgumentParser:
    """The parser of command ``name``: ``help_text`` in the command list, the handler's
    docstring as its description, ``--json``, and ``handler`` run on its arguments."""
    p = subparsers.add_parser(name, help=help_text, description=inspect.cleandoc(handler.__doc__))
    p.set_defaults(handler=handler)
    add_json(p)
    return p


def add_json(p: argparse.ArgumentParser) -> None:
    """``--json``: print one JSON object."""
    p.add_argument("--json", action="store_true", help="print one JSON object")


def add_task(p: argparse.ArgumentParser, help_text: str, choices=("storage", "teacher-student"),
             default: str = "storage") -> None:
    """``--task`` among ``choices``."""
    p.add_argument("--task", choices=list(choices), default=default, help=help_text)


def add_seed(p: argparse.ArgumentParser, help_text: str = "random seed (default 0)") -> None:
    """``--seed`` in [0, 2^63 - 1], default 0."""
    p.add_argument("--seed", type=seed, default=0, help=help_text + "; in [0, 2^63 - 1]")


def add_n(p: argparse.ArgumentParser, help_text: str = "N, number of binary weights",
          low: int = 1) -> None:
    """``--n``, required, an integer >= ``low``."""
    p.add_argument("--n", type=at_least(low), required=True, help=help_text)


def add_committee(p: argparse.ArgumentParser, k_help: str, arch_help: str) -> None:
    """``--k`` (hidden units) and ``--arch`` (tree or fc) of a committee machine."""
    p.add_argument("--k", type=at_least(1), default=1, help=k_help)
    p.add_argument("--arch", choices=("tree", "fc"), default="tree", help=arch_help)


K_HELP = ("K, hidden units of a binary tree committee machine (odd: 1, 3 or 5; default 1, the "
          "perceptron); K > 1: storage only, the margin acts on the hidden stabilities "
          "(a majority of them must be >= kappa)")


def problem_class(task: str) -> type:
    """The problem class a ``--task`` string names: model choice by string ends here."""
    from atypical import BinaryStorage, TeacherStudent

    return {"storage": BinaryStorage, "teacher-student": TeacherStudent}[task]


def add_k(p: argparse.ArgumentParser, extra: str = "") -> None:
    """``--k`` of the committee theory (K in 1, 3, 5)."""
    p.add_argument("--k", type=int, default=1, help=K_HELP + extra)


def check_committee_k(k: int, task: str = "storage") -> None:
    """One-line CLI errors for ``--k``: odd and >= 1, tabulated in the theory, storage."""
    if k < 1 or k % 2 == 0:
        raise CLIError(f"--k {k}: the number of hidden units K must be odd and >= 1 (the "
                       "committee's majority vote must not tie); the theory has K in 1, 3, 5")
    if k > 5:
        raise CLIError(f"--k {k}: the committee theory is tabulated for K in 1, 3, 5")
    if k > 1 and task != "storage":
        raise CLIError(f"--k {k} --task {task}: the committee theory (K > 1) is storage only")


# ------------------------------------------------------- options that do not apply

def given_options(argv: list[str]) -> frozenset[str]:
    """The destinations (``lr``, ``alpha_d``, ...) of the options written in ``argv``
    (every option of the CLI is a long ``--name``; abbreviations are refused)."""
    names = set()
    for token in argv:
        if token == "--":
            break
        if token.startswith("--") and len(token) > 2:
            names.add(token[2:].split("=", 1)[0].replace("-", "_"))
    return frozenset(names)


def refuse_unless(args: argparse.Namespace, applies: bool, names: tuple[str, ...],
                  scope: str) -> None:
    """CLIError naming the options among ``names`` that were given although they do not
    apply (``applies`` false); ``scope`` says where they do, e.g. "--algo sgd or rsgd"."""
    given = [n for n in names if n in getattr(args, "given", ())]
    if given and not applies:
        flags = ", ".join("--" + n.replace("_", "-") for n in given)
        raise CLIError(f"{flags}: only for {scope}; refused rather than ignored")


# ------------------------------------------------------------------- memory check

def memory_limit() -> tuple[float, str]:
    """Bytes the computation may use and where: ``ATYPICAL_MEMORY_LIMIT`` (bytes) if set,
    else the accelerator's ``bytes_limit``, else the host's available memory."""
    env = os.environ.get("ATYPICAL_MEMORY_LIMIT")
    if env:
        return float(env), "ATYPICAL_MEMORY_LIMIT"
    import jax

    device = jax.devices()[0]
    stats = device.memory_stats() if device.platform != "cpu" else None
    if stats and "bytes_limit" in stats:
        return float(stats["bytes_limit"]), f"{device.platform} memory"
    try:
        with open("/proc/meminfo") as f:
            info = dict(line.split(":", 1) for line in f)
        return float(info["MemAvailable"].split()[0]) * 1024, "available host memory"
    except (OSError, KeyError, ValueError):
        return float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")), "host memory"


def _gib(nbytes: float) -> str:
    return f"{nbytes / 2**30:.3g} GiB"


def check_memory(nbytes: float, what: str) -> None:
    """CLIError before allocation if the estimate ``nbytes`` of ``what`` (the options that
    set the size, e.g. "--n 10000000 --alpha 1.5 --replicas 16") exceeds ``memory_limit()``."""
    limit, where = memory_limit()
    if not nbytes <= limit:
        raise CLIError(f"{what}: needs about {_gib(nbytes)}, more than the {_gib(limit)} of "
                       f"{where}; use smaller sizes")


# ------------------------------------------------------------------------- output

def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray) or hasattr(value, "__array__"):
        return _jsonable(np.asarray(value).tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return value


def emit(result: dict, as_json: bool) -> None:
    """Print ``result`` as one strict JSON object (``--json``; inf as the string "inf") or
    as aligned ``key: value`` lines."""
    result = _jsonable(result)
    if as_json:
        print(json.dumps(result, allow_nan=False))
        return
    width = max(len(k) for k in result)
    for key, value in result.items():
        print(f"{key:>{width}}: {value}")


def training_bytes(algo: str, n: int, P: int, replicas: int, *, instances: bool = False,
                   n_weights: int | None = None, itemsize: int = 4) -> float:
    """Memory estimate (bytes) of ``replicas`` runs of ``algo`` on P examples of N inputs:
    the data (P N, one data set per run with ``instances``), each run's state (16 vectors of
    its ``n_weights`` weights and of its P stabilities; rsgd: for each of its 5 coupled
    replicas) and fbp's and amp's 4 P N messages per run."""
    n_weights = n if n_weights is None else n_weights
    data = float(P) * n * (replicas if instances else 1)
    state = 16.0 * (n_weights + P) * replicas * (5 if algo == "rsgd" else 1)
    messages = 4.0 * P * n_weights * replicas if algo in ("fbp", "amp") else 0.0
    return itemsize * (data + state + messages)


SGD_OPTIONS = (("epochs", "epochs"), ("batch_size", "batch_size"), ("lr", "learning_rate"),
               ("beta", "beta"), ("margin", "margin"))
"""The SGD options of ``sim train`` (argument name, ``SGDConfig`` field)."""


def train_config(args: argparse.Namespace):
    """The configuration of ``args.algo``: ``SGDConfig`` with the SGD options given (rsgd:
    for each of its replicas), the library default otherwise; the SGD options are refused
    for the other algorithms."""
    from sim.rsgd import RSGDConfig
    from sim.run import default_config
    from sim.sgd import SGDConfig

    refuse_unless(args, args.algo in ("sgd", "rsgd"), tuple(n for n, _ in SGD_OPTIONS),
                  f"--algo sgd or rsgd (SGD hyperparameters; --algo is {args.algo})")
    overrides = {field: getattr(args, name) for name, field in SGD_OPTIONS
                 if getattr(args, name, None) is not None}
    if args.algo == "sgd":
        return SGDConfig(**overrides)
    if args.algo == "rsgd" and overrides:
        return RSGDConfig(sgd=SGDConfig(**overrides))
    return default_config(args.algo)


def add_stats(out: dict, name: str, mean, sem, n: int, values=None) -> None:
    """Set ``out[name]`` = ``values`` (per run, if given), ``out["mean_" + name]`` if n >= 1
    and ``out["sem_" + name]`` if n >= 2: the mean of no run and the standard error of one
    are undefined, and left out rather than printed as null."""
    if values is not None:
        out[name] = values
    if n >= 1:
        out["mean_" + name] = mean
    if n >= 2:
        out["sem_" + name] = sem
