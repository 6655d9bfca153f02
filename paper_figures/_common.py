"""The run every figure script shares: parse the shared command line, compute (cached and
resumable inside ``compute``), print the summary, draw the figure."""

from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from atypical.plotting import figure_parser


def figure_main(module: ModuleType, argv, quick_help: str, *, seed_help: str | None = None,
                compute: Callable | None = None) -> list[Path]:
    """Run a figure script: ``figure_parser(module.__doc__, quick_help, seed_help=...)``,
    the configuration ``module.QUICK`` or ``module.FULL``, then
    ``res = compute(cfg, args)`` (default ``module.compute(cfg, args.out, args.seed)``),
    print ``module.summary(cfg, res)`` line by line, and return ``module.plot(cfg, res,
    args.out)`` (the paths written)."""
    args = figure_parser(module.__doc__, quick_help, seed_help=seed_help).parse_args(argv)
    cfg = module.QUICK if args.quick else module.FULL
    if compute is None:
        res = module.compute(cfg, args.out, args.seed)
    else:
        res = compute(cfg, args)
    for line in module.summary(cfg, res):
        print(line)
    return module.plot(cfg, res, args.out)
