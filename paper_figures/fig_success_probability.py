"""Success probability vs alpha of SGD, replicated SGD and focusing BP on binary storage
(kappa = 0) at several N, with each algorithm's finite-size threshold alpha_1/2(N) (where
P_success = 1/2) extrapolated in 1/N, against the capacity alpha_c = 0.833 and the
Franz-Parisi monotonicity threshold (where wide flat minima disappear) [P2].

Every (alpha, seed) point is an independent instance; sgd and rsgd run all of one N in a
single vmapped program (data padded to the largest P), fbp one program per alpha. Results
are cached per (algorithm, N, block of seeds) as JSON under OUT/cache/: an interrupted
run resumes where it stopped.

    python paper_figures/fig_success_probability.py --out figures [--quick]

A partial sweep (a CPU can afford a few points at N = 2001):

    python paper_figures/fig_success_probability.py --out figures --N 2001 --algos fbp \
        --alphas 0.70 0.73 0.76 --seeds 16 --seed-block 16
"""

import dataclasses
import sys
import time
from pathlib import Path

import jax
import jax.random as jr
import numpy as np

from atypical.plotting import figure_parser, save_figure, sim_markers, theory_line, use_style
from atypical.results import ResultsCache
from sim.fbp import FBPConfig
from sim.rsgd import RSGDConfig
from sim.run import (default_config, extrapolate_inverse_N, half_success_alpha_bootstrap,
                     success_grid)
from sim.sgd import SGDConfig
from paper_figures._common import print_paths

NAMES = {"sgd": "SGD", "rsgd": "replicated SGD", "fbp": "focusing BP"}
# GPU run: 64 instances per point, 12 alphas bracketing every algorithm's threshold
FULL = dict(algos=("sgd", "rsgd", "fbp"), N=(201, 501, 1001, 2001), seeds=64, seed_block=32,
            alphas=tuple(np.round(np.linspace(0.55, 0.88, 12), 3).tolist()))
# CPU smoke run (< 3 min): tiny N, few instances, shortened algorithms
QUICK = dict(algos=("sgd", "rsgd", "fbp"), N=(51, 101), seeds=8, seed_block=8,
             alphas=(0.3, 0.55, 0.8))


def algo_config(algo: str, quick: bool):
    """The library defaults; in quick mode with fewer epochs/iterations."""
    if not quick:
        return default_config(algo)
    return {"sgd": SGDConfig(epochs=60), "rsgd": RSGDConfig(sgd=SGDConfig(epochs=30)),
            "fbp": FBPConfig(iterations=60)}[algo]


def describe(config) -> dict:
    """The hyperparameters of an algorithm's config as plain JSON values (cache key)."""
    out = {}
    for f in dataclasses.fields(config):
        v = getattr(config, f.name)
        if dataclasses.is_dataclass(v):
            out[f.name] = describe(v)
        elif v is None:  # an optional field left unset (SGDConfig.margin: scaled with N)
            out[f.name] = None
        elif f.name == "dtype":
            out[f.name] = np.dtype(v).name
        elif hasattr(v, "shape"):
            out[f.name] = float(v)
        else:
            out[f.name] = v if isinstance(v, (int, float, bool, str)) else str(v)
    return out


def theory_lines(cache: ResultsCache, quick: bool) -> dict:
    """alpha_c from ``theory.storage_capacity``; the Franz-Parisi monotonicity threshold
    from ``theory.local_entropy.franz_parisi.monotonicity_threshold`` when it can be imported, except in
    quick mode (its augmented Newton solve takes minutes on a CPU)."""
    def capacity():
        import theory

        return {"alpha": float(theory.storage_capacity(0.0).alpha)}

    def franz_parisi():
        from theory.local_entropy.franz_parisi import monotonicity_threshold

        return {"alpha": float(monotonicity_threshold(0.0).alpha)}

    out = {"alpha_c": cache.get_or_compute("capacity", {"kappa": 0.0}, capacity)["alpha"]}
    if quick:
        print("quick: the Franz-Parisi threshold line is left out (minutes on a CPU)",
              file=sys.stderr)
        return out
    try:
        import theory.local_entropy.franz_parisi  # noqa: F401
    except ImportError:
        print("theory.local_entropy.franz_parisi not importable: no Franz-Parisi line",
              file=sys.stderr)
        return out
    print("Franz-Parisi monotonicity threshold (computed once, then cached; minutes)...",
          file=sys.stderr, flush=True)
    out["alpha_fp"] = cache.get_or_compute("franz_parisi", {"kappa": 0.0}, franz_parisi)["alpha"]
    return out


def compute(cfg: dict, cache: ResultsCache, seed: int, quick: bool) -> dict:
    """Solved flags ``A S`` per (algo, N), block by block from the cache or computed."""
    out = {}
    n_blocks = -(-cfg["seeds"] // cfg["seed_block"])
    total = len(cfg["algos"]) * len(cfg["N"]) * n_blocks
    done, start = 0, time.perf_counter()
    for N in cfg["N"]:
        for algo in cfg["algos"]:
            blocks = []
            for b in range(n_blocks):
                size = min(cfg["seed_block"], cfg["seeds"] - b * cfg["seed_block"])
                params = dict(algo=algo, N=N, alphas=list(cfg["alphas"]), block=b, size=size,
                              seed=seed, config=describe(algo_config(algo, quick)))
                # the same data for every algorithm: the key depends on (seed, N, block) only
                key = jr.fold_in(jr.fold_in(jr.key(seed), N), b)
                t0 = time.perf_counter()
                rec = cache.get_or_compute("success", params, lambda: {"solved": success_grid(
                    algo, key, N, cfg["alphas"], size, algo_config(algo, quick)).tolist()})
                blocks.append(np.asarray(rec["solved"], bool))
                done += 1
                p = np.round(blocks[-1].mean(axis=1), 2).tolist()
                print(f"[{done}/{total}] {algo} N={N} seeds {b * cfg['seed_block']}+{size}: "
                      f"P_success {p} ({time.perf_counter() - t0:.1f} s, "
                      f"{time.perf_counter() - start:.0f} s total)", file=sys.stderr, flush=True)
            out[(algo, N)] = np.concatenate(blocks, axis=1)
    return out


def thresholds(cfg: dict, solved: dict) -> dict:
    """alpha_1/2(N) with bootstrap errors, and its 1/N extrapolation, per algorithm."""
    res = {}
    for algo in cfg["algos"]:
        half = [half_success_alpha_bootstrap(cfg["alphas"], solved[(algo, N)])
                for N in cfg["N"]]
        a, sem = np.array([h[0] for h in half]), np.array([h[1] for h in half])
        inf, inf_sem, slope = extrapolate_inverse_N(cfg["N"], a, sem if np.all(
            np.isfinite(sem) & (sem > 0)) else None)
        res[algo] = dict(alpha_half=a.tolist(), sem=sem.tolist(), alpha_inf=inf,
                         alpha_inf_sem=inf_sem, slope=slope)
    return res


def plot(cfg: dict, solved: dict, thr: dict, lines: dict, out_dir: Path) -> list[Path]:
    import matplotlib.pyplot as plt

    use_style()
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(10, 4), gridspec_kw={"width_ratios": [3, 2]})
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    markers = ["o", "s", "^", "D", "v"]
    alphas = np.asarray(cfg["alphas"])
    for c, algo in zip(colors, cfg["algos"]):
        for m, N in zip(markers, cfg["N"]):
            s = solved[(algo, N)]
            p = s.mean(axis=1)
            sim_markers(ax, alphas, p, np.sqrt(p * (1 - p) / s.shape[1]), color=c, fmt=m + "-",
                        lw=0.8, label=f"{NAMES[algo]}, N={N}")
        t = thr[algo]
        ok = np.isfinite(t["alpha_half"])
        inv_N = 1 / np.asarray(cfg["N"], float)
        sim_markers(bx, inv_N[ok], np.asarray(t["alpha_half"])[ok],
                    np.nan_to_num(np.asarray(t["sem"])[ok]), color=c, fmt="o",
                    label=NAMES[algo])
        if np.isfinite(t["alpha_inf"]):
            x = np.linspace(0, inv_N.max() * 1.05, 20)
            theory_line(bx, x, t["alpha_inf"] + t["slope"] * x, color=c, ls="--", lw=1)
            bx.errorbar([0], [t["alpha_inf"]], yerr=[np.nan_to_num(t["alpha_inf_sem"])],
                        fmt="*", color=c, markersize=8)
    for axis in (ax, bx):
        marks = [("alpha_c", r"$\alpha_c$", "-"), ("alpha_fp", r"$\alpha_{FP}$", ":")]
        for name, label, ls in marks:
            if name not in lines:
                continue
            if axis is ax:
                ax.axvline(lines[name], color="k", ls=ls, lw=1)
                ax.text(lines[name], 1.04, label, ha="center")
            else:
                bx.axhline(lines[name], color="k", ls=ls, lw=1)
                bx.text(1.0, lines[name], " " + label, ha="left", va="center",
                        transform=bx.get_yaxis_transform())
    ax.set(xlabel=r"$\alpha = P/N$", ylabel=r"success probability $P_{\rm success}$",
           ylim=(-0.03, 1.1), title=f"binary storage, {cfg['seeds']} instances per point")
    ax.legend(loc="lower left", fontsize=6, ncol=len(cfg["algos"]))
    bx.set(xlabel=r"$1/N$", ylabel=r"$\alpha_{1/2}(N)$: $P_{\rm success} = 1/2$",
           title=r"finite-size thresholds, $\star$: $N \to \infty$")
    bx.set_xlim(left=-0.002 if max(cfg["N"]) > 200 else -0.004)
    bx.legend(loc="lower right", fontsize=7)
    return save_figure(fig, out_dir, "fig_success_probability")


def main(argv=None) -> list[Path]:
    parser = figure_parser(
        __doc__, "small N, few instances and alphas, short runs (CPU smoke test)",
        seed_help="key of the instances (folded in with N and the seed block)")
    parser.add_argument("--algos", nargs="+", choices=tuple(NAMES), default=None,
                        help="a subset of the algorithms (default: all three)")
    parser.add_argument("--N", type=int, nargs="+", default=None,
                        help="system sizes (default 201 501 1001 2001; quick 51 101)")
    parser.add_argument("--seed-block", type=int, default=None,
                        help="instances per alpha in one vectorized program and one cache "
                             "record (lower it if the device runs out of memory)")
    parser.add_argument("--seeds", type=int, default=None,
                        help="independent instances per (algorithm, N, alpha) (default 64; "
                             "quick 8)")
    parser.add_argument("--alphas", type=float, nargs="+", default=None,
                        help="increasing alphas (default 12 in [0.55, 0.88]; quick 0.3 0.55 "
                             "0.8). The instances depend on the list (data key of alpha "
                             "index a: fold_in(key, a)): another list gives other instances")
    args = parser.parse_args(argv)
    cfg = dict(QUICK if args.quick else FULL)
    for name, value in (("algos", args.algos), ("N", args.N), ("seed_block", args.seed_block),
                        ("seeds", args.seeds), ("alphas", args.alphas)):
        if value is not None:
            cfg[name] = tuple(value) if isinstance(value, list) else value
    if cfg["seed_block"] < 1 or cfg["seeds"] < 1 or any(N < 2 for N in cfg["N"]):
        parser.error("--seed-block and --seeds must be >= 1 and every N >= 2")
    if not all(a < b for a, b in zip((0.0,) + cfg["alphas"], cfg["alphas"])):
        parser.error(f"--alphas {list(cfg['alphas'])}: must be > 0 and strictly increasing")
    print(f"devices: {jax.devices()}", file=sys.stderr)
    cache = ResultsCache(args.out / "cache" / ("success_quick" if args.quick else "success"))
    solved = compute(cfg, cache, args.seed, args.quick)
    thr = thresholds(cfg, solved)
    lines = theory_lines(cache, args.quick)
    for algo in cfg["algos"]:
        t = thr[algo]
        half = ", ".join(f"N={N}: {a:.3f}+-{s:.3f}"
                         for N, a, s in zip(cfg["N"], t["alpha_half"], t["sem"]))
        print(f"{NAMES[algo]}: alpha_1/2 {half}; 1/N extrapolation "
              f"{t['alpha_inf']:.3f}+-{t['alpha_inf_sem']:.3f}", file=sys.stderr)
    print(f"theory: {lines}", file=sys.stderr)
    return plot(cfg, solved, thr, lines, args.out)


if __name__ == "__main__":
    print_paths(main())
