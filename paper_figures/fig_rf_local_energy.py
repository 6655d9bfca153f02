"""Random features of a hidden perceptron teacher [P1], panel (d): the landscape around the
solutions that algorithms find, against typical and atypical solutions (issue 6; sign
features, margin 0, alpha_D = P/D = 2, N/D = 3, above the atypical transition N/D = 2.21).

(a) local entropy S(d), RS Franz-Parisi (``theory.local_entropy.rf_franz_parisi.rf_franz_parisi_curve``):
zero-margin solutions at Hamming fraction d around typical solutions (kappa_ref = 0) and
around maximal-margin references (kappa_ref = kappa_max), with the counting bound H2(d) = -d ln d - (1-d) ln(1-d). Typical
solutions are isolated (S < 0 at small d); the maximal-margin ones are the centres of wide
flat regions (S close to H2). The largest local entropy of any reference, S_inf(d) of the
y -> infinity large deviations (``theory.local_entropy.rf_large_deviation_limit``), bounds both from above
(nan where its branch is not reached). Markers: belief-propagation local entropy
(``sim.bp_local_entropy``, Legendre transform over an external field) around the solutions
the algorithms find, mean +- sem over solved instances (lambda points where BP did not
converge are dropped). On RF features BP is as accurate as on storage at small N: at N = 21,
alpha_D = 2, N/D = 3, its S differs from exact enumeration by 0.035 on average (0.07 at
most; storage at the same alpha: 0.025, 0.044), an O(1/N) error.
(b) local energy dE(d): the training error after flipping a random fraction d of the
weights, from the training stabilities (``atypical.observables.local_energy``). Lines: RS
stability densities (``theory.models.random_features.stability_quadrature_rf``) of typical and of
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

import time
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from tqdm import tqdm

from atypical import RandomFeatures, SaddlePointError  # importing atypical turns on float64
from atypical.observables import hamming_shell_entropy, local_energy
from atypical.plotting import save_figure, sim_markers, theory_line, use_style
from paper_figures._common import figure_main, print_paths
from atypical.results import ResultsCache
from sim.bp_local_entropy import local_entropy_at, local_entropy_bp
from sim.data import Dataset
from sim.rf_sweep import rf_algorithm_point, rf_instances
from sim.rsgd import RSGDConfig
from sim.sgd import SGDConfig
from theory.models.random_features import rf_kappa_max, solve_rf, stability_quadrature_rf
from theory.local_entropy.rf_franz_parisi import rf_franz_parisi_curve
from theory.local_entropy.rf_large_deviation_limit import rf_large_deviation_limit_curve

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
BP_LAMBDAS = np.linspace(0.0, 8.0, 21)  # external fields of the BP Legendre transform
BP_TOL = 1e-6  # BP fields converged to this at a lambda, or the lambda is dropped
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
    """S(d) around typical (kappa_ref = 0) or maximal-margin references; a lost branch or a
    refused reference is recorded, not raised."""
    t0 = time.perf_counter()
    kappa_ref = 0.0 if kind == "typical" else kappa_max
    try:
        c = rf_franz_parisi_curve(alpha, alpha_D, kappa_ref, 0.0, d, sigma=sigma)
    except (ValueError, SaddlePointError) as err:
        return dict(d=d, error=str(err).splitlines()[0], seconds=time.perf_counter() - t0)
    return dict(d=d, kappa_ref=kappa_ref, local_entropy=np.asarray(c.local_entropy).tolist(),
                error=None, seconds=time.perf_counter() - t0)


def densest_curve(alpha: float, alpha_D: float, sigma: str, d: list[float]) -> dict:
    """S_inf(d) around the densest references (y -> infinity large deviations)."""
    t0 = time.perf_counter()
    c = rf_large_deviation_limit_curve(alpha, alpha_D, d, sigma=sigma)
    return dict(d=d, local_entropy=np.asarray(c.local_entropy).tolist(),
                converged=np.asarray(c.converged).tolist(), seconds=time.perf_counter() - t0)


def bp_local_entropy(data: Dataset, W, d: list[float]) -> np.ndarray:
    """BP local entropy around the solution W at the distances d (float64; nan where BP did
    not converge or the lambda grid does not reach)."""
    data = Dataset(xi=jnp.asarray(data.xi, jnp.float64), y=jnp.asarray(data.y, jnp.float64))
    bp = local_entropy_bp(data, jnp.asarray(W, jnp.float64), BP_LAMBDAS)
    ok = np.asarray(bp.residual) < BP_TOL
    return local_entropy_at(jax.tree.map(lambda x: x[ok], bp), d)


def mean_sem_columns(x: np.ndarray) -> tuple[list[float], list[float]]:
    """Mean and standard error of each column over its finite entries (nan if none/one)."""
    n = np.sum(np.isfinite(x), axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.nansum(x, axis=0) / n
        sem = np.sqrt(np.nansum((x - mean) ** 2, axis=0) / (n - 1) / n)
    return np.where(n > 0, mean, np.nan).tolist(), np.where(n > 1, sem, np.nan).tolist()


def sim_landscape(cfg: dict, algo: str, D: int, surrogate: bool, seed: int) -> dict:
    """Local energy and BP local entropy at ``sim_d`` around the solutions that ``algo``
    finds on ``seeds`` instances of exact sign features or (``surrogate``) of their
    Gaussian-equivalent covariates; averages over the solved instances."""
    P, N = round(cfg["alpha_D"] * D), round(cfg["n_over_d"] * D)
    sgd = SGDConfig(epochs=cfg["epochs"])
    config = sgd if algo == "sgd" else RSGDConfig(sgd=sgd)
    key = jr.key(seed)
    point = rf_algorithm_point(key, algo, N, P, D, cfg["seeds"], sigma=cfg["sigma"],
                               config=config, P_test=500, d=cfg["sim_d"], surrogate=surrogate)
    solved = np.asarray(point.runs.solved)
    problem = RandomFeatures(P / N, P / D, sigma=cfg["sigma"])
    data, _ = rf_instances(key, problem, P, D, N, cfg["seeds"], P_test=500,
                           surrogate=surrogate, dtype=config.dtype)  # the training instances
    entropy = np.array([bp_local_entropy(Dataset(xi=data.xi[s], y=data.y[s]), point.W[s],
                                         cfg["sim_d"]) for s in np.flatnonzero(solved)])
    energy = np.asarray(point.runs.local_energy, np.float64)[solved]
    nan = np.full((0, len(cfg["sim_d"])), np.nan)
    mean, sem = mean_sem_columns(energy if solved.any() else nan)
    s_mean, s_sem = mean_sem_columns(entropy if solved.any() else nan)
    return dict(N=N, P=P, D=D, solved=int(solved.sum()), instances=int(solved.size), mean=mean,
                sem=sem, local_entropy=s_mean, local_entropy_sem=s_sem,
                bp_points=np.sum(np.isfinite(entropy), axis=0).tolist() if solved.any() else [],
                seconds=point.seconds)


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
    res["densest"] = cache.get_or_compute(
        "densest", dict(base, d=cfg["entropy_d"]),
        lambda: densest_curve(alpha, aD, sigma, cfg["entropy_d"]))
    print(f"S_inf(d) of the densest references: {sum(res['densest']['converged'])}/"
          f"{len(cfg['entropy_d'])} distances reached ({res['densest']['seconds']:.0f} s)",
          flush=True)
    res["sim"] = {}
    jobs = [(algo, D, sur) for D, sur in cfg["sims"] for algo in cfg["algos"]]
    for algo, D, sur in tqdm(jobs, desc="simulations", unit="point"):
        params = dict(base, algo=algo, D=D, surrogate=sur, seeds=cfg["seeds"],
                      epochs=cfg["epochs"], d=cfg["sim_d"], seed=seed,
                      bp_lambdas=BP_LAMBDAS.tolist())
        rec = cache.get_or_compute("sim", params,
                                   lambda: sim_landscape(cfg, algo, D, sur, seed))
        res["sim"][(algo, D, sur)] = rec
        tqdm.write(f"{algo} {sim_name(D, sur)} (N={rec['N']}, P={rec['P']}): solved "
                   f"{rec['solved']}/{rec['instances']} ({rec['seconds']:.0f} s)")
    return res


# ------------------------------------------------------------------------------ numbers

def sim_name(D: int, surrogate: bool) -> str:
    return f"D={D}" + (" surrogate" if surrogate else "")


def theory_at(res: dict, d: list[float]) -> dict[str, dict[str, np.ndarray]]:
    """The RS lines interpolated (in log d) at the simulation distances: local energy
    ("mean") and local entropy ("local_entropy"; nan outside its grid or if lost)."""
    e, out = res["energy"], {"mean": {}, "local_entropy": {}}
    for kind in KINDS:
        out["mean"][kind] = np.interp(np.log(d), np.log(e["d"]), e[kind])
        rec = res["entropy"].get(kind, {"error": "not computed"})
        out["local_entropy"][kind] = (
            np.full(len(d), np.nan) if rec["error"] is not None else
            np.interp(np.log(d), np.log(rec["d"]), rec["local_entropy"], left=np.nan,
                      right=np.nan))
    return out


def summary(cfg: dict, res: dict) -> list[str]:
    """Local energy and BP local entropy of every simulation point against the two RS
    lines, and which line is nearer at each d."""
    d = cfg["sim_d"]
    th = theory_at(res, d)
    row = lambda values: "  ".join(f"{x:8.4f}" for x in values)
    lines = [f"alpha_D={cfg['alpha_D']:g}, N/D={cfg['n_over_d']:g} (RS lines N,D->inf; "
             "algorithms mean over solved instances)"]
    for key, title in (("mean", "local energy dE(d)"), ("local_entropy", "local entropy S(d), "
                                                                         "BP around solutions")):
        lines += [f"{title}:", f"  {'d':<22}" + row(d)]
        lines += [f"  {KINDS[k][1][:22]:<22}" + row(th[key][k]) for k in KINDS]
        if key == "local_entropy" and "densest" in res:
            dense = res["densest"]
            lines.append(f"  {'densest refs (y->inf)':<22}" + row(np.interp(
                np.log(d), np.log(dense["d"]), dense["local_entropy"], left=np.nan,
                right=np.nan)))
        for (algo, D, sur), rec in res["sim"].items():
            if not rec["solved"]:
                lines.append(f"  {algo} {sim_name(D, sur)}: no solved instance")
                continue
            mean = np.asarray(rec[key], np.float64)
            near = [("--" if not np.isfinite(m - t - f) else
                     "max-margin" if abs(m - f) < abs(m - t) else "typical")
                    for m, t, f in zip(mean, th[key]["typical"], th[key]["max_margin"])]
            lines.append(f"  {algo + ' ' + sim_name(D, sur):<22}" + row(mean))
            lines.append("      nearer: " + " ".join(near))
    return lines


# --------------------------------------------------------------------------------- plot

def plot(cfg: dict, res: dict, out_dir: Path) -> list[Path]:
    import matplotlib.pyplot as plt

    use_style()
    fig, (ax_s, ax_e) = plt.subplots(1, 2, figsize=(11, 4.6), layout="constrained")
    d = np.geomspace(min(cfg["entropy_d"]), 0.5, 200)
    ax_s.plot(d, hamming_shell_entropy(d), color="0.6", ls=":",
              label=r"bound $-d\ln d-(1-d)\ln(1-d)$")
    for kind, (color, name) in KINDS.items():
        rec = res["entropy"][kind]
        if rec["error"] is None:
            theory_line(ax_s, rec["d"], rec["local_entropy"], color=color,
                        label=f"around {name} (RS)")
        else:
            ax_s.plot([], [], color=color, label=f"around {name}: branch lost")
    theory_line(ax_s, res["densest"]["d"], res["densest"]["local_entropy"], color="C2",
                ls="-.", label=r"around the densest references (large deviations, "
                               r"$y\to\infty$)")
    sim_panel(ax_s, cfg, res, "local_entropy", "local_entropy_sem", "BP around ")
    ax_s.axhline(0, color="k", lw=0.6)
    ax_s.set_xscale("log")
    ax_s.set_xlabel("Hamming distance $d$")
    ax_s.set_ylabel("local entropy $S(d)$ of zero-margin solutions")
    ax_s.set_title("(d1) local entropy: RS theory and BP around found solutions",
                   fontsize=10)
    ax_s.legend(loc="upper left", fontsize=7)

    e = res["energy"]
    for kind, (color, name) in KINDS.items():
        theory_line(ax_e, e["d"], e[kind], color=color, label=f"{name} (RS)")
    sim_panel(ax_e, cfg, res, "mean", "sem", "")
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


def sim_panel(ax, cfg: dict, res: dict, mean: str, sem: str, prefix: str) -> None:
    """The simulation markers of one panel: one series per (algorithm, D, features),
    side by side on the log d axis; filled: exact features at the largest D."""
    n_sim = len(res["sim"])
    largest = max(D for D, _ in cfg["sims"])
    for k, ((algo, D, sur), rec) in enumerate(res["sim"].items()):
        if not rec["solved"]:
            continue
        marker, color, name = ALGO_STYLE[algo]
        shift = 1.04 ** (k - (n_sim - 1) / 2)
        sim_markers(ax, np.asarray(cfg["sim_d"]) * shift, rec[mean], rec[sem],
                    fmt="o" if sur else marker, color=color,
                    markerfacecolor=color if D == largest and not sur else "white",
                    label=f"{prefix}{name}, {sim_name(D, sur)} "
                          f"({rec['solved']}/{rec['instances']} solved)")


def main(argv=None) -> list[Path]:
    return figure_main(sys.modules[__name__], argv, "coarse grids, D = 20 simulations with 4 "
                       "instances (CPU smoke run, a few minutes)",
                       seed_help="key of the simulated instances")


if __name__ == "__main__":
    print_paths(main())
