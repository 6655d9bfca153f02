"""Figure 1: RS theory of the binary perceptron against exact enumeration and SGD.

(a) RS entropy vs alpha for several margins kappa, exact-enumeration markers at small N;
(b) teacher-student generalization error vs alpha: Bayes RS (poor branch, metastable part
dashed, perfect generalization after the first-order transition), Gibbs error from exact
enumeration, and SGD students;
(c) local energy dE(d) of typical solutions (RS stability density) vs SGD solutions.

    python paper_figures/fig1_rs_overlay.py --out figures [--quick]
"""

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from tqdm import tqdm

import atypical
import sim
import theory
from atypical.plotting import figure_parser, save_figure, sim_markers, theory_line, use_style
from atypical.results import ResultsCache

FULL = dict(kappas=(0.0, 0.3, 0.6), enum_N=(15, 19, 23), enum_instances=48,
            enum_alpha=(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8),
            ts_enum_alpha=(0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0),
            sgd_N=1001, sgd_replicas=16, sgd_alpha=(0.5, 1.0, 1.5, 2.0),
            le_alpha=0.5, le_samples=64)
QUICK = dict(kappas=(0.0, 0.5), enum_N=(11, 13), enum_instances=6,
             enum_alpha=(0.2, 0.5), ts_enum_alpha=(0.5, 1.5),
             sgd_N=201, sgd_replicas=4, sgd_alpha=(1.0, 2.0), le_alpha=0.4, le_samples=8)
D_GRID = np.geomspace(2e-3, 0.1, 12)


def storage_theory(kappas) -> dict:
    curves = {}
    for kappa in kappas:
        alpha_c = float(theory.storage_capacity(kappa).alpha)
        alpha = np.linspace(0.01, alpha_c * 1.08, 80)
        sol = theory.solve_storage(alpha, kappa)
        curves[kappa] = dict(alpha=alpha.tolist(), entropy=np.asarray(sol.free_entropy).tolist(),
                             alpha_c=alpha_c)
    return curves


def enumeration_point(task: str, N: int, alpha: float, kappa: float, instances: int,
                      seed: int) -> dict:
    problem = (atypical.BinaryStorage(alpha, kappa) if task == "storage"
               else atypical.TeacherStudent(alpha))
    result = sim.enumerate_instances(jax.random.key(seed), problem, N, instances)
    # at finite N, P = round(alpha N): the markers sit at their own alpha = P/N
    out = dict(alpha=result.P / N, sat_fraction=result.sat_fraction,
               entropy=result.entropy_stats[:2])
    if task == "teacher-student":
        out["gibbs_gen_error"] = result.gibbs_gen_error_stats[:2]
    return out


def teacher_student_theory() -> dict:
    first, spinodal = theory.teacher_student_transitions()
    alpha = np.linspace(0.01, float(spinodal.alpha) - 1e-3, 120)
    branch = theory.follow_teacher_student(alpha)
    ok = np.asarray(branch.converged)
    return dict(alpha=alpha[ok].tolist(),
                gen_error=np.asarray(theory.gen_error(branch.order_params))[ok].tolist(),
                alpha_first_order=float(first.alpha), alpha_spinodal=float(spinodal.alpha))


def sgd_teacher_student(N: int, alpha: float, replicas: int, seed: int) -> dict:
    k_data, k_train = jax.random.split(jax.random.key(seed))
    data = sim.sample_teacher_student(k_data, atypical.TeacherStudent(alpha), N)
    result = sim.train_replicas(k_train, data, sim.SGDConfig(), replicas)
    errors = np.asarray(jax.vmap(sim.gen_error, in_axes=(0, None))(result.W, data.W_T))
    solved = np.asarray(result.solved)
    mean, sem, n = sim.mean_sem(errors[solved]) if solved.any() else (np.nan, np.nan, 0)
    return dict(gen_error=[float(mean), float(sem)], solved_fraction=float(solved.mean()))


def typical_local_energy(alpha: float) -> list[float]:
    problem = atypical.BinaryStorage(alpha)
    op = theory.saddle_storage(problem).order_params
    delta, weights = theory.stability_quadrature(op, problem, n=40001)
    return [float(atypical.local_energy(delta, d, weights)) for d in D_GRID]


def sgd_local_energy(N: int, alpha: float, replicas: int, samples: int, seed: int) -> dict:
    k_data, k_train, k_flip = jax.random.split(jax.random.key(seed), 3)
    data = sim.sample_storage(k_data, atypical.BinaryStorage(alpha), N)
    result = sim.train_replicas(k_train, data, sim.SGDConfig(), replicas)
    solved = np.flatnonzero(np.asarray(result.solved))
    d = jnp.asarray(D_GRID, jnp.float32)
    flips = np.stack([np.asarray(sim.local_energy_by_flips(k, result.W[i], data, d, samples))
                      .mean(axis=-1) for i, k in zip(solved, jax.random.split(k_flip, len(solved)))])
    mean, sem, n = sim.mean_sem(flips, axis=0)
    return dict(local_energy=np.asarray(mean).tolist(), sem=np.asarray(sem).tolist(),
                solved=int(n), replicas=replicas)


def compute(cfg: dict, cache: ResultsCache, seed: int) -> dict:
    jobs = ["storage theory", "teacher-student theory", "typical local energy"]
    jobs += [("storage", N, a, k) for k in cfg["kappas"] for N in cfg["enum_N"]
             for a in cfg["enum_alpha"]]
    jobs += [("teacher-student", N, a, 0.0) for N in cfg["enum_N"] for a in cfg["ts_enum_alpha"]]
    jobs += [("sgd", a) for a in cfg["sgd_alpha"]] + ["sgd local energy"]
    out = {"enum": {}, "sgd": {}}
    for job in tqdm(jobs, desc="fig1", unit="job"):
        if job == "storage theory":
            out["storage"] = cache.get_or_compute(
                "storage_theory", {"kappas": list(cfg["kappas"])},
                lambda: {str(k): v for k, v in storage_theory(cfg["kappas"]).items()})
        elif job == "teacher-student theory":
            out["ts"] = cache.get_or_compute("ts_theory", {}, teacher_student_theory)
        elif job == "typical local energy":
            out["le_theory"] = cache.get_or_compute(
                "le_theory", {"alpha": cfg["le_alpha"], "d": D_GRID.tolist()},
                lambda: typical_local_energy(cfg["le_alpha"]))
        elif job == "sgd local energy":
            params = dict(N=cfg["sgd_N"], alpha=cfg["le_alpha"], replicas=cfg["sgd_replicas"],
                          samples=cfg["le_samples"], seed=seed, d=D_GRID.tolist())
            out["le_sgd"] = cache.get_or_compute(
                "le_sgd", params, lambda: sgd_local_energy(
                    cfg["sgd_N"], cfg["le_alpha"], cfg["sgd_replicas"], cfg["le_samples"], seed))
        elif job[0] == "sgd":
            params = dict(N=cfg["sgd_N"], alpha=job[1], replicas=cfg["sgd_replicas"], seed=seed)
            out["sgd"][job[1]] = cache.get_or_compute(
                "sgd_ts", params, lambda: sgd_teacher_student(
                    cfg["sgd_N"], job[1], cfg["sgd_replicas"], seed))
        else:
            task, N, a, k = job
            params = dict(task=task, N=N, alpha=a, kappa=k,
                          instances=cfg["enum_instances"], seed=seed, version=2)
            out["enum"][job] = cache.get_or_compute(
                "enum", params, lambda: enumeration_point(task, N, a, k,
                                                          cfg["enum_instances"], seed))
    return out


def plot(cfg: dict, res: dict, out_dir: Path) -> list[Path]:
    import matplotlib.pyplot as plt

    use_style()
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    markers = ["o", "s", "^", "D"]

    ax = axes[0]
    for c, kappa in zip(colors, cfg["kappas"]):
        curve = res["storage"][str(kappa)]
        theory_line(ax, curve["alpha"], curve["entropy"], color=c,
                    label=rf"RS, $\kappa={kappa:g}$ ($\alpha_c={curve['alpha_c']:.3f}$)")
        for m, N in zip(markers, cfg["enum_N"]):
            pts = [(p["alpha"], *p["entropy"]) for p in
                   (res["enum"][("storage", N, a, kappa)] for a in cfg["enum_alpha"])]
            pts = np.array([p for p in pts if np.isfinite(p[1])])
            sim_markers(ax, pts[:, 0], pts[:, 1], pts[:, 2], color=c, fmt=m,
                        label=f"enumeration N={N}" if kappa == cfg["kappas"][0] else None)
    ax.axhline(0, color="k", lw=0.6)
    ax.set(xlabel=r"$\alpha = P/N$", ylabel=r"entropy $s = \ln(\#\mathrm{solutions})/N$",
           title="(a) storage: entropy of margin-$\\kappa$ solutions", ylim=(-0.05, 0.72))
    ax.legend()

    ax = axes[1]
    ts = res["ts"]
    alpha, err = np.array(ts["alpha"]), np.array(ts["gen_error"])
    stable = alpha <= ts["alpha_first_order"]
    theory_line(ax, alpha[stable], err[stable], color="k", label="Bayes RS, poor branch")
    theory_line(ax, alpha[~stable], err[~stable], color="k", ls="--",
                label="poor branch, metastable")
    top = max(cfg["sgd_alpha"] + cfg["ts_enum_alpha"]) * 1.05
    theory_line(ax, [ts["alpha_first_order"], top], [0, 0], color="k", lw=2.5,
                label=r"perfect generalization ($q=R=1$)")
    for x, name, y in [(ts["alpha_first_order"], "first order", 0.16),
                       (ts["alpha_spinodal"], "spinodal", 0.25)]:
        ax.axvline(x, color="gray", ls=":", lw=1)
        ax.text(x, y, f" {name}\n {x:.3f}", fontsize=8, color="gray", va="top")
    for c, m, N in zip(colors, markers, cfg["enum_N"]):
        pts = np.array([(p["alpha"], *p["gibbs_gen_error"]) for p in
                        (res["enum"][("teacher-student", N, a, 0.0)] for a in cfg["ts_enum_alpha"])])
        sim_markers(ax, pts[:, 0], pts[:, 1], pts[:, 2], color=c, fmt=m,
                    label=f"Gibbs, enumeration N={N}")
    sgd = np.array([(a, *res["sgd"][a]["gen_error"]) for a in cfg["sgd_alpha"]])
    sim_markers(ax, sgd[:, 0], sgd[:, 1], sgd[:, 2], color=colors[3], fmt="P",
                label=f"SGD, N={cfg['sgd_N']}")
    ax.set(xlabel=r"$\alpha = P/N$", ylabel=r"generalization error $\arccos(R)/\pi$",
           title="(b) teacher-student", ylim=(-0.01, 0.5))
    ax.legend(loc="upper right")

    ax = axes[2]
    theory_line(ax, D_GRID, res["le_theory"], color="k",
                label=rf"typical solutions (RS), $\alpha={cfg['le_alpha']}$")
    le = res["le_sgd"]
    sim_markers(ax, D_GRID, le["local_energy"], le["sem"], color=colors[3], fmt="P",
                label=f"SGD solutions, N={cfg['sgd_N']} ({le['solved']} of {le['replicas']})")
    ax.set(xscale="log", yscale="log", xlabel=r"flipped fraction $d$",
           ylabel=r"local energy $\delta E(d)$", title="(c) storage: flatness")
    ax.legend()
    fig.tight_layout()
    return save_figure(fig, out_dir, "fig1_rs_overlay")


def main(argv=None) -> None:
    parser = figure_parser(__doc__, "tiny sizes, for smoke tests",
                           seed_help="key of the simulations (instances, SGD runs)")
    args = parser.parse_args(argv)
    cfg = QUICK if args.quick else FULL
    out_dir = Path(args.out)
    cache = ResultsCache(out_dir / "cache" / ("quick" if args.quick else "full"))
    paths = plot(cfg, compute(cfg, cache, args.seed), out_dir)
    print("\n".join(str(p) for p in paths))


if __name__ == "__main__":
    main()
