"""Local entropy around the solutions algorithms find [P2] (binary storage, kappa = 0).

(a) S(d) measured by belief propagation (``sim.bp_local_entropy``) around solutions found by
SGD, replicated SGD, focusing BP and simulated annealing (markers: mean and standard error
over the solutions), against the RS Franz-Parisi curves (``theory.franz_parisi``) around
typical solutions (kappa_ref = 0) and around references of growing margin up to kappa_max,
with the counting bound H2(d) = -d ln d - (1-d) ln(1-d);
(b) the deficit H2(d) - S(d) on log scales: zero-margin solutions fill almost the whole
Hamming sphere around algorithmic solutions, as around high-margin references, while
typical solutions are isolated (S < 0 at small d).

    python paper_figures/fig_local_entropy_algorithms.py --out figures [--quick]
"""

import argparse
import dataclasses
from pathlib import Path

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from tqdm import tqdm

import atypical
import theory.franz_parisi as fp
from atypical.plotting import save_figure, sim_markers, theory_line, use_style
from atypical.results import ResultsCache
from sim.bp_local_entropy import local_entropy_at, local_entropy_bp
from sim.data import Dataset, sample_storage
from sim.run import default_config, run_algorithm
from theory import margins

FULL = dict(alpha=0.5, N=1001, algos=("sgd", "rsgd", "fbp", "sa"), seeds=8, replicas=4,
            ref_fractions=(0.0, 0.5, 0.9, 0.99), d=np.geomspace(2e-3, 0.3, 14).tolist(),
            theory_d=np.geomspace(2e-3, 0.5, 40).tolist())
QUICK = dict(alpha=0.5, N=201, algos=("sgd", "fbp"), seeds=2, replicas=2,
             ref_fractions=(0.0, 0.9), d=np.geomspace(5e-3, 0.2, 5).tolist(),
             theory_d=np.geomspace(5e-3, 0.5, 8).tolist())
NAMES = {"sgd": "SGD", "rsgd": "replicated SGD", "fbp": "focusing BP",
         "sa": "simulated annealing"}
LAMBDAS = np.linspace(0.0, 8.0, 81)  # external fields of the BP Legendre transform


def _config(algo: str, quick: bool):
    config = default_config(algo)
    if not quick:
        return config
    if algo == "rsgd":  # smoke run: few steps
        return dataclasses.replace(config, sgd=dataclasses.replace(config.sgd, epochs=20))
    field = {"sgd": "epochs", "fbp": "iterations", "sa": "sweeps"}[algo]
    return dataclasses.replace(config, **{field: 20})


def measure(algo: str, N: int, alpha: float, seed: int, replicas: int, d: list[float],
            quick: bool) -> dict:
    """Run ``algo`` ``replicas`` times on one instance; BP local entropy around every
    solution found (float64 messages)."""
    k_data, k_run = jr.split(jr.key(seed))
    data = sample_storage(k_data, atypical.BinaryStorage(alpha), N)
    W, solved = run_algorithm(algo, jr.split(k_run, replicas), data, _config(algo, quick),
                              instances=False)
    data64 = Dataset(xi=data.xi.astype(jnp.float64), y=data.y.astype(jnp.float64))
    curves, residuals = [], []
    for w in np.asarray(W)[np.asarray(solved)]:
        bp = local_entropy_bp(data64, jnp.asarray(w, jnp.float64), jnp.asarray(LAMBDAS))
        curves.append(local_entropy_at(bp, d).tolist())
        residuals.append(float(np.max(np.asarray(bp.residual))))
    return {"S": curves, "bp_residual": residuals, "solved": int(np.sum(solved)),
            "runs": replicas}


def theory_curve(alpha: float, kappa_ref: float, d: list[float]) -> dict:
    curve = fp.franz_parisi_curve(alpha, kappa_ref, 0.0, np.asarray(d))
    return {"S": np.asarray(curve.local_entropy).tolist()}


def compute(cfg: dict, cache: ResultsCache, quick: bool) -> dict:
    alpha = cfg["alpha"]
    kmax = float(margins.kappa_max(alpha).kappa)
    out = {"kappa_max": kmax, "theory": {}, "sim": {}}
    jobs = [("theory", f) for f in cfg["ref_fractions"]]
    jobs += [(algo, s) for algo in cfg["algos"] for s in range(cfg["seeds"])]
    for kind, value in tqdm(jobs, desc="fig_local_entropy_algorithms", unit="job"):
        if kind == "theory":
            kappa_ref = value * kmax
            out["theory"][value] = cache.get_or_compute(
                "franz_parisi", dict(alpha=alpha, ref_fraction=value, d=cfg["theory_d"]),
                lambda: theory_curve(alpha, kappa_ref, cfg["theory_d"]))
        else:
            out["sim"].setdefault(kind, []).append(cache.get_or_compute(
                "bp_local_entropy", dict(algo=kind, N=cfg["N"], alpha=alpha, seed=value,
                                         replicas=cfg["replicas"], d=cfg["d"], quick=quick),
                lambda: measure(kind, cfg["N"], alpha, value, cfg["replicas"], cfg["d"],
                                quick)))
    return out


def _bound(d):
    d = np.asarray(d)
    return -d * np.log(d) - (1 - d) * np.log1p(-d)


def plot(cfg: dict, res: dict, out_dir: Path) -> list[Path]:
    import matplotlib.pyplot as plt

    use_style()
    fig, (ax, ax_deficit) = plt.subplots(1, 2, figsize=(10, 4))
    d_th = np.asarray(cfg["theory_d"])
    ax.plot(d_th, _bound(d_th), color="0.6", ls=":", label=r"$H_2(d)$ (all configurations)")
    grays = plt.cm.Greys(np.linspace(0.45, 0.95, len(cfg["ref_fractions"])))
    for color, f in zip(grays, cfg["ref_fractions"]):
        S = np.asarray(res["theory"][f]["S"], float)
        label = (r"FP theory, typical ($\tilde\kappa = 0$)" if f == 0 else
                 rf"FP theory, $\tilde\kappa = {f:g}\,\kappa_{{max}}$")
        theory_line(ax, d_th, S, color=color, label=label)
        theory_line(ax_deficit, d_th, _bound(d_th) - S, color=color)
    d = np.asarray(cfg["d"])
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for color, marker, algo in zip(colors, "osD^", cfg["algos"]):
        S = np.array([s for rec in res["sim"][algo] for s in rec["S"]], float)
        solved = sum(rec["solved"] for rec in res["sim"][algo])
        runs = sum(rec["runs"] for rec in res["sim"][algo])
        if S.size == 0:  # the legend says so instead of drawing nothing silently
            ax.plot([], [], marker, color=color, label=f"{NAMES[algo]}: 0/{runs} solved")
            continue
        mean = np.nanmean(S, axis=0)
        sem = np.nanstd(S, axis=0) / np.sqrt(max(len(S) - 1, 1))
        label = f"{NAMES[algo]} ({solved}/{runs} runs solved)"
        sim_markers(ax, d, mean, sem, fmt=marker, color=color, label=label)
        sim_markers(ax_deficit, d, _bound(d) - mean, sem, fmt=marker, color=color)
    ax.axhline(0, color="k", lw=0.6)
    ax.set(xlabel="Hamming distance d", ylabel="local entropy S(d)", xscale="log",
           title=rf"(a) $\alpha = {cfg['alpha']}$, N = {cfg['N']}; "
                 rf"$\kappa_{{max}} = {res['kappa_max']:.4f}$")
    ax.legend(fontsize=7, loc="upper left")
    ax_deficit.set(xlabel="Hamming distance d", ylabel=r"$H_2(d) - S(d)$", xscale="log",
                   yscale="log", title="(b) deficit from the counting bound")
    return save_figure(fig, out_dir, "fig_local_entropy_algorithms")


def main(argv=None) -> list[Path]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("figures"))
    parser.add_argument("--quick", action="store_true", help="small N, few runs (smoke)")
    parser.add_argument("--algos", nargs="+", choices=tuple(NAMES), default=None,
                        help="a subset of the algorithms (default: all of the mode's)")
    args = parser.parse_args(argv)
    jax.config.update("jax_enable_x64", True)
    cfg = dict(QUICK if args.quick else FULL)
    if args.algos:
        cfg["algos"] = tuple(args.algos)
    cache = ResultsCache(args.out / "cache" / ("local_entropy_algorithms_quick" if args.quick
                                                else "local_entropy_algorithms"))
    return plot(cfg, compute(cfg, cache, args.quick), args.out)


if __name__ == "__main__":
    for path in main():
        print(path)
