"""Large-deviation local entropy at y -> infinity [P1] (RS theory, binary storage, kappa = 0).

(a) S_inf(d), the largest local entropy of any reference at distance d
(``theory.local_entropy.large_deviation_limit``), for several alpha, with the counting bound
-d ln d - (1-d) ln(1-d): below the threshold alpha_U the curve follows the bound at small d
(dense regions) and rises monotonically; above it the dense small-d branch and the large-d
branch no longer meet (a gap in d without RS saddle). Curves end where the continuation
stops: at large d where the branch ends (delta -> 0, on the equilibrium entropy), at small d
for alpha <= 0.6 where the saddle stiffens (delta -> infinity, q_hat -> 0; d ~ 0.003-0.005).
(b) Its slope dS_inf/dd = 2 p_hat: the dip that touches zero at alpha_U (dashed line in (a)'s
legend: the bisected threshold).

    python paper_figures/fig_large_deviation.py --out figures [--quick]
"""

import sys
from pathlib import Path

import jax
import numpy as np
from tqdm import tqdm

from atypical.observables import hamming_shell_entropy
from atypical.plotting import save_figure, theory_line, use_style
from atypical.results import ResultsCache
from paper_figures._common import figure_main, print_paths, results_cache
from theory.local_entropy.large_deviation_limit import (large_deviation_limit_curve,
                                                       large_deviation_threshold)

FULL = dict(alpha=(0.5, 0.6, 0.7, 0.75, 0.77, 0.8), d=np.geomspace(1e-3, 0.2, 60).tolist(),
            threshold=True)
QUICK = dict(alpha=(0.6, 0.77), d=np.geomspace(2e-3, 0.15, 8).tolist(), threshold=False)


def curve(alpha: float, d: list[float]) -> dict:
    c = large_deviation_limit_curve(alpha, d)
    nan_to_none = lambda x: [None if np.isnan(v) else float(v) for v in x]
    return dict(S=nan_to_none(c.local_entropy), slope=nan_to_none(c.slope),
                converged=c.converged.tolist())


def compute(cfg: dict, cache: ResultsCache) -> dict:
    out = {"curves": {}}
    for alpha in tqdm(cfg["alpha"], desc="S_inf(d)", unit="alpha"):
        out["curves"][alpha] = cache.get_or_compute(
            "limit_curve", {"alpha": alpha, "d": cfg["d"]}, lambda: curve(alpha, cfg["d"]))
    if cfg["threshold"]:
        out["threshold"] = cache.get_or_compute(
            "threshold", {"kappa": 0.0}, lambda: large_deviation_threshold(0.0)._asdict())
    return out


def plot(cfg: dict, res: dict, out_dir: Path) -> list[Path]:
    import matplotlib.pyplot as plt

    use_style()
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(10, 4.2))
    d = np.asarray(cfg["d"])
    ax.plot(d, hamming_shell_entropy(d), color="k", ls=":", lw=1,
            label=r"bound $-d\ln d-(1-d)\ln(1-d)$")
    colors = plt.cm.viridis(np.linspace(0, 0.9, len(cfg["alpha"])))
    for color, alpha in zip(colors, cfg["alpha"]):
        c = res["curves"][alpha]
        as_array = lambda key: np.array([np.nan if v is None else v for v in c[key]])
        ok = np.flatnonzero(c["converged"])
        gap = " (gap)" if ok.size and not all(c["converged"][ok[0]:ok[-1] + 1]) else ""
        theory_line(ax, d, as_array("S"), color=color, label=rf"$\alpha = {alpha:g}${gap}")
        theory_line(bx, d, as_array("slope"), color=color)
    threshold = res.get("threshold")
    title = "(a) $y\\to\\infty$ local entropy"
    if threshold:
        title += rf", $\alpha_U \approx {threshold['alpha']:.4f}$"
    ax.set(xscale="log", xlabel="Hamming distance $d$", ylabel=r"$S_\infty(d)$", title=title,
           ylim=(0, None))
    ax.legend(fontsize=8)
    bx.axhline(0, color="0.4", lw=0.8)
    bx.set(xscale="log", xlabel="Hamming distance $d$", ylabel=r"$dS_\infty/dd = 2\hat p$",
           ylim=(-0.5, 6), title="(b) slope: the dip reaches 0 at $\\alpha_U$")
    fig.tight_layout()
    return save_figure(fig, out_dir, "fig_large_deviation")


def main(argv=None) -> list[Path]:
    def cached(cfg, args):
        jax.config.update("jax_enable_x64", True)
        name = "large_deviation_quick" if args.quick else "large_deviation"
        return compute(cfg, results_cache(args, name))

    return figure_main(sys.modules[__name__], argv, "two curves, no threshold", compute=cached)


if __name__ == "__main__":
    print_paths(main())
