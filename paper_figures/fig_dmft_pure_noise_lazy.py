"""Pure noise (no teacher), lazy initialisation a(0) = gamma0 sqrt(m) [P3 App. F, t ~ m]:
the complexity gamma = a/sqrt(m) is a slow variable; [P3] predicts that for m -> infinity
the train error becomes a function of gamma alone, e_tr = e_tr^{lz2}(gamma(t)).

h = 0.9q + q^2/2, y = tau eps with tau = 0.6, alpha = 0.3, gamma0 = 0.15 (small: at
t = O(1) the train error stops near 0.15, the noise is not fitted), C(0,0) = I.
(a) gamma vs t/m: the curves of different m collapse (within 0.03 at m >= 16);
(b) train error vs gamma: NOT yet one curve at m <= 64, at fixed gamma the train error still
falls 1.6-1.8x per doubling of m (printed at the largest common gamma), so the collapse is
an m -> infinity statement these m do not reach; (c) test error vs gamma (the norm of the fitted
function, tau^2/2 + ...), with the lazy t ~ 1/m plateau tau^2/2 + gamma0^2 (h(1) - h'(0))/2
marked.  Lines: symmetric DMFT, "exp" scheme (twice Heun's step at large a).

Ranges reached: t/m <= 8 (m = 8, 16, 32), 3 (m = 64, step 0.2 instead of 0.4).

    python paper_figures/fig_dmft_pure_noise_lazy.py --out figures [--quick]
"""

import sys
from pathlib import Path

import numpy as np

import atypical  # noqa: F401  (float64 on)
from atypical.plotting import save_figure, theory_line, use_style
from paper_figures.fig_dmft_mean_field import dmft_job, dmft_figure_main, preset, spec
from theory.dynamics.dmft_limits import lazy_plateau_test_error
from paper_figures._common import print_paths

PROBLEM = dict(kernel="quad", alpha=0.3, tau=0.6, teacher=False)
GAMMA0 = 0.15
FULL = dict(ms=(8, 16, 32, 64), t_max={8: 64.0, 16: 128.0, 32: 256.0, 64: 192.0},
            dt={8: 0.4, 16: 0.4, 32: 0.4, 64: 0.2})
QUICK = dict(ms=(8, 16), t_max={8: 8.0, 16: 8.0}, dt={8: 0.4, 16: 0.4})


def noise_spec(m: int) -> dict:
    return spec(m, a0=GAMMA0 * float(np.sqrt(m)), **PROBLEM)


def jobs_for(cfg: dict) -> list:
    return [dmft_job(("dmft", m), noise_spec(m), t_max=cfg["t_max"][m], dt=cfg["dt"][m],
                     scheme="exp") for m in cfg["ms"]]


def train_at_gamma(res: dict, m: int, gammas) -> np.ndarray:
    """e_tr interpolated at the given gamma (gamma(t) increases at t ~ m), nan outside."""
    r = res[("dmft", m)]
    g, tr = np.asarray(r["gamma"]), np.asarray(r["train"])
    late = np.argmin(g)  # gamma first dips while the linear part is fitted, then grows
    return np.interp(gammas, g[late:], tr[late:], left=np.nan, right=np.nan)


def summary(cfg: dict, res: dict) -> list[str]:
    lines = []
    for m in cfg["ms"]:
        r = res[("dmft", m)]
        lines.append(f"m={m}: t <= {r['t'][-1]:g} (t/m <= {r['t'][-1] / m:g}), dt={r['dt']}, "
                     f"{r['seconds']:.1f} s; gamma {r['gamma'][0]:.3f} -> {r['gamma'][-1]:.4f}, "
                     f"e_tr end {r['train'][-1]:.3e}")
    # collapse: e_tr at a common gamma reached by every m
    g_common = min(res[("dmft", m)]["gamma"][-1] for m in cfg["ms"])
    vals = [float(train_at_gamma(res, m, g_common)) for m in cfg["ms"]]
    lines.append(f"e_tr at gamma = {g_common:.4f}: " + ", ".join(
        f"m={m}: {v:.3e}" for m, v in zip(cfg["ms"], vals)))
    return lines


def plot(cfg: dict, res: dict, out_dir: Path) -> list[Path]:
    import matplotlib.pyplot as plt

    use_style()
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.9), layout="constrained")
    ax_g, ax_tr, ax_ts = axes
    for c, m in enumerate(cfg["ms"]):
        r = res[("dmft", m)]
        t, g = np.asarray(r["t"]), np.asarray(r["gamma"])
        theory_line(ax_g, t / m, g, color=f"C{c}", label=f"m = {m}")
        theory_line(ax_tr, g[1:], np.asarray(r["train"])[1:], color=f"C{c}", label=f"m = {m}")
        theory_line(ax_ts, g[1:], np.asarray(r["test"])[1:], color=f"C{c}", label=f"m = {m}")
    plateau = float(lazy_plateau_test_error(preset(noise_spec(cfg["ms"][0]))))
    ax_ts.axhline(plateau, color="0.4", ls=":", lw=1.2)
    ax_ts.text(0.98, plateau, r"lazy plateau $(\tau^2 + \gamma_0^2\tilde h(1))/2$", ha="right",
               va="bottom", color="0.3", transform=ax_ts.get_yaxis_transform())
    ax_g.set(xlabel="t/m", ylabel=r"complexity $\gamma = a/\sqrt{m}$",
             title=r"(a) $\gamma$ grows on the scale $t \sim m$")
    ax_tr.set(xlabel=r"$\gamma$", ylabel=r"train error $e_{tr}$", yscale="log",
              title=r"(b) $e_{tr}$ vs $\gamma$ (not yet one curve at these m)")
    ax_ts.set(xlabel=r"$\gamma$", ylabel=r"test error $e_{ts}$",
              title=r"(c) test error vs $\gamma$")
    ax_g.legend(loc="upper left")
    fig.suptitle(rf"pure noise, lazy init $a(0) = \gamma_0\sqrt{{m}}$, $\gamma_0 = {GAMMA0}$, "
                 rf"$h = 0.9q + q^2/2$, $\alpha = {PROBLEM['alpha']}$, $\tau = {PROBLEM['tau']}$ "
                 "(DMFT)", fontsize=10)
    return save_figure(fig, out_dir, "fig_dmft_pure_noise_lazy")


def main(argv=None) -> list[Path]:
    return dmft_figure_main(argv, sys.modules[__name__], "m = 8, 16 on t <= 8")


if __name__ == "__main__":
    print_paths(main())
