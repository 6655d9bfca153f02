"""Mean-field initialisation a(0) = 1 of two-layer gradient flow [P3 Fig. 2-4, 28-31]: DMFT
(lines) against projected GD of the real network (markers, mean +- 1 SE over seeds).

Single index, sigma = phi with h = phi_hat = 0.9q + q^3/6, alpha = n/(md) = 0.3, tau = 0.6,
w_i(0) orthonormal and orthogonal to u, m = 8, 16, 32, 64.  (a) train (dashed) and test
(solid) error vs t, with the m -> infinity mean-field ODE (black); (b) the complexity
gamma = a/sqrt(m) vs t/m; (c) the teacher overlap v = <u, w_i> vs t/m; (d) the
generalisation gap e_ts - e_tr vs gamma.  Phenomena of [P3]: slow complexity growth
(gamma grows on the scale t ~ m), time-scale separation (features are learnt at t = O(1),
overfitting happens at t ~ m) and feature unlearning (v falls while gamma grows).

Ranges reached (symmetric Heun DMFT; the step must shrink as a grows, stiffness
alpha a^2 h'(1)): t/m <= 4 (m = 8), 2 (m = 16, 32), 1 (m = 64).  The network runs to the
same t.

    python paper_figures/fig_dmft_mean_field.py --out figures [--quick]
"""

import sys
import time
from pathlib import Path

import jax.random as jr
import numpy as np
from tqdm import tqdm

import atypical  # noqa: F401  (float64 on)
from atypical.plotting import save_figure, sim_markers, theory_line, use_style
from atypical.problems import two_layer_preset
from atypical.results import ResultsCache
from paper_figures._common import figure_main, print_paths
from sim.two_layer import mean_sem, train_two_layer
from theory.dynamics.dmft import DMFTBlowUpError, solve_dmft
from theory.dynamics.dmft_limits import solve_mean_field

PROBLEM = dict(kernel="cubic", alpha=0.3, tau=0.6, a0=1.0)
# per m: DMFT (t_max, dt); the network runs GD with step gd_dt on the same [0, t_max]
FULL = dict(ms=(8, 16, 32, 64), t_max={8: 32.0, 16: 32.0, 32: 64.0, 64: 64.0},
            dt={8: 0.1, 16: 0.1, 32: 0.05, 64: 0.05}, d=96, seeds=8, gd_dt=0.1, record=0.5)
QUICK = dict(ms=(4,), t_max={4: 3.0}, dt={4: 0.2}, d=16, seeds=3, gd_dt=0.1, record=0.5)
GAP_TIMES = (1.0, 4.0, 16.0, 64.0)  # times of the network-DMFT comparison (printed)


def dmft_record(problem, *, t_max: float, dt: float, scheme: str = "heun",
                halvings: int = 1) -> dict:
    """Symmetric DMFT solve as a JSON record: t, e_tr, e_ts, gamma = a/sqrt(m), v, the step
    used and the seconds.  On DMFTBlowUpError the step is halved (at most ``halvings``
    times): the step limit falls as a grows, and the |C| <= 1 check of the solver can also
    trip on the O(dt^2) scheme error of C(t + dt, t) once the dynamics is slow."""
    start = time.perf_counter()
    for k in range(halvings + 1):
        try:
            sol = solve_dmft(problem, t_max=t_max, dt=dt / 2**k, scheme=scheme, symmetric=True)
            break
        except DMFTBlowUpError as err:
            if k == halvings:
                raise
            tqdm.write(f"m = {problem.m}: {err}; halving the step")
    a, v = np.asarray(sol.a[:, 0]), np.asarray(sol.v[:, 0])
    return dict(t=np.asarray(sol.t).tolist(), train=np.asarray(sol.train_error).tolist(),
                test=np.asarray(sol.test_error).tolist(), gamma=(a / np.sqrt(problem.m)).tolist(),
                v=v.tolist(), dt=dt / 2**k, scheme=scheme, seconds=time.perf_counter() - start)


def network_record(problem, *, d: int, t_max: float, dt: float, seeds: int,
                   record: float) -> dict:
    """Projected GD of the real network (orthogonal init, so C(0,0) = I and v(0) = 0 as in
    the DMFT) as a JSON record of means and standard errors over seeds of e_tr, e_ts,
    e_ts - e_tr, gamma = mean_i a_i/sqrt(m) and v = mean_i <u, w_i>, every ``record``
    (seeds from ``jr.key(0)``)."""
    start = time.perf_counter()
    tr = train_two_layer(jr.key(0), problem, model="network", d=d, t_max=t_max, dt=dt,
                         n_seeds=seeds, record_every=max(1, round(record / dt)))
    train, test = np.asarray(tr.train_error, np.float64), np.asarray(tr.test_error, np.float64)
    series = dict(train=train, test=test, gap=test - train,
                  gamma=np.asarray(tr.a, np.float64).mean(axis=-1) / np.sqrt(problem.m),
                  v=np.asarray(tr.v, np.float64).mean(axis=-1))
    rec = dict(t=np.asarray(tr.t).tolist(), d=d, n=tr.n, seeds=seeds)
    for name, x in series.items():
        mean, sem = mean_sem(x)
        rec[f"{name}_mean"] = np.asarray(mean, np.float64).tolist()
        rec[f"{name}_sem"] = np.asarray(sem, np.float64).tolist()
    rec["seconds"] = time.perf_counter() - start
    return rec


def run_jobs(jobs: list, cache: ResultsCache, desc: str) -> dict:
    """Compute (or read from the cache) every job (key, name, params, compute) under one
    progress bar; returns {key: record}."""
    out = {}
    for key, name, params, compute in tqdm(jobs, desc=desc, unit="job"):
        out[key] = cache.get_or_compute(name, params, compute)
    return out


def dmft_cache(out: Path, quick: bool) -> ResultsCache:
    """One cache directory for the four DMFT figures, so that a job they share (same name and
    parameters) is computed once."""
    return ResultsCache(out / "cache" / ("dmft_figures_quick" if quick else "dmft_figures"))


def log_spaced(t, n: int = 24) -> np.ndarray:
    """Indices of about n log-spaced points of the grid t (t > 0), for markers on a log axis."""
    t = np.asarray(t)
    targets = np.geomspace(t[t > 0][0], t[-1], n)
    return np.unique(np.searchsorted(t, targets).clip(0, t.size - 1))


def spec(m: int, *, kernel: str, alpha: float, tau: float, a0: float,
         teacher: bool = True) -> dict:
    """A ``two_layer_preset`` as a JSON-able dict (cache key and constructor arguments)."""
    return dict(kernel=kernel, m=m, alpha=alpha, tau=tau, a0=a0, teacher=teacher)


def preset(sp: dict):
    """The ``TwoLayerGradientFlow`` of a ``spec`` dict."""
    return two_layer_preset(sp["kernel"], m=sp["m"], alpha=sp["alpha"], tau=sp["tau"],
                            a0=sp["a0"], teacher=sp["teacher"])


def dmft_job(key, sp: dict, *, t_max: float, dt: float, scheme: str = "heun") -> tuple:
    """A (key, name, params, compute) job of ``run_jobs`` for one DMFT solve."""
    return (key, "dmft", dict(sp, t_max=t_max, dt=dt, scheme=scheme),
            lambda: dmft_record(preset(sp), t_max=t_max, dt=dt, scheme=scheme))


def network_job(key, sp: dict, **net) -> tuple:
    """A (key, name, params, compute) job of ``run_jobs`` for one network GD run."""
    return key, "network", dict(sp, **net), lambda: network_record(preset(sp), **net)


def jobs_for(cfg: dict) -> list:
    jobs = []
    for m in cfg["ms"]:
        sp = spec(m, **PROBLEM)
        t_max = cfg["t_max"][m]
        jobs.append(dmft_job(("dmft", m), sp, t_max=t_max, dt=cfg["dt"][m]))
        jobs.append(network_job(("network", m), sp, d=cfg["d"], t_max=t_max, dt=cfg["gd_dt"],
                                seeds=cfg["seeds"], record=cfg["record"]))
    mf_t = max(cfg["t_max"].values())
    jobs.append((("mean_field",), "mean_field", dict(PROBLEM, t_max=mf_t),
                 lambda: mean_field_record(mf_t)))
    return jobs


def mean_field_record(t_max: float) -> dict:
    """The m -> infinity ODE (eq. 2.10) from a(0) = 1, v(0) = 0 on [0, t_max]."""
    mf = solve_mean_field(preset(spec(1, **PROBLEM)), t_max=t_max, dt=1e-2)
    return dict(t=np.asarray(mf.t).tolist(), error=np.asarray(mf.error).tolist())


def network_gaps(dm: dict, net: dict, times=GAP_TIMES) -> list[tuple]:
    """(t, e_ts network, e_ts DMFT, relative gap, its SE) at the given times within range."""
    rows = []
    for t in times:
        if t > net["t"][-1] + 1e-9:
            continue
        k = int(np.argmin(np.abs(np.asarray(net["t"]) - t)))
        theory = float(np.interp(net["t"][k], dm["t"], dm["test"]))
        rows.append((net["t"][k], net["test_mean"][k], theory,
                     net["test_mean"][k] / theory - 1, net["test_sem"][k] / theory))
    return rows


def gap_lines(dm: dict, net: dict, prefix: str) -> list[str]:
    """``network_gaps`` as summary lines, each starting with ``prefix``."""
    return [f"{prefix}t={t:g}: e_ts network {e_net:.4f} DMFT {e_th:.4f} relative gap "
            f"{rel:+.3f} +- {se:.3f}" for t, e_net, e_th, rel, se in network_gaps(dm, net)]


def summary(cfg: dict, res: dict) -> list[str]:
    lines = []
    for m in cfg["ms"]:
        dm, net = res[("dmft", m)], res[("network", m)]
        lines.append(f"m={m}: DMFT t <= {dm['t'][-1]:g} (t/m <= {dm['t'][-1] / m:g}, "
                     f"dt={dm['dt']}, {dm['seconds']:.1f} s); network d={net['d']}, "
                     f"n={net['n']}, {net['seeds']} seeds ({net['seconds']:.1f} s)")
        lines += gap_lines(dm, net, "  ")
    return lines


def plot(cfg: dict, res: dict, out_dir: Path) -> list[Path]:
    import matplotlib.pyplot as plt

    use_style()
    fig, axes = plt.subplots(2, 2, figsize=(10, 7.2), layout="constrained")
    ax_e, ax_g, ax_v, ax_gap = axes.flat
    mf = res[("mean_field",)]
    theory_line(ax_e, mf["t"][1:], mf["error"][1:], color="k", lw=1.2,
                label=r"$m\to\infty$ mean-field ODE")
    for c, m in enumerate(cfg["ms"]):
        dm, net = res[("dmft", m)], res[("network", m)]
        col = f"C{c}"
        t, tn = np.asarray(dm["t"]), np.asarray(net["t"])
        k = log_spaced(tn)
        theory_line(ax_e, t[1:], dm["test"][1:], color=col, label=f"m = {m}")
        theory_line(ax_e, t[1:], dm["train"][1:], color=col, ls="--")
        for name, fmt in (("test", "o"), ("train", "s")):
            sim_markers(ax_e, tn[k], np.asarray(net[f"{name}_mean"])[k],
                        np.asarray(net[f"{name}_sem"])[k], color=col, fmt=fmt)
        kl = np.linspace(0, tn.size - 1, 17).astype(int)
        for ax, name in ((ax_g, "gamma"), (ax_v, "v")):
            theory_line(ax, t / m, dm[name], color=col, label=f"m = {m}")
            sim_markers(ax, tn[kl] / m, np.asarray(net[f"{name}_mean"])[kl],
                        np.asarray(net[f"{name}_sem"])[kl], color=col)
        theory_line(ax_gap, dm["gamma"], np.asarray(dm["test"]) - np.asarray(dm["train"]),
                    color=col, label=f"m = {m}")
        sim_markers(ax_gap, np.asarray(net["gamma_mean"])[kl], np.asarray(net["gap_mean"])[kl],
                    np.asarray(net["gap_sem"])[kl], color=col)
    ax_e.axhline(0.5 * PROBLEM["tau"] ** 2, color="0.5", ls=":", lw=1)
    ax_e.text(0.01, 0.5 * PROBLEM["tau"] ** 2, r"Bayes $\tau^2/2$", ha="left", va="bottom",
              color="0.4", transform=ax_e.get_yaxis_transform())
    ax_e.set(xscale="log", xlabel="t", ylabel="error",
             title="(a) test (solid, circles), train (dashed, squares)")
    ax_e.legend(loc="upper right")
    ax_g.set(xlabel="t/m", ylabel=r"complexity $\gamma = a/\sqrt{m}$",
             title="(b) slow growth of the complexity")
    ax_v.set(xlabel="t/m", ylabel=r"teacher overlap $v = \langle u, w_i\rangle$",
             title="(c) feature learning, then unlearning")
    ax_gap.set(xlabel=r"$\gamma = a/\sqrt{m}$", ylabel=r"$e_{ts} - e_{tr}$",
               title="(d) generalisation gap vs complexity")
    ax_g.legend(loc="upper left")
    fig.suptitle(rf"mean-field init $a(0) = 1$, $h = \hat\varphi = 0.9q + q^3/6$, "
                 rf"$\alpha = {PROBLEM['alpha']}$, $\tau = {PROBLEM['tau']}$; lines: DMFT, "
                 f"markers: network GD (d = {cfg['d']}, {cfg['seeds']} seeds, mean $\\pm$ SE)",
                 fontsize=10)
    return save_figure(fig, out_dir, "fig_dmft_mean_field")


def dmft_figure_main(argv, module, quick_help: str) -> list[Path]:
    """A DMFT figure's run: the module's ``jobs_for`` through the shared DMFT cache
    (``figure_main`` with ``--out``, ``--quick``), labelled by the script's file name."""
    name = Path(module.__file__).stem

    def jobs(cfg, args):
        return run_jobs(module.jobs_for(cfg), dmft_cache(args.out, args.quick), name)

    return figure_main(module, argv, f"{quick_help} (smoke run, < 30 s)", compute=jobs)


def main(argv=None) -> list[Path]:
    return dmft_figure_main(argv, sys.modules[__name__], "m = 4 to t = 3, d = 16, 3 seeds")


if __name__ == "__main__":
    print_paths(main())
