"""AMP trajectories vs state evolution: teacher overlap per iteration of Bayes-optimal AMP
(markers: mean and standard error over instances at size N) against the state evolution
(lines), at several alpha around the spinodal alpha_sp ~ 1.493 of the poor branch.

    python paper_figures/fig_amp_state_evolution.py --out figures [--quick]
"""

import sys
from pathlib import Path

import jax.random as jr
import numpy as np

import atypical
from atypical.plotting import save_figure, sim_markers, theory_line, use_style
from atypical.results import ResultsCache
from paper_figures._common import figure_main, print_paths, results_cache
from sim.amp import AMPConfig, run_amp_instances
from sim.enumerate import sample_instances
from theory.dynamics.state_evolution import state_evolution

FULL = dict(alphas=(1.2, 1.45, 1.55, 1.8), N=4000, instances=16, iterations=30)
QUICK = dict(alphas=(1.2, 1.8), N=300, instances=3, iterations=10)


def se_curve(alpha: float, iterations: int) -> dict:
    return {"q": np.asarray(state_evolution(atypical.TeacherStudent(alpha), iterations).q
                            ).tolist()}


def amp_point(alpha: float, N: int, instances: int, iterations: int, seed: int) -> dict:
    data = sample_instances(jr.key(seed), atypical.TeacherStudent(alpha), N, instances)
    m = np.asarray(run_amp_instances(data, AMPConfig(iterations=iterations)).teacher_overlap,
                   np.float64)
    sem = m.std(0, ddof=1) / np.sqrt(instances) if instances > 1 else np.zeros(m.shape[1])
    return {"mean": m.mean(0).tolist(), "sem": sem.tolist(), "n": instances}


def compute(cfg: dict, cache: ResultsCache, seed: int) -> dict:
    out = {}
    for alpha in cfg["alphas"]:
        se = cache.get_or_compute("se", dict(alpha=alpha, T=cfg["iterations"]),
                                  lambda: se_curve(alpha, cfg["iterations"]))
        amp = cache.get_or_compute(
            "amp", dict(alpha=alpha, N=cfg["N"], I=cfg["instances"], T=cfg["iterations"],
                        seed=seed),
            lambda: amp_point(alpha, cfg["N"], cfg["instances"], cfg["iterations"], seed))
        out[alpha] = (se, amp)
    return out


def plot(cfg: dict, res: dict, out_dir: Path) -> list[Path]:
    import matplotlib.pyplot as plt

    use_style()
    fig, ax = plt.subplots(figsize=(5.5, 4))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for c, alpha in zip(colors, cfg["alphas"]):
        se, amp = res[alpha]
        t = np.arange(len(se["q"]))
        theory_line(ax, t, se["q"], color=c, label=rf"state evolution, $\alpha={alpha:g}$")
        sim_markers(ax, t, amp["mean"], amp["sem"], color=c,
                    label=f"AMP, N={cfg['N']} ({amp['n']} instances)" if c == colors[0]
                    else None)
    ax.set(xlabel="iteration $t$", ylabel=r"teacher overlap $q^t = \hat w^t\cdot W_T/N$",
           title=r"Bayes-optimal AMP (spinodal $\alpha_{sp}\approx1.493$)", ylim=(0, 1.02))
    ax.legend(loc="lower right")
    return save_figure(fig, out_dir, "fig_amp_state_evolution")


def main(argv=None) -> list[Path]:
    def cached(cfg, args):
        name = "amp_se_quick" if args.quick else "amp_se"
        return compute(cfg, results_cache(args, name), args.seed)

    return figure_main(sys.modules[__name__], argv, "small N, few points (smoke)",
                       seed_help="key of the sampled instances", compute=cached)


if __name__ == "__main__":
    print_paths(main())
