"""Lazy initialisation a(0) = gamma0 sqrt(m) [P3 App. F]: the three time scales of the DMFT.

Single index, sigma = phi with h = phi_hat = 0.9q + q^3/6, alpha = 0.3, tau = 0.6,
gamma0 = 0.5, C(0,0) = I, v(0) = 0 (the cubic kernel has phi_hat''(0) = 0, so the finite-m
corrections to the lazy limits are O(1/m); with h = 0.9q + q^2/2 they are O(1/sqrt m) and the
t ~ 1 test error of m <= 64 lies 0.1-0.15 below the plateau: the network still learns part
of the quadratic feature).  (a) t ~ 1/m: errors vs m t for m = 16...256 against
the m -> infinity closed form e^{lz1}(m t) (black; theory/dmft_limits.py), which relaxes to
the lazy plateau (best linear predictor plus random-feature variance, dotted); (b) t ~ 1:
the test error stays near the plateau while the train error falls (time-scale separation:
overfitting without feature learning); (c, d) t ~ m: the complexity gamma = a/sqrt(m)
grows slowly and the test error rises with it.  Lines: symmetric Heun DMFT.

Ranges reached: panel (a) t <= 30/m (8 steps per unit of m t); panels (b-d) t/m <= 2
(m = 8, 16, 32) and t/m <= 1/4 (m = 64): the step limit ~ 1/(alpha a^2 h'(1)) ~ 1/m makes
t ~ m cost O(m^2) steps, O(m^6) work, which 2 CPU cores do not afford beyond m = 32.

    python paper_figures/fig_dmft_lazy_regimes.py --out figures [--quick]
"""

import sys
from pathlib import Path

import numpy as np

import atypical  # noqa: F401  (float64 on)
from atypical.plotting import save_figure, theory_line, use_style
from paper_figures.fig_dmft_mean_field import dmft_job, dmft_figure_main, preset, spec
from theory.dynamics.dmft_limits import lazy_plateau_test_error, lazy_short_time_error
from paper_figures._common import print_paths

PROBLEM = dict(kernel="cubic", alpha=0.3, tau=0.6, teacher=True)
GAMMA0 = 0.5
FULL = dict(short_ms=(16, 32, 64, 128, 256), t_hat=30.0, steps_per_t_hat=8,
            ms=(8, 16, 32, 64), t_max={8: 16.0, 16: 32.0, 32: 64.0, 64: 16.0},
            dt={8: 0.1, 16: 0.1, 32: 0.05, 64: 0.05})
QUICK = dict(short_ms=(8, 16), t_hat=2.0, steps_per_t_hat=10, ms=(8,), t_max={8: 2.0},
             dt={8: 0.1})
T_WINDOW = 8.0  # panel (b): t in [0, T_WINDOW]


def lazy_spec(m: int) -> dict:
    return spec(m, a0=GAMMA0 * float(np.sqrt(m)), **PROBLEM)


def jobs_for(cfg: dict) -> list:
    jobs = []
    for m in cfg["short_ms"]:
        t_max = cfg["t_hat"] / m
        jobs.append(dmft_job(("short", m), lazy_spec(m), t_max=t_max,
                             dt=t_max / (cfg["t_hat"] * cfg["steps_per_t_hat"])))
    for m in cfg["ms"]:
        jobs.append(dmft_job(("long", m), lazy_spec(m), t_max=cfg["t_max"][m],
                             dt=cfg["dt"][m]))
    return jobs


def summary(cfg: dict, res: dict) -> list[str]:
    lines = []
    p = preset(lazy_spec(cfg["short_ms"][0]))
    closed = float(lazy_short_time_error(p, cfg["t_hat"]))
    for m in cfg["short_ms"]:
        r = res[("short", m)]
        lines.append(f"t = {cfg['t_hat']:g}/m, m={m}: "
                     f"e_ts - e^lz1 = {r['test'][-1] - closed:+.4f}, "
                     f"e_tr - e^lz1 = {r['train'][-1] - closed:+.4f}")
    for m in cfg["ms"]:
        r = res[("long", m)]
        lines.append(f"m={m}: t <= {r['t'][-1]:g} (t/m <= {r['t'][-1] / m:g}), dt={r['dt']}, "
                     f"{r['seconds']:.1f} s; gamma {r['gamma'][0]:.3f} -> {r['gamma'][-1]:.3f}, "
                     f"e_ts min {min(r['test']):.4f} end {r['test'][-1]:.4f}, "
                     f"e_tr end {r['train'][-1]:.2e}")
    return lines


def plot(cfg: dict, res: dict, out_dir: Path) -> list[Path]:
    import matplotlib.pyplot as plt

    use_style()
    fig, axes = plt.subplots(2, 2, figsize=(10, 7.2), layout="constrained")
    ax_a, ax_b, ax_c, ax_d = axes.flat
    plateau = float(lazy_plateau_test_error(preset(lazy_spec(cfg["ms"][0]))))
    t_hat = np.linspace(0, cfg["t_hat"], 200)
    closed = np.asarray(lazy_short_time_error(preset(lazy_spec(cfg["ms"][0])), t_hat))
    colors = {m: f"C{i}" for i, m in enumerate(sorted(set(cfg["short_ms"]) | set(cfg["ms"])))}
    for m in cfg["short_ms"]:
        r = res[("short", m)]
        th = m * np.asarray(r["t"])
        theory_line(ax_a, th, r["test"], color=colors[m], label=f"m = {m}")
        theory_line(ax_a, th, r["train"], color=colors[m], ls="--")
    theory_line(ax_a, t_hat, closed, color="k", lw=1.2, label=r"$e^{lz1}(mt)$, $m\to\infty$")
    for m in cfg["ms"]:
        r, col = res[("long", m)], colors[m]
        t = np.asarray(r["t"])
        win = t <= T_WINDOW
        theory_line(ax_b, t[win], np.asarray(r["test"])[win], color=col, label=f"m = {m}")
        theory_line(ax_b, t[win], np.asarray(r["train"])[win], color=col, ls="--")
        theory_line(ax_c, t / m, r["test"], color=col, label=f"m = {m}")
        theory_line(ax_d, t / m, r["gamma"], color=col, label=f"m = {m}")
    for ax in (ax_a, ax_b, ax_c):
        ax.axhline(plateau, color="0.4", ls=":", lw=1.2)
    ax_a.text(0.02, plateau, "lazy plateau (eq. 2.7)", ha="left", va="bottom", color="0.3",
              transform=ax_a.get_yaxis_transform())
    ax_a.set(xlabel=r"$m\,t$", ylabel="error",
             title=r"(a) $t \sim 1/m$: test (solid), train (dashed)")
    ax_b.set(xlabel="t", ylabel="error", title=r"(b) $t \sim 1$: test frozen, train falls")
    ax_c.set(xlabel="t/m", ylabel=r"test error $e_{ts}$", ylim=(plateau - 0.02, plateau + 0.12),
             title=r"(c) $t \sim m$: test error rises as $\gamma$ grows")
    ax_d.set(xlabel="t/m", ylabel=r"complexity $\gamma = a/\sqrt{m}$",
             title=r"(d) $t \sim m$: slow growth of $\gamma$")
    ax_a.legend(loc="upper right")
    ax_d.legend(loc="upper left")
    fig.suptitle(rf"lazy init $a(0) = \gamma_0\sqrt{{m}}$, $\gamma_0 = {GAMMA0}$, "
                 rf"$h = \hat\varphi = 0.9q + q^3/6$, $\alpha = {PROBLEM['alpha']}$, "
                 rf"$\tau = {PROBLEM['tau']}$ (DMFT)", fontsize=10)
    return save_figure(fig, out_dir, "fig_dmft_lazy_regimes")


def main(argv=None) -> list[Path]:
    return dmft_figure_main(argv, sys.modules[__name__],
                            "m = 8, 16 on t <= 2/m and m = 8 on t <= 2")


if __name__ == "__main__":
    print_paths(main())
