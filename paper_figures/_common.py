"""The run every figure script shares: parse the shared command line, compute (cached and
resumable inside ``compute``), print the summary, draw the figure."""

from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from atypical.plotting import figure_parser
from atypical.results import ResultsCache


def figure_main(module: ModuleType, argv, quick_help: str, *, seed_help: str | None = None,
                compute: Callable | None = None) -> list[Path]:
    """Run a figure script: ``figure_parser(module.__doc__, quick_help, seed_help=...)``,
    the configuration ``module.QUICK`` or ``module.FULL``, then
    ``res = compute(cfg, args)`` (default ``module.compute(cfg, args.out, args.seed)``),
    print ``module.summary(cfg, res)`` line by line (where the module has one), and return
    ``module.plot(cfg, res, args.out)`` (the paths written)."""
    args = figure_parser(module.__doc__, quick_help, seed_help=seed_help).parse_args(argv)
    cfg = module.QUICK if args.quick else module.FULL
    if compute is None:
        res = module.compute(cfg, args.out, args.seed)
    else:
        res = compute(cfg, args)
    for line in getattr(module, "summary", lambda cfg, res: [])(cfg, res):
        print(line)
    return module.plot(cfg, res, args.out)


def results_cache(args, name: str) -> ResultsCache:
    """The figure's ``ResultsCache`` in ``<--out>/cache/<name>``."""
    return ResultsCache(Path(args.out) / "cache" / name)


def print_paths(paths: list[Path]) -> None:
    """Print the files a figure script wrote, one per line."""
    for path in paths:
        print(path)
