"""Success probability vs alpha per algorithm (binary storage, kappa = 0): fraction of
independent instances on which SGD, replicated SGD and focusing BP reach zero training
error (markers, binomial standard errors), with the capacity alpha_c ~ 0.833 (Krauth-Mezard,
from theory) and the local-entropy breakdown alpha ~ 0.77 [P2] marked.

    python paper_figures/fig_algorithmic_thresholds.py --out figures [--quick]
"""

import argparse
from pathlib import Path

import jax.random as jr
import numpy as np

import atypical
import theory
from sim.run import default_config, run_algorithm
from atypical.plotting import save_figure, sim_markers, use_style
from atypical.results import ResultsCache
from sim.enumerate import sample_instances

FULL = dict(algos=("sgd", "rsgd", "fbp"), N=(501, 1001), instances=16,
            alphas=(0.55, 0.6, 0.65, 0.7, 0.75, 0.8))
QUICK = dict(algos=("sgd", "fbp"), N=(101,), instances=2, alphas=(0.4, 0.7))
LOCAL_ENTROPY_BREAKDOWN = 0.77  # [P2]: the high-margin Franz-Parisi curve stops being monotone


def success(algo: str, N: int, alpha: float, instances: int, seed: int, quick: bool) -> dict:
    config = default_config(algo)
    if quick:  # smoke run: few steps
        import dataclasses
        field = {"sgd": "epochs", "fbp": "iterations"}[algo]
        config = dataclasses.replace(config, **{field: 20})
    k_data, k_run = jr.split(jr.key(seed))
    data = sample_instances(k_data, atypical.BinaryStorage(alpha), N, instances)
    _, solved = run_algorithm(algo, jr.split(k_run, instances), data, config, instances=True)
    p = float(np.mean(np.asarray(solved)))
    return {"p": p, "sem": float(np.sqrt(p * (1 - p) / instances)), "n": instances}


def compute(cfg: dict, cache: ResultsCache, seed: int, quick: bool) -> dict:
    out = {"alpha_c": float(theory.storage_capacity(0.0).alpha)}
    for algo in cfg["algos"]:
        for N in cfg["N"]:
            for alpha in cfg["alphas"]:
                out[(algo, N, alpha)] = cache.get_or_compute(
                    "success", dict(algo=algo, N=N, alpha=alpha, I=cfg["instances"],
                                    seed=seed, quick=quick),
                    lambda: success(algo, N, alpha, cfg["instances"], seed, quick))
    return out


def plot(cfg: dict, res: dict, out_dir: Path) -> list[Path]:
    import matplotlib.pyplot as plt

    use_style()
    fig, ax = plt.subplots(figsize=(5.5, 4))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    markers = ["o", "s", "^", "D"]
    names = {"sgd": "SGD", "rsgd": "replicated SGD", "fbp": "focusing BP"}
    for c, algo in zip(colors, cfg["algos"]):
        for m, N in zip(markers, cfg["N"]):
            pts = np.array([(a, res[(algo, N, a)]["p"], res[(algo, N, a)]["sem"])
                            for a in cfg["alphas"]])
            sim_markers(ax, pts[:, 0], pts[:, 1], pts[:, 2], color=c, fmt=m + "-",
                        label=f"{names[algo]}, N={N}")
    ax.axvline(res["alpha_c"], color="k", lw=1)
    ax.text(res["alpha_c"], 1.03, r"$\alpha_c$", ha="center")
    ax.axvline(LOCAL_ENTROPY_BREAKDOWN, color="k", ls=":", lw=1)
    ax.text(LOCAL_ENTROPY_BREAKDOWN, 1.03, r"$\alpha_{LE}$", ha="center")
    ax.set(xlabel=r"$\alpha = P/N$", ylabel="success probability", ylim=(-0.03, 1.1),
           title=f"binary storage, {cfg['instances']} instances per point")
    ax.legend(loc="lower left", fontsize=7)
    return save_figure(fig, out_dir, "fig_algorithmic_thresholds")


def main(argv=None) -> list[Path]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("figures"))
    parser.add_argument("--quick", action="store_true", help="small N, few points (smoke)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    cfg = QUICK if args.quick else FULL
    cache = ResultsCache(args.out / "cache" / ("thresholds_quick" if args.quick
                                                else "thresholds"))
    return plot(cfg, compute(cfg, cache, args.seed, args.quick), args.out)


if __name__ == "__main__":
    for path in main():
        print(path)
