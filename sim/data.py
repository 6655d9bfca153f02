"""Finite-N data sets of the binary-perceptron problems (DESIGN.md section 3, problems 1-2).

Examples $\\xi \\sim N(0, I_N)$; sizes are Python ints fixed before any jitted call,
$P = \\mathrm{round}(\\alpha N)$. The same key gives the same data (threefry is portable).
"""

from functools import partial

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, DTypeLike, Float, PRNGKeyArray

from atypical.problems import BinaryStorage, TeacherStudent


class Dataset(eqx.Module):
    """P examples ``xi`` (``P N``) with labels ``y`` in {-1, +1}; ``W_T`` the binary teacher
    (teacher-student) or None (storage of random labels)."""

    xi: Float[Array, "P N"]
    y: Float[Array, " P"]
    W_T: Float[Array, " N"] | None = None


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
    return jnp.where(xi @ W_T >= 0, 1, -1).astype(xi.dtype)


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


def sample_storage(key: PRNGKeyArray, problem: BinaryStorage, N: int, *,
                   dtype: DTypeLike = jnp.float32) -> Dataset:
    """Storage data: $\\xi_\\mu \\sim N(0, I_N)$, $y_\\mu = \\pm1$ uniform,
    $P = \\mathrm{round}(\\alpha N)$."""
    P = n_examples(problem.alpha, N, "sample_storage")
    return _storage(key, P, N, jnp.dtype(dtype))


def sample_teacher_student(key: PRNGKeyArray, problem: TeacherStudent, N: int, *,
                           dtype: DTypeLike = jnp.float32) -> Dataset:
    """Teacher-student data: binary teacher $W_T$ uniform in $\\{\\pm1\\}^N$,
    $\\xi_\\mu \\sim N(0, I_N)$, $y_\\mu = \\mathrm{sign}(W_T\\cdot\\xi_\\mu/\\sqrt N)$."""
    P = n_examples(problem.alpha, N, "sample_teacher_student")
    return _teacher_student(key, P, N, jnp.dtype(dtype))


def sample_test_set(key: PRNGKeyArray, W_T: Float[Array, " N"], P_test: int, *,
                    dtype: DTypeLike = jnp.float32) -> Dataset:
    """Fresh examples $\\xi \\sim N(0, I_N)$ labelled by the teacher $W_T$ (``P_test`` of them)."""
    if not isinstance(P_test, int) or P_test < 1:
        raise ValueError(f"sample_test_set(P_test={P_test!r}): P_test must be an int >= 1")
    if W_T.ndim != 1:
        raise ValueError(f"sample_test_set: W_T must have shape (N,), got {W_T.shape}")
    W_T = W_T.astype(dtype)
    xi = jr.normal(key, (P_test, W_T.shape[0]), dtype)
    return Dataset(xi=xi, y=_labels_of(xi, W_T), W_T=W_T)
