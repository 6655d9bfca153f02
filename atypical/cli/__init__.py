"""The ``atypical`` command line: ``atypical theory ...`` and ``atypical sim ...``.

Each command group lives in its own module exposing ``register(subparsers)``; the handlers
import ``theory``/``sim`` lazily, so the shared layer itself never depends on them and
``--help`` or a refused option costs no import of theirs. Compiled programs persist
between runs (``atypical.compile_cache``; ``ATYPICAL_COMPILE_CACHE=0`` turns that off).
"""

import argparse
import sys

from atypical.errors import ParameterError, SaddlePointError

from . import sim as _sim
from . import theory as _theory
from ..compile_cache import enable_compile_cache
from ._common import CLIError, Parser, given_options

# modules adding commands to both groups: each defines register_theory and register_sim
from . import dmft as _dmft
from . import random_features as _random_features
from . import local_entropy as _local_entropy
from . import large_deviation as _large_deviation
from . import m_clone as _m_clone

_SHARED_MODULES: tuple = (_dmft, _random_features, _local_entropy, _large_deviation, _m_clone)

_GROUPS = {
    "theory": (_theory, "replica theory: saddle points, thresholds (float64)"),
    "sim": (_sim, "finite-N simulation: enumeration, training of binary students"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="atypical",
        description="Statistical physics of learning in binary neural networks: replica "
                    "theory and vectorized simulation of the same problems.")
    groups = parser.add_subparsers(dest="group", required=True, metavar="{theory,sim}")
    for name, (module, help_text) in _GROUPS.items():
        group = groups.add_parser(name, help=help_text, description=help_text)
        commands = group.add_subparsers(dest="command", required=True)
        module.register(commands)
        for shared in _SHARED_MODULES:
            getattr(shared, f"register_{name}")(commands)
    return parser


def error_line(err: Exception) -> str | None:
    """The one-line report of an error the CLI answers with exit status 2: its own
    ``CLIError``, a ``SaddlePointError`` (the points that did not converge) or a failed
    check of a parameter (``ParameterError`` on the host, ``EquinoxRuntimeError`` under eager
    vmap/grad); None for any other error (a bug)."""
    import equinox as eqx

    if isinstance(err, (CLIError, SaddlePointError, ParameterError)):
        return " ".join(str(err).split())
    if isinstance(err, eqx.EquinoxRuntimeError):
        lines = [ln for ln in str(err).splitlines() if "EquinoxRuntimeError: " in ln]
        text = lines[0].split("EquinoxRuntimeError: ", 1)[1] if lines else str(err)
        return " ".join(text.split())
    return None


def main(argv: list[str] | None = None) -> int:
    """Run one command. Exit status 0: the result was printed (one strict JSON object with
    ``--json``); 2: one line on stderr naming the parameter or the unconverged points;
    130: interrupted."""
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as done:  # --help (0) or a usage error (2, one line printed)
        return done.code
    args.given = given_options(argv)
    enable_compile_cache()
    try:
        args.handler(args)
    except KeyboardInterrupt:
        print("atypical: interrupted", file=sys.stderr)
        return 130
    except Exception as err:
        line = error_line(err)
        if line is None:
            raise
        print(f"atypical: error: {line}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
