"""DMFT vs Gaussian-model projected GD [P3 App. D.3]: train/test error, a and v vs t.

(a-c) single index, h = phi_hat = 0.9q + q^2/2, m = 4, alpha = 0.3, tau = 0.6, a0 = 1
(symmetric DMFT); (d-f) pure noise, h = 0.1q + q^2/2, tau = 1, n/d = 1.5, unequal a(0)
(full m x m DMFT).  Lines: Heun DMFT; markers: GD mean +- 1 SE over seeds.

    python paper_figures/fig_dmft_overlay.py --out figures [--quick]
"""

from pathlib import Path

import jax.numpy as jnp
import jax.random as jr
import matplotlib.pyplot as plt
import numpy as np

import atypical  # noqa: F401
from atypical.plotting import figure_parser, save_figure, sim_markers, theory_line, use_style
from atypical.problems import TWO_LAYER_KERNELS, TwoLayerGradientFlow, two_layer_preset
from atypical.results import ResultsCache
from sim.two_layer import mean_sem, train_two_layer
from theory.dynamics.dmft import solve_dmft

FULL = dict(d=200, seeds=32, t_max=5.0)
QUICK = dict(d=40, seeds=4, t_max=1.5)


def cached(out: Path, name: str, params: dict, compute) -> dict:
    """The arrays of ``compute()`` for (name, params) from the figure's ``ResultsCache``
    (``<out>/cache/dmft_overlay``), computed and stored on the first call."""
    record = ResultsCache(out / "cache" / "dmft_overlay").get_or_compute(
        name, params, lambda: {k: np.asarray(v).tolist() for k, v in compute().items()})
    return {k: np.asarray(v) for k, v in record.items()}


def problems():
    c = jnp.asarray(TWO_LAYER_KERNELS["quad_small"])
    return {"single index, m = 4": two_layer_preset("quad", m=4, alpha=0.3, tau=0.6, a0=1.0),
            "pure noise, unequal a(0)": TwoLayerGradientFlow(
                1.5 / 4, 1.0, c, jnp.zeros_like(c), jnp.array([0.5, 1.0, 1.5, 2.0]))}


def compute(problem, cfg):
    sol = solve_dmft(problem, t_max=cfg["t_max"], dt=0.05, symmetric=problem.is_symmetric)
    tr = train_two_layer(jr.key(0), problem, model="gaussian", d=cfg["d"], t_max=cfg["t_max"],
                         dt=0.02, n_seeds=cfg["seeds"], record_every=5)
    out = dict(t=sol.t, train=sol.train_error, test=sol.test_error, a=sol.full_vector(sol.a),
               v=sol.full_vector(sol.v), t_sim=tr.t)
    for name, x in (("train", tr.train_error), ("test", tr.test_error), ("a", tr.a),
                    ("v", tr.v)):
        out[f"{name}_mean"], out[f"{name}_sem"] = mean_sem(x)
    return out


def main(argv=None):
    parser = figure_parser(__doc__, "d = 40, 4 seeds, t <= 1.5 (smoke run)")
    args = parser.parse_args(argv)
    cfg = QUICK if args.quick else FULL
    out = Path(args.out)
    use_style()
    fig, axes = plt.subplots(2, 3, figsize=(11, 6.2))
    for row, (label, p) in enumerate(problems().items()):
        r = cached(out, f"dmft_overlay_{row}", dict(cfg, label=label), lambda: compute(p, cfg))
        ax = axes[row, 0]
        for name, color in (("train", "C0"), ("test", "C3")):
            theory_line(ax, r["t"], r[name], color=color, label=f"{name} (DMFT)")
            sim_markers(ax, r["t_sim"], r[f"{name}_mean"], r[f"{name}_sem"], color=color,
                        label=f"{name} (GD, d={cfg['d']})")
        ax.set(xlabel="t", ylabel="error", title=label)
        ax.legend()
        for col, name, sym in ((1, "a", "a_i(t)"), (2, "v", "v_i(t) = <u, w_i>")):
            ax = axes[row, col]
            units = range(r[name].shape[1]) if row == 1 else [0]
            for i in units:
                theory_line(ax, r["t"], r[name][:, i], color=f"C{i}")
                sim_markers(ax, r["t_sim"], r[f"{name}_mean"][:, i], r[f"{name}_sem"][:, i],
                            color=f"C{i}")
            ax.set(xlabel="t", ylabel=sym)
    fig.tight_layout()
    print(*save_figure(fig, out, "fig_dmft_overlay"))


if __name__ == "__main__":
    main()
