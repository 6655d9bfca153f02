"""Teacher-student: how the solutions in wide flat regions generalize [P2] (RS theory,
binary teacher and student, zero-margin training).

(a) Generalization error vs alpha of: typical solutions (Gibbs learning, kappa = 0; on the
poorly generalizing branch, which is the equilibrium one up to the first-order transition
alpha = 1.245 and metastable up to its spinodal), the Bayes-optimal predictor (same branch),
maximal-margin solutions (RS teacher-student kappa_max(alpha) on the same branch: negative
above alpha = 1.245, where its zero-margin entropy is negative; dotted), and the zero-margin
solutions at Hamming fraction d around maximal-margin references (Franz-Parisi, task
teacher-student; alpha < 1.245, where kappa_max > 0): the dense regions of solutions; and
the high-local-entropy solutions of large deviations at y -> infinity (d = 0.05 from the
reference that maximizes the local entropy, ``theory.local_entropy.large_deviation_limit``), with that
reference's own error (the sign of the replicas' cavity field, a centre of the dense region).
Markers: solutions found by SGD, replicated SGD and focusing BP (library defaults,
N = 1001), exact error arccos(W.W_T/N)/pi, mean +- sem over the solved instances.
(b) Local entropy S(d) at the same distances around maximal-margin references (dense:
S > 0) and around typical (Gibbs) references (isolated: S < 0 at small d).

    python paper_figures/fig_generalization_flat_minima.py --out figures [--quick]
"""

import sys
from pathlib import Path

import jax
import jax.random as jr
import numpy as np
from tqdm import tqdm

import sim
import theory
from atypical import TeacherStudent  # importing atypical turns on float64
from atypical.observables import bayes_optimal_gen_error, gen_error_from_overlap
from atypical.plotting import metastable_line, save_figure, sim_markers, theory_line, use_style
from atypical.results import ResultsCache
from paper_figures._common import figure_main, print_paths, results_cache
from theory.local_entropy.franz_parisi import franz_parisi_curve
from theory.local_entropy.franz_parisi_teacher import FranzParisiTeacherStudent
from theory.local_entropy.large_deviation_limit import large_deviation_limit_curve
from theory.models.margins import kappa_max

FULL = dict(name="generalization_flat_minima", line_alpha=np.linspace(0.1, 1.48, 70).tolist(),
            fp_alpha=(0.2, 0.4, 0.6, 0.8, 1.0, 1.2), fp_d=(0.002, 0.01, 0.05),
            ld_alpha=(0.2, 0.4, 0.6, 0.8, 1.0, 1.2), ld_d=0.05,
            sim_alpha=(0.2, 0.4, 0.6, 0.8, 1.0, 1.2), N=1001, instances=8,
            algos=("sgd", "rsgd", "fbp"))
QUICK = dict(name="generalization_flat_minima_quick",
             line_alpha=np.linspace(0.1, 1.48, 12).tolist(),
             fp_alpha=(0.5, 1.0), fp_d=(0.05,), ld_alpha=(0.5,), ld_d=0.05,
             sim_alpha=(0.5,), N=101, instances=2,
             algos=("sgd",))
ALGO_STYLE = {"sgd": ("s", "C3", "SGD"), "rsgd": ("D", "C4", "replicated SGD"),
              "fbp": ("o", "C2", "focusing BP")}


# ------------------------------------------------------------------------ computations

def typical_and_bayes(alpha: list[float]) -> dict:
    """Gibbs and Bayes-optimal errors on the poorly generalizing RS branch (to its
    spinodal), with the first-order transition."""
    first, spinodal = theory.teacher_student_transitions()
    alpha = np.asarray([a for a in alpha if a < float(spinodal.alpha)])
    branch = theory.follow_teacher_student(alpha)
    ok = np.asarray(branch.converged)
    op = branch.order_params
    return dict(alpha=alpha[ok].tolist(),
                gibbs=np.asarray(theory.gen_error(op))[ok].tolist(),
                bayes=np.asarray(bayes_optimal_gen_error(op.q))[ok].tolist(),
                alpha_first_order=float(first.alpha), alpha_spinodal=float(spinodal.alpha))


def maximal_margin(alpha: list[float]) -> dict:
    """kappa_max(alpha) of teacher-student and the error arccos(R)/pi there (one call)."""
    top = kappa_max(np.asarray(alpha), problem=TeacherStudent)
    return dict(alpha=list(alpha), kappa_max=np.asarray(top.kappa).tolist(),
                gen_error=np.asarray(gen_error_from_overlap(top.order_params.R)).tolist())


def dense_regions(alpha: float, d: tuple[float, ...]) -> dict:
    """Franz-Parisi curves (kappa = 0) around references at kappa_max(alpha) and around
    typical (kappa_ref = 0) references at one alpha, both in one vmapped call."""
    top = float(kappa_max(alpha, problem=TeacherStudent).kappa)
    curve = franz_parisi_curve([alpha, alpha], [top, 0.0], [0.0, 0.0], list(d),
                               query=FranzParisiTeacherStudent, n_fill=8)
    rows = lambda x: np.asarray(x).tolist()
    S, eps = rows(curve.local_entropy), rows(curve.gen_error)
    return dict(alpha=alpha, kappa_ref=top, S=S[0], gen_error=eps[0], S_typical=S[1],
                gen_error_typical=eps[1])


def high_local_entropy(alpha: float, d: float) -> dict:
    """y -> infinity large deviations at one alpha: local entropy and the errors of the
    solutions at distance d and of their reference."""
    curve = large_deviation_limit_curve(alpha, [d], problem=TeacherStudent)
    return dict(alpha=alpha, S=float(curve.local_entropy[0]),
                gen_error=float(curve.gen_error[0]),
                reference_gen_error=float(curve.reference_gen_error[0]))


def algorithm_point(algo: str, alpha: float, N: int, instances: int, seed: int) -> dict:
    """Generalization error of the solutions ``algo`` finds on ``instances`` data sets."""
    k_data, k_run = jr.split(jr.fold_in(jr.key(seed), int(round(alpha * 1000))))
    data = jax.vmap(lambda k: sim.sample_teacher_student(k, TeacherStudent(alpha), N))(
        jr.split(k_data, instances))
    W, solved = sim.run_algorithm(algo, jr.split(k_run, instances), data,
                                  sim.default_config(algo), instances=True)
    errors = np.asarray(jax.vmap(sim.gen_error)(W, data.W_T))[np.asarray(solved)]
    mean, sem, n = sim.mean_sem(errors) if errors.size else (np.nan, np.nan, 0)
    return dict(gen_error=[float(mean), float(sem)], solved=int(n), instances=instances)


def compute(cfg: dict, cache: ResultsCache, seed: int = 0) -> dict:
    res = {"typical": cache.get_or_compute("typical_bayes", dict(alpha=cfg["line_alpha"]),
                                           lambda: typical_and_bayes(cfg["line_alpha"])),
           "max_margin": cache.get_or_compute("max_margin", dict(alpha=cfg["line_alpha"]),
                                              lambda: maximal_margin(cfg["line_alpha"])),
           "sim": {}}
    points = [cache.get_or_compute("dense_region", dict(alpha=a, d=list(cfg["fp_d"])),
                                   lambda: dense_regions(a, cfg["fp_d"]))
              for a in tqdm(cfg["fp_alpha"], desc="Franz-Parisi curves", unit="alpha")]
    res["fp"] = {key: [p[key] for p in points] for key in points[0]}
    res["fp"]["d"] = list(cfg["fp_d"])
    points = [cache.get_or_compute("high_local_entropy", dict(alpha=a, d=cfg["ld_d"]),
                                   lambda: high_local_entropy(a, cfg["ld_d"]))
              for a in tqdm(cfg["ld_alpha"], desc="y -> inf large deviations", unit="alpha")]
    res["ld"] = {key: [p[key] for p in points] for key in points[0]}
    jobs = [(algo, a) for algo in cfg["algos"] for a in cfg["sim_alpha"]]
    for algo, alpha in tqdm(jobs, desc="algorithms", unit="point"):
        params = dict(algo=algo, alpha=alpha, N=cfg["N"], instances=cfg["instances"],
                      seed=seed)
        res["sim"].setdefault(algo, {})[alpha] = cache.get_or_compute(
            "sim", params, lambda: algorithm_point(algo, alpha, cfg["N"], cfg["instances"],
                                                   seed))
    return res


# ----------------------------------------------------------------------------- figure

def plot(cfg: dict, res: dict, out_dir: Path) -> list[Path]:
    use_style()
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11.5, 4.4))
    ax = axes[0]
    typ = res["typical"]
    a, first = np.asarray(typ["alpha"]), typ["alpha_first_order"]
    for key, color, label in (("gibbs", "k", "typical (Gibbs)"),
                              ("bayes", "C0", "Bayes-optimal")):
        metastable_line(ax, a, typ[key], first, ls_after=":", color=color, label=label)
    ax.axvline(first, color="gray", lw=0.7, ls="--")
    ax.text(first, 0.47, " perfect\n generalization\n" + rf" ($\alpha > {first:.3f}$)",
            fontsize=8, color="gray", va="top")
    mm = res["max_margin"]
    a_mm, eps_mm = np.asarray(mm["alpha"]), np.asarray(mm["gen_error"])
    theory_line(ax, a_mm[a_mm <= first], eps_mm[a_mm <= first], color="C1",
                label=r"maximal margin $\kappa_{max}$")
    theory_line(ax, a_mm[a_mm >= first], eps_mm[a_mm >= first], color="C1", ls=":", lw=1.1)
    fp = res["fp"]
    shades = plt.get_cmap("Oranges")(np.linspace(0.55, 0.9, len(fp["d"])))
    for j, (d, c) in enumerate(zip(fp["d"], shades)):
        theory_line(ax, fp["alpha"], np.asarray(fp["gen_error"])[:, j], color=c, ls="--",
                    marker=".", label=rf"dense region: $d = {d:g}$ from $\kappa_{{max}}$")
    ld = res["ld"]
    theory_line(ax, ld["alpha"], ld["gen_error"], color="C5", marker="^",
                label=rf"high local entropy ($y\to\infty$, $d = {cfg['ld_d']:g}$)")
    theory_line(ax, ld["alpha"], ld["reference_gen_error"], color="C5", ls=":", marker="^",
                label="  its reference (centre of the dense region)")
    for algo, points in res["sim"].items():
        marker, color, label = ALGO_STYLE[algo]
        x = np.asarray(sorted(points))
        y = np.asarray([points[v]["gen_error"] for v in x])
        sim_markers(ax, x, y[:, 0], y[:, 1], fmt=marker, color=color,
                    label=f"{label}, N = {cfg['N']}")
    ax.set(xlabel=r"$\alpha = P/N$", ylabel=r"generalization error $\epsilon_g$", ylim=(0, 0.5),
           title="(a) flat-region solutions generalize like maximal-margin ones")
    ax.legend(loc="lower left", fontsize=7.5)

    ax = axes[1]
    for j, (d, c) in enumerate(zip(fp["d"], shades)):
        theory_line(ax, fp["alpha"], np.asarray(fp["S"])[:, j], color=c, marker=".",
                    label=rf"around $\kappa_{{max}}$, $d = {d:g}$")
        theory_line(ax, fp["alpha"], np.asarray(fp["S_typical"])[:, j], color=c, ls=":",
                    marker=".", label=rf"around typical, $d = {d:g}$")
    ax.axhline(0, color="gray", lw=0.6)
    ax.set(xlabel=r"$\alpha = P/N$", ylabel=r"local entropy $S(d)$ (zero-margin solutions)",
           title="(b) dense around maximal-margin references, isolated around typical")
    ax.legend(loc="best", fontsize=7.5)
    fig.tight_layout()
    return save_figure(fig, out_dir, "fig_generalization_flat_minima")


def summary(cfg: dict, res: dict) -> list[str]:
    fp, ld = res["fp"], res["ld"]
    lines = [f"alpha={a:g}: kappa_max={fp['kappa_ref'][i]:.4f}, " + ", ".join(
        f"d={d:g}: S={fp['S'][i][j]:.4f} eps={fp['gen_error'][i][j]:.4f} "
        f"(typical ref: S={fp['S_typical'][i][j]:.4f})" for j, d in enumerate(fp["d"]))
        for i, a in enumerate(fp["alpha"])]
    lines.append("y -> inf, d = {:g}: ".format(cfg["ld_d"]) + ", ".join(
        f"alpha={a:g}: S={S:.4f} eps={e:.4f} (reference {r:.4f})" for a, S, e, r in
        zip(ld["alpha"], ld["S"], ld["gen_error"], ld["reference_gen_error"])))
    lines += [f"{algo}: " + ", ".join(f"alpha={a:g}: eps={p['gen_error'][0]:.4f}+-"
                                      f"{p['gen_error'][1]:.4f} ({p['solved']}/{p['instances']})"
                                      for a, p in sorted(points.items()))
              for algo, points in res["sim"].items()]
    return lines


def main(argv=None) -> list[Path]:
    def cached(cfg, args):
        return compute(cfg, results_cache(args, cfg["name"]))

    return figure_main(sys.modules[__name__], argv, "small grids, for smoke tests",
                       compute=cached)


if __name__ == "__main__":
    print_paths(main())
