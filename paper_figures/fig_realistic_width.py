"""Realistic networks of growing width at fixed data [P1 numerics] (issue 17).

A one-hidden-layer ReLU MLP (flax, continuous weights, ``sim.networks``) of width w on a
fixed training set of P = 500 of scikit-learn's 8x8 digits (ten classes, the rest of the
1,797 images as test set), trained from 8 seeds per width (one vmapped program) until zero
training error or 300 epochs, by SGD (batch 32 and batch 128), Adam, replicated SGD and
Entropy-SGD (``sim.net_train``). The x axis is the number of parameters per example N/P.

(a) training and test error (mean +- sem over seeds; test error of every seed) and the
    interpolation point of SGD: per seed the smallest N/P from which it fits the training
    set at every larger width, mean +- sem (``sim.width_sweep.interpolation_point``);
(b) local energy $\\delta E(\\sigma) = E_\\epsilon[E_{train}(W(1+\\sigma\\epsilon))] - E_{train}(W)$
    under multiplicative Gaussian weight noise, at two sigma, per algorithm;
(c) $\\delta E(\\sigma)$ curves of SGD's weights for a few widths;
(d) test error against flatness ($\\delta E$ at the middle sigma), every width and algorithm.

Vertical lines in (a) and (b), a QUALITATIVE guide only: the random-features binary
perceptron's RS interpolation point and atypical (dense-region) transition at
alpha_D = P/D = 2, sign features, in its own parameters per example N/P = 1/alpha
(``BENCHMARKS.md``, random-features phase diagram: N/D = 1.9135 and 2.2085). The networks
here are neither binary nor random-features models; only the order of the points compares.

    python paper_figures/fig_realistic_width.py --out figures [--quick]

Each (algorithm, width) point is cached (JSON, resumable) under
``<out>/cache/realistic_width[_quick]``; a rerun reads it and recomputes nothing.
Measured on a 2-core CPU shared with a test suite (load 6-9): the full mode 17 min wall
(8 min of CPU time), ``--quick`` (P = 100, 4 widths, SGD and replicated SGD, 4 seeds, 150
epochs; a smoke run, in which no seed fits) 2.8 min wall (68 s of CPU time).
"""

import sys
from pathlib import Path

import jax.random as jr
import numpy as np
from tqdm import tqdm

from atypical.plotting import save_figure, sim_markers, use_style
from atypical.results import ResultsCache
from paper_figures._common import figure_main, print_paths
from sim.net_train import NetTrainConfig
from sim.real_data import load_real_data
from sim.width_sweep import interpolation_point, summarize_point, width_point

SGD = dict(algo="sgd", optimizer="sgd", batch_size=32, learning_rate=0.5)
ALGOS = {  # name: (NetTrainConfig arguments, marker, color, label)
    "sgd": (SGD, "o", "C0", "SGD, batch 32"),
    "sgd-large-batch": (dict(SGD, batch_size=128), "v", "C1", "SGD, batch 128"),
    "adam": (dict(SGD, optimizer="adam", learning_rate=0.01), "^", "C2", "Adam, batch 32"),
    "rsgd": (dict(SGD, algo="rsgd"), "D", "C3", "replicated SGD, y = 5"),
    "entropy-sgd": (dict(SGD, algo="entropy-sgd"), "s", "C4", "Entropy-SGD, L = 5"),
}
FULL = dict(name="realistic_width", data="digits", task="digits10", P=500, arch="mlp",
            widths=(2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 128), seeds=8, epochs=300,
            algos=tuple(ALGOS), sigmas=(0.05, 0.1, 0.2, 0.3, 0.5, 0.7), n_samples=32,
            panel_sigmas=(0.1, 0.3), curve_widths=(4, 8, 16, 32, 128))
QUICK = dict(name="realistic_width_quick", data="digits", task="digits10", P=100,
             arch="mlp", widths=(2, 8, 32, 128), seeds=4, epochs=150, algos=("sgd", "rsgd"),
             sigmas=(0.1, 0.3, 0.5), n_samples=8, panel_sigmas=(0.1, 0.3),
             curve_widths=(8, 128))
# random-features binary perceptron, alpha_D = 2, sign features (BENCHMARKS.md): N/P = 1/alpha
RF_GUIDE = {"RF interpolation": 1.9135 / 2, "RF atypical": 2.2085 / 2}


# ------------------------------------------------------------------------ computations

def point_params(cfg: dict, algo: str, width: int, seed: int) -> dict:
    """The cache key of one (algorithm, width) point."""
    keys = ("data", "task", "P", "arch", "seeds", "epochs", "sigmas", "n_samples")
    return dict({k: cfg[k] for k in keys}, sigmas=list(cfg["sigmas"]), algo=algo,
                config=ALGOS[algo][0], width=width, seed=seed)


def compute(cfg: dict, out_dir: Path, seed: int) -> dict:
    """Every (algorithm, width) record, read from the cache or computed (progress bar)."""
    cache = ResultsCache(out_dir / "cache" / cfg["name"])
    k_data, k_nets = jr.split(jr.key(seed))
    data = load_real_data(k_data, cfg["data"], cfg["P"], task=cfg["task"])
    records = {}
    todo = [(a, w) for a in cfg["algos"] for w in cfg["widths"]]
    for algo, width in (bar := tqdm(todo, desc="(algorithm, width) points", unit="point")):
        bar.set_postfix_str(f"{algo} w={width}")
        config = NetTrainConfig(epochs=cfg["epochs"], **ALGOS[algo][0])
        records[algo, width] = cache.get_or_compute(
            "point", point_params(cfg, algo, width, seed),
            lambda: width_point(k_nets, data, cfg["arch"], width, config, cfg["seeds"],
                                strengths=tuple(cfg["sigmas"]), n_samples=cfg["n_samples"]))
    return records


def sweep(cfg: dict, records: dict, algo: str) -> dict:
    """Per-width summaries of one algorithm and its interpolation point."""
    recs = [records[algo, w] for w in cfg["widths"]]
    solved = np.array([r["solved"] for r in recs]).T
    return dict(points=[summarize_point(r) for r in recs],
                interpolation=interpolation_point([r["params_per_example"] for r in recs],
                                                  solved))


# ----------------------------------------------------------------------- numbers

def summary(cfg: dict, records: dict) -> list[str]:
    """Per algorithm: the interpolation point, then per width N/P, solved fraction, errors
    and the local energy at the panel sigmas."""
    lines = [f"{cfg['data']}/{cfg['task']}, P = {cfg['P']}, {cfg['arch']}, {cfg['seeds']} seeds, "
             f"<= {cfg['epochs']} epochs; local energy dE(sigma), multiplicative noise"]
    for algo in cfg["algos"]:
        s = sweep(cfg, records, algo)
        i = s["interpolation"]
        lines.append(f"{algo}: interpolation N/P = {i['mean']:.3f} +- {i['sem']:.3f} "
                     f"({i['n']}/{cfg['seeds']} seeds); every seed fits from N/P = "
                     f"{i['reliable']:.3f}")
        for p in s["points"]:
            energy = "  ".join(f"dE({sig:g}) {p['local_energy'][sig][0]:.4f}+-"
                               f"{p['local_energy'][sig][1]:.4f}" for sig in cfg["panel_sigmas"])
            lines.append(f"  w={p['width']:<4} N/P={p['params_per_example']:7.3f} solved "
                         f"{p['solved_fraction'][0]:.2f}  train {p['train_error'][0]:.4f}  "
                         f"test {p['test_error'][0]:.4f}+-{p['test_error'][1]:.4f}  {energy}")
    return lines


# ------------------------------------------------------------------------------- plot

def _guides(ax, *, label: bool) -> None:
    for (name, x), ls in zip(RF_GUIDE.items(), (":", "--")):
        ax.axvline(x, color="0.45", ls=ls, lw=1,
                   label=f"{name} point, $\\alpha_D$ = 2 (binary perceptron theory, "
                         "qualitative guide)" if label else None)


def plot(cfg: dict, records: dict, out_dir: Path) -> list[Path]:
    import matplotlib.pyplot as plt

    use_style()
    fig, axes = plt.subplots(2, 2, figsize=(11, 8.4), layout="constrained")
    (ax_a, ax_b), (ax_c, ax_d) = axes
    sweeps = {algo: sweep(cfg, records, algo) for algo in cfg["algos"]}
    s_lo, s_mid = cfg["panel_sigmas"]
    for algo, s in sweeps.items():
        _, marker, color, label = ALGOS[algo]
        x = np.array([p["params_per_example"] for p in s["points"]])
        get = lambda key: np.array([p[key] for p in s["points"]]).T
        sim_markers(ax_a, x, *get("test_error"), fmt=marker, color=color, label=label)
        sim_markers(ax_a, x, *get("train_error"), fmt=marker, color=color, alpha=0.5,
                    markerfacecolor=color)
        for sig, fill in ((s_lo, "white"), (s_mid, color)):
            energy = np.array([p["local_energy"][sig] for p in s["points"]]).T
            sim_markers(ax_b, x, *energy, fmt=marker, color=color, markerfacecolor=fill)
        energy = np.array([p["local_energy"][s_mid] for p in s["points"]]).T
        ax_d.errorbar(energy[0], get("test_error")[0], xerr=energy[1],
                      yerr=get("test_error")[1], fmt=marker, color=color, ms=4,
                      markerfacecolor="white", label=label)
    interp = sweeps["sgd"]["interpolation"]
    if np.isfinite(interp["mean"]):
        for ax in (ax_a, ax_b):
            ax.axvspan(interp["mean"] - interp["sem"], interp["mean"] + interp["sem"],
                       color="C0", alpha=0.15, lw=0)
            ax.axvline(interp["mean"], color="C0", lw=1)
        ax_a.text(interp["mean"], 0.45, f" SGD interpolation\n N/P = {interp['mean']:.2f} "
                  f"$\\pm$ {interp['sem']:.2f}", transform=ax_a.get_xaxis_transform(),
                  fontsize=7.5, color="C0")
    for ax in (ax_a, ax_b):
        _guides(ax, label=ax is ax_a)
        ax.set_xscale("log")
        ax.set_xlabel(r"parameters per example $N/P$")
    ax_a.set_ylabel("classification error")
    ax_a.set_title(f"(a) train (filled) and test (open) error, {cfg['data']} "
                   f"{cfg['task']}, P = {cfg['P']}", fontsize=10)
    ax_b.set_yscale("log")
    ax_b.set_ylabel(r"local energy $\delta E(\sigma)$")
    ax_b.set_title(rf"(b) flatness: $\delta E$ at $\sigma$ = {s_lo:g} (open), {s_mid:g} "
                   "(filled); colors as in (a)", fontsize=10)
    sgd = {r["width"]: r for (a, _), r in records.items() if a == "sgd"}
    shades = plt.get_cmap("viridis")(np.linspace(0, 0.85, len(cfg["curve_widths"])))
    for width, c in zip(cfg["curve_widths"], shades):
        p = summarize_point(sgd[width])
        e = np.array([p["local_energy"][sig] for sig in cfg["sigmas"]]).T
        sim_markers(ax_c, cfg["sigmas"], *e, fmt="o", color=c,
                    label=f"w = {width} (N/P = {p['params_per_example']:.2f}, solved "
                          f"{p['solved_fraction'][0]:.2f})")
    ax_c.set_xlabel(r"relative weight noise $\sigma$")
    ax_c.set_ylabel(r"$\delta E(\sigma)$")
    ax_c.set_title("(c) local energy of SGD's weights at a few widths w", fontsize=10)
    ax_d.set_xscale("log")
    ax_d.set_xlabel(rf"local energy $\delta E(\sigma = {s_mid:g})$")
    ax_d.set_ylabel("test error")
    ax_d.set_title("(d) test error against flatness, every width and algorithm",
                   fontsize=10)
    for ax in (ax_c, ax_d):
        ax.legend(fontsize=7)
    ax_d.xaxis.set_minor_formatter(plt.NullFormatter())  # minor labels overlap on 1 decade
    ax_a.legend(fontsize=7)
    return save_figure(fig, out_dir, "fig_realistic_width")


def main(argv=None) -> list[Path]:
    return figure_main(sys.modules[__name__], argv, "P = 100, 4 widths, SGD and replicated SGD, "
                       "4 seeds, 150 epochs (CPU smoke run, under 2 minutes)",
                       seed_help="key of the data (one half) and the networks (the other)")


if __name__ == "__main__":
    print_paths(main())
