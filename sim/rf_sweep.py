"""Training algorithms on the random-features model [P1] (DESIGN.md section 3.3) and their
sweep versus overparameterization N/D at fixed alpha_D = P/D (fixed P and D, growing N).

What an algorithm sees: the features $x = \\sigma(Fc/\\sqrt D)$ (or their Gaussian-equivalent
surrogate), never centred; for SGD and replicated SGD only, scaled by the constant
$1/\\sqrt{E\\,\\sigma(z)^2}$ (``feature_scale``), because their loss margin and inverse
temperature are tuned in units of unit-variance stabilities. A positive scale changes
neither the solutions (margin 0) nor the test error. Centring would change the model (for
relu the mean $\\mu_0$ gives the student a bias $\\mu_0\\sum_i W_i/\\sqrt N$ that is part of
the problem). fBP and annealing are scale invariant (annealing counts errors; fBP's
Gaussian cavity sums use the actual feature values), but fBP fails on features with a mean:
on relu features (mu0 = 0.40) its fields collapse onto the common mean direction (W = all
+1 or all -1, test error 1/2), and on centred features it solves the centred problem, whose
solutions are not solutions of the model (measured: training error 0.09-0.13 on the raw
features at N = 400, alpha = 0.25). So fBP is refused for sigma with mu0 != 0.

Measured on each run: solved (zero training error), training error, test error on fresh
examples of the same model (same F, w_T), the Gaussian-equivalence error of the weights
(``sim.random_features.get_gen_error``) and the local energy $\\delta E(d)$ [P2]
(``atypical.observables.local_energy``) from the stabilities normalised per example,
$\\tilde\\Delta_\\mu = y_\\mu W\\cdot x_\\mu/|x_\\mu|$: flipping a random fraction d of the weights
sends $\\tilde\\Delta \\to (1-2d)\\tilde\\Delta + 2\\sqrt{d(1-d)}z$ for any features.
"""

import time
from collections.abc import Callable, Sequence
from functools import partial

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, ArrayLike, Bool, DTypeLike, Float, PRNGKeyArray

from atypical.observables import binary_sign, local_energy
from atypical.problems import RandomFeatures

from .data import Dataset
from .measure import test_error, training_error
from .random_features import RFDataset, rf_features, get_gen_error
from .run import ALGORITHMS, default_config, run_algorithm

RF_ALGORITHMS = ("sgd", "rsgd", "fbp", "sa")  # amp is the Bayes-optimal teacher-student AMP
SCALED_ALGORITHMS = ("sgd", "rsgd")  # see the module docstring
DEFAULT_D = (0.005, 0.01, 0.02, 0.05)
_HI = jax.lax.Precision.HIGHEST


def check_rf_algorithm(algo: str, who: str, problem: RandomFeatures | None = None) -> None:
    """Raise ``ValueError`` unless ``algo`` applies to the random-features model (with
    ``problem``: to its activation; fBP needs zero-mean features, see the module docstring)."""
    if algo not in RF_ALGORITHMS:
        why = (" (amp is the Bayes-optimal AMP of the binary teacher-student perceptron on "
               "Gaussian inputs; here the teacher acts on the latent c)" if algo == "amp"
               else f"; known algorithms: {ALGORITHMS}")
        raise ValueError(f"{who}(algo={algo!r}): random features support {RF_ALGORITHMS}"
                         + why)
    if algo == "fbp" and problem is not None and problem.mu0 != 0:
        raise ValueError(f"{who}(algo='fbp', sigma={problem.sigma!r}): fbp needs zero-mean "
                         f"features and {problem.sigma} has mu0 = {problem.mu0:.4g} (its "
                         "messages collapse onto the mean; centring would change the model)")


def feature_scale(problem: RandomFeatures, algo: str) -> float:
    """$1/\\sqrt{E\\,\\sigma(z)^2} = 1/\\sqrt{\\mu_0^2+\\mu_1^2+\\mu_*^2}$ for SGD and rSGD (unit
    second moment of the features, and of the stabilities), 1 for fBP and annealing."""
    check_rf_algorithm(algo, "feature_scale", problem)
    if algo not in SCALED_ALGORITHMS:
        return 1.0
    return float(1 / np.sqrt(problem.mu0**2 + problem.mu1**2 + problem.mu_star**2))


def training_dataset(data: RFDataset, problem: RandomFeatures, algo: str) -> Dataset:
    """The ``sim.data.Dataset`` that ``algo`` trains on: the features times
    ``feature_scale`` (never centred), the labels, no binary teacher. Batched data keep
    their leading axes."""
    scale = jnp.asarray(feature_scale(problem, algo), data.xi.dtype)
    return Dataset(xi=data.xi * scale, y=data.y)


# ----------------------------------------------------------------- nested instances

def _rows(key: PRNGKeyArray, n: int, length: int, dtype) -> Array:
    """n rows of iid N(0,1), row i from fold_in(key, i): the first n rows do not depend on
    n, so instances at different N share their first rows (common random numbers)."""
    return jax.vmap(lambda i: jr.normal(jr.fold_in(key, i), (length,), dtype))(
        jnp.arange(n, dtype=jnp.uint32))


def _features_nested(key, u: Float[Array, "P N"], problem: RandomFeatures, surrogate: bool):
    if not surrogate:
        return rf_features(key, u, problem, False)
    eta = _rows(key, u.shape[1], u.shape[0], u.dtype).T  # column i from fold_in(key, i)
    dtype = u.dtype
    return (jnp.asarray(problem.mu0, dtype) + jnp.asarray(problem.mu1, dtype) * u
            + jnp.asarray(problem.mu_star, dtype) * eta)


@partial(jax.jit, static_argnums=(2, 3, 4, 5, 6, 7))
def _nested(key, problem, P: int, D: int, N: int, P_test: int, surrogate: bool, dtype):
    k_F, k_T, k_c, k_eta, k_ct, k_etat = jr.split(key, 6)
    F = _rows(k_F, N, D, dtype)
    w_T = (jr.rademacher(k_T, (D,), dtype) if problem.teacher == "binary"
           else jr.normal(k_T, (D,), dtype))
    sqrt_D = jnp.sqrt(jnp.asarray(D, dtype))

    def make(c, k):
        xi = _features_nested(k, jnp.matmul(c, F.T, precision=_HI) / sqrt_D, problem,
                              surrogate)
        y = binary_sign(jnp.matmul(c, w_T, precision=_HI)).astype(dtype)
        return RFDataset(xi=xi, y=y, F=F, w_T=w_T, c=c)

    return (make(jr.normal(k_c, (P, D), dtype), k_eta),
            make(jr.normal(k_ct, (P_test, D), dtype), k_etat))


def sample_rf_nested(key: PRNGKeyArray, problem: RandomFeatures, P: int, D: int, N: int,
                     P_test: int, *, surrogate: bool = False,
                     dtype: DTypeLike = jnp.float32) -> tuple[RFDataset, RFDataset]:
    """A training set of P examples and a test set of P_test fresh examples of one
    random-features instance with N features of D latents, nested in N: F's rows and the
    surrogate noise columns are indexed draws, so for the same key the instance at N is
    the first N features of the instance at N' > N (same latents, teacher and labels).
    ``problem`` gives sigma, teacher and the Gaussian-equivalence coefficients."""
    for name, value in (("P", P), ("D", D), ("N", N), ("P_test", P_test)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"sample_rf_nested({name}={value!r}): must be an int >= 1")
    return _nested(key, problem, P, D, N, P_test, bool(surrogate), jnp.dtype(dtype))


# ---------------------------------------------------------------------- measurement

class RFRunMeasurements(eqx.Module):
    """Per run (leading axis S): solved, training error, test error on fresh examples of
    the same model, Gaussian-equivalence error ``get_error`` and local energy
    $\\delta E(d)$ (``S K``) at the flipped fractions ``d`` (``K``)."""

    solved: Bool[Array, " S"]
    train_error: Float[Array, " S"]
    test_error: Float[Array, " S"]
    get_error: Float[Array, " S"]
    local_energy: Float[Array, "S K"]
    d: Float[Array, " K"]


def normalised_stabilities(W: Float[Array, " N"], data: RFDataset) -> Float[Array, " P"]:
    """$\\tilde\\Delta_\\mu = y_\\mu W\\cdot x_\\mu/|x_\\mu|$: the stability in the units of the
    local-energy formula, whatever the scale and mean of the features."""
    W = W.astype(data.xi.dtype)
    norm = jnp.sqrt(jnp.sum(data.xi * data.xi, axis=-1))
    return data.y * jnp.matmul(data.xi, W, precision=_HI) / norm


def _measure_one(W, data: RFDataset, test: RFDataset, problem: RandomFeatures, d):
    W = W.astype(data.xi.dtype)
    train = training_error(W, Dataset(data.xi, data.y))
    return (train, test_error(W, Dataset(test.xi, test.y)), get_gen_error(data, W, problem),
            local_energy(normalised_stabilities(W, data), d))


@eqx.filter_jit
def measure_rf_runs(W: Float[Array, "S N"], data: RFDataset, test: RFDataset,
                    problem: RandomFeatures, d: Float[Array, " K"], *,
                    instances: bool) -> RFRunMeasurements:
    """Measure S runs: on a stack of S instances (``instances=True``, leading axis S on
    ``data`` and ``test``) or on one instance (``instances=False``)."""
    axis = 0 if instances else None
    train, test_err, get, le = jax.vmap(_measure_one, in_axes=(0, axis, axis, None, None))(
        W, data, test, problem, d)
    return RFRunMeasurements(solved=train == 0, train_error=train, test_error=test_err,
                             get_error=get, local_energy=le, d=d)


# ------------------------------------------------------------------------- sweep

class RFSweepPoint(eqx.Module):
    """One N of a sweep at fixed (P, D): sizes, ``n_over_d`` = N/D, ``alpha`` = P/N,
    ``alpha_D`` = P/D, the final weights ``W`` and measurements of its S seeds and the wall
    time (compilation included) of sampling, training and measuring."""

    N: int = eqx.field(static=True)
    P: int = eqx.field(static=True)
    D: int = eqx.field(static=True)
    W: Float[Array, "S N"]
    runs: RFRunMeasurements
    seconds: float = eqx.field(static=True)

    @property
    def n_over_d(self) -> float:
        return self.N / self.D

    @property
    def alpha(self) -> float:
        return self.P / self.N

    @property
    def alpha_D(self) -> float:
        return self.P / self.D


def rf_instances(key: PRNGKeyArray, problem: RandomFeatures, P: int, D: int, N: int,
                 n_seeds: int, *, P_test: int, surrogate: bool = False,
                 dtype: DTypeLike = jnp.float32) -> tuple[RFDataset, RFDataset]:
    """The ``n_seeds`` instances (training and test sets, leading axis S) that
    ``rf_algorithm_point(key, ...)`` trains on: seed s is
    ``sample_rf_nested(fold_in(split(key)[0], s), ...)``."""
    k_data = jr.split(key)[0]
    data_keys = jax.vmap(lambda s: jr.fold_in(k_data, s))(jnp.arange(n_seeds, dtype=jnp.uint32))
    return jax.vmap(lambda k: sample_rf_nested(k, problem, P, D, N, P_test,
                                               surrogate=surrogate, dtype=dtype))(data_keys)


def rf_algorithm_point(key: PRNGKeyArray, algo: str, N: int, P: int, D: int,
                       n_seeds: int, *, sigma: str = "sign", teacher: str = "gaussian",
                       surrogate: bool = False, config=None, P_test: int = 2000,
                       d: ArrayLike = DEFAULT_D) -> RFSweepPoint:
    """``algo`` on ``n_seeds`` independent instances (N features, P examples, D latents),
    vmapped over seeds: seed s trains on instance s of ``rf_instances(key, ...)``, so the
    same key gives nested instances at every N. ``config`` defaults to the library's
    (float32); the data take its dtype. See ``RFRunMeasurements`` for what is measured."""
    check_rf_algorithm(algo, "rf_algorithm_point")
    if not isinstance(n_seeds, int) or n_seeds < 1:
        raise ValueError(f"rf_algorithm_point(n_seeds={n_seeds!r}): must be an int >= 1")
    config = default_config(algo) if config is None else config
    dtype = jnp.dtype(config.dtype)
    problem = RandomFeatures(P / N, P / D, sigma=sigma, teacher=teacher)
    check_rf_algorithm(algo, "rf_algorithm_point", problem)
    start = time.perf_counter()
    data, test = rf_instances(key, problem, P, D, N, n_seeds, P_test=P_test,
                              surrogate=surrogate, dtype=dtype)
    k_run = jr.split(key)[1]
    W, _ = run_algorithm(algo, jr.split(k_run, n_seeds), training_dataset(data, problem, algo),
                         config, instances=True)
    runs = measure_rf_runs(W, data, test, problem, jnp.asarray(d, dtype), instances=True)
    runs = jax.block_until_ready(runs)
    return RFSweepPoint(N=N, P=P, D=D, W=W, runs=runs, seconds=time.perf_counter() - start)


def rf_overparameterization_sweep(key: PRNGKeyArray, algo: str, n_over_d: Sequence[float], *,
                                  alpha_D: float, D: int, n_seeds: int, sigma: str = "sign",
                                  teacher: str = "gaussian", surrogate: bool = False,
                                  config=None, P_test: int = 2000, d: ArrayLike = DEFAULT_D,
                                  progress: Callable[[str], None] | None = None
                                  ) -> list[RFSweepPoint]:
    """Success probability, test error and local energy of ``algo`` versus N/D at fixed
    alpha_D: P = round(alpha_D D) and D fixed, N = round(N/D * D) per point (alpha = P/N),
    ``n_seeds`` instances per point vmapped, nested in N (the same key at every point).
    ``progress`` receives one line per finished point."""
    if not isinstance(D, int) or D < 1:
        raise ValueError(f"rf_overparameterization_sweep(D={D!r}): must be an int >= 1")
    P = round(float(alpha_D) * D)
    if not P >= 1:
        raise ValueError(f"rf_overparameterization_sweep(alpha_D={alpha_D}, D={D}): "
                         f"P = round(alpha_D D) = {P}, need P >= 1")
    points = []
    for ratio in n_over_d:
        N = round(float(ratio) * D)
        if N < 1:
            raise ValueError(f"rf_overparameterization_sweep(n_over_d={ratio}): "
                             f"N = round(N/D * D) = {N}, need N >= 1")
        point = rf_algorithm_point(key, algo, N, P, D, n_seeds, sigma=sigma, teacher=teacher,
                                   surrogate=surrogate, config=config, P_test=P_test, d=d)
        points.append(point)
        if progress is not None:
            r = point.runs
            progress(f"{algo} N/D={point.n_over_d:.3g} (N={N}, P={P}, D={D}): "
                     f"solved {float(jnp.mean(r.solved.astype(jnp.float32))):.2f}, "
                     f"test error {float(jnp.mean(r.test_error)):.3f}, "
                     f"{point.seconds:.1f} s")
    return points
