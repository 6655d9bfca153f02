"""Finite-N data sets of the binary-perceptron problems and of binary committee machines
(DESIGN.md section 3, problems 1, 2 and 4; committees in ``sim.committee``).

Examples $\\xi \\sim N(0, I_N)$; sizes are Python ints fixed before any jitted call,
$P = \\mathrm{round}(\\alpha N)$. The same key gives the same data (threefry is portable).
"""

from functools import partial

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, DTypeLike, Float, PRNGKeyArray

from atypical.observables import binary_sign
from atypical.problems import BinaryStorage, TeacherStudent

from .committee import check_committee, committee_output, n_weights


class Dataset(eqx.Module):
    """P examples ``xi`` (``P N``) with labels ``y`` in {-1, +1}; ``W_T`` the binary teacher
    (teacher-student) or None (storage of random labels). K, arch (static): the student
    (and teacher) architecture, a committee of K hidden units (``sim.committee``); the
    default K = 1 is the perceptron. A committee teacher is flat, of length K N_k.
    padded (static): rows with y = 0 are padding (``pad_examples``), skipped by sgd and rsgd;
    it lets data sets of different P (different alpha) share one shape and one program."""

    xi: Float[Array, "P N"]
    y: Float[Array, " P"]
    W_T: Float[Array, " Nw"] | None = None
    K: int = eqx.field(static=True, default=1)
    arch: str = eqx.field(static=True, default="tree")
    padded: bool = eqx.field(static=True, default=False)

    @property
    def is_perceptron(self) -> bool:
        """True for the plain perceptron layout (K = 1, tree), trained by the original code."""
        return self.K == 1 and self.arch == "tree"


def n_examples(alpha, N: int, who: str) -> int:
    """$P = \\mathrm{round}(\\alpha N)$ as a Python int; alpha must be concrete (not traced)."""
    if not isinstance(N, int) or N < 1:
        raise ValueError(f"{who}(N={N!r}): N must be a Python int >= 1")
    try:
        alpha = float(alpha)
    except (TypeError, jax.errors.ConcretizationTypeError):
        raise ValueError(f"{who}: alpha fixes the shape P = round(alpha*N) and must be a "
                         "concrete number, not a traced value") from None
    if not alpha > 0:  # also catches nan
        raise ValueError(f"{who}(alpha={alpha}): alpha = P/N must be > 0")
    P = round(alpha * N)
    if P < 1:
        raise ValueError(f"{who}(alpha={alpha}, N={N}): P = round(alpha*N) = {P}, "
                         "need P >= 1 (increase alpha or N)")
    return P


def _labels_of(xi: Float[Array, "P N"], W_T: Float[Array, " N"]) -> Float[Array, " P"]:
    # sign(0) -> +1: a tie has probability zero for Gaussian xi, but must still be a label.
    return binary_sign(xi @ W_T)


# jitted with the sizes static: one small compilation per shape instead of eager op-by-op
# dispatch (seconds under vmap); the public functions compute P from the concrete alpha
@partial(jax.jit, static_argnums=(1, 2, 3))
def _storage(key, P: int, N: int, dtype) -> Dataset:
    k_xi, k_y = jr.split(key)
    return Dataset(xi=jr.normal(k_xi, (P, N), dtype), y=jr.rademacher(k_y, (P,), dtype))


@partial(jax.jit, static_argnums=(1, 2, 3))
def _teacher_student(key, P: int, N: int, dtype) -> Dataset:
    k_T, k_xi = jr.split(key)
    W_T = jr.rademacher(k_T, (N,), dtype)
    xi = jr.normal(k_xi, (P, N), dtype)
    return Dataset(xi=xi, y=_labels_of(xi, W_T), W_T=W_T)


@partial(jax.jit, static_argnums=(1, 2, 3, 4, 5))
def _committee_teacher_student(key, P: int, N: int, K: int, arch: str, dtype) -> Dataset:
    k_T, k_xi = jr.split(key)
    W_T = jr.rademacher(k_T, (n_weights(N, K, arch),), dtype)
    xi = jr.normal(k_xi, (P, N), dtype)
    # HIGHEST: the teacher must be an exact solution of its own labels on any device
    y = committee_output(W_T, xi, K, arch, jax.lax.Precision.HIGHEST)
    return Dataset(xi=xi, y=y, W_T=W_T, K=K, arch=arch)


def sample_storage(key: PRNGKeyArray, problem: BinaryStorage, N: int, *, K: int = 1,
                   arch: str = "tree", dtype: DTypeLike = jnp.float32) -> Dataset:
    """Storage data: $\\xi_\\mu \\sim N(0, I_N)$, $y_\\mu = \\pm1$ uniform,
    $P = \\mathrm{round}(\\alpha N)$, for a student committee of K hidden units (``arch``
    "tree" or "fc"; K = 1: the perceptron). The same key gives the same xi, y for every K."""
    P = n_examples(problem.alpha, N, "sample_storage")
    check_committee(K, arch, N, "sample_storage")
    data = _storage(key, P, N, jnp.dtype(dtype))
    return data if (K, arch) == (1, "tree") else Dataset(data.xi, data.y, K=K, arch=arch)


def sample_teacher_student(key: PRNGKeyArray, problem: TeacherStudent, N: int, *,
                           K: int = 1, arch: str = "tree",
                           dtype: DTypeLike = jnp.float32) -> Dataset:
    """Teacher-student data: binary teacher $W_T$ uniform in $\\{\\pm1\\}^N$,
    $\\xi_\\mu \\sim N(0, I_N)$, $y_\\mu = \\mathrm{sign}(W_T\\cdot\\xi_\\mu/\\sqrt N)$; with K > 1
    (or arch "fc") the teacher is a binary committee of the same architecture as the
    student and $y_\\mu$ its output (``sim.committee.committee_output``)."""
    P = n_examples(problem.alpha, N, "sample_teacher_student")
    check_committee(K, arch, N, "sample_teacher_student")
    if (K, arch) == (1, "tree"):
        return _teacher_student(key, P, N, jnp.dtype(dtype))
    return _committee_teacher_student(key, P, N, K, arch, jnp.dtype(dtype))


def sample_test_set(key: PRNGKeyArray, W_T: Float[Array, " Nw"], P_test: int, *, K: int = 1,
                    arch: str = "tree", dtype: DTypeLike = jnp.float32) -> Dataset:
    """Fresh examples $\\xi \\sim N(0, I_N)$ labelled by the teacher $W_T$ (``P_test`` of
    them); a committee teacher (K, arch) has the flat layout of ``sim.committee``."""
    if not isinstance(P_test, int) or P_test < 1:
        raise ValueError(f"sample_test_set(P_test={P_test!r}): P_test must be an int >= 1")
    if W_T.ndim != 1:
        raise ValueError(f"sample_test_set: W_T must have shape (N,), got {W_T.shape}")
    W_T = W_T.astype(dtype)
    if (K, arch) != (1, "tree"):
        N = W_T.shape[0] if arch == "tree" else W_T.shape[0] // K
        check_committee(K, arch, N, "sample_test_set")
        if W_T.shape[0] != n_weights(N, K, arch):
            raise ValueError(f"sample_test_set: W_T of length {W_T.shape[0]} is not a K={K} "
                             f"{arch} committee")
        xi = jr.normal(key, (P_test, N), dtype)
        y = committee_output(W_T, xi, K, arch, jax.lax.Precision.HIGHEST)
        return Dataset(xi=xi, y=y, W_T=W_T, K=K, arch=arch)
    xi = jr.normal(key, (P_test, W_T.shape[0]), dtype)
    return Dataset(xi=xi, y=_labels_of(xi, W_T), W_T=W_T)


def pad_examples(data: Dataset, P: int) -> Dataset:
    """``data`` with zero rows (xi = 0, label y = 0) appended up to P examples, marked
    ``padded``: sgd and rsgd then train on the real examples exactly as on ``data``
    (statistically: another random example order; the batch size is clipped to the padded
    P), and stacks of data sets at different alpha can be vmapped together. Other
    algorithms refuse padded data (``sim.run``)."""
    P_data = data.xi.shape[-2]
    if not isinstance(P, int) or P < P_data:
        raise ValueError(f"pad_examples(P={P!r}): P must be an int >= the {P_data} examples")
    if data.padded or data.xi.ndim != 2:
        raise ValueError("pad_examples: expects one unpadded data set (xi of shape P N)")
    if bool(jnp.any(data.y == 0)):
        raise ValueError("pad_examples: labels must be +-1 (y = 0 marks padding)")
    extra = P - P_data
    xi = jnp.concatenate([data.xi, jnp.zeros((extra, data.xi.shape[1]), data.xi.dtype)])
    y = jnp.concatenate([data.y, jnp.zeros((extra,), data.y.dtype)])
    return Dataset(xi=xi, y=y, W_T=data.W_T, K=data.K, arch=data.arch, padded=True)
