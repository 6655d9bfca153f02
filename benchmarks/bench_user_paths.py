"""What a user waits for: whole-process wall times of the README's commands and of the
command-line examples, first run (empty compilation cache) and second run (warm cache),
for this checkout and, with ``--base DIR``, for another checkout of the library timed in
the same run (alternated: base first, this second, base second, this second).

    python benchmarks/bench_user_paths.py [--base /path/to/old/checkout] [--long] [--quick]

Each command runs as its own process with ``PYTHONPATH`` set to the checkout; this
checkout gets a fresh ``ATYPICAL_COMPILE_CACHE`` directory per command (so its first run
is cold, its second warm), the base runs as it is. Figure scripts write to a fresh
``--out`` each run, so their result caches never help. Prints a Markdown table.
"""

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _machine import describe

ROOT = Path(__file__).resolve().parents[1]
CLI = "import sys; from atypical.cli import main; sys.exit(main())"

# (label, argv after "atypical"), in README order; the long ones only with --long
COMMANDS = [
    ("theory rs, 1 point", "theory rs --task storage --alpha 0.5 --kappa 0 --json"),
    ("theory rs, 1000 points", ("theory rs --task storage --alpha 0.05:0.8:1000 --kappa 0 "
                                "--json")),
    ("theory rs, grid of 8", "theory rs --task storage --alpha 0.1:0.8:8 --json"),
    ("theory rs teacher-student", ("theory rs --task teacher-student --alpha 1.3 "
                                   "--branch poor --json")),
    ("theory capacity", "theory capacity --kappa 0 --json"),
    ("theory ts-transitions", "theory ts-transitions --json"),
    ("theory kappa-max", "theory kappa-max --task storage --alpha 0.5 --json"),
    ("theory capacity --k 3", "theory capacity --k 3 --json"),
    ("theory local-entropy, 8 d", ("theory local-entropy --alpha 0.5 --kappa-ref 0.41 "
                                   "--kappa 0 --d 0.01:0.3:8 --json")),
    ("theory rf", "theory rf --alpha 0.5 --alpha-d 1 --json"),
    ("theory rf-interpolation", "theory rf-interpolation --alpha-d 1 --json"),
    ("theory large-deviation, y = 3, 5 d", ("theory large-deviation --alpha 0.5 --y 3 "
                                            "--d 0.05:0.25:5 --json")),
    ("theory dmft", ("theory dmft --kernel cubic --m 4 --alpha 0.3 --tau 0.6 --a0 1 "
                     "--t-max 5 --dt 0.05 --json")),
    ("sim enumerate", ("sim enumerate --task storage --n 21 --alpha 0.5 --instances 20 "
                       "--seed 0 --json")),
    ("sim train sgd", ("sim train --task teacher-student --algo sgd --n 1001 --alpha 1.5 "
                       "--replicas 8 --seed 0 --json")),
    ("sim threshold, 4 alpha", ("sim threshold --algo sgd --n 501 --alpha 0.5:0.8:4 "
                                "--replicas 8 --json")),
]
LONG = [
    ("theory monotonicity-threshold", "theory monotonicity-threshold --kappa 0 --json"),
    ("theory rf-atypical", "theory rf-atypical --alpha-d 2 --json"),
    ("theory large-deviation, y = inf, 8 d", ("theory large-deviation --alpha 0.7 --y inf "
                                              "--d 0.002:0.1:8 --json")),
    ("fig1_rs_overlay.py --quick", "FIGURE paper_figures/fig1_rs_overlay.py --quick"),
]
QUICK = [("theory rs, 1 point", "theory rs --task storage --alpha 0.5 --kappa 0 --json")]


def run_once(checkout: Path, command: str, cache: Path | None) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one process running ``command`` with
    ``checkout`` on PYTHONPATH and the compilation cache in ``cache`` (None: off)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("ATYPICAL_COMPILE_CACHE", "JAX_COMPILATION_CACHE_DIR")}
    env["PYTHONPATH"] = str(checkout)
    env["ATYPICAL_COMPILE_CACHE"] = str(cache) if cache is not None else "0"
    with tempfile.TemporaryDirectory() as out:
        if command.startswith("FIGURE "):
            script, *rest = command.split()[1:]
            argv = [sys.executable, str(checkout / script), *rest, "--out", out]
        else:
            argv = [sys.executable, "-c", CLI, *command.split()]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(argv, env=env, cwd=out, capture_output=True, text=True,
                              check=False)
        seconds = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"{command!r} in {checkout}: {done.stderr[-1000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return seconds, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path, help="checkout to compare with (PYTHONPATH)")
    parser.add_argument("--long", action="store_true", help="also the commands of minutes")
    parser.add_argument("--only", default="", help="only commands whose label contains one "
                                                   "of these comma-separated strings")
    parser.add_argument("--quick", action="store_true", help="one short command, for smoke "
                                                             "tests")
    args = parser.parse_args()
    commands = QUICK if args.quick else COMMANDS + (LONG if args.long else [])
    commands = [(label, cmd) for label, cmd in commands
                if any(part in label for part in args.only.split(","))]
    print(describe())
    print(f"load average {os.getloadavg()[0]:.1f} at start")
    print("wall (CPU) seconds; ratios before/after of wall (CPU)")
    print("| command | before 1st | before 2nd | after 1st (cold cache) | after 2nd (warm) "
          "| ratio 1st | ratio 2nd |")
    print("|---|---|---|---|---|---|---|")
    for label, command in commands:
        with tempfile.TemporaryDirectory() as cache:
            times = {}
            for run in (1, 2):
                if args.base is not None:
                    times["base", run] = run_once(args.base, command, None)
                times["this", run] = run_once(ROOT, command, Path(cache))
        show = lambda t: f"{t[0]:.1f} ({t[1]:.1f})"
        ratio = lambda a, b: f"{a[0] / b[0]:.1f}x ({a[1] / b[1]:.1f}x)"
        cells = ["", "", show(times["this", 1]), show(times["this", 2]), "", ""]
        if args.base is not None:
            cells = [show(times["base", 1]), show(times["base", 2]), *cells[2:4],
                     ratio(times["base", 1], times["this", 1]),
                     ratio(times["base", 2], times["this", 2])]
        print(f"| `{label}` | " + " | ".join(cells) + " |", flush=True)
    print(f"load average {os.getloadavg()[0]:.1f} at end")


if __name__ == "__main__":
    main()
