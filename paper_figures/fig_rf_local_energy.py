"""Random features of a hidden perceptron teacher [P1], panel (d): the landscape around the
solutions that algorithms find, against typical and atypical solutions (issue 6; sign
features, margin 0, alpha_D = P/D = 2, N/D = 3, above the atypical transition N/D = 2.21).

(a) local entropy S(d), RS Franz-Parisi (``theory.rf_franz_parisi.rf_franz_parisi_curve``):
zero-margin solutions at Hamming fraction d around typical solutions (kappa_ref = 0) and
around maximal-margin references (kappa_ref = kappa_max, or 1e-6 below when the reference
entropy rounds negative), with the counting bound H2(d) = -d ln d - (1-d) ln(1-d). Typical
solutions are isolated (S < 0 at small d); the maximal-margin ones are the centres of wide
flat regions (S close to H2).
(b) local energy dE(d): the training error after flipping a random fraction d of the
weights, from the training stabilities (``atypical.observables.local_energy``). Lines: RS
stability densities (``theory.random_features.stability_quadrature_rf``) of typical and of
maximal-margin solutions. Markers: the zero-training-error solutions that SGD and replicated
SGD (library defaults, 500 epochs) find, mean +- sem over the solved instances
(``sim.rf_sweep.rf_algorithm_point``): on exact sign features at D = 50 and 100, and on
their Gaussian-equivalent surrogate at D = 100 (the covariates the theory assumes). The
local energy of the zero-margin solutions inside the dense regions (at distance d from the
maximal-margin references) is not computed: the Franz-Parisi solver gives their entropy,
not their stabilities. At small d the local energy probes the smallest stabilities: every
zero-margin solution with a finite density of stabilities at 0+ (typical ones, and those the
algorithms find) has dE ~ sqrt(d), while the maximal-margin ones, all stabilities above
kappa_max, have dE ~ exp(-kappa_max^2/(8d)).

    python paper_figures/fig_rf_local_energy.py --out figures [--quick]

Everything is cached per item (JSON, resumable) under ``<out>/cache/rf_local_energy``;
progress is printed, then a table of dE(d) with the verdict per d: are the algorithmic
solutions flat like the maximal-margin ones, or sharp like the typical ones?
"""

import argparse
import time
from pathlib import Path

import jax
import jax.random as jr
import numpy as np
from tqdm import tqdm

from atypical import RandomFeatures, SaddlePointError  # importing atypical turns on float64
from atypical.observables import local_energy
from atypical.plotting import save_figure, sim_markers, theory_line, use_style
from atypical.results import ResultsCache
from sim.rsgd import RSGDConfig
from sim.rf_sweep import rf_algorithm_point
from sim.sgd import SGDConfig
from theory.random_features import rf_kappa_max, solve_rf, stability_quadrature_rf
from theory.rf_franz_parisi import rf_franz_parisi_curve

FULL = dict(name="rf_local_energy", sigma="sign", alpha_D=2.0, n_over_d=3.0,
            entropy_d=np.geomspace(2e-3, 0.3, 24).tolist(),
            energy_d=np.geomspace(1e-3, 0.3, 40).tolist(),
            sim_d=np.geomspace(2e-3, 0.2, 9).tolist(),
            sims=((50, False), (100, False), (100, True)), seeds=16, epochs=500,
            algos=("sgd", "rsgd"))
QUICK = dict(name="rf_local_energy_quick", sigma="sign", alpha_D=2.0, n_over_d=3.0,
             entropy_d=np.geomspace(5e-3, 0.3, 6).tolist(),
             energy_d=np.geomspace(1e-3, 0.3, 12).tolist(),
             sim_d=np.geomspace(5e-3, 0.2, 4).tolist(), sims=((20, False),), seeds=4,
             epochs=200, algos=("sgd", "rsgd"))
ALGO_STYLE = {"sgd": ("s", "C3", "SGD"), "rsgd": ("D", "C4", "replicated SGD")}
KINDS = {"typical": ("k", "typical solutions"),
         "max_margin": ("C0", r"maximal-margin solutions ($\kappa_{max}$)")}


# ------------------------------------------------------------------------ computations

def local_energy_lines(alpha: float, alpha_D: float, sigma: str, d: list[float]) -> dict:
    """RS local energy of typical (kappa = 0) and maximal-margin solutions on the grid d."""
    top = rf_kappa_max(alpha, alpha_D, sigma=sigma)
    typical = jax.tree.map(lambda x: x[0], solve_rf(alpha, alpha_D, sigma=sigma).order_params)
    out = dict(d=d, kappa_max=float(top.kappa))
    for kind, op, kappa in (("typical", typical, 0.0),
                            ("max_margin", top.order_params, top.kappa)):
        points, weights = stability_quadrature_rf(
            op, RandomFeatures(alpha, alpha_D, kappa, sigma=sigma))
        out[kind] = np.asarray(local_energy(points, np.asarray(d), weights)).tolist()
    return out


def local_entropy_curve(alpha: float, alpha_D: float, sigma: str, kind: str, kappa_max: float,
                        d: list[float]) -> dict:
    """S(d) around typical or maximal-margin references; a lost branch is recorded."""
    t0 = time.perf_counter()
    error = "no reference margin tried"
    for kappa_ref in ((0.0,) if kind == "typical" else (kappa_max, kappa_max - 1e-6)):
        try:
            c = rf_franz_parisi_curve(alpha, alpha_D, kappa_ref, 0.0, d, sigma=sigma)
        except ValueError as err:  # reference entropy -1e-12 at exactly kappa_max
            error = str(err)
            continue
        except SaddlePointError as err:
            error = str(err)
            break
        return dict(d=d, kappa_ref=kappa_ref, local_entropy=np.asarray(c.local_entropy).tolist(),
                    error=None, seconds=time.perf_counter() - t0)
    return dict(d=d, error=error.splitlines()[0], seconds=time.perf_counter() - t0)


def sim_local_energy(cfg: dict, algo: str, D: int, surrogate: bool, seed: int) -> dict:
    """Local energy at ``sim_d`` of the solved runs of ``algo`` on ``seeds`` instances of
    exact sign features or (``surrogate``) of their Gaussian-equivalent covariates."""
    P, N = round(cfg["alpha_D"] * D), round(cfg["n_over_d"] * D)
    sgd = SGDConfig(epochs=cfg["epochs"])
    config = sgd if algo == "sgd" else RSGDConfig(sgd=sgd)
    point = rf_algorithm_point(jr.key(seed), algo, N, P, D, cfg["seeds"], sigma=cfg["sigma"],
                               config=config, P_test=500, d=cfg["sim_d"], surrogate=surrogate)
    solved = np.asarray(point.runs.solved)
    energy = np.asarray(point.runs.local_energy, np.float64)[solved]
    n = int(solved.sum())
    mean = energy.mean(0) if n else np.full(len(cfg["sim_d"]), np.nan)
    sem = energy.std(0, ddof=1) / np.sqrt(n) if n > 1 else np.full(len(cfg["sim_d"]), np.nan)
    return dict(N=N, P=P, D=D, solved=n, instances=int(solved.size), mean=mean.tolist(),
                sem=sem.tolist(), seconds=point.seconds)


def compute(cfg: dict, out_dir: Path, seed: int) -> dict:
    cache = ResultsCache(out_dir / "cache" / cfg["name"])
    aD, sigma = cfg["alpha_D"], cfg["sigma"]
    alpha = aD / cfg["n_over_d"]
    base = dict(alpha_D=aD, n_over_d=cfg["n_over_d"], sigma=sigma)
    res = {"energy": cache.get_or_compute(
        "energy_lines", dict(base, d=cfg["energy_d"]),
        lambda: local_energy_lines(alpha, aD, sigma, cfg["energy_d"]))}
    kappa_max = res["energy"]["kappa_max"]
    print(f"alpha_D={aD:g}, N/D={cfg['n_over_d']:g} (alpha={alpha:.4f}): "
          f"kappa_max={kappa_max:.4f}", flush=True)
    res["entropy"] = {}
    for kind in tqdm(KINDS, desc="Franz-Parisi curves", unit="curve"):
        rec = cache.get_or_compute(
            "entropy", dict(base, kind=kind, d=cfg["entropy_d"]),
            lambda: local_entropy_curve(alpha, aD, sigma, kind, kappa_max, cfg["entropy_d"]))
        res["entropy"][kind] = rec
        state = "ok" if rec["error"] is None else f"lost: {rec['error'][:100]}"
        tqdm.write(f"S(d) around {kind} references: {state} ({rec['seconds']:.0f} s)")
    res["sim"] = {}
    jobs = [(algo, D, sur) for D, sur in cfg["sims"] for algo in cfg["algos"]]
    for algo, D, sur in tqdm(jobs, desc="simulations", unit="point"):
        params = dict(base, algo=algo, D=D, surrogate=sur, seeds=cfg["seeds"],
                      epochs=cfg["epochs"], d=cfg["sim_d"], seed=seed)
        rec = cache.get_or_compute("sim", params,
                                   lambda: sim_local_energy(cfg, algo, D, sur, seed))
        res["sim"][(algo, D, sur)] = rec
        tqdm.write(f"{algo} {sim_name(D, sur)} (N={rec['N']}, P={rec['P']}): solved "
                   f"{rec['solved']}/{rec['instances']} ({rec['seconds']:.0f} s)")
    return res


# ------------------------------------------------------------------------------ numbers

def sim_name(D: int, surrogate: bool) -> str:
    return f"D={D}" + (" surrogate" if surrogate else "")


def theory_at(res: dict, d: list[float]) -> dict[str, np.ndarray]:
    """The RS local energies interpolated (in log d) at the simulation distances."""
    e = res["energy"]
    return {kind: np.interp(np.log(d), np.log(e["d"]), e[kind]) for kind in KINDS}


def summary(cfg: dict, res: dict) -> list[str]:
    """dE(d) of every simulation point against the two RS lines, and which one is nearer."""
    d = cfg["sim_d"]
    th = theory_at(res, d)
    lines = [f"local energy dE(d) at alpha_D={cfg['alpha_D']:g}, N/D={cfg['n_over_d']:g} "
             "(RS lines N,D->inf; algorithms mean+-sem over solved instances):",
             "  d        " + "  ".join(f"{x:8.4f}" for x in d)]
    lines += [f"  {KINDS[k][1][:22]:<22}" + "  ".join(f"{x:8.4f}" for x in th[k])
              for k in KINDS]
    for (algo, D, sur), rec in res["sim"].items():
        if not rec["solved"]:
            lines.append(f"  {algo} {sim_name(D, sur)}: no solved instance")
            continue
        mean = np.asarray(rec["mean"])
        nearer = ["flat" if abs(m - th["max_margin"][i]) < abs(m - th["typical"][i]) else "sharp"
                  for i, m in enumerate(mean)]
        lines.append(f"  {algo:>4} {sim_name(D, sur):<14} ({rec['solved']}/{rec['instances']})"
                     "  " + "  ".join(f"{x:8.4f}" for x in mean))
        lines.append("      nearer the maximal-margin (flat) or typical (sharp) line: "
                     + " ".join(nearer))
    return lines


# --------------------------------------------------------------------------------- plot

def plot(cfg: dict, res: dict, out_dir: Path) -> list[Path]:
    import matplotlib.pyplot as plt

    use_style()
    fig, (ax_s, ax_e) = plt.subplots(1, 2, figsize=(11, 4.6), layout="constrained")
    d = np.geomspace(min(cfg["entropy_d"]), 0.5, 200)
    ax_s.plot(d, -d * np.log(d) - (1 - d) * np.log1p(-d), color="0.6", ls=":",
              label=r"bound $-d\ln d-(1-d)\ln(1-d)$")
    for kind, (color, name) in KINDS.items():
        rec = res["entropy"][kind]
        if rec["error"] is None:
            theory_line(ax_s, rec["d"], rec["local_entropy"], color=color,
                        label=f"around {name}")
        else:
            ax_s.plot([], [], color=color, label=f"around {name}: branch lost")
    ax_s.axhline(0, color="k", lw=0.6)
    ax_s.set_xscale("log")
    ax_s.set_xlabel("Hamming distance $d$")
    ax_s.set_ylabel("local entropy $S(d)$ of zero-margin solutions")
    ax_s.set_title("(d1) local entropy, RS Franz-Parisi", fontsize=10)
    ax_s.legend(loc="upper left")

    e = res["energy"]
    for kind, (color, name) in KINDS.items():
        theory_line(ax_e, e["d"], e[kind], color=color, label=f"{name} (RS)")
    n_sim = len(res["sim"])
    largest = max(D for D, _ in cfg["sims"])
    for k, ((algo, D, sur), rec) in enumerate(res["sim"].items()):
        if not rec["solved"]:
            continue
        marker, color, name = ALGO_STYLE[algo]
        shift = 1.04 ** (k - (n_sim - 1) / 2)  # side by side on the log axis
        sim_markers(ax_e, np.asarray(cfg["sim_d"]) * shift, rec["mean"], rec["sem"],
                    fmt="o" if sur else marker, color=color,
                    markerfacecolor=color if D == largest and not sur else "white",
                    label=f"{name}, {sim_name(D, sur)} "
                          f"({rec['solved']}/{rec['instances']} solved)")
    ax_e.set_xscale("log")
    ax_e.set_yscale("log")
    ax_e.set_ylim(bottom=1e-4)  # the maximal-margin line falls as exp(-kappa^2/8d) below
    ax_e.set_xlabel("fraction of flipped weights $d$")
    ax_e.set_ylabel(r"local energy $\delta E(d)$")
    ax_e.set_title("(d2) local energy: training error after random flips", fontsize=10)
    ax_e.legend(loc="lower right", fontsize=7.5)
    fig.suptitle(rf"Random features, $\alpha_D$ = {cfg['alpha_D']:g}, $N/D$ = "
                 rf"{cfg['n_over_d']:g}, sign features, $\kappa$ = 0: lines RS "
                 r"($N, D\to\infty$), markers finite $D$", fontsize=10.5)
    return save_figure(fig, out_dir, "fig_rf_local_energy")


def main(argv=None) -> list[Path]:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("figures"))
    parser.add_argument("--quick", action="store_true",
                        help="coarse grids, D = 20 simulations with 4 instances (CPU smoke "
                             "run, a few minutes)")
    parser.add_argument("--seed", type=int, default=0, help="key of the simulated instances")
    args = parser.parse_args(argv)
    cfg = QUICK if args.quick else FULL
    res = compute(cfg, args.out, args.seed)
    for line in summary(cfg, res):
        print(line)
    return plot(cfg, res, args.out)


if __name__ == "__main__":
    for path in main():
        print(path)
