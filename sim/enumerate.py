"""Exact enumeration of all $2^N$ binary weight vectors (N <= 25): solution counts, entropies
and the Gibbs generalization error, instance by instance.

Meet in the middle: write $W = (a, b)$ with $a \\in \\{\\pm1\\}^{N_1}$, $b \\in \\{\\pm1\\}^{N_2}$.
The stabilities are $\\Delta(a, b) = F_1(a) + F_2(b)$ with the two small field tables
$F_1 = S_1 \\xi_1^\\top$ ($2^{N_1-1} \\times P$) and $F_2$ ($2^{N_2} \\times P$), so each
configuration costs P additions and comparisons, and only the tables live in memory.

Half of the work is saved by a computational (not physical) symmetry: fixing $a_1 = +1$,
the configuration $(-a, -b)$ has stabilities $-\\Delta(a, b)$, so one sum decides both
$\\min_\\mu \\Delta \\ge \\kappa$ (for W) and $\\max_\\mu \\Delta \\le -\\kappa$ (for -W). This
holds for any labels and any kappa; $W \\to -W$ itself is *not* a symmetry of the solution space
(it maps solutions for labels y to solutions for -y).
"""

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, ArrayLike, DTypeLike, Float, Int, PRNGKeyArray

from atypical.observables import gen_error_from_overlap
from atypical.problems import BinaryStorage, TeacherStudent

from .data import Dataset, n_examples, sample_storage, sample_teacher_student

N_MAX = 25  # 2**25 = 33.5M configurations; counts fit int32 exactly (2**25 < 2**31)


def default_chunk_size() -> int:
    """Configurations per chunk: on CPU 2**16 keeps a chunk in cache (2**16-2**18 ran ~1.5-2x
    faster than 2**20 on a 2-core EPYC); 2**22 fills an accelerator."""
    return 2**16 if jax.default_backend() == "cpu" else 2**22


class EnumerationResult(eqx.Module):
    """Exact solution counts of ``I`` instances at size N.

    ``agreements[i, k]`` counts the solutions that agree with the teacher on k of N weights
    (teacher overlap $R = 2k/N - 1$); None for storage. Summaries are over instances."""

    counts: Int[Array, " I"]
    agreements: Int[Array, "I N+1"] | None
    N: int = eqx.field(static=True)
    P: int = eqx.field(static=True)
    alpha: float = eqx.field(static=True)
    kappa: float = eqx.field(static=True)

    @property
    def n_instances(self) -> int:
        return int(self.counts.shape[0])

    @property
    def entropy(self) -> np.ndarray:
        """$\\ln(\\#\\mathrm{solutions})/N$ per instance (float64; -inf if unsatisfiable)."""
        counts = np.asarray(self.counts, np.float64)
        with np.errstate(divide="ignore"):
            return np.log(counts) / self.N

    @property
    def sat_fraction(self) -> float:
        """Fraction of instances with at least one solution."""
        return float(np.mean(np.asarray(self.counts) > 0))

    @property
    def entropy_stats(self) -> tuple[float, float, int]:
        """(mean, sem, n) of ln(#solutions)/N over the satisfiable instances."""
        s = self.entropy
        return _mean_sem(s[np.isfinite(s)])

    @property
    def mean_entropy(self) -> float:
        return self.entropy_stats[0]

    @property
    def sem_entropy(self) -> float:
        return self.entropy_stats[1]

    @property
    def gibbs_gen_errors(self) -> np.ndarray:
        """Per instance, mean over solutions of $\\arccos(W\\cdot W_T/N)/\\pi$ (nan if none)."""
        if self.agreements is None:
            raise ValueError("gibbs_gen_errors: only teacher-student results have a teacher")
        k = np.arange(self.N + 1)
        eps = np.asarray(gen_error_from_overlap(jnp.asarray(2 * k / self.N - 1, jnp.float64)))
        hist = np.asarray(self.agreements, np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            return hist @ eps / hist.sum(axis=1)

    @property
    def gibbs_gen_error_stats(self) -> tuple[float, float, int]:
        """(mean, sem, n) of the Gibbs generalization error over satisfiable instances."""
        e = self.gibbs_gen_errors
        return _mean_sem(e[np.isfinite(e)])


def _mean_sem(x: np.ndarray) -> tuple[float, float, int]:
    n = int(x.size)
    if n == 0:
        return math.nan, math.nan, 0
    sem = float(np.std(x, ddof=1) / np.sqrt(n)) if n > 1 else math.nan
    return float(np.mean(x)), sem, n


def _spins(n_bits: int, dtype) -> Float[Array, "2**n_bits n_bits"]:
    """All $2^n$ vectors in $\\{\\pm1\\}^n$, row r holding the bits of r (bit i -> column i)."""
    r = jnp.arange(2**n_bits, dtype=jnp.int32)[:, None]
    bits = (r >> jnp.arange(n_bits, dtype=jnp.int32)[None, :]) & 1
    return (2 * bits - 1).astype(dtype)


def _split_sizes(N: int) -> tuple[int, int]:
    N2 = N // 2
    return N - N2, N2


def _chunk_rows(N: int, chunk_size: int) -> int:
    N1, N2 = _split_sizes(N)
    return max(1, min(2 ** (N1 - 1), chunk_size // 2**N2))


def _count_one(xi_eff: Float[Array, "P N"], kappa: Float[Array, ""], with_agreements: bool,
               chunk_size: int):
    """Solutions of $\\min_\\mu (\\xi_{\\rm eff} s)_\\mu \\ge \\kappa$ over $s \\in \\{\\pm1\\}^N$;
    with agreements: histogram over $k = \\#\\{i: s_i = +1\\}$ (the gauge $s = W W_T$)."""
    P, N = xi_eff.shape
    N1, N2 = _split_sizes(N)
    dtype = xi_eff.dtype
    hi = jax.lax.Precision.HIGHEST  # no TF32 on GPUs: counts must not depend on the backend
    S1 = jnp.concatenate([jnp.ones((2 ** (N1 - 1), 1), dtype), _spins(N1 - 1, dtype)], axis=1)
    S2 = _spins(N2, dtype)
    F1 = jnp.matmul(S1, xi_eff[:, :N1].T, precision=hi)  # (M1, P)
    F2 = jnp.matmul(S2, xi_eff[:, N1:].T, precision=hi)  # (M2, P)
    rows = _chunk_rows(N, chunk_size)  # powers of two: divides 2**(N1-1)
    n_chunks = F1.shape[0] // rows  # both powers of two: no padding
    F1 = F1.reshape(n_chunks, rows, P)
    # number of +1 entries of each half, as one-hot tables for the agreement histogram
    k1 = jnp.sum(S1 > 0, axis=1).reshape(n_chunks, rows)
    onehot2 = jax.nn.one_hot(jnp.sum(S2 > 0, axis=1), N2 + 1, dtype=dtype)  # (M2, N2+1)

    def chunk(carry, inputs):
        count, hist_pos, hist_neg = carry
        F1c, k1c = inputs
        stab = F1c[:, None, :] + F2[None, :, :]  # (rows, M2, P), fused into the reductions
        pos = jnp.min(stab, axis=-1) >= kappa  # W = (a, b) is a solution
        neg = jnp.max(stab, axis=-1) <= -kappa  # W = (-a, -b) is a solution
        count = count + jnp.sum(pos, dtype=jnp.int32) + jnp.sum(neg, dtype=jnp.int32)
        if with_agreements:
            onehot1 = jax.nn.one_hot(k1c, N1 + 1, dtype=dtype)  # (rows, N1+1)
            # exact in float32 while every entry, an integer <= rows * M2, is < 2**24
            hist_pos += (onehot1.T @ (pos.astype(dtype) @ onehot2)).astype(jnp.int32)
            hist_neg += (onehot1.T @ (neg.astype(dtype) @ onehot2)).astype(jnp.int32)
        return (count, hist_pos, hist_neg), None

    zeros = jnp.zeros((N1 + 1, N2 + 1), jnp.int32)
    (count, hist_pos, hist_neg), _ = jax.lax.scan(chunk, (jnp.int32(0), zeros, zeros), (F1, k1))
    if not with_agreements:
        return count, None
    # agreements K = k1 + k2 for (a, b); the negated configuration agrees on N - K
    K = jnp.arange(N1 + 1)[:, None] + jnp.arange(N2 + 1)[None, :]
    hist = jnp.zeros(N + 1, jnp.int32).at[K].add(hist_pos).at[N - K].add(hist_neg)
    return count, hist


def _effective_patterns(data: Dataset) -> Float[Array, "P N"]:
    """$\\xi^{\\rm eff}_{\\mu i} = y_\\mu \\xi_{\\mu i} W_{T,i}/\\sqrt N$, so that
    $\\Delta_\\mu(W) = (\\xi^{\\rm eff} s)_\\mu$ with $s = W \\odot W_T$ (no teacher: $W_T = 1$)."""
    P, N = data.xi.shape
    xi = data.y[:, None] * data.xi
    if data.W_T is not None:
        xi = xi * data.W_T[None, :]
    return xi / jnp.sqrt(jnp.asarray(N, xi.dtype))


def _check_N(N: int, who: str) -> None:
    if not isinstance(N, int) or N < 1:
        raise ValueError(f"{who}(N={N!r}): N must be an int >= 1")
    if N > N_MAX:
        raise ValueError(f"{who}(N={N}): N must be <= {N_MAX} (2**N configurations)")


def _check_chunk_size(chunk_size: int | None) -> int:
    if chunk_size is None:
        return default_chunk_size()
    if not isinstance(chunk_size, int) or chunk_size < 1 or chunk_size & (chunk_size - 1):
        raise ValueError(f"chunk_size={chunk_size!r}: must be a power of two in [1, 2**23]")
    if chunk_size > 2**23:  # keeps the float32 agreement histogram of a chunk exact
        raise ValueError(f"chunk_size={chunk_size}: must be a power of two in [1, 2**23]")
    return chunk_size


@eqx.filter_jit
def _count_batch(xi_eff: Float[Array, "I P N"], kappa: Float[Array, ""],
                 with_agreements: bool, chunk_size: int):
    # instances one after the other: memory stays that of one instance's chunk
    return jax.lax.map(lambda x: _count_one(x, kappa, with_agreements, chunk_size), xi_eff)


def enumerate_solutions(data: Dataset, kappa: ArrayLike = 0.0, *,
                        chunk_size: int | None = None
                        ) -> tuple[Int[Array, ""], Int[Array, " N+1"] | None]:
    """Exact number of $W \\in \\{\\pm1\\}^N$ with all
    $\\Delta_\\mu = y_\\mu W\\cdot\\xi_\\mu/\\sqrt N \\ge \\kappa$ (int32, exact since $2^{25} < 2^{31}$), and with a teacher the histogram of
    solutions over the number k of weights equal to $W_T$ (overlap $2k/N - 1$). N <= 25.
    Stabilities are summed in the data's dtype: with float32 a stability within ~1e-6 of
    kappa may fall on either side (probability ~1e-6 per stability); float64 data is exact."""
    P, N = data.xi.shape
    _check_N(N, "enumerate_solutions")
    kappa = jnp.asarray(kappa, data.xi.dtype)
    counts, hist = _count_batch(_effective_patterns(data)[None], kappa, data.W_T is not None,
                                _check_chunk_size(chunk_size))
    return counts[0], None if hist is None else hist[0]


@eqx.filter_jit
def _margins(xi_eff: Float[Array, "P N"]) -> Float[Array, " 2**N"]:
    P, N = xi_eff.shape
    N1, N2 = _split_sizes(N)
    hi = jax.lax.Precision.HIGHEST
    F1 = jnp.matmul(_spins(N1, xi_eff.dtype), xi_eff[:, :N1].T, precision=hi)  # (2**N1, P)
    F2 = jnp.matmul(_spins(N2, xi_eff.dtype), xi_eff[:, N1:].T, precision=hi)  # (2**N2, P)
    return jax.lax.map(lambda f1: jnp.min(f1[None, :] + F2, axis=-1), F1).reshape(-1)


def configuration_margins(data: Dataset) -> Float[Array, " 2**N"]:
    r"""Margin $\min_\mu \Delta_\mu(W)$ of every $W \in \{\pm1\}^N$ (N <= 25), indexed so that
    ``configuration(N, r)`` is configuration r (with a teacher, r indexes $s = W \odot W_T$).
    $W$ is a solution with margin $\kappa$ iff its entry is $\ge \kappa$: the maximal-margin
    solution is the argmax, a uniform solution a uniform index among the entries $\ge 0$."""
    P, N = data.xi.shape
    _check_N(N, "configuration_margins")
    return _margins(_effective_patterns(data))


def configuration(N: int, r: int) -> np.ndarray:
    """Configuration r of ``configuration_margins`` as a vector in $\\{\\pm1\\}^N$: the first
    $N_1 = N - \\lfloor N/2\\rfloor$ weights are the bits of $r // 2^{N_2}$, the others those
    of $r \\bmod 2^{N_2}$ (bit i -> weight i, 1 -> +1)."""
    _check_N(N, "configuration")
    N1, N2 = _split_sizes(N)
    if not 0 <= r < 2**N:
        raise ValueError(f"configuration(N={N}, r={r}): r must lie in [0, 2**N)")
    bits = lambda v, n: (v >> np.arange(n)) & 1
    return (2.0 * np.concatenate([bits(r >> N2, N1), bits(r & (2**N2 - 1), N2)]) - 1.0)


def sample_instances(key: PRNGKeyArray, problem: BinaryStorage | TeacherStudent, N: int,
                     n_instances: int, *, K: int = 1, arch: str = "tree",
                     dtype: DTypeLike = jnp.float32) -> Dataset:
    """``n_instances`` data sets of ``problem`` stacked on a leading axis; instance i is
    ``sample_*(jr.split(key, n_instances)[i], problem, N, K=K, arch=arch)`` (a committee of
    K hidden units for K > 1 or arch "fc", ``sim.committee``)."""
    if isinstance(problem, BinaryStorage):
        sample = sample_storage
    elif isinstance(problem, TeacherStudent):
        sample = sample_teacher_student
    else:
        raise ValueError(f"sample_instances: unknown problem {type(problem).__name__}; "
                         "expected BinaryStorage or TeacherStudent")
    if not isinstance(n_instances, int) or n_instances < 1:
        raise ValueError(f"sample_instances(n_instances={n_instances!r}): must be an int >= 1")
    n_examples(problem.alpha, N, "sample_instances")  # fail here, not inside vmap
    # one jitted sampler call per instance (compiled once per shape; a vmapped sampler
    # compiles a bigger program, seconds on a CPU) stacked on a leading axis
    instances = [sample(k, problem, N, K=K, arch=arch, dtype=dtype)
                 for k in jr.split(key, n_instances)]
    return jax.tree.map(lambda *leaves: jnp.stack(leaves), *instances)


def enumerate_instances(key: PRNGKeyArray, problem: BinaryStorage | TeacherStudent, N: int,
                        n_instances: int, *, dtype: DTypeLike = jnp.float32,
                        chunk_size: int | None = None) -> EnumerationResult:
    """Exact enumeration on ``n_instances`` independent instances of ``problem`` at size N
    (N <= 25): per-instance solution counts (and teacher agreements), with summaries
    ``sat_fraction``, ``mean_entropy``/``sem_entropy`` of $\\ln(\\#)/N$ over satisfiable
    instances and, in teacher-student, ``gibbs_gen_error_stats``. Instance i uses the data
    ``sample_instances(key, ...)[i]``; ``chunk_size`` (configurations per step) bounds memory
    at about chunk_size * P * 4 bytes."""
    _check_N(N, "enumerate_instances")
    data = sample_instances(key, problem, N, n_instances, dtype=dtype)
    xi_eff = jax.vmap(_effective_patterns)(data)
    kappa = jnp.asarray(problem.kappa, dtype)
    counts, hist = _count_batch(xi_eff, kappa, data.W_T is not None,
                                _check_chunk_size(chunk_size))
    return EnumerationResult(counts=counts, agreements=hist, N=N, P=int(data.xi.shape[1]),
                             alpha=float(problem.alpha), kappa=float(problem.kappa))
