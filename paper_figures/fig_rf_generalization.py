"""Random features of a hidden perceptron teacher [P1], overparameterized: how well do the
solutions that algorithms find generalize? (issue 6, figure (c); sign features, margin 0.)

Generalization error versus overparameterization N/D at fixed alpha_D = P/D = 2 (fixed P and
D, N growing; alpha = P/N = alpha_D/(N/D)). Lines are RS theory (N, D -> infinity, float64):

- typical solutions (uniform over the zero-training-error students, Gibbs error;
  ``theory.models.random_features.follow_rf`` then ``gen_error_rf``), drawn only above the RS
  interpolation point (N/D)_c (``rf_interpolation_threshold``), below which no
  zero-training-error student exists;
- maximal-margin solutions: the RS saddle at kappa_max(alpha, alpha_D) (``rf_kappa_max``),
  whose error is ``gen_error_rf`` there; kappa_max = 0 at (N/D)_c, where it meets the
  typical line;
- densest regions: zero-margin students at Hamming fraction d around the references of
  largest local entropy (y -> infinity large deviations,
  ``theory.local_entropy.rf_large_deviation_limit.rf_large_deviation_limit_curve``; nan where the branch
  is not reached);
- atypical solutions: zero-margin students at Hamming fraction d around maximal-margin
  references (RS Franz-Parisi, ``rf_franz_parisi_max_margin``: reference margin kappa_max
  or 1e-6 below it when the reference entropy rounds negative), i.e. the
  wide flat (dense) regions of solutions; they exist above the atypical transition (N/D =
  2.2085 at alpha_D = 2, panel (b) of ``fig_rf_phase_diagram.py``), where S(d) > 0 rises
  monotonically with d.

- the vote of the typical solutions, the sign of the average of sign(W . x) over all
  zero-training-error students: the Bayes prediction of the student model (uniform
  prior over binary W), ``theory.models.random_features.vote_gen_error_rf``;
- Bayes-optimal: the posterior-mean predictor of a learner that sees the latents c and
  knows the teacher's Gaussian prior (``theory.models.bayes_optimal.bayes_optimal_error`` at
  alpha_D). The features are a function of c, so this is a lower bound for every student,
  flat in N/D; no Bayes-optimal theory of learners restricted to the features is in the
  library.

Markers: test error (500 fresh examples) of the zero-training-error solutions that SGD and
replicated SGD (library defaults) find on exact sign features, mean +- sem over the solved
instances of the simulation points of ``fig_rf_phase_diagram.py`` (D = 50 latents, P = 100,
16 instances, 500 epochs): they are read from, and missing ones computed into, that
script's own cache ``<out>/cache/rf_phase_diagram`` (``--quick``: ``rf_phase_diagram_quick``,
D = 20), so both figures share the runs. They are FINITE SIZE and the lines are not.

The question the figure answers, printed at the end point by point: do the solutions the
algorithms find generalize like the atypical (dense-region) ones or like the typical ones?

    python paper_figures/fig_rf_generalization.py --out figures [--quick]

Theory results are cached per point (JSON, resumable) under ``<out>/cache/rf_generalization``;
progress is printed. Measured on a loaded 2-core CPU: the full mode 11 min (6 Franz-Parisi
curves of 1.5-2.5 min, the lines under a minute, simulation points 5-11 s each where the
phase diagram has not run them), ``--quick`` (one Franz-Parisi curve, D = 20 simulations)
4 min; a rerun reads everything from the caches (seconds).
"""

import time
import sys
from pathlib import Path

import jax
import numpy as np
from tqdm import tqdm

import sim
from atypical import RandomFeatures, SaddlePointError  # importing atypical turns on float64
from atypical.plotting import save_figure, sim_markers, theory_line, use_style
from paper_figures._common import figure_main, print_paths
from atypical.results import ResultsCache
from paper_figures import fig_rf_phase_diagram as phase
from theory.models.bayes_optimal import bayes_optimal_error
from theory.models.random_features import (follow_rf, gen_error_rf, rf_interpolation_threshold,
                                    rf_kappa_max, vote_gen_error_rf)
from theory.local_entropy.rf_franz_parisi import rf_franz_parisi_max_margin
from theory.local_entropy.rf_large_deviation_limit import rf_large_deviation_limit_curve

FULL = dict(name="rf_generalization", sigma="sign", alpha_D=2.0, n_over_d_max=4.8, n_line=50,
            fp_n_over_d=(2.3, 2.5, 3.0, 3.5, 4.0, 4.5), fp_d=(0.005, 0.02),
            sim_cache=phase.FULL["name"], sim_n_over_d=(2.0, 2.5, 3.0, 3.5, 4.0, 4.5),
            D=phase.FULL["D"], seeds=phase.FULL["seeds"], epochs=phase.FULL["epochs"],
            algos=("sgd", "rsgd"))
QUICK = dict(name="rf_generalization_quick", sigma="sign", alpha_D=2.0, n_over_d_max=4.8,
             n_line=12, fp_n_over_d=(4.0,), fp_d=(0.005, 0.02),
             sim_cache=phase.QUICK["name"], sim_n_over_d=(2.5, 4.0),
             D=phase.QUICK["D"], seeds=phase.QUICK["seeds"], epochs=phase.QUICK["epochs"],
             algos=("sgd", "rsgd"))
ALGO_STYLE = {"sgd": ("s", "C3", "SGD"), "rsgd": ("D", "C4", "replicated SGD")}


# ------------------------------------------------------------------------ computations

def table_n_over_d(cfg: dict) -> list[float]:
    """The N/D values of the printed table: Franz-Parisi and simulation points."""
    return sorted({float(r) for r in (*cfg["fp_n_over_d"], *cfg["sim_n_over_d"])})


def typical_and_max_margin(alpha_D: float, sigma: str, n_over_d_max: float, n_line: int,
                           table: list[float]) -> dict:
    """Typical (Gibbs, and vote) and maximal-margin RS generalization errors on one N/D grid from
    n_over_d_max down to the interpolation point (N/D)_c, the table points included (so
    they are exact, not interpolated). Typical: one continuation (``follow_rf``); maximal
    margin: one vmapped ``rf_kappa_max``. Unconverged points are dropped and counted."""
    thr = rf_interpolation_threshold(alpha_D, sigma=sigma)
    nd_c = float(thr.n_over_d)
    grid = np.linspace(nd_c, n_over_d_max, n_line)
    n_over_d = np.unique(np.concatenate([grid, [r for r in table if nd_c < r]]))[::-1]
    alpha = alpha_D / n_over_d
    alpha[-1] = float(thr.alpha)  # the path ends exactly at the interpolation point

    typ = follow_rf(alpha, alpha_D, sigma=sigma)
    typ_ok = np.asarray(typ.converged)
    typ_err = np.asarray(jax.vmap(gen_error_rf)(typ.order_params, typ.problem))
    typ_vote = np.asarray(jax.vmap(vote_gen_error_rf)(typ.order_params, typ.problem))

    top = jax.vmap(lambda a: rf_kappa_max(a, alpha_D, sigma=sigma))(alpha)  # unchecked
    top_ok = np.asarray(top.converged)
    at_top = RandomFeatures(alpha, np.full_like(alpha, alpha_D), top.kappa, sigma=sigma)
    top_err = np.asarray(jax.vmap(gen_error_rf)(top.order_params, at_top))
    as_list = lambda x, ok: np.asarray(x)[ok].tolist()
    return dict(n_over_d_c=nd_c, alpha_c=float(thr.alpha),
                typical=dict(n_over_d=as_list(n_over_d, typ_ok), gen_error=as_list(
                    typ_err, typ_ok), vote_error=as_list(typ_vote, typ_ok),
                    lost=n_over_d[~typ_ok].tolist()),
                bayes_optimal=float(bayes_optimal_error(alpha_D)),
                max_margin=dict(n_over_d=as_list(n_over_d, top_ok),
                                kappa_max=as_list(top.kappa, top_ok),
                                gen_error=as_list(top_err, top_ok),
                                lost=n_over_d[~top_ok].tolist()))


def atypical_point(alpha_D: float, n_over_d: float, d: list[float], sigma: str) -> dict:
    """Generalization error and local entropy S(d) of zero-margin students at distances d
    around references at the RF maximal margin (``rf_franz_parisi_max_margin``); a lost
    branch is recorded, not raised."""
    t0 = time.perf_counter()
    try:
        c = rf_franz_parisi_max_margin(alpha_D / n_over_d, alpha_D, d, sigma=sigma)
    except (ValueError, SaddlePointError) as err:
        return dict(d=list(d), error=str(err).splitlines()[0], seconds=time.perf_counter() - t0)
    return dict(d=list(d), gen_error=np.asarray(c.gen_error).tolist(),
                local_entropy=np.asarray(c.local_entropy).tolist(),
                kappa_ref=float(np.ravel(c.problem.kappa_ref)[0]),  # one value per curve
                reference_entropy=float(c.reference_entropy), error=None,
                seconds=time.perf_counter() - t0)


def densest_point(alpha_D: float, n_over_d: float, d: list[float], sigma: str) -> dict:
    """Generalization error of zero-margin students at distances d from the densest
    references (y -> infinity large deviations); nan where the branch is not reached."""
    t0 = time.perf_counter()
    c = rf_large_deviation_limit_curve(alpha_D / n_over_d, alpha_D, d, sigma=sigma)
    return dict(d=list(d), gen_error=np.asarray(c.gen_error).tolist(),
                local_entropy=np.asarray(c.local_entropy).tolist(),
                seconds=time.perf_counter() - t0)


def sim_params(cfg: dict, algo: str, ratio: float, seed: int) -> dict:
    """The cache key of a simulation point, exactly as ``fig_rf_phase_diagram.compute``
    writes it (floats stay floats: 3 and 3.0 hash differently)."""
    return dict(algo=algo, alpha_D=float(cfg["alpha_D"]), n_over_d=float(ratio), D=cfg["D"],
                seeds=cfg["seeds"], epochs=cfg["epochs"], sigma=cfg["sigma"], seed=seed)


def sim_record(cache: ResultsCache, cfg: dict, algo: str, ratio: float, seed: int
               ) -> tuple[dict, bool]:
    """The phase-diagram simulation record of (algo, alpha_D, N/D) from its cache, or
    computed by ``fig_rf_phase_diagram.sim_point`` and stored there; True if computed."""
    computed = []

    def run() -> dict:
        computed.append(True)
        return phase.sim_point(cfg, algo, float(cfg["alpha_D"]), float(ratio), seed)

    return cache.get_or_compute("sim", sim_params(cfg, algo, ratio, seed), run), bool(computed)


def solved_test_error(record: dict) -> dict:
    """Mean +- sem of the test error over the SOLVED runs of a simulation record, with the
    count solved / instances (mean and sem nan when none solved; sem nan for one)."""
    solved = np.asarray(record["solved"], bool)
    errors = np.asarray(record["test_error"], np.float64)[solved]
    n = int(solved.sum())
    if n:
        mean, sem, _ = sim.mean_sem(errors)
        mean, sem = float(mean), float(sem)
    else:
        mean = sem = float("nan")
    return dict(mean=mean, sem=sem, solved=n, instances=int(solved.size))


def compute(cfg: dict, out_dir: Path, seed: int) -> dict:
    cache = ResultsCache(out_dir / "cache" / cfg["name"])
    aD, sigma = cfg["alpha_D"], cfg["sigma"]
    table = table_n_over_d(cfg)
    res = {"lines": cache.get_or_compute(
        "lines", dict(alpha_D=aD, sigma=sigma, n_over_d_max=cfg["n_over_d_max"],
                      n_line=cfg["n_line"], table=table, with_vote_and_bayes=True),
        lambda: typical_and_max_margin(aD, sigma, cfg["n_over_d_max"], cfg["n_line"], table))}
    lines = res["lines"]
    print(f"alpha_D={aD:g}: interpolation point (N/D)_c = {lines['n_over_d_c']:.4f}; typical "
          f"line {len(lines['typical']['n_over_d'])} points, maximal margin "
          f"{len(lines['max_margin']['n_over_d'])} points", flush=True)
    for what in ("typical", "max_margin"):
        if lines[what]["lost"]:
            print(f"  {what}: no RS saddle at N/D = {lines[what]['lost']} (dropped)")

    res["fp"] = {}
    for ratio in tqdm(cfg["fp_n_over_d"], desc="Franz-Parisi curves", unit="curve"):
        rec = cache.get_or_compute(
            "atypical", dict(alpha_D=aD, n_over_d=float(ratio), d=list(cfg["fp_d"]),
                             sigma=sigma, kappa=0.0),
            lambda: atypical_point(aD, float(ratio), list(cfg["fp_d"]), sigma))
        res["fp"][float(ratio)] = rec
        what = ("eps_g " + ", ".join(f"d={d:g}: {e:.4f}" for d, e in
                                     zip(rec["d"], rec["gen_error"]))
                if rec["error"] is None else f"lost: {rec['error'][:100]}")
        tqdm.write(f"Franz-Parisi N/D={ratio:g}: kappa_ref={rec['kappa_ref']:.4f}, {what} "
                   f"({rec['seconds']:.0f} s)")

    res["ld"] = {}
    for ratio in tqdm(cfg["fp_n_over_d"], desc="large-deviation curves", unit="curve"):
        rec = cache.get_or_compute(
            "densest", dict(alpha_D=aD, n_over_d=float(ratio), d=list(cfg["fp_d"]),
                            sigma=sigma),
            lambda: densest_point(aD, float(ratio), list(cfg["fp_d"]), sigma))
        res["ld"][float(ratio)] = rec
        tqdm.write(f"large deviations N/D={ratio:g}: eps_g " + ", ".join(
            f"d={d:g}: {e:.4f}" for d, e in zip(rec["d"], rec["gen_error"]))
            + f" ({rec['seconds']:.0f} s)")

    sim_cache = ResultsCache(out_dir / "cache" / cfg["sim_cache"])
    res["sim"], n_new = {}, 0
    for algo in cfg["algos"]:
        for ratio in cfg["sim_n_over_d"]:
            rec, new = sim_record(sim_cache, cfg, algo, ratio, seed)
            n_new += new
            res["sim"][(algo, float(ratio))] = solved_test_error(rec)
    print(f"simulations: {len(res['sim']) - n_new} read from {sim_cache.directory}, "
          f"{n_new} computed", flush=True)
    res["atypical_transition"] = phase.cached_atypical(out_dir, aD, sigma)
    return res


# ----------------------------------------------------------------------- numbers

def theory_at(res: dict, ratio: float) -> dict:
    """The theory errors at one table N/D (nan where a line does not exist there)."""
    lines, nan = res["lines"], float("nan")
    at = lambda line, key: dict(zip(line["n_over_d"], line[key])).get(ratio, nan)
    out = dict(typical=at(lines["typical"], "gen_error"), vote=at(lines["typical"], "vote_error"),
               max_margin=at(lines["max_margin"], "gen_error"),
               kappa_max=at(lines["max_margin"], "kappa_max"), atypical={})
    rec = res["fp"].get(ratio)
    if rec is not None and rec["error"] is None:
        out["atypical"] = dict(zip(rec["d"], rec["gen_error"]))
    rec = res.get("ld", {}).get(ratio)
    out["densest"] = {} if rec is None else dict(zip(rec["d"], rec["gen_error"]))
    return out


def closest(value: float, candidates: dict[str, float]) -> tuple[str, float]:
    """The candidate nearest to ``value`` and its distance (nan candidates ignored)."""
    finite = {k: v for k, v in candidates.items() if np.isfinite(v)}
    if not np.isfinite(value) or not finite:
        return "none", float("nan")
    name = min(finite, key=lambda k: abs(finite[k] - value))
    return name, abs(finite[name] - value)


def summary(cfg: dict, res: dict) -> list[str]:
    """One line per N/D (theory and simulations), then the comparison per simulation point."""
    fmt = lambda x: "  --  " if not np.isfinite(x) else f"{x:.4f}"
    lines = [f"alpha_D={cfg['alpha_D']:g}, eps_g by N/D (theory RS N,D->inf; simulations "
             f"D={cfg['D']}, mean+-sem over solved / instances); Bayes-optimal (sees c) "
             f"{res['lines']['bayes_optimal']:.4f} at every N/D:"]
    comparison = []
    for ratio in table_n_over_d(cfg):
        th = theory_at(res, ratio)
        atyp = " ".join(f"d={d:g}:{fmt(th['atypical'].get(d, np.nan))}" for d in cfg["fp_d"])
        densest = " ".join(f"d={d:g}:{fmt(th['densest'].get(d, np.nan))}" for d in cfg["fp_d"])
        sims = []
        for algo in cfg["algos"]:
            s = res["sim"].get((algo, ratio))
            if s is not None:
                sims.append(f"{algo} {fmt(s['mean'])}+-{fmt(s['sem'])} "
                            f"({s['solved']}/{s['instances']})")
                if s["solved"]:
                    cands = dict(typical=th["typical"], max_margin=th["max_margin"],
                                 **{f"atypical d={d:g}": e for d, e in th["atypical"].items()})
                    name, gap = closest(s["mean"], cands)
                    comparison.append((algo, ratio, s, th, name, gap))
        lines.append(f"N/D={ratio:<4g} typical {fmt(th['typical'])} (vote {fmt(th['vote'])})"
                     f"  max-margin "
                     f"{fmt(th['max_margin'])} (kappa_max {fmt(th['kappa_max'])})  atypical "
                     f"{atyp}  densest {densest}  |  " + "  ".join(sims))
    lines.append("do the solutions the algorithms find generalize like typical or atypical "
                 "(dense-region) ones?")
    for algo, ratio, s, th, name, gap in comparison:
        d_typ = s["mean"] - th["typical"]
        d_atyp = {d: s["mean"] - e for d, e in th["atypical"].items()}
        rel = ", ".join(f"atypical d={d:g} {v:+.4f}" for d, v in d_atyp.items())
        lines.append(f"  {algo:>4} N/D={ratio:<4g}: eps {s['mean']:.4f}+-{s['sem']:.4f} minus "
                     f"typical {d_typ:+.4f}" + (f", {rel}" if rel else "")
                     + f", max-margin {s['mean'] - th['max_margin']:+.4f}"
                     + f" -> closest: {name}")
    for algo in cfg["algos"]:
        both = [(s, th) for a, _, s, th, _, _ in comparison if a == algo and th["atypical"]]
        nearer = sum(verdict(s["mean"], th["typical"], th["atypical"]) == "atypical"
                     for s, th in both)
        below = sum(s["mean"] < min(th["typical"], th["max_margin"], *th["atypical"].values())
                    for s, th in both)
        lines.append(f"  {algo}: closer to the atypical (dense-region) line than to the typical "
                     f"one at {nearer}/{len(both)} N/D with both; below every RS line at "
                     f"{below}/{len(both)} (finite size D = {cfg['D']})")
    return lines


def verdict(value: float, typical: float, atypical: dict[float, float]) -> str:
    """"atypical" if ``value`` is nearer to one of the atypical errors than to the typical
    one, "typical" otherwise ("none" without an atypical error)."""
    if not atypical:
        return "none"
    name, _ = closest(value, dict(typical=typical, **{f"d={d:g}": e
                                                       for d, e in atypical.items()}))
    return "typical" if name == "typical" else "atypical"


# ------------------------------------------------------------------------------- plot

def plot(cfg: dict, res: dict, out_dir: Path) -> list[Path]:
    import matplotlib.pyplot as plt

    use_style()
    fig, ax = plt.subplots(figsize=(8, 5.6), layout="constrained")
    lines = res["lines"]
    nd_c = lines["n_over_d_c"]
    typ, top = lines["typical"], lines["max_margin"]
    theory_line(ax, typ["n_over_d"], typ["gen_error"], color="k",
                label="typical solutions (RS, Gibbs)")
    theory_line(ax, typ["n_over_d"], typ["vote_error"], color="k", ls=":",
                label="vote of the typical solutions (Bayes prediction of the student model)")
    theory_line(ax, top["n_over_d"], top["gen_error"], color="C0",
                label=r"maximal margin $\kappa_{max}$ (RS)")
    ax.axhline(lines["bayes_optimal"], color="C2", lw=1.2,
               label="Bayes-optimal, latents $c$ seen (lower bound for every student)")
    ok = sorted(r for r, v in res["fp"].items() if v["error"] is None)
    shades = plt.get_cmap("Oranges")(np.linspace(0.55, 0.9, len(cfg["fp_d"])))
    for j, (d, c) in enumerate(zip(cfg["fp_d"], shades)):
        theory_line(ax, ok, [res["fp"][r]["gen_error"][j] for r in ok], color=c, ls="--",
                    marker="o", ms=4, label=rf"atypical: $\kappa = 0$ at $d = {d:g}$ from "
                                            r"$\kappa_{max}$ (RS Franz-Parisi)")
    ld = sorted(res.get("ld", {}))
    shades = plt.get_cmap("GnBu")(np.linspace(0.6, 0.95, len(cfg["fp_d"])))
    for j, (d, c) in enumerate(zip(cfg["fp_d"], shades)):
        theory_line(ax, ld, [res["ld"][r]["gen_error"][j] for r in ld], color=c, ls="-.",
                    marker="^", ms=4, label=rf"densest regions: $\kappa = 0$ at $d = {d:g}$ "
                                            r"(large deviations, $y\to\infty$)")
    step = 0.02 * (cfg["n_over_d_max"] - nd_c)  # side by side, not on top of each other
    for k, algo in enumerate(cfg["algos"]):
        marker, color, name = ALGO_STYLE[algo]
        pts = sorted((r, s) for (a, r), s in res["sim"].items() if a == algo and s["solved"])
        if not pts:
            continue
        x = np.array([r for r, _ in pts]) + (k - (len(cfg["algos"]) - 1) / 2) * step
        sim_markers(ax, x, [s["mean"] for _, s in pts], [s["sem"] for _, s in pts],
                    fmt=marker, color=color,
                    label=f"{name}: test error of its solutions, D = {cfg['D']} "
                          "(solved / instances)")
        for xi, (_, s) in zip(x, pts):
            ax.annotate(f"{s['solved']}/{s['instances']}", (xi, s["mean"]),
                        xytext=(-5 if k == 0 else 5, 0), textcoords="offset points",
                        ha="right" if k == 0 else "left", va="center", fontsize=6.5,
                        color=color)
    lo = nd_c - 0.12 * (cfg["n_over_d_max"] - nd_c)
    ax.axvspan(lo, nd_c, color="0.88", lw=0)
    ax.axvline(nd_c, color="k", ls=":", lw=1)
    ax.text(nd_c, 0.05, f" interpolation\n $(N/D)_c$ = {nd_c:.3f}", fontsize=7.5,
            transform=ax.get_xaxis_transform())
    atyp = res["atypical_transition"]
    if atyp is not None:
        ax.axvline(atyp["n_over_d"], color="C3", ls="--", lw=1)
        ax.text(atyp["n_over_d"], 0.14, f" atypical transition\n N/D = {atyp['n_over_d']:.3f}",
                fontsize=7.5, color="C3", transform=ax.get_xaxis_transform())
    lost = sorted(set(res["fp"]) - set(ok))
    if lost:
        ax.text(0.98, 0.97, "Franz-Parisi branch lost at N/D = " + ", ".join(
            f"{r:g}" for r in lost), transform=ax.transAxes, ha="right", va="top", fontsize=7)
    ax.set_xlim(lo, cfg["n_over_d_max"] + 0.1)
    ax.set_xlabel(r"overparameterization $N/D = \alpha_D/\alpha$")
    ax.set_ylabel(r"generalization error $\epsilon_g$")
    ax.set_title(rf"(c) $\alpha_D = P/D$ = {cfg['alpha_D']:g}, sign features: lines RS "
                 r"($N, D\to\infty$), markers finite $D$", fontsize=10)
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncol=2,
               fontsize=7.5)
    return save_figure(fig, out_dir, "fig_rf_generalization")


def main(argv=None) -> list[Path]:
    return figure_main(sys.modules[__name__], argv, "coarse line, one Franz-Parisi curve, "
                       "D = 20 simulations (CPU smoke run, a few minutes)",
                       seed_help="key of the simulated instances")


if __name__ == "__main__":
    print_paths(main())
