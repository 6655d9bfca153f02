"""Local entropy around the solutions algorithms find [P2] (binary storage, kappa = 0).

(a) S(d) measured by belief propagation (``sim.bp_local_entropy``) around solutions found by
SGD, replicated SGD, focusing BP and simulated annealing (markers: mean and standard error
over instances, each instance the mean of its solved runs; every algorithm runs on the same
instances), against the RS Franz-Parisi curves (``theory.local_entropy.franz_parisi``) around typical
solutions (kappa_ref = 0) and around references of growing margin up to kappa_max, with the
counting bound H2(d) = -d ln d - (1-d) ln(1-d);
(b) the deficit H2(d) - S(d) on log scales: zero-margin solutions fill almost the whole
Hamming sphere around algorithmic solutions, as around high-margin references, while
typical solutions are isolated (S < 0 at small d);
(c) the local energy: training error after flipping round(dN) random weights
(``sim.measure.local_energy_by_flips``).
The d grid starts at d = 1/N (one flipped weight). "sa" walks ``sweeps_at_solution`` sweeps
among solutions after the first one; "sa_first" stops at the first solution. Tables of
S(d) and dE(d) (mean and sem over instances, paired difference to "sa") are printed.

    python paper_figures/fig_local_entropy_algorithms.py --out figures [--quick]
    python paper_figures/fig_local_entropy_algorithms.py --n 101 --alpha 0.5 --seeds 16 \
        --replicas 1 --algos sgd rsgd fbp sa sa_first --out figures
"""

import dataclasses
from pathlib import Path

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from tqdm import tqdm

import atypical
import theory.local_entropy.franz_parisi as fp
from atypical.observables import hamming_shell_entropy
from atypical.plotting import figure_parser, save_figure, sim_markers, theory_line, use_style
from atypical.results import ResultsCache
from sim.bp_local_entropy import local_entropy_at, local_entropy_bp
from sim.data import Dataset, sample_storage
from sim.measure import local_energy_by_flips
from sim.run import default_config, run_algorithm
from theory.models import margins
from paper_figures._common import print_paths

FULL = dict(alpha=0.5, N=1001, algos=("sgd", "rsgd", "fbp", "sa"), seeds=8, replicas=4,
            ref_fractions=(0.0, 0.5, 0.9, 0.99), n_d=14,
            theory_d=np.geomspace(2e-3, 0.5, 40).tolist())
QUICK = dict(alpha=0.5, N=201, algos=("sgd", "fbp"), seeds=2, replicas=2,
             ref_fractions=(0.0, 0.9), n_d=5, theory_d=np.geomspace(5e-3, 0.5, 8).tolist())
NAMES = {"sgd": "SGD", "rsgd": "replicated SGD", "fbp": "focusing BP",
         "sa": "simulated annealing", "sa_first": "SA, first solution"}
LAMBDAS = np.linspace(0.0, 8.0, 81)  # external fields of the BP Legendre transform
FLIP_SAMPLES = 200  # random flip sets per solution and d for the local energy


def d_grid(N: int, n_d: int) -> list[float]:
    """n_d distances from one flipped weight, d = 1/N, to d = 0.3, geometrically spaced."""
    return np.geomspace(1 / N, 0.3, n_d).tolist()


def flip_fractions(N: int, d: list[float]) -> list[float]:
    """The distinct Hamming fractions round(dN)/N that flipping round(dN) weights reaches."""
    return (np.unique(np.round(np.asarray(d) * N)) / N).tolist()


def _config(algo: str, quick: bool, sa_sweeps: int | None):
    """The library default of ``algo``; sa_first stops at the first solution; SA with
    ``sa_sweeps`` annealing sweeps if given (a slower schedule for larger N)."""
    config = default_config(_runner(algo))
    if algo == "sa_first":
        config = dataclasses.replace(config, sweeps_at_solution=0)
    if _runner(algo) == "sa" and sa_sweeps is not None:
        config = dataclasses.replace(config, sweeps=sa_sweeps)
    if not quick:
        return config
    if algo == "rsgd":  # smoke run: few steps
        return dataclasses.replace(config, sgd=dataclasses.replace(config.sgd, epochs=20))
    field = {"sgd": "epochs", "fbp": "iterations", "sa": "sweeps"}[_runner(algo)]
    return dataclasses.replace(config, **{field: 20})


def _runner(algo: str) -> str:
    """The ``sim.run`` algorithm behind a figure algorithm (sa_first is sa, configured)."""
    return "sa" if algo == "sa_first" else algo


def measure(algo: str, N: int, alpha: float, seed: int, replicas: int, d: list[float],
            config) -> dict:
    """Run ``algo`` ``replicas`` times on one instance (the data depend on ``seed`` only);
    around every solution found, the BP local entropy (float64 messages) at ``d`` and the
    local energy at ``flip_fractions(N, d)`` (mean over FLIP_SAMPLES flip sets)."""
    k_data, k_run = jr.split(jr.key(seed))
    data = sample_storage(k_data, atypical.BinaryStorage(alpha), N)
    W, solved = run_algorithm(_runner(algo), jr.split(k_run, replicas), data,
                              config, instances=False)
    solved = np.asarray(solved)
    data64 = Dataset(xi=data.xi.astype(jnp.float64), y=data.y.astype(jnp.float64))
    d_flip = jnp.asarray(flip_fractions(N, d), data.xi.dtype)
    curves, energies, residuals = [], [], []
    for r, w in enumerate(np.asarray(W)):
        if not solved[r]:
            continue
        bp = local_entropy_bp(data64, jnp.asarray(w, jnp.float64), jnp.asarray(LAMBDAS))
        curves.append(local_entropy_at(bp, d).tolist())
        residuals.append(float(np.max(np.asarray(bp.residual))))
        flips = local_energy_by_flips(jr.fold_in(k_run, r), jnp.asarray(w), data, d_flip,
                                      FLIP_SAMPLES)
        energies.append(np.asarray(jnp.mean(flips, axis=-1), np.float64).tolist())
    return {"S": curves, "dE": energies, "bp_residual": residuals,
            "solved": int(np.sum(solved)), "runs": replicas}


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
            params = dict(algo=kind, N=cfg["N"], alpha=alpha, seed=value,
                          replicas=cfg["replicas"], d=cfg["d"], quick=quick,
                          flip_samples=FLIP_SAMPLES)
            if _runner(kind) == "sa" and cfg["sa_sweeps"] is not None:
                params["sa_sweeps"] = cfg["sa_sweeps"]  # absent: the default schedule
            config = _config(kind, quick, cfg["sa_sweeps"])
            out["sim"].setdefault(kind, []).append(cache.get_or_compute(
                "bp_local_entropy", params,
                lambda: measure(kind, cfg["N"], alpha, value, cfg["replicas"], cfg["d"],
                                config)))
    return out


def mean_sem(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Column by column over the finite entries of the rows: mean, standard error
    std_{n-1}/sqrt(n) and count n (mean nan for n = 0, sem nan for n < 2)."""
    x = np.asarray(x, float)
    finite = np.isfinite(x)
    n = np.sum(finite, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.sum(np.where(finite, x, 0.0), axis=0) / n
        var = np.sum(np.where(finite, x - mean, 0.0) ** 2, axis=0) / (n - 1)
        sem = np.where(n > 1, np.sqrt(var / n), np.nan)
    return mean, sem, n


def instance_means(records: list[dict], key: str, width: int) -> np.ndarray:
    """Per instance (row), the mean of ``key`` ("S" or "dE") over its solved runs; a row
    of nan (``width`` grid points) for an instance no run solved."""
    rows = [mean_sem(np.asarray(rec[key], float))[0] if rec[key] else np.full(width, np.nan)
            for rec in records]
    return np.array(rows).reshape(len(records), width)


def summary_table(cfg: dict, res: dict, key: str = "S") -> str:
    """Markdown table of ``key`` (S(d) on the d grid, or dE(d) on ``flip_fractions``; mean
    +- sem over instances, n = instances with a solution) per algorithm, and of the paired
    difference algo - sa on the instances both solved (the same data: the scatter from
    instance to instance cancels)."""
    algos = cfg["algos"]
    grid = cfg["d"] if key == "S" else flip_fractions(cfg["N"], cfg["d"])
    S = {a: instance_means(res["sim"][a], key, len(grid)) for a in algos}
    stats = {a: mean_sem(S[a]) for a in algos}
    pairs = [a for a in algos if a != "sa"] if "sa" in algos else []
    diffs = {a: mean_sem(S[a] - S["sa"]) for a in pairs}
    head = (["d", "dN"] + [f"{a} (n={stats[a][2][0]})" for a in algos]
            + [f"{a} - sa (n={diffs[a][2][0]})" for a in pairs])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for j, d in enumerate(grid):
        cells = [f"{d:.4f}", f"{d * cfg['N']:.2f}"]
        cells += [f"{stats[a][0][j]:+.4f} +- {stats[a][1][j]:.4f}" for a in algos]
        cells += [f"{diffs[a][0][j]:+.4f} +- {diffs[a][1][j]:.4f}" for a in pairs]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot(cfg: dict, res: dict, out_dir: Path) -> list[Path]:
    import matplotlib.pyplot as plt

    use_style()
    fig, (ax, ax_deficit, ax_energy) = plt.subplots(1, 3, figsize=(15, 4.3), sharex=True)
    d_th = np.asarray(cfg["theory_d"])
    ax.plot(d_th, hamming_shell_entropy(d_th), color="0.6", ls=":", label=r"$H_2(d)$ (all configurations)")
    grays = plt.cm.Greys(np.linspace(0.45, 0.95, len(cfg["ref_fractions"])))
    for color, f in zip(grays, cfg["ref_fractions"]):
        S = np.asarray(res["theory"][f]["S"], float)
        label = (r"FP theory, typical ($\tilde\kappa = 0$)" if f == 0 else
                 rf"FP theory, $\tilde\kappa = {f:g}\,\kappa_{{max}}$")
        theory_line(ax, d_th, S, color=color, label=label)
        theory_line(ax_deficit, d_th, hamming_shell_entropy(d_th) - S, color=color)
    d = np.asarray(cfg["d"])
    d_flip = np.asarray(flip_fractions(cfg["N"], cfg["d"]))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for color, marker, algo in zip(colors, "osD^v", cfg["algos"]):
        records = res["sim"][algo]
        solved = sum(rec["solved"] for rec in records)
        runs = sum(rec["runs"] for rec in records)
        mean, sem, n = mean_sem(instance_means(records, "S", len(d)))
        if solved == 0:  # the legend says so instead of drawing nothing silently
            ax_deficit.plot([], [], marker, color=color, label=f"{NAMES[algo]}: 0/{runs} solved")
            continue
        label = f"{NAMES[algo]} ({solved}/{runs} runs, {n[0]} instances)"
        sim_markers(ax, d, mean, sem, fmt=marker, color=color)
        sim_markers(ax_deficit, d, hamming_shell_entropy(d) - mean, sem, fmt=marker, color=color, label=label)
        e_mean, e_sem, _ = mean_sem(instance_means(records, "dE", len(d_flip)))
        sim_markers(ax_energy, d_flip, e_mean, e_sem, fmt=marker, color=color)
    ax.axhline(0, color="k", lw=0.6)
    ax.set(xlabel="Hamming distance d", ylabel="local entropy S(d)", xscale="log",
           title=rf"(a) $\alpha = {cfg['alpha']}$, N = {cfg['N']}; "
                 rf"$\kappa_{{max}} = {res['kappa_max']:.4f}$")
    ax.legend(fontsize=7, loc="upper left")
    ax_deficit.set(xlabel="Hamming distance d", ylabel=r"$H_2(d) - S(d)$", xscale="log",
                   yscale="log", title="(b) deficit from the counting bound")
    ax_deficit.legend(fontsize=7, loc="lower right")  # the markers of all three panels
    ax_energy.set(xlabel="flipped fraction d", ylabel=r"local energy $\delta E(d)$",
                  xscale="log", yscale="log", title="(c) training error after dN flips")
    return save_figure(fig, out_dir, "fig_local_entropy_algorithms")


def main(argv=None) -> list[Path]:
    parser = figure_parser(__doc__, "small N, few runs (smoke)")
    parser.add_argument("--algos", nargs="+", choices=tuple(NAMES), default=None,
                        help="a subset of the algorithms (default: all of the mode's)")
    parser.add_argument("--n", type=int, default=None, help="N (default: the mode's)")
    parser.add_argument("--alpha", type=float, default=None, help="alpha = P/N")
    parser.add_argument("--seeds", type=int, default=None, help="instances")
    parser.add_argument("--replicas", type=int, default=None, help="runs per instance")
    parser.add_argument("--sa-sweeps", type=int, default=None,
                        help="annealing sweeps of SA (default: AnnealConfig's)")
    args = parser.parse_args(argv)
    jax.config.update("jax_enable_x64", True)
    cfg = dict(QUICK if args.quick else FULL)
    if args.algos:
        cfg["algos"] = tuple(args.algos)
    for key, value in (("N", args.n), ("alpha", args.alpha), ("seeds", args.seeds),
                       ("replicas", args.replicas)):
        if value is not None:
            cfg[key] = value
    cfg["d"] = d_grid(cfg["N"], cfg.pop("n_d"))
    cfg["sa_sweeps"] = args.sa_sweeps
    cache = ResultsCache(args.out / "cache" / ("local_entropy_algorithms_quick" if args.quick
                                                else "local_entropy_algorithms"))
    res = compute(cfg, cache, args.quick)
    print("local entropy S(d):", summary_table(cfg, res, "S"), sep="\n")
    print("local energy dE(d):", summary_table(cfg, res, "dE"), sep="\n")
    return plot(cfg, res, args.out)


if __name__ == "__main__":
    print_paths(main())
