"""Local entropy around the solutions of fBP and replicated SGD vs simulated annealing, by
exact enumeration at small N (the central claim of [P2], as a finite-size statement).

Observable: the number of solutions within Hamming distance k of a solution W,
$S_{\\le}(k/N) = \\frac1N \\ln \\#\\{W': \\Delta_\\mu(W') \\ge 0\\ \\forall\\mu,
\\ |W' - W|_H \\le k\\}$
(``sim.bp_local_entropy.exact_local_entropy``; W itself counts, so it is finite).

Statement checked: on 16 instances of binary storage at N = 21, alpha = 0.6 (P = 13), one
run of each algorithm per instance (library defaults), the mean over instances of the
paired difference $S_{\\le}(2/N)[\\mathrm{algo}] - S_{\\le}(2/N)[\\mathrm{SA}]$ exceeds two
standard errors for fBP and for replicated SGD; and the SA solutions (annealing, then 200
sweeps among solutions) have the $S_{\\le}$ of a uniformly drawn (typical) solution within
three standard errors, the uniform average being exact (all solutions listed by NumPy).
At this size BP is not trusted at d ~ 1/N, hence enumeration. Slow (1-2.5 min on 2 CPUs).
"""

import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

from atypical import BinaryStorage
from sim.bp_local_entropy import exact_local_entropy
from sim.data import Dataset
from sim.enumerate import sample_instances
from sim.run import default_config, run_algorithm

N, ALPHA, INSTANCES, K_MAX = 21, 0.6, 16, 3


def _within(S: np.ndarray, k: int) -> float:
    """$\\ln\\sum_{j \\le k} e^{N S(j/N)}/N$ from the exact S(j/N), j = 0..N."""
    return float(np.log(np.sum(np.exp(N * S[: k + 1]))) / N)


def _all_solutions(xi: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Every W in {-1,1}^N with all $y_\\mu W\\cdot\\xi_\\mu \\ge 0$, by brute force (int8 rows)."""
    found = []
    for start in range(0, 2**N, 2**18):  # chunks keep the float tables near 30 MB
        r = np.arange(start, start + 2**18)[:, None]
        W = (2 * ((r >> np.arange(N)) & 1) - 1).astype(np.int8)
        found.append(W[np.all(y * (W @ xi.T) >= 0, axis=1)])
    return np.concatenate(found)


def _uniform_within(solutions: np.ndarray, k: int) -> float:
    """Mean over all solutions W of $S_{\\le}(k/N)$ around W: the typical value."""
    sol = solutions.astype(np.int32)
    hamming = (N - sol @ sol.T) // 2
    return float(np.mean(np.log(np.sum(hamming <= k, axis=1)) / N))


def _paired(a: np.ndarray, b: np.ndarray) -> tuple[float, float, int]:
    """Mean and standard error of a - b over the instances where both are finite."""
    diff = (a - b)[np.isfinite(a) & np.isfinite(b)]
    return float(np.mean(diff)), float(np.std(diff, ddof=1) / np.sqrt(diff.size)), diff.size


def _algorithm_within(algo: str, data: Dataset, data64: list[Dataset]) -> np.ndarray:
    """$S_{\\le}(k/N)$, k = 1..K_MAX (columns), around the solution of one run of ``algo`` on
    each instance (rows; nan where the run failed)."""
    W, solved = run_algorithm(algo, jr.split(jr.key(100), INSTANCES), data,
                              default_config(algo), instances=True)
    rows = []
    for i, inst in enumerate(data64):
        if not bool(solved[i]):
            rows.append([np.nan] * K_MAX)
            continue
        _, S = exact_local_entropy(inst, jnp.asarray(W[i], jnp.float64))
        assert S[0] == 0.0  # the run's W is a solution in float64 too
        rows.append([_within(S, k) for k in range(1, K_MAX + 1)])
    return np.array(rows)


@pytest.mark.slow
def test_fbp_and_rsgd_solutions_have_more_neighbours_than_sa_solutions():
    data = sample_instances(jr.key(0), BinaryStorage(ALPHA), N, INSTANCES)
    data64 = [Dataset(xi=data.xi[i].astype(jnp.float64), y=data.y[i].astype(jnp.float64))
              for i in range(INSTANCES)]
    S = {algo: _algorithm_within(algo, data, data64) for algo in ("fbp", "rsgd", "sa")}
    solutions = [_all_solutions(np.asarray(d.xi), np.asarray(d.y)) for d in data64]
    S["uniform"] = np.array([[_uniform_within(sol, k) for k in range(1, K_MAX + 1)]
                             for sol in solutions])
    for name, x in S.items():  # the numbers BENCHMARKS.md quotes (pytest -s shows them)
        n = np.sum(np.isfinite(x[:, 0]))
        own = [f"{m:.4f} +- {s:.4f}" for m, s in zip(
            np.nanmean(x, 0), np.nanstd(x, 0, ddof=1) / np.sqrt(n))]
        minus_sa = ["{:+.4f} +- {:.4f} (n={})".format(*_paired(x[:, k], S["sa"][:, k]))
                    for k in range(K_MAX)]
        print(f"{name} (n={n}): k=1..{K_MAX}:", own, "minus sa:", minus_sa)
    k2 = 1  # column of k = 2
    for algo in ("fbp", "rsgd"):
        mean, sem, n = _paired(S[algo][:, k2], S["sa"][:, k2])
        assert n >= 12, (algo, n)  # enough instances solved by both for a paired mean
        assert mean > 2 * sem, (algo, mean, sem)
    mean, sem, _ = _paired(S["sa"][:, k2], S["uniform"][:, k2])
    assert abs(mean) < 3 * sem, (mean, sem)
