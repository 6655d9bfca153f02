"""Phase diagram of the binary perceptron and generalization of its solution classes [P2].

(a) Storage, margin kappa vs alpha: the capacity alpha_c(kappa), which is also the RS
maximal margin kappa_max(alpha) and the frozen-1RSB capacity (complexity of isolated
solutions = 0); the RS (de Almeida-Thouless) instability, beyond the capacity; and the
Franz-Parisi monotonicity threshold alpha_U(kappa), where S(d) around maximal-margin
references gets a dip: wide flat minima of margin-kappa solutions exist only at
alpha < alpha_U (RS Franz-Parisi; ``theory.local_entropy.franz_parisi.monotonicity_threshold``, at the
margins where its bracketing was validated). The RS instability is drawn for kappa <= 0.8,
where the storage RS branch is tracked (Newton loses it above). Large-deviation threshold
(y -> infinity, ``theory.local_entropy.large_deviation_limit.large_deviation_threshold``): where the
largest local entropy of any reference, S_inf(d), stops being monotone and breaks into two
branches with a gap (kappa = -0.3 ... 0.5; at kappa = -0.6 the bisection bracket
0.85-0.97 alpha_c failed and the point is left out).
(b) Teacher-student (binary teacher): generalization error of typical (Gibbs) solutions,
of maximal-margin solutions (RS kappa_max, poorly generalizing branch) and of the
Bayes-optimal predictor, arccos(sqrt q)/pi on the Nishimori line, with the first-order
transition to perfect generalization.

Not drawn because not computed yet: the generalization error of high-local-entropy
solutions (``fig_generalization_flat_minima.py`` has the dense-region, Franz-Parisi one).

    python paper_figures/fig_phase_diagram.py --out figures [--quick]
"""

from pathlib import Path

import jax
import numpy as np
from tqdm import tqdm

import theory
from atypical import SaddlePointError, TeacherStudent
from atypical.observables import bayes_optimal_gen_error, gen_error_from_overlap
from atypical.plotting import figure_parser, metastable_line, save_figure, theory_line, use_style
from atypical.results import ResultsCache
from theory.local_entropy.franz_parisi import monotonicity_threshold
from theory.local_entropy.large_deviation_limit import large_deviation_threshold

FULL = dict(kappa=np.linspace(-0.6, 0.8, 29).tolist(),
            kappa_u=(-0.6, -0.3, 0.0, 0.3, 0.5), kappa_ld=(-0.3, 0.0, 0.3, 0.5),
            ts_alpha=np.linspace(0.2, 1.5, 53).tolist())
QUICK = dict(kappa=np.linspace(-0.5, 0.8, 7).tolist(), kappa_u=(), kappa_ld=(),
             ts_alpha=np.linspace(0.2, 1.4, 7).tolist())


def storage_lines(kappa: list[float]) -> dict:
    """Capacity and RS instability on a kappa grid (one vmapped solve each)."""
    k = np.asarray(kappa)
    return dict(kappa=kappa,
                alpha_c=np.asarray(theory.storage_capacity(k).alpha).tolist(),
                alpha_at=np.asarray(theory.storage_rs_instability(k).alpha).tolist())


def monotonicity_point(kappa: float) -> dict:
    """alpha_U(kappa), or the reason it was not found (reported, not hidden)."""
    try:
        result = monotonicity_threshold(kappa)
    except (SaddlePointError, ValueError) as error:
        return dict(alpha=None, error=str(error).splitlines()[0])
    return dict(alpha=float(result.alpha), d=float(result.d),
                kappa_ref=float(result.kappa_ref))


def large_deviation_point(kappa: float) -> dict:
    """y -> infinity threshold, bisected inside 0.85-0.97 alpha_c(kappa), or the reason it
    was not found."""
    alpha_c = float(np.asarray(theory.storage_capacity(np.asarray([kappa])).alpha)[0])
    try:
        result = large_deviation_threshold(kappa, bracket=(0.85 * alpha_c, 0.97 * alpha_c))
    except (SaddlePointError, ValueError) as error:
        return dict(alpha=None, error=str(error).splitlines()[0])
    return dict(alpha=result.alpha, alpha_monotone=result.alpha_monotone,
                alpha_broken=result.alpha_broken, alpha_c=alpha_c)


def teacher_student_lines(alpha: list[float]) -> dict:
    """Gibbs (typical) and Bayes-optimal errors on the poor branch, maximal-margin error,
    and the first-order transition."""
    first, spinodal = theory.teacher_student_transitions()
    a = np.asarray(alpha)
    poor = a[a < float(spinodal.alpha)]
    branch = theory.follow_teacher_student(poor)
    ok = np.asarray(branch.converged)
    q = np.asarray(branch.order_params.q)[ok]
    margin = theory.kappa_max(a, problem=TeacherStudent)
    return dict(alpha=poor[ok].tolist(),
                gibbs=np.asarray(theory.gen_error(branch.order_params))[ok].tolist(),
                bayes=np.asarray(bayes_optimal_gen_error(q)).tolist(),
                margin_alpha=alpha,
                max_margin=np.asarray(gen_error_from_overlap(margin.order_params.R)).tolist(),
                kappa_max=np.asarray(margin.kappa).tolist(),
                alpha_first_order=float(first.alpha))


def compute(cfg: dict, cache: ResultsCache) -> dict:
    out = {"u": {}, "ld": {}}
    jobs = (["storage", "teacher-student"] + [("u", k) for k in cfg["kappa_u"]]
            + [("ld", k) for k in cfg["kappa_ld"]])
    for job in tqdm(jobs, desc="phase diagram", unit="job"):
        if job == "storage":
            out["storage"] = cache.get_or_compute("storage_lines", {"kappa": cfg["kappa"]},
                                                  lambda: storage_lines(cfg["kappa"]))
        elif job == "teacher-student":
            out["ts"] = cache.get_or_compute("ts_lines", {"alpha": cfg["ts_alpha"]},
                                             lambda: teacher_student_lines(cfg["ts_alpha"]))
        elif job[0] == "u":
            out["u"][job[1]] = cache.get_or_compute(
                "monotonicity", {"kappa": job[1]}, lambda: monotonicity_point(job[1]))
        else:
            out["ld"][job[1]] = cache.get_or_compute(
                "large_deviation_threshold", {"kappa": job[1]},
                lambda: large_deviation_point(job[1]))
    return out


def plot(res: dict, out_dir: Path) -> list[Path]:
    import matplotlib.pyplot as plt

    use_style()
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(10, 4.2))
    st = res["storage"]
    theory_line(ax, st["alpha_c"], st["kappa"], color="k",
                label=r"capacity $\alpha_c(\kappa)$ = $\kappa_{max}(\alpha)$ (RS, frozen 1RSB)")
    theory_line(ax, st["alpha_at"], st["kappa"], color="0.5", ls=":",
                label="RS instability (replicon = 0)")
    found = sorted((k, v["alpha"]) for k, v in res["u"].items() if v["alpha"] is not None)
    if found:
        k_u, a_u = zip(*found)
        ax.plot(a_u, k_u, "o-", color="C3", ms=4,
                label=r"$\alpha_U(\kappa)$: $S(d)$ around $\kappa_{max}$ refs non-monotone")
    found = sorted((k, v["alpha"]) for k, v in res.get("ld", {}).items() if v["alpha"] is not None)
    if found:
        k_ld, a_ld = zip(*found)
        ax.plot(a_ld, k_ld, "s-", color="C4", ms=4,
                label=r"large deviations ($y\to\infty$): $S_\infty(d)$ breaks")
    ax.fill_betweenx(st["kappa"], 0, st["alpha_c"], color="C0", alpha=0.08)
    ax.set(xlabel=r"$\alpha = P/N$", ylabel=r"margin $\kappa$", xlim=(0, 2.2),
           title="(a) binary storage")
    ax.legend(loc="upper right", fontsize=7.5)

    ts = res["ts"]
    a, first = np.asarray(ts["alpha"]), ts["alpha_first_order"]
    for key, color, label in (("gibbs", "C0", "typical (Gibbs)"),
                              ("bayes", "C2", "Bayes-optimal")):
        metastable_line(bx, a, ts[key], first, color=color, label=label)
    bx.plot([first, max(ts["margin_alpha"])], [0, 0], color="C2", lw=3, solid_capstyle="butt")
    theory_line(bx, ts["margin_alpha"], ts["max_margin"], color="C1",
                label=r"maximal margin $\kappa_{max}(\alpha)$")
    bx.axvline(ts["alpha_first_order"], color="0.4", ls="--", lw=0.8)
    bx.text(first, 0.03, " Gibbs = Bayes = 0\n (first-order transition;\n dashed: metastable)",
            fontsize=7, va="bottom")
    bx.set(xlabel=r"$\alpha = P/N$", ylabel=r"generalization error", ylim=(-0.01, 0.5),
           title="(b) teacher-student (RS)")
    bx.legend(fontsize=8)
    fig.tight_layout()
    return save_figure(fig, out_dir, "fig_phase_diagram")


def main(argv=None) -> None:
    parser = figure_parser(__doc__, "coarse grids, no monotonicity threshold (smoke run)")
    args = parser.parse_args(argv)
    jax.config.update("jax_enable_x64", True)
    out_dir = Path(args.out)
    cache = ResultsCache(out_dir / "cache" / ("phase_diagram_quick" if args.quick
                                              else "phase_diagram"))
    res = compute(QUICK if args.quick else FULL, cache)
    missing = {k: v["error"] for k, v in res["u"].items() if v["alpha"] is None}
    for k, error in missing.items():
        print(f"alpha_U(kappa={k}) not found: {error}")
    for k, v in res["ld"].items():
        print(f"large-deviation threshold (kappa={k}): " + (
            f"{v['alpha']:.4f}" if v["alpha"] is not None else f"not found: {v['error']}"))
    for path in plot(res, out_dir):
        print(path)


if __name__ == "__main__":
    main()
