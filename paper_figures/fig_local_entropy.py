"""Local entropy around high-margin references [P2] (RS theory, storage).

(a) Franz-Parisi S(d) of zero-margin solutions around references of growing margin
kappa_ref at fixed alpha, with the counting bound -d ln d - (1-d) ln(1-d);
(b) S(d) of margin-kappa solutions around a reference at (almost) kappa_max, for a ladder of
kappa < kappa_ref: high-margin solutions are surrounded by solutions of smaller margin;
(c) RS entropy of margin-kappa solutions vs kappa for several alpha, kappa_max marked.

Markers in (a): exact enumeration at small N (all 2^N weight vectors, storage instances with
P = round(alpha N)): ln(#zero-margin solutions at Hamming distance k)/N at d = k/N around
each instance's maximal-margin solution and around a uniformly drawn solution, mean +- sem
over instances (ln max(#, 1): an empty shell counts 0, so the typical markers are floored
at 0 where the theory is negative). Finite-size: O(ln N / N) corrections, P/N != alpha
exactly, and the instance's maximal margin fluctuates around kappa_max(alpha).

    python paper_figures/fig_local_entropy.py --out figures [--quick]
"""

import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from tqdm import tqdm

import theory.local_entropy.franz_parisi as fp
from atypical import BinaryStorage
from atypical.plotting import save_figure, sim_markers, theory_line, use_style
from atypical.results import ResultsCache
from paper_figures._common import figure_main, print_paths, results_cache
from sim.bp_local_entropy import exact_local_entropy
from sim.enumerate import configuration, configuration_margins, sample_instances
from theory.models import margins

FULL = dict(alpha=0.5, ref_fractions=(0.0, 0.25, 0.5, 0.75, 0.98), ladder=(0.0, 0.1, 0.2, 0.3),
            d=np.geomspace(2e-3, 0.5, 36).tolist(), n_fill=16,
            entropy_alphas=(0.3, 0.5, 0.7, 0.9), n_kappa=80,
            exact=dict(N=23, instances=32, k_max=6))
QUICK = dict(alpha=0.5, ref_fractions=(0.0, 0.98), ladder=(0.0, 0.2),
             d=np.geomspace(4e-3, 0.5, 7).tolist(), n_fill=6,
             entropy_alphas=(0.5,), n_kappa=12, exact=dict(N=13, instances=4, k_max=3))


def local_entropy_curve(alpha: float, kappa_ref: float, kappa: float, d: list[float],
                        n_fill: int) -> dict:
    curve = fp.franz_parisi_curve(alpha, kappa_ref, kappa, np.asarray(d), n_fill=n_fill)
    return dict(S=np.asarray(curve.local_entropy).tolist(),
                bound=np.asarray(curve.upper_bound).tolist(),
                q_ref=float(curve.reference.q), reference_entropy=float(curve.reference_entropy))


def margin_entropy_curve(alpha: float, n_kappa: int) -> dict:
    kmax = float(margins.kappa_max(alpha).kappa)
    kappa = np.linspace(kmax - 1.2, kmax + 0.05, n_kappa)
    result = margins.margin_entropy(alpha, kappa)
    ok = np.asarray(result.converged)
    return dict(kappa=kappa[ok].tolist(), entropy=np.asarray(result.entropy)[ok].tolist(),
                kappa_max=kmax)


def exact_local_entropies(alpha: float, N: int, instances: int, k_max: int,
                          seed: int = 0) -> dict:
    """Exact ln max(#solutions at distance k, 1)/N, k = 1..k_max, around the maximal-margin
    solution and a uniform solution of each satisfiable instance (mean, sem over them)."""
    data = sample_instances(jr.key(seed), BinaryStorage(alpha), N, instances,
                            dtype=np.float64)
    rng = np.random.default_rng(seed)
    rows = {"maximal margin": [], "uniform": []}
    top_margins = []
    for i in range(instances):
        one = jax.tree.map(lambda x: x[i], data)
        margin = np.asarray(configuration_margins(one))
        solutions = np.flatnonzero(margin >= 0)
        if solutions.size == 0:
            continue
        top_margins.append(float(margin.max()))
        for name, r in [("maximal margin", int(np.argmax(margin))),
                        ("uniform", int(rng.choice(solutions)))]:
            _, S = exact_local_entropy(one, jnp.asarray(configuration(N, r)))
            rows[name].append(np.maximum(S[1:k_max + 1], 0.0))  # -inf (empty) -> 0
    n = len(top_margins)
    stats = {name: dict(mean=np.mean(v, axis=0).tolist(),
                        sem=(np.std(v, axis=0, ddof=1) / np.sqrt(n)).tolist())
             for name, v in rows.items()}
    return dict(d=(np.arange(1, k_max + 1) / N).tolist(), N=N, P=int(data.xi.shape[1]),
                instances=n, mean_kappa_max=float(np.mean(top_margins)), **stats)


def compute(cfg: dict, cache: ResultsCache) -> dict:
    alpha = cfg["alpha"]
    kmax = cache.get_or_compute("kappa_max", {"alpha": alpha},
                                lambda: {"kappa_max": float(margins.kappa_max(alpha).kappa)})
    kmax = kmax["kappa_max"]
    jobs = [("ref", f * kmax) for f in cfg["ref_fractions"]]
    jobs += [("ladder", k) for k in cfg["ladder"]]
    jobs += [("entropy", a) for a in cfg["entropy_alphas"]]
    out = {"kappa_max": kmax, "ref": {}, "ladder": {}, "entropy": {}}
    out["exact"] = cache.get_or_compute("exact_local_entropy", dict(alpha=alpha, **cfg["exact"]),
                                        lambda: exact_local_entropies(alpha, **cfg["exact"]))
    top = cfg["ref_fractions"][-1] * kmax
    for kind, value in tqdm(jobs, desc="fig_local_entropy", unit="curve"):
        if kind == "entropy":
            out["entropy"][value] = cache.get_or_compute(
                "margin_entropy", {"alpha": value, "n": cfg["n_kappa"]},
                lambda: margin_entropy_curve(value, cfg["n_kappa"]))
            continue
        kappa_ref, kappa = (value, 0.0) if kind == "ref" else (top, value)
        params = dict(alpha=alpha, kappa_ref=kappa_ref, kappa=kappa, d=cfg["d"],
                      n_fill=cfg["n_fill"])
        out[kind][value] = cache.get_or_compute(
            "fp_curve", params,
            lambda: local_entropy_curve(alpha, kappa_ref, kappa, cfg["d"], cfg["n_fill"]))
    return out


def _distance_panel(ax, d, bound, bound_label: str, title: str) -> None:
    """The counting bound, the zero line, log-d axis and legend of an S(d) panel."""
    theory_line(ax, d, bound, color="k", ls="--", lw=1, label=bound_label)
    ax.axhline(0, color="gray", lw=0.6)
    ax.set(xscale="log", xlabel="Hamming distance $d$", ylabel="local entropy $S(d)$",
           title=title, ylim=(-0.02, None))
    ax.legend(loc="upper left")


def plot(cfg: dict, res: dict, out_dir: Path) -> list[Path]:
    import matplotlib.pyplot as plt

    use_style()
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2))
    colors = plt.get_cmap("viridis")(np.linspace(0, 0.9, max(len(res["ref"]), 2)))
    d = np.asarray(cfg["d"])
    kmax = res["kappa_max"]

    ax = axes[0]
    bound = None
    for c, (kappa_ref, curve) in zip(colors, sorted(res["ref"].items())):
        theory_line(ax, d, curve["S"], color=c,
                    label=rf"$\tilde\kappa = {kappa_ref:.3f}$" + (
                        r" ($\approx\kappa_{max}$)" if kappa_ref > 0.95 * kmax else ""))
        bound = curve["bound"]
    ex = res["exact"]
    for name, marker, c in [("maximal margin", "s", colors[-1]), ("uniform", "o", colors[0])]:
        sim_markers(ax, ex["d"], ex[name]["mean"], ex[name]["sem"], fmt=marker, color=c,
                    label=f"exact N={ex['N']}, P={ex['P']}: around {name} solution")
    _distance_panel(ax, d, bound, r"bound $-d\ln d-(1-d)\ln(1-d)$",
                    rf"(a) zero-margin solutions around margin-$\tilde\kappa$ references, "
                    rf"$\alpha={cfg['alpha']}$")

    ax = axes[1]
    colors = plt.get_cmap("plasma")(np.linspace(0, 0.85, max(len(res["ladder"]), 2)))
    for c, (kappa, curve) in zip(colors, sorted(res["ladder"].items())):
        theory_line(ax, d, curve["S"], color=c, label=rf"$\kappa = {kappa:g}$")
    _distance_panel(ax, d, bound, "bound", rf"(b) margin-$\kappa$ solutions around "
                    rf"$\tilde\kappa = {cfg['ref_fractions'][-1] * kmax:.3f}$")

    ax = axes[2]
    colors = plt.get_cmap("cividis")(np.linspace(0, 0.85, max(len(res["entropy"]), 2)))
    for c, (alpha, curve) in zip(colors, sorted(res["entropy"].items())):
        theory_line(ax, curve["kappa"], curve["entropy"], color=c,
                    label=rf"$\alpha = {alpha}$, $\kappa_{{max}} = {curve['kappa_max']:.3f}$ (dot)")
        ax.plot([curve["kappa_max"]], [0.0], "o", color=c, markersize=5)
    ax.axhline(0, color="gray", lw=0.6)
    ax.set(xlabel=r"margin $\kappa$", ylabel=r"RS entropy $\phi_{RS}(\alpha, \kappa)$",
           title=r"(c) margin-$\kappa$ solutions are exponentially rare")
    ax.legend(loc="upper right")
    fig.tight_layout()
    return save_figure(fig, out_dir, "fig_local_entropy")


def main(argv=None) -> list[Path]:
    def cached(cfg, args):
        return compute(cfg, results_cache(args, "quick" if args.quick else "full"))

    return figure_main(sys.modules[__name__], argv, "few curves, for smoke tests",
                       compute=cached)


if __name__ == "__main__":
    print_paths(main())
