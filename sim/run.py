"""One entry point to every training algorithm: defaults and a vectorized runner."""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

from atypical.problems import BinaryStorage, TeacherStudent, check_one_of

from . import amp, anneal, fbp, rsgd, sgd
from .amp import AMPConfig
from .anneal import AnnealConfig
from .fbp import FBPConfig
from .rsgd import RSGDConfig
from .sgd import SGDConfig

ALGORITHMS = ("sgd", "rsgd", "fbp", "amp", "sa")
COMMITTEE_ALGORITHMS = ("sgd", "rsgd", "fbp")  # the ones that train committees (K > 1 or fc)
PADDABLE = ("sgd", "rsgd")  # the ones that skip padding examples (``data.pad_examples``)


def check_supports(algo: str, K: int, arch: str = "tree") -> None:
    """Raise ValueError if ``algo`` cannot train a K-unit ``arch`` committee."""
    if algo not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {algo!r}: expected one of {ALGORITHMS}")
    if (K, arch) != (1, "tree") and algo not in COMMITTEE_ALGORITHMS:
        raise ValueError(f"algorithm {algo!r} trains the binary perceptron only (K = 1); "
                         f"committee machines (K={K}, arch={arch!r}) are trained by "
                         f"{COMMITTEE_ALGORITHMS}")


def default_config(algo: str):
    """The library's default configuration of each algorithm (float32)."""
    return {"sgd": SGDConfig, "rsgd": RSGDConfig, "fbp": FBPConfig, "amp": AMPConfig,
            "sa": AnnealConfig}[algo]()


def run_algorithm(algo: str, key, data, config, *, instances: bool):
    """Run ``algo`` vectorized: on a stack of data sets (``instances=True``, one run per
    instance, leading axis I) or R = ``key.shape[0]`` runs on one data set. Returns
    (final binary weights ``R N``, solved ``R``); committee data (``data.K``, ``data.arch``)
    only for the algorithms in ``COMMITTEE_ALGORITHMS``."""
    # data-like modules other than Dataset (no committee fields) are perceptron data
    check_supports(algo, getattr(data, "K", 1), getattr(data, "arch", "tree"))
    if getattr(data, "padded", False) and algo not in PADDABLE:
        raise ValueError(f"algorithm {algo!r} cannot skip padding examples (y = 0): "
                         "run it on unpadded data (only sgd and rsgd take padded data)")
    if algo == "amp":
        if not instances:
            raise ValueError("amp is deterministic: run it on instances")
        res = amp.run_amp_instances(data, config)
        return res.W, res.solved
    one = {"sgd": sgd.train_one, "rsgd": rsgd.train_one, "fbp": fbp.fbp_one,
           "sa": anneal.anneal_one}[algo]
    fn = jax.jit(jax.vmap(one, in_axes=(0, 0 if instances else None, None)))
    res = fn(key, data, config)
    return res.W, res.solved


def success_grid(algo: str, key, N: int, alphas, n_seeds: int, config, *,
                 problem: type = BinaryStorage) -> np.ndarray:
    """Solved flags (``A S``, bool) of ``algo`` on ``n_seeds`` independent instances at each
    alpha of ``alphas`` (binary perceptron, kappa = 0; ``problem`` the class
    ``BinaryStorage`` or ``TeacherStudent``). Instance s at alpha index a has
    data key ``jr.split(k_data, S)[s]`` and algorithm key ``jr.split(k_run, S)[s]``, with
    ``k_data, k_run = jr.split(jr.fold_in(key, a))``: every algorithm sees the same data.

    sgd and rsgd run all A x S instances in one vmapped program (the data sets padded to
    the largest P, ``pad_examples``); the others are vmapped over seeds, alpha by alpha."""
    from .data import n_examples, pad_examples, sample_storage, sample_teacher_student

    alphas = [float(a) for a in alphas]
    if not alphas:
        raise ValueError("success_grid: alphas is empty")
    if not isinstance(n_seeds, int) or n_seeds < 1:
        raise ValueError(f"success_grid(n_seeds={n_seeds!r}): must be an int >= 1")
    check_supports(algo, 1)
    if algo == "amp":
        raise ValueError("success_grid: amp is a teacher-student estimator, not a solver")
    check_one_of("success_grid", "problem", problem, (BinaryStorage, TeacherStudent))
    sample = sample_storage if problem is BinaryStorage else sample_teacher_student
    dtype = config.dtype
    keys = [jr.split(jr.fold_in(key, a), 2) for a in range(len(alphas))]
    run_keys = [jr.split(kr, n_seeds) for _, kr in keys]

    def instances(a, P_pad=None):  # the n_seeds data sets of alpha index a, stacked
        sets = [sample(k, problem(alphas[a]), N, dtype=dtype)
                for k in jr.split(keys[a][0], n_seeds)]
        if P_pad is not None:
            sets = [pad_examples(d, P_pad) for d in sets]
        return jax.tree.map(lambda *leaves: jnp.stack(leaves), *sets)

    if algo in PADDABLE:
        P_max = max(n_examples(alpha, N, "success_grid") for alpha in alphas)
        rows = [instances(a, P_max) for a in range(len(alphas))]
        data = jax.tree.map(lambda *leaves: jnp.concatenate(leaves), *rows)
        del rows  # device memory: only the one stack of A x S data sets stays
        _, solved = run_algorithm(algo, jnp.concatenate(run_keys), data, config,
                                  instances=True)
        return np.asarray(solved).reshape(len(alphas), n_seeds)
    # one alpha at a time: only its S data sets are in memory
    return np.stack([np.asarray(run_algorithm(algo, run_keys[a], instances(a), config,
                                              instances=True)[1])
                     for a in range(len(alphas))])


def half_success_alpha(alphas, p) -> float:
    """The alpha where the success probability p(alpha) first falls through 1/2, by linear
    interpolation between the two bracketing points (nan if it never does)."""
    alphas, p = np.asarray(alphas, float), np.asarray(p, float)
    order = np.argsort(alphas)
    alphas, p = alphas[order], p[order]
    for j in range(len(p) - 1):
        if p[j] >= 0.5 > p[j + 1]:
            return float(alphas[j] + (p[j] - 0.5) / (p[j] - p[j + 1]) * (alphas[j + 1] - alphas[j]))
    return float("nan")


def half_success_alpha_bootstrap(alphas, solved, *, n_boot: int = 400,
                                 seed: int = 0) -> tuple[float, float]:
    """``half_success_alpha`` of the success fractions of ``solved`` (``A S`` flags, alphas
    increasing) and its bootstrap standard error: the S instances of each alpha
    (independent of the other alphas') resampled with replacement ``n_boot`` times (plus
    the grid resolution where p jumps from 1 to 0); nan where undefined."""
    solved = np.asarray(solved, float)
    est = half_success_alpha(alphas, solved.mean(axis=1))
    rng = np.random.default_rng(seed)
    A, S = solved.shape
    boot = [half_success_alpha(alphas, np.take_along_axis(
        solved, rng.integers(0, S, (A, S)), axis=1).mean(axis=1)) for _ in range(n_boot)]
    boot = np.asarray(boot)
    finite = boot[np.isfinite(boot)]
    sem = float(np.std(finite, ddof=1)) if finite.size >= 2 else float("nan")
    # a jump from p = 1 straight to p = 0 between two grid points: resampling cannot move
    # the crossing, which lies anywhere in the bracket (uniform: width/sqrt(12))
    p = solved.mean(axis=1)
    a = np.asarray(alphas, float)
    for j in range(A - 1):
        if np.isfinite(est) and a[j] <= est <= a[j + 1] and p[j] == 1 and p[j + 1] == 0:
            sem = float(np.hypot(np.nan_to_num(sem), (a[j + 1] - a[j]) / np.sqrt(12)))
    return est, sem


def extrapolate_inverse_N(Ns, values, sems=None) -> tuple[float, float, float]:
    """Least-squares fit ``value = a + b/N`` over the finite points; returns (a, its
    standard error, b), a being the N -> infinity estimate. With ``sems`` the fit is
    weighted by 1/sem^2 and the error propagated from the sems (>= 2 points); without, the
    error comes from the scatter about the line (>= 3 points). nan where undefined."""
    Ns, values = np.asarray(Ns, float), np.asarray(values, float)
    w = np.ones_like(values) if sems is None else 1 / np.asarray(sems, float) ** 2
    ok = np.isfinite(values) & np.isfinite(w) & (w > 0)
    n = int(ok.sum())
    if n < 2:
        return float("nan"), float("nan"), float("nan")
    X = np.stack([np.ones(n), 1 / Ns[ok]], axis=1)
    XtW = (X * w[ok][:, None]).T
    coef = np.linalg.solve(XtW @ X, XtW @ values[ok])
    if sems is not None:
        cov = np.linalg.inv(XtW @ X)
    elif n >= 3:
        resid = values[ok] - X @ coef
        cov = np.linalg.inv(X.T @ X) * np.sum(resid**2) / (n - 2)
    else:
        return float(coef[0]), float("nan"), float(coef[1])
    return float(coef[0]), float(np.sqrt(cov[0, 0])), float(coef[1])
