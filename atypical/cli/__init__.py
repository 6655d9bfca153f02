"""The ``atypical`` command line: ``atypical theory ...`` and ``atypical sim ...``.

Each command group lives in its own module exposing ``register(subparsers)``; the handlers
import ``theory``/``sim`` lazily, so the shared layer itself never depends on them and
``--help`` or a refused option costs no import of theirs. Compiled programs persist
between runs (``atypical.compile_cache``; ``ATYPICAL_COMPILE_CACHE=0`` turns that off).
"""

import argparse
import sys

from . import sim as _sim
from . import theory as _theory
from ..compile_cache import enable_compile_cache
from ._common import CLIError

# modules adding commands to both groups: each defines register_theory and register_sim
from . import dmft as _dmft
from . import random_features as _random_features
from . import local_entropy as _local_entropy
from . import large_deviation as _large_deviation

_SHARED_MODULES: tuple = (_dmft, _random_features, _local_entropy, _large_deviation)

_GROUPS = {
    "theory": (_theory, "replica theory: saddle points, thresholds (float64)"),
    "sim": (_sim, "finite-N simulation: enumeration, training of binary students"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
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


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    enable_compile_cache()
    try:
        args.handler(args)
    except CLIError as err:
        print(f"atypical: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
