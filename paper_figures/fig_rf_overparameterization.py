"""Algorithms on the overparameterized random-features model [P1] versus N/D at fixed
alpha_D = P/D (fixed P and D, N growing): (a) success probability (zero training error) of
SGD and replicated SGD, with the RS interpolation point (N/D)_c marked; (b) test error of
the solutions they find (markers, exact sign features and the Gaussian-equivalent
surrogate) against the typical (Gibbs) RS generalization error (line), which exists only
above (N/D)_c; simulated annealing walking among solutions (typical ones) on the surrogate
is the check of that line; (c) local energy dE(d) of those solutions at one d.

    python paper_figures/fig_rf_overparameterization.py --out figures [--quick]

Results are cached per point (JSON, resumable); progress is printed. The full mode
(D = 200, 32 seeds, 500 epochs, N up to 3200) is sized for a GPU; --quick runs in minutes
on a CPU.
"""

import sys
from pathlib import Path

import jax.random as jr
import numpy as np

from atypical import RandomFeatures
from atypical.plotting import save_figure, sim_markers, theory_line, use_style
from paper_figures._common import figure_main, print_paths
from atypical.results import ResultsCache
from sim.anneal import AnnealConfig
from sim.rf_sweep import rf_algorithm_point
from sim.rsgd import RSGDConfig
from sim.sgd import SGDConfig
from theory.models.random_features import follow_rf, gen_error_rf, rf_interpolation_threshold

FULL = dict(alpha_D=2.0, D=200, seeds=32, epochs=500, sa_sweeps=2000, sa_walk=500,
            P_test=5000, sigma="sign",
            n_over_d=(1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0),
            runs=(("sgd", "exact"), ("rsgd", "exact"), ("sgd", "gaussian"),
                  ("rsgd", "gaussian"), ("sa", "gaussian")))
QUICK = dict(alpha_D=2.0, D=25, seeds=4, epochs=60, sa_sweeps=150, sa_walk=50, P_test=1000,
             sigma="sign", n_over_d=(1.5, 6.0),
             runs=(("sgd", "exact"), ("rsgd", "exact"), ("sa", "gaussian")))
D_SHOWN = 0.01  # flipped fraction of panel (c)
LOCAL_ENERGY_D = (0.005, 0.01, 0.02, 0.05)


def gibbs_theory(alpha_D: float, sigma: str, n_over_d_max: float) -> dict:
    """Typical RS entropy and Gibbs error along N/D (alpha = alpha_D/(N/D)) up to the
    interpolation point, by continuation from the most overparameterized end."""
    thr = rf_interpolation_threshold(alpha_D, sigma=sigma)
    alpha_c = float(thr.alpha)
    alpha = np.geomspace(alpha_D / n_over_d_max, alpha_c, 80)
    sol = follow_rf(alpha, alpha_D, sigma=sigma)
    eps = gen_error_rf(sol.order_params, RandomFeatures(alpha, alpha_D, sigma=sigma))
    ok = np.asarray(sol.converged)
    eps_c = gen_error_rf(thr.order_params, RandomFeatures(alpha_c, alpha_D, sigma=sigma))
    return dict(n_over_d=(alpha_D / alpha[ok]).tolist(),
                gen_error=np.asarray(eps)[ok].tolist(),
                entropy=np.asarray(sol.free_entropy)[ok].tolist(),
                n_over_d_c=float(thr.n_over_d), alpha_c=alpha_c, gen_error_c=float(eps_c))


def config_for(algo: str, cfg: dict):
    if algo == "sa":  # anneal to a solution, then walk among solutions (typical ones)
        return AnnealConfig(sweeps=cfg["sa_sweeps"], sweeps_at_solution=cfg["sa_walk"])
    sgd = SGDConfig(epochs=cfg["epochs"])
    return sgd if algo == "sgd" else RSGDConfig(sgd=sgd)


def algorithm_point(cfg: dict, algo: str, features: str, ratio: float, seed: int) -> dict:
    D = cfg["D"]
    P, N = round(cfg["alpha_D"] * D), round(ratio * D)
    point = rf_algorithm_point(jr.key(seed), algo, N, P, D, cfg["seeds"], sigma=cfg["sigma"],
                               surrogate=features == "gaussian",
                               config=config_for(algo, cfg), P_test=cfg["P_test"],
                               d=LOCAL_ENERGY_D)
    r = point.runs
    return dict(N=N, P=P, D=D, n_over_d=point.n_over_d, seconds=point.seconds,
                solved=np.asarray(r.solved).tolist(),
                test_error=np.asarray(r.test_error, np.float64).tolist(),
                get_error=np.asarray(r.get_error, np.float64).tolist(),
                train_error=np.asarray(r.train_error, np.float64).tolist(),
                d=list(LOCAL_ENERGY_D),
                local_energy=np.asarray(r.local_energy, np.float64).tolist())


def compute(cfg: dict, cache: ResultsCache, seed: int) -> dict:
    base = {k: cfg[k] for k in ("alpha_D", "D", "seeds", "P_test", "sigma")}
    res = {"theory": cache.get_or_compute(
        "theory", dict(alpha_D=cfg["alpha_D"], sigma=cfg["sigma"],
                       n_over_d_max=max(cfg["n_over_d"])),
        lambda: gibbs_theory(cfg["alpha_D"], cfg["sigma"], max(cfg["n_over_d"])))}
    print(f"theory: interpolation point N/D = {res['theory']['n_over_d_c']:.3f} "
          f"(alpha_c = {res['theory']['alpha_c']:.4f})", flush=True)
    for algo, features in cfg["runs"]:
        for ratio in cfg["n_over_d"]:
            budget = ({"sweeps": cfg["sa_sweeps"], "walk": cfg["sa_walk"]} if algo == "sa"
                      else {"epochs": cfg["epochs"]})
            params = dict(base, **budget, algo=algo, features=features, n_over_d=ratio,
                          seed=seed)
            rec = cache.get_or_compute(
                "point", params, lambda: algorithm_point(cfg, algo, features, ratio, seed))
            res[(algo, features, ratio)] = rec
            print(f"{algo:>4} {features:>8} N/D={ratio:<5g} N={rec['N']:<5d} solved "
                  f"{np.mean(rec['solved']):.2f}, test error {solved_mean(rec)[0]:.3f} "
                  f"({rec['seconds']:.1f} s)", flush=True)
    return res


def solved_mean(rec: dict, key: str = "test_error") -> tuple[float, float]:
    """Mean and standard error of ``key`` over the solved seeds (nan if fewer than 2)."""
    x = np.asarray(rec[key], np.float64)[np.asarray(rec["solved"], bool)]
    if x.ndim > 1:
        x = x[:, rec["d"].index(D_SHOWN)]
    if x.size < 2:
        return float("nan"), float("nan")
    return float(x.mean()), float(x.std(ddof=1) / np.sqrt(x.size))


def summary(cfg: dict, res: dict) -> list[str]:
    """One line per point: success, test error of solutions and the Gibbs theory there."""
    th = res["theory"]
    lines = []
    for algo, features in cfg["runs"]:
        for ratio in cfg["n_over_d"]:
            rec = res[(algo, features, ratio)]
            gibbs = (np.interp(ratio, th["n_over_d"][::-1], th["gen_error"][::-1])
                     if ratio >= th["n_over_d_c"] else float("nan"))
            m, s = solved_mean(rec)
            lines.append(f"{algo} {features} N/D={ratio:g}: p={np.mean(rec['solved']):.2f} "
                         f"test={m:.3f}+-{s:.3f} gibbs={gibbs:.3f} "
                         f"get={solved_mean(rec, 'get_error')[0]:.3f}")
    return lines


def plot(cfg: dict, res: dict, out_dir: Path) -> list[Path]:
    import matplotlib.pyplot as plt

    use_style()
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), sharex=True, layout="constrained")
    colors = {"sgd": "C0", "rsgd": "C3", "sa": "C2"}
    names = {"sgd": "SGD", "rsgd": "replicated SGD", "sa": "annealing (typical)"}
    th = res["theory"]
    ratios = np.asarray(cfg["n_over_d"], np.float64)
    for i, (algo, features) in enumerate(cfg["runs"]):
        recs = [res[(algo, features, r)] for r in cfg["n_over_d"]]
        x = ratios * 1.025 ** (i - (len(cfg["runs"]) - 1) / 2)  # side by side, not on top
        label = f"{names[algo]}" + (", Gaussian-equivalent" if features == "gaussian" else "")
        style = dict(color=colors[algo], fmt="o" if features == "exact" else "s",
                     label=label)
        p = np.array([np.mean(r["solved"]) for r in recs])
        n = np.array([len(r["solved"]) for r in recs])
        sim_markers(axes[0], x, p, np.sqrt(p * (1 - p) / n), **style)
        for ax, key in ((axes[1], "test_error"), (axes[2], "local_energy")):
            ms = np.array([solved_mean(r, key) for r in recs])
            sim_markers(ax, x, ms[:, 0], ms[:, 1], **style)
    theory_line(axes[1], th["n_over_d"], th["gen_error"], color="k",
                label="typical (Gibbs) RS")
    for ax in axes:
        ax.axvline(th["n_over_d_c"], color="k", ls=":", lw=1)
        ax.set_xscale("log")
        ax.set_xticks(ratios, [f"{r:g}" for r in ratios])
        ax.minorticks_off()
        ax.margins(x=0.08)
        ax.set_xlabel(r"$N/D = \alpha_D/\alpha$")
    axes[0].text(th["n_over_d_c"], 1.04, r"$(N/D)_c$", ha="center")
    axes[0].set(ylabel="success probability (zero training error)", ylim=(-0.03, 1.1))
    axes[1].set(ylabel=r"test error $\epsilon_g$ of solutions", ylim=(0, 0.5))
    axes[2].set(ylabel=rf"local energy $\delta E(d={D_SHOWN})$")
    # one legend for all panels, below them (the panels' corners all hold data)
    fig.legend(*axes[1].get_legend_handles_labels(), loc="outside lower center", ncol=3)
    fig.suptitle(rf"random features, $\sigma$ = {cfg['sigma']}, $\alpha_D = P/D$ = "
                 f"{cfg['alpha_D']:g}, D = {cfg['D']}, P = {round(cfg['alpha_D'] * cfg['D'])},"
                 f" {cfg['seeds']} instances per point", fontsize=10)
    return save_figure(fig, out_dir, "fig_rf_overparameterization")


def main(argv=None) -> list[Path]:
    def cached(cfg, args):
        name = "rf_overparameterization_quick" if args.quick else "rf_overparameterization"
        return compute(cfg, ResultsCache(args.out / "cache" / name), args.seed)

    return figure_main(sys.modules[__name__], argv, "D = 25, 4 seeds, 2 points, 60 epochs "
                       "(CPU smoke run, about 2 min)",
                       seed_help="key of the simulated instances", compute=cached)


if __name__ == "__main__":
    print_paths(main())
