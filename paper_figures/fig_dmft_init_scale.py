"""Mean-field vs lazy initialisation [P3]: the initial complexity decides whether the network
learns the feature (the init-dependent bias of [P3]).

Single index, sigma = phi with h = phi_hat = 0.9q + q^2/2, alpha = 0.3, tau = 0.6, C(0,0) = I,
v(0) = 0; a(0) = 1 (mean field, gamma0 = 1/sqrt(m)) or a(0) = gamma0 sqrt(m) (lazy,
gamma0 = 0.5, 1), m = 16 (dashed) and 32 (solid).  (a) test error vs t with each lazy
plateau (dotted, eq. 2.7: best linear predictor plus random-feature variance, m -> infinity)
and the Bayes error tau^2/2; (b) the teacher overlap v: the mean-field network learns the
feature (v = O(1)), the lazy one only its linear part, v -> phi_hat'(0)/(gamma0 h'(0) sqrt m)
(dotted); (c) gamma = a/sqrt(m).  Lines: symmetric Heun DMFT on t <= 32 (t/m <= 2 at m = 16,
1 at m = 32); markers: projected GD of the real network at m = 16 (d = 96, mean +- SE over
8 seeds).

    python paper_figures/fig_dmft_init_scale.py --out figures [--quick]
"""

import sys
from pathlib import Path

import numpy as np

import atypical  # noqa: F401  (float64 on)
from atypical.plotting import save_figure, sim_markers, theory_line, use_style
from paper_figures.fig_dmft_mean_field import (dmft_figure_main, dmft_job, log_spaced,
                                               gap_lines, network_job, preset, spec)
from theory.dynamics.dmft_limits import lazy_plateau_test_error, lazy_short_time_overlap
from paper_figures._common import print_paths

PROBLEM = dict(kernel="quad", alpha=0.3, tau=0.6, teacher=True)
# init label -> gamma0 (None: mean field, a(0) = 1)
INITS = {"mean field, a(0) = 1": None, "lazy, gamma0 = 0.5": 0.5, "lazy, gamma0 = 1": 1.0}
FULL = dict(ms=(16, 32), t_max=32.0,
            dt={(16, None): 0.1, (32, None): 0.1, (16, 0.5): 0.1, (32, 0.5): 0.1,
                (16, 1.0): 0.1, (32, 1.0): 0.05},
            net=dict(m=16, d=96, seeds=8, dt=0.05, record=0.5))
QUICK = dict(ms=(8,), t_max=2.0, dt={(8, None): 0.1, (8, 0.5): 0.1, (8, 1.0): 0.1},
             net=dict(m=8, d=16, seeds=3, dt=0.1, record=0.5))


def init_spec(m: int, gamma0) -> dict:
    return spec(m, a0=1.0 if gamma0 is None else gamma0 * float(np.sqrt(m)), **PROBLEM)


def jobs_for(cfg: dict) -> list:
    jobs = [dmft_job((m, g0), init_spec(m, g0), t_max=cfg["t_max"], dt=cfg["dt"][(m, g0)])
            for m in cfg["ms"] for g0 in INITS.values()]
    net = dict(cfg["net"])
    m = net.pop("m")
    return jobs + [network_job(("network", g0), init_spec(m, g0), t_max=cfg["t_max"], **net)
                   for g0 in INITS.values()]


def summary(cfg: dict, res: dict) -> list[str]:
    lines = []
    for m in cfg["ms"]:
        for label, g0 in INITS.items():
            r = res[(m, g0)]
            k = int(np.argmin(r["test"]))
            extra = ("" if g0 is None else
                     f", plateau {float(lazy_plateau_test_error(preset(init_spec(m, g0)))):.4f}")
            lines.append(f"m={m} {label}: dt={r['dt']}, {r['seconds']:.1f} s; e_ts min "
                         f"{r['test'][k]:.4f} at t={r['t'][k]:g}, end {r['test'][-1]:.4f}; "
                         f"v max {max(r['v']):.3f}{extra}")
    m = cfg["net"]["m"]
    for label, g0 in INITS.items():
        lines += gap_lines(res[(m, g0)], res[("network", g0)], f"m={m} {label}, ")
    return lines


def plot(cfg: dict, res: dict, out_dir: Path) -> list[Path]:
    import matplotlib.pyplot as plt

    use_style()
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.0), layout="constrained")
    ax_e, ax_v, ax_g = axes
    big = max(cfg["ms"])
    for c, (label, g0) in enumerate(INITS.items()):
        col = f"C{c}"
        for m in cfg["ms"]:
            r = res[(m, g0)]
            t = np.asarray(r["t"])[1:]
            style = dict(color=col, ls="-" if m == big else "--",
                         label=label.replace("gamma0", r"$\gamma_0$") if m == big else None)
            theory_line(ax_e, t, np.asarray(r["test"])[1:], **style)
            theory_line(ax_v, t, np.asarray(r["v"])[1:], **style)
            theory_line(ax_g, t, np.asarray(r["gamma"])[1:], **style)
        net = res[("network", g0)]
        tn = np.asarray(net["t"])
        k = log_spaced(tn, 16)
        for ax, name in ((ax_e, "test"), (ax_v, "v"), (ax_g, "gamma")):
            sim_markers(ax, tn[k], np.asarray(net[f"{name}_mean"])[k],
                        np.asarray(net[f"{name}_sem"])[k], color=col, markersize=3.5)
        if g0 is not None:
            p = preset(init_spec(big, g0))
            ax_e.axhline(float(lazy_plateau_test_error(p)), color=col, ls=":", lw=1.2)
            ax_v.axhline(float(lazy_short_time_overlap(p, np.inf)), color=col, ls=":", lw=1.2)
    ax_e.axhline(0.5 * PROBLEM["tau"] ** 2, color="k", ls=":", lw=1)
    ax_e.text(0.98, 0.5 * PROBLEM["tau"] ** 2, r"Bayes $\tau^2/2$", ha="right", va="bottom",
              transform=ax_e.get_yaxis_transform())
    ax_e.set(xscale="log", xlabel="t", ylabel=r"test error $e_{ts}$",
             title="(a) test error; dotted: lazy plateaus")
    ax_v.set(xscale="log", xlabel="t", ylabel=r"teacher overlap $v = \langle u, w_i\rangle$",
             title=rf"(b) feature learning; dotted: lazy $v^{{lz1}}$ (m = {big})")
    ax_g.set(xscale="log", yscale="log", xlabel="t", ylabel=r"complexity $\gamma = a/\sqrt{m}$",
             title=r"(c) complexity")
    ax_e.legend(loc="lower left")
    fig.suptitle(rf"$h = \hat\varphi = 0.9q + q^2/2$, $\alpha = {PROBLEM['alpha']}$, "
                 rf"$\tau = {PROBLEM['tau']}$; DMFT, m = {big} (solid) and "
                 f"{', '.join(str(m) for m in cfg['ms'] if m != big) or '-'} (dashed); markers: "
                 f"network GD at m = {cfg['net']['m']}, d = {cfg['net']['d']}, "
                 f"{cfg['net']['seeds']} seeds",
                 fontsize=10)
    return save_figure(fig, out_dir, "fig_dmft_init_scale")


def main(argv=None) -> list[Path]:
    return dmft_figure_main(argv, sys.modules[__name__], "m = 8 on t <= 2")


if __name__ == "__main__":
    print_paths(main())
