"""Phase diagram of the overparameterized random-features binary perceptron [P1] and its
entropies at fixed alpha_D (issue 6, figures (a) and (b)); sign features, margin 0.

(a) The (alpha_D, N/D) plane, alpha_D = P/D, N/D = alpha_D/alpha: the RS interpolation line
(N/D)_c(alpha_D), below which no zero-training-error student exists
(``theory.models.random_features.rf_interpolation_threshold``; its replicon is negative, RS is
stable there); the atypical (local-entropy) transition (``theory.local_entropy.rf_franz_parisi.
rf_atypical_threshold``): above it the Franz-Parisi S(d) of zero-margin students around
maximal-margin references is monotone in d (wide flat regions of solutions exist); the same
transition from the y -> infinity large-deviation local entropy (the densest references:
``theory.local_entropy.rf_large_deviation_limit.rf_large_deviation_threshold``, 1-2 min per alpha_D); and,
as coloured markers, the measured probability that SGD / replicated SGD (library
defaults) reach zero training error on exact sign features. The simulations are FINITE
SIZE (D = 50 latents, P = alpha_D D examples, N = (N/D) D weights, 16 instances per point
in the full mode): their success boundary is smeared and shifted with respect to the
N, D -> infinity lines.
(b) At alpha_D = 2, versus N/D: the typical RS entropy s (it vanishes at the
interpolation point) and the Franz-Parisi local entropy S(d) of zero-margin students at a
few distances d around references at the RF maximal margin kappa_max(alpha, alpha_D)
(``rf_franz_parisi_curve``), each over its counting bound (ln 2 for s,
H(d) = -d ln d - (1-d) ln(1-d) for S(d)); below, the smallest slope min_d dS/dd on the d
grid (the criterion of ``rf_atypical_threshold``), which changes sign at the atypical
transition.

    python paper_figures/fig_rf_phase_diagram.py --out figures [--quick]

Results are cached per point (JSON, resumable) under ``<out>/cache``; progress is printed.
The atypical thresholds are computed last, the figure redrawn after each; measured on a
loaded 2-core CPU: 27 min (alpha_D = 2), 19 min (alpha_D = 1), the rest of the full mode
about 25 min (Franz-Parisi curves 3-7 min each, 48 simulation points 5-11 s each), about
75 min in all. ``--quick`` computes no atypical threshold (a coarser Franz-Parisi
quadrature does not converge to the 1e-10 residual): it shows the full mode's cached
points if ``<out>/cache/rf_phase_diagram`` holds them, and says so in the figure otherwise.
"""

import time
from pathlib import Path

import jax.random as jr
import numpy as np

from atypical.observables import hamming_shell_entropy
from atypical import SaddlePointError  # importing atypical turns on float64
from atypical.plotting import figure_parser, save_figure, theory_line, use_style
from atypical.results import ResultsCache
from sim.rf_sweep import rf_algorithm_point
from sim.rsgd import RSGDConfig
from sim.sgd import SGDConfig
from theory.models.random_features import follow_rf, rf_interpolation_threshold
from theory.local_entropy.rf_franz_parisi import rf_atypical_threshold, rf_franz_parisi_max_margin
from theory.local_entropy.rf_large_deviation_limit import rf_large_deviation_threshold
from paper_figures._common import print_paths

FULL = dict(
    name="rf_phase_diagram", sigma="sign",
    line_alpha_D=np.geomspace(0.25, 4.0, 25).tolist(),
    atypical_alpha_D=(2.0, 1.0, 3.0, 0.5), atypical_start=0.82,
    ld_alpha_D=(0.5, 1.0, 2.0, 3.0), ld_tol=1e-3,
    fixed_alpha_D=2.0, fp_n_over_d=(2.0, 2.15, 2.3, 2.6, 3.2),
    fp_d=np.geomspace(1.5e-3, 0.1, 14).tolist(), entropy_n_over_d_max=4.5,
    sim_alpha_D=(0.5, 1.0, 2.0, 3.0), sim_n_over_d=(1.0, 1.5, 2.0, 2.5, 3.0, 4.0),
    D=50, seeds=16, epochs=500, algos=("sgd", "rsgd"))
QUICK = dict(
    name="rf_phase_diagram_quick", sigma="sign",
    line_alpha_D=np.geomspace(0.25, 4.0, 6).tolist(),
    atypical_alpha_D=(), atypical_start=0.82, ld_alpha_D=(2.0,), ld_tol=1e-2,
    fixed_alpha_D=2.0, fp_n_over_d=(2.5, 4.0),
    fp_d=np.geomspace(1.5e-3, 0.06, 6).tolist(), entropy_n_over_d_max=4.5,
    sim_alpha_D=(1.0, 2.0), sim_n_over_d=(1.5, 4.0),
    D=20, seeds=4, epochs=60, algos=("sgd", "rsgd"))
D_SHOWN = (0.003, 0.01, 0.03, 0.1)  # distances drawn in panel (b), nearest grid points


# ------------------------------------------------------------------------ computations

def interpolation_line(alpha_D: list[float], sigma: str) -> dict:
    """RS interpolation point (N/D)_c and its replicon at each alpha_D (one vmapped call)."""
    thr = rf_interpolation_threshold(np.asarray(alpha_D, np.float64), sigma=sigma)
    as_list = lambda x: np.asarray(x).tolist()
    return dict(alpha_D=list(alpha_D), alpha_c=as_list(thr.alpha),
                n_over_d=as_list(thr.n_over_d), replicon=as_list(thr.replicon))


def atypical_point(alpha_D: float, sigma: str, start: float) -> dict:
    """``rf_atypical_threshold`` (bracket checked by the function: S(d) must be monotone
    at ``start`` alpha_c and not at the upper end), with its wall time."""
    t0 = time.perf_counter()
    thr = rf_atypical_threshold(alpha_D, sigma=sigma, start=start, progress=True)
    return dict(alpha=thr.alpha, n_over_d=thr.n_over_d, d=thr.d, kappa_ref=thr.kappa_ref,
                alpha_lo=thr.alpha_lo, alpha_hi=thr.alpha_hi,
                seconds=time.perf_counter() - t0)


def typical_entropy(alpha_D: float, sigma: str, n_over_d_max: float) -> dict:
    """Typical RS entropy along N/D from n_over_d_max down to the interpolation point."""
    thr = rf_interpolation_threshold(alpha_D, sigma=sigma)
    alpha = np.geomspace(alpha_D / n_over_d_max, float(thr.alpha), 60)
    sol = follow_rf(alpha, alpha_D, sigma=sigma)
    ok = np.asarray(sol.converged)
    return dict(n_over_d=(alpha_D / alpha[ok]).tolist(),
                entropy=np.asarray(sol.free_entropy)[ok].tolist(),
                n_over_d_c=float(thr.n_over_d))


def fp_point(alpha_D: float, n_over_d: float, d: list[float], sigma: str) -> dict:
    """Franz-Parisi S(d) of zero-margin students around references at the RF maximal
    margin (``rf_franz_parisi_max_margin``); a lost branch is recorded, not raised."""
    t0 = time.perf_counter()
    try:
        c = rf_franz_parisi_max_margin(alpha_D / n_over_d, alpha_D, d, sigma=sigma)
    except (ValueError, SaddlePointError) as err:
        return dict(error=str(err).splitlines()[0], seconds=time.perf_counter() - t0)
    return dict(d=list(d), local_entropy=np.asarray(c.local_entropy).tolist(),
                slope=np.asarray(c.slope).tolist(),
                kappa_ref=float(np.ravel(c.problem.kappa_ref)[0]),  # one value per curve
                reference_entropy=float(c.reference_entropy), error=None,
                seconds=time.perf_counter() - t0)


def sim_point(cfg: dict, algo: str, alpha_D: float, ratio: float, seed: int) -> dict:
    """Solved flags of ``algo`` on ``cfg['seeds']`` exact-sign-feature instances."""
    D = cfg["D"]
    P, N = round(alpha_D * D), round(ratio * D)
    sgd = SGDConfig(epochs=cfg["epochs"])
    config = sgd if algo == "sgd" else RSGDConfig(sgd=sgd)
    point = rf_algorithm_point(jr.key(seed), algo, N, P, D, cfg["seeds"], sigma=cfg["sigma"],
                               config=config, P_test=500)
    return dict(N=N, P=P, D=D, solved=np.asarray(point.runs.solved).tolist(),
                test_error=np.asarray(point.runs.test_error, np.float64).tolist(),
                seconds=point.seconds)


def cached_atypical(out_dir: Path, alpha_D: float, sigma: str) -> dict | None:
    """A full-mode atypical record for alpha_D from ``<out>/cache/rf_phase_diagram``
    (read only; --quick never computes one)."""
    directory = out_dir / "cache" / FULL["name"]
    if not directory.is_dir():
        return None
    for rec in ResultsCache(directory).records("atypical"):
        if rec["params"].get("alpha_D") == alpha_D and rec["params"].get("sigma") == sigma:
            return rec["result"]
    return None


def print_atypical(alpha_D: float, rec: dict) -> None:
    print(f"atypical transition alpha_D={alpha_D:g}: N/D={rec['n_over_d']:.4f} "
          f"(alpha={rec['alpha']:.5f}, dip at d={rec['d']:.4f}; "
          f"{rec['seconds'] / 60:.1f} min)", flush=True)


def ld_point(alpha_D: float, sigma: str, tol: float) -> dict:
    """The y -> infinity large-deviation transition at alpha_D (bisection to tol)."""
    t0 = time.perf_counter()
    r = rf_large_deviation_threshold(alpha_D, tol=tol, sigma=sigma)
    return dict(alpha=r.alpha, alpha_monotone=r.alpha_monotone, alpha_broken=r.alpha_broken,
                n_over_d=r.n_over_d, seconds=time.perf_counter() - t0)


def compute_atypical(cfg: dict, out_dir: Path, alpha_D: float) -> dict:
    """The atypical transition at alpha_D (full mode only; cached; tens of minutes)."""
    print(f"atypical transition at alpha_D = {alpha_D:g} (tens of minutes) ...", flush=True)
    cache = ResultsCache(out_dir / "cache" / cfg["name"])
    params = dict(alpha_D=alpha_D, sigma=cfg["sigma"], kappa=0.0, start=cfg["atypical_start"])
    rec = cache.get_or_compute("atypical", params, lambda: atypical_point(
        alpha_D, cfg["sigma"], cfg["atypical_start"]))
    print_atypical(alpha_D, rec)
    return rec


def compute(cfg: dict, out_dir: Path, seed: int) -> dict:
    """Everything but the missing atypical points (see ``compute_atypical``)."""
    cache = ResultsCache(out_dir / "cache" / cfg["name"])
    sigma = cfg["sigma"]
    res = {"line": cache.get_or_compute(
        "interpolation", dict(alpha_D=cfg["line_alpha_D"], sigma=sigma),
        lambda: interpolation_line(cfg["line_alpha_D"], sigma))}
    print("interpolation line: " + ", ".join(
        f"alpha_D={a:.3g}: N/D={r:.4f}" for a, r in
        zip(res["line"]["alpha_D"], res["line"]["n_over_d"])), flush=True)

    # atypical points already computed (full-mode cache); the missing ones are computed
    # last by ``compute_atypical``, after a first figure
    res["atypical"] = {}
    for alpha_D in FULL["atypical_alpha_D"]:
        rec = cached_atypical(out_dir, alpha_D, sigma)
        if rec is not None:
            res["atypical"][alpha_D] = rec
            print_atypical(alpha_D, rec)

    res["ld"] = {}
    for alpha_D in cfg["ld_alpha_D"]:
        rec = cache.get_or_compute(
            "ld_threshold", dict(alpha_D=alpha_D, sigma=sigma, tol=cfg["ld_tol"]),
            lambda: ld_point(alpha_D, sigma, cfg["ld_tol"]))
        res["ld"][alpha_D] = rec
        print(f"large-deviation (y -> inf) transition alpha_D={alpha_D:g}: "
              f"N/D={rec['n_over_d']:.4f} (alpha in [{rec['alpha_monotone']:.4f}, "
              f"{rec['alpha_broken']:.4f}]; {rec['seconds']:.0f} s)", flush=True)

    aD = cfg["fixed_alpha_D"]
    res["entropy"] = cache.get_or_compute(
        "typical_entropy", dict(alpha_D=aD, sigma=sigma, n_over_d_max=cfg["entropy_n_over_d_max"]),
        lambda: typical_entropy(aD, sigma, cfg["entropy_n_over_d_max"]))
    res["fp"] = {}
    for ratio in cfg["fp_n_over_d"]:
        rec = cache.get_or_compute(
            "fp_curve", dict(alpha_D=aD, n_over_d=ratio, d=cfg["fp_d"], sigma=sigma),
            lambda: fp_point(aD, ratio, cfg["fp_d"], sigma))
        res["fp"][ratio] = rec
        what = (f"min dS/dd = {min(rec['slope']):+.4f}" if rec["error"] is None
                else f"lost: {rec['error'][:80]}")
        print(f"Franz-Parisi alpha_D={aD:g} N/D={ratio:g}: kappa_ref={rec['kappa_ref']:.4f}, "
              f"{what} ({rec['seconds']:.0f} s)", flush=True)

    res["sim"] = {}
    for algo in cfg["algos"]:
        for alpha_D in cfg["sim_alpha_D"]:
            for ratio in cfg["sim_n_over_d"]:
                params = dict(algo=algo, alpha_D=alpha_D, n_over_d=ratio, D=cfg["D"],
                              seeds=cfg["seeds"], epochs=cfg["epochs"], sigma=sigma,
                              seed=seed)
                rec = cache.get_or_compute(
                    "sim", params, lambda: sim_point(cfg, algo, alpha_D, ratio, seed))
                res["sim"][(algo, alpha_D, ratio)] = rec
                print(f"{algo:>4} alpha_D={alpha_D:<4g} N/D={ratio:<4g} (N={rec['N']}, "
                      f"P={rec['P']}, D={rec['D']}): solved "
                      f"{sum(rec['solved'])}/{len(rec['solved'])} ({rec['seconds']:.1f} s)",
                      flush=True)
    return res


# ------------------------------------------------------------------------------- plot

def success_probability(res: dict, algo: str, alpha_D: float, ratio: float) -> float:
    """Fraction of instances solved (zero training error)."""
    solved = res["sim"][(algo, alpha_D, ratio)]["solved"]
    return float(np.mean(solved))


def min_slope(rec: dict) -> float:
    """Smallest dS/dd over the d grid (nan if the branch was lost)."""
    return float(np.min(rec["slope"])) if rec["error"] is None else float("nan")


def plot(cfg: dict, res: dict, out_dir: Path) -> list[Path]:
    import matplotlib.pyplot as plt
    from matplotlib.colors import Normalize

    use_style()
    fig = plt.figure(figsize=(14, 4.6), layout="constrained")
    sub = fig.subfigures(1, 2, width_ratios=(2, 1.15))
    ax_sgd, ax_rsgd = sub[0].subplots(1, 2, sharey=True)
    ax_s, ax_m = sub[1].subplots(2, 1, sharex=True, height_ratios=(2, 1))
    line = res["line"]
    aD_line, nd_line = np.asarray(line["alpha_D"]), np.asarray(line["n_over_d"])
    atyp = sorted(res["atypical"].items())
    cmap, norm = plt.get_cmap("viridis"), Normalize(0, 1)
    names = {"sgd": "SGD", "rsgd": "replicated SGD"}
    for ax, algo in ((ax_sgd, "sgd"), (ax_rsgd, "rsgd")):
        theory_line(ax, aD_line, nd_line, color="k",
                    label=r"interpolation $(N/D)_c$ (RS entropy = 0)")
        ax.fill_between(aD_line, 0, nd_line, color="0.85", lw=0,
                        label="no zero-training-error students (RS)")
        if res["ld"]:
            ld = sorted(res["ld"].items())
            ax.plot([k for k, _ in ld], [v["n_over_d"] for _, v in ld], "s-", color="C1",
                    ms=6, mec="w", lw=1, zorder=4,
                    label=r"atypical transition (large deviations, $y\to\infty$)")
        if atyp:
            a, r = np.array([k for k, _ in atyp]), np.array([v["n_over_d"] for _, v in atyp])
            ax.plot(a, r, "D", color="C3", ms=8, mec="w", zorder=5,
                    label="atypical transition (RS Franz-Parisi: wide flat regions above)")
            for ai, ri in zip(a, r):
                gap = ri - np.interp(ai, aD_line, nd_line)
                ax.annotate(f"{ri:.3f} (gap +{gap:.3f})", (ai, ri), xytext=(7, -3),
                            textcoords="offset points", fontsize=7.5, color="C3", zorder=6,
                            bbox=dict(fc="w", ec="none", alpha=0.8, pad=0.5))
        missing = [a for a in FULL["atypical_alpha_D"] if a not in res["atypical"]]
        if missing:
            why = ("not computed by --quick (no full-mode cache in --out)"
                   if not cfg["atypical_alpha_D"] else "still to compute (rerun resumes)")
            ax.text(0.98, 0.03, "atypical point at $\\alpha_D$ = "
                    + ", ".join(f"{a:g}" for a in missing) + "\n" + why,
                    transform=ax.transAxes, ha="right", fontsize=7.5, color="C3")
        pts = [(a, r, success_probability(res, algo, a, r))
               for a in cfg["sim_alpha_D"] for r in cfg["sim_n_over_d"]]
        a, r, p = (np.array(x) for x in zip(*pts))
        sc = ax.scatter(a, r, c=p, cmap=cmap, norm=norm, s=55, edgecolors="k",
                        linewidths=0.6, zorder=3)
        ax.set_title(f"{names[algo]}: P(zero training error), D = {cfg['D']}, "
                     f"{cfg['seeds']} inst.", fontsize=9.5)
        ax.set_xlabel(r"$\alpha_D = P/D$ (examples per latent dimension)")
        ax.set_xlim(0, max(aD_line) * 1.03)
        ax.set_ylim(0, max(max(nd_line), max(cfg["sim_n_over_d"])) * 1.06)
    ax_sgd.set_ylabel(r"overparameterization $N/D = \alpha_D/\alpha$")
    sub[0].legend(*ax_sgd.get_legend_handles_labels(), loc="outside lower center", ncol=3,
                  fontsize=8)
    sub[0].colorbar(sc, ax=[ax_sgd, ax_rsgd], label="success probability (finite size)",
                    shrink=0.9)
    sub[0].suptitle(rf"(a) phase diagram, $\sigma$ = {cfg['sigma']} features: RS lines "
                    r"($N, D\to\infty$) and SGD / replicated SGD at finite $D$", fontsize=10)

    # (b) entropies at fixed alpha_D
    aD = cfg["fixed_alpha_D"]
    ent = res["entropy"]
    # each entropy over its counting bound: ln 2 for s, H(d) = -d ln d - (1-d) ln(1-d)
    # for S(d) (the log-fraction of the configurations at distance d that are solutions)
    theory_line(ax_s, ent["n_over_d"], np.asarray(ent["entropy"]) / np.log(2), color="k",
                label=r"typical RS entropy $s/\ln 2$")
    ok = {r: v for r, v in res["fp"].items() if v["error"] is None}
    ratios = np.array(sorted(ok))
    d_grid = np.asarray(cfg["fp_d"])
    shown = sorted({int(np.argmin(np.abs(np.log(d_grid / d)))) for d in D_SHOWN})
    for j, i in enumerate(shown):
        d = d_grid[i]
        bound = float(hamming_shell_entropy(d))
        S = np.array([ok[r]["local_entropy"][i] for r in ratios]) / bound
        ax_s.plot(ratios, S, "o-", ms=3.5, color=plt.get_cmap("plasma")(0.15 + 0.7 * j / max(
            len(shown) - 1, 1)), label=rf"FP $S(d)/H(d)$, $d$ = {d:.3g}")
    ax_m.plot(ratios, [min_slope(ok[r]) for r in ratios], "o-", ms=3.5, color="C3")
    ax_m.axhline(0, color="k", lw=0.8)
    ax_m.set_yscale("symlog", linthresh=1.0)  # the slope is -7 next to the interpolation
    ax_m.set_yticks([-5, -1, 0, 1], ["-5", "-1", "0", "1"])
    ax_m.set_xlim(ent["n_over_d_c"] - 0.1, max(cfg["fp_n_over_d"]) + 0.3)
    for ax in (ax_s, ax_m):
        ax.axvline(ent["n_over_d_c"], color="k", ls=":", lw=1)
        if aD in res["atypical"]:
            ax.axvline(res["atypical"][aD]["n_over_d"], color="C3", ls="--", lw=1)
    ax_s.text(ent["n_over_d_c"], 1.0, " interpolation", transform=ax_s.get_xaxis_transform(),
              fontsize=7.5, va="top")
    if aD in res["atypical"]:
        ax_s.text(res["atypical"][aD]["n_over_d"], 0.9, " atypical",
                  transform=ax_s.get_xaxis_transform(), fontsize=7.5, va="top", color="C3")
    ax_s.axhline(0, color="k", lw=0.5)
    ax_s.set_ylabel("entropy / counting bound")
    ax_s.legend(fontsize=7, loc="lower right")
    ax_m.set_ylabel(r"$\mathrm{min}_d\; dS/dd$" + "\n(< 0: dip in $S(d)$)")
    ax_m.set_xlabel(r"overparameterization $N/D$")
    lost = sorted(set(res["fp"]) - set(ok))
    if lost:
        ax_m.text(0.98, 0.05, "FP branch lost at N/D = " + ", ".join(f"{r:g}" for r in lost),
                  transform=ax_m.transAxes, ha="right", fontsize=7)
    sub[1].suptitle(rf"(b) $\alpha_D$ = {aD:g}: typical and local (Franz-Parisi) entropy",
                    fontsize=10)
    return save_figure(fig, out_dir, "fig_rf_phase_diagram")


def summary(cfg: dict, res: dict) -> list[str]:
    line = res["line"]
    lines = []
    for aD, rec in sorted(res["ld"].items()):
        nd_c = float(np.interp(aD, line["alpha_D"], line["n_over_d"]))
        lines.append(f"alpha_D={aD:g}: interpolation N/D={nd_c:.4f}, large-deviation "
                     f"(y -> inf) atypical N/D={rec['n_over_d']:.4f}, gap "
                     f"{rec['n_over_d'] - nd_c:+.4f}")
    for aD, rec in sorted(res["atypical"].items()):
        nd_c = float(np.interp(aD, line["alpha_D"], line["n_over_d"]))
        lines.append(f"alpha_D={aD:g}: interpolation N/D={nd_c:.4f}, atypical "
                     f"N/D={rec['n_over_d']:.4f}, gap {rec['n_over_d'] - nd_c:+.4f}")
    for algo in cfg["algos"]:
        for aD in cfg["sim_alpha_D"]:
            ps = " ".join(f"{r:g}:{success_probability(res, algo, aD, r):.2f}"
                          for r in cfg["sim_n_over_d"])
            lines.append(f"{algo} alpha_D={aD:g} P(solved) by N/D: {ps}")
    return lines


def main(argv=None) -> list[Path]:
    args = figure_parser(__doc__, "coarse grids, D = 20, 4 seeds, 2 Franz-Parisi curves, no "
                         "atypical thresholds (CPU smoke run, a few minutes)",
                         seed_help="key of the simulated instances").parse_args(argv)
    cfg = QUICK if args.quick else FULL
    res = compute(cfg, args.out, args.seed)
    for line in summary(cfg, res):
        print(line)
    paths = plot(cfg, res, args.out)
    # the expensive points last, the figure redrawn after each: an interrupted run leaves
    # a figure that names what is missing, and a rerun resumes
    for alpha_D in cfg["atypical_alpha_D"]:
        if alpha_D not in res["atypical"]:
            res["atypical"][alpha_D] = compute_atypical(cfg, args.out, alpha_D)
            n_ld = len(res["ld"])
            for line in summary(cfg, res)[n_ld:n_ld + len(res["atypical"])]:
                print(line)
            paths = plot(cfg, res, args.out)
    return paths


if __name__ == "__main__":
    print_paths(main())
