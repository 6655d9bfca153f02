r"""Franz-Parisi local entropy of the binary tree committee machine (storage), RS.

K (odd) blocks of N/K binary weights, majority output, hidden margin kappa
(``theory.models.committee``). A reference $\tilde W$ is uniform on the committee solutions
with hidden margin $\tilde\kappa$; $S(d)$ counts margin-$\kappa$ solutions at Hamming fraction
d from it. The ansatz is symmetric over the blocks: each block carries the perceptron's
overlaps ($q, t, p$ and conjugates, ``FPOrderParams``) around the committee's RS reference
$(\tilde q, \hat{\tilde q})$, so the entropic term and the solver coordinates are the
perceptron's. The blocks see disjoint inputs, so given the Gaussian fields they are
independent; per block l, with the perceptron's $A, B, C$:

reference field $u_l = \sqrt{\tilde q} z_{0l} + \sqrt{1-\tilde q} z_{1l}$, sign pattern
$\sigma_l = \theta(u_l - \tilde\kappa)$ (probability $\tilde h_l = H(x_{0l})$ given $z_{0l}$,
$x_{0l} = (\tilde\kappa - \sqrt{\tilde q} z_{0l})/\sqrt{1-\tilde q}$), constrained branch
probability $\pi_l = H(y_l)$, $y_l = (\kappa - A z_{0l} - B z_{1l} - C z'_l)/\sqrt{1-q}$.

The $n - 1 \to -1$ other references give $1/\tilde T(z_0)$, $\tilde T$ the majority
probability of the $\tilde h_l$; the own reference keeps the majority patterns; the
constrained replicas give $\ln T(\pi)$ at O(s):

$G_E = E_{z_0} \tilde T(z_0)^{-1} \sum_{\sigma:\,\mathrm{maj}}
E_{z_1, z'}\big[\prod_l 1\{\sigma_l\}\; \ln T(\pi_1..\pi_K)\big]$

($\tilde T$, T: ``log_majority``). K = 1 is the perceptron's term exactly (``_energetic``).

Quadrature for K = 3, 5 (tensor contraction). $f(y_1..y_K) = \ln T(H(y_1), .., H(y_K))$
is one fixed function: it is represented once by a tensor-product quintic B-spline on
$y \in$ [``Y_LO``, ``Y_HI``] (knot step ``spline_step``; least squares on twice as many
samples; constant continuation outside: f does not depend on $y < -8.5$, where $H = 1$ to
rounding, and for $y > $ ``Y_HI`` only through $H(y) < 10^{-33}$). Each block's measure is
projected on the basis, $V_\sigma[i, j] = E[b_j(y)\,1\{\sigma\} | z_0 = z_{0,i}]$, by the
perceptron's rules ($z_0$ trapezoid, $z_1$ graded at the reference's threshold on either
side) and z' Gaussian smoothing with the heat-equation derivative in $C^2$ (finite at
$C = 0$, the identity point). Then, with m = (K+1)/2 and the majority patterns grouped by
their number a of blocks with $\sigma = 1$ (f and $\tilde T$ are symmetric),
$G_E = \sum_{a=m}^{K} \binom{K}{a} \sum_{i} \frac{w_{i_1}..w_{i_K}}{\tilde T(i)} \sum_j
c_{j_1..j_K} V_1[i_1, j_1]..V_1[i_a, j_a] V_0[i_{a+1}, j_{a+1}]..V_0[i_K, j_K]$,
contracted axis by axis: $O(\sum_k M^{K-k+1} n_0^k)$ instead of a 3K-dimensional integral.
The tensor has $M^K$ coefficients: K = 5 uses a coarser knot step and fewer $z_0$ nodes
(``QUADRATURES``); K >= 7 is out of reach of this representation.
"""

from functools import cache, partial
from math import comb
from typing import ClassVar, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float
from scipy.interpolate import make_lsq_spline
from scipy.special import log_ndtr

from atypical import TreeCommittee
from atypical.gaussian import H

from ..engine import SaddleSolution
from ..models.committee import CommitteeRS, committee_kappa_max, log_majority_of
from .franz_parisi import (STORAGE_CHART, FPOrderParams, FPQuadrature, FranzParisiQuery,
                           FranzParisiStorage, entropic_term, free_entropy_franz_parisi,
                           graded_rule, reference_on_path, z0_rule)

Y_LO, Y_HI = -8.5, 12.0


class CommitteeFPQuadrature(NamedTuple):
    """Static quadrature sizes: ``base`` for $z_0$ (trapezoid) and $z_1$ (graded rule),
    the spline step in y, and ``n_smooth`` trapezoid nodes on [-9, 9] for z'."""

    base: FPQuadrature = FPQuadrature(n_z0=61)
    spline_step: float = 0.2
    n_smooth: int = 48


DEFAULT_QUADRATURE = CommitteeFPQuadrature()
QUADRATURES = {1: FPQuadrature(), 3: DEFAULT_QUADRATURE,
               5: CommitteeFPQuadrature(FPQuadrature(n_z0=41), spline_step=0.5)}
"""Default quadrature per K. K = 5's tensor has M^5 = 2e8 coefficients at knot step 0.5
(M = 46); used at K = 3, these sizes move the free entropy by 2e-8 and its gradient by
7e-6 at the identity point (C = 0, where no z' smoothing hides the spline's error), and
$G_E$ by < 5e-10 at generic points, d = 0.005-0.1 (BENCHMARKS)."""


def _on_axis(v, l: int, ndim: int):
    """The 1-d array ``v`` along axis l of an array of rank ndim (size 1 on the others)."""
    return v.reshape((1,) * l + v.shape + (1,) * (ndim - 1 - l))


@cache
def spline_coefficients(step: float, K: int = 3) -> tuple[np.ndarray, int]:
    """Quintic B-spline coefficients (M,)*K of $f(y_1..y_K)$ on uniform knots of ``step``
    over [Y_LO, Y_HI] (least squares on samples at half the step, one axis at a time: the
    fit is a Kronecker product; f is sampled one $y_1$ slice at a time), and the number of
    cells n (M = n + 5); K >= 3."""
    n = round((Y_HI - Y_LO) / step)
    knots = Y_LO + step * np.arange(-5, n + 6)
    x = np.linspace(knots[5], knots[n + 5], 2 * n + 1)
    fit = make_lsq_spline(x, np.eye(x.size), knots, k=5).c  # (M, samples)
    p, not_p = np.exp(log_ndtr(-x)), np.exp(log_ndtr(x))  # H(y), 1 - H(y) at the samples
    coef = np.zeros((fit.shape[0],) * K)

    def fitted_slice(i):  # f(x_i, y_2..y_K) on the sample grid, fitted along y_2..y_K
        with jax.ensure_compile_time_eval():
            sliced = np.asarray(log_majority_of(
                [p[i]] + [_on_axis(p, l, K - 1) for l in range(K - 1)],
                [not_p[i]] + [_on_axis(not_p, l, K - 1) for l in range(K - 1)]))
        for _ in range(K - 1):  # fit the leading sample axis, move the coefficients last
            sliced = np.tensordot(sliced, fit, axes=([0], [1]))
        return sliced

    for group in np.array_split(np.arange(x.size), max(1, x.size // 8)):
        coef += np.tensordot(fit[:, group], np.stack([fitted_slice(i) for i in group]),
                             axes=([1], [0]))
    return coef, n


def _trailing(values: np.ndarray, ndim: int) -> Array:
    """``values`` as the last axis of an array of rank ndim + 1 (explicit ranks)."""
    return jnp.asarray(values).reshape((1,) * ndim + values.shape)


@cache
def _piece_coefficients(order: int) -> np.ndarray:
    """(6, 6) coefficients c[j, k] of $\\frac{d^{order}}{du^{order}} N_5(u + 5 - j) =
    \\sum_k c[j, k] u^k$ on u in [0, 1): the cardinal quintic B-spline
    $N_5(x) = \\frac{1}{120}\\sum_{i=0}^{6} (-1)^i \\binom{6}{i} (x - i)_+^5$ piece by piece."""
    coef = np.zeros((6, 6))
    for j in range(6):
        for i in range(6 - j):  # piece m = 5 - j: the terms i <= m, (u + m - i)^5
            for k in range(6):
                coef[j, k] += ((-1) ** i * comb(6, i) / 120 * comb(5, k)
                               * float(5 - j - i) ** (5 - k))
    for _ in range(order):
        coef = np.pad(coef[:, 1:] * np.arange(1.0, 6.0), ((0, 0), (0, 1)))
    return coef


def _local_basis(frac: Array, order: int) -> Array:
    """The 6 nonzero cardinal quintic B-splines (their ``order``-th derivative in the knot
    coordinate) at ``frac`` in [0, 1) of a cell: $N_5^{(k)}(frac + 5 - j)$, j = 0..5
    (polynomial pieces, ``_piece_coefficients``)."""
    powers = frac[..., None] ** _trailing(np.arange(6.0), frac.ndim)
    return powers @ jnp.asarray(_piece_coefficients(order).T)


@partial(jax.custom_jvp, nondiff_argnums=(0, 1, 2, 3))
def smoothed_basis(order: int, n: int, step: float, n_smooth: int, y: Array, v: Array
                   ) -> Array:
    """$E_z b_j^{(order)}(y + \\sqrt v z)$ for every point of ``y`` and every basis function
    j: shape ``y.shape + (n + 5,)``; z ~ N(0, 1) by the ``n_smooth``-node trapezoid rule
    on [-9, 9], y clipped to [Y_LO, Y_HI] (derivatives vanish outside). Derivatives: in y
    the next order, in v the heat equation ($\\partial_v = \\frac12\\partial_y^2$, finite at
    v = 0); the tangents multiply the result, so any order of autodiff stays in this rule."""
    z = np.linspace(-9.0, 9.0, n_smooth)
    w = np.exp(-z**2 / 2) / np.sqrt(2 * np.pi) * (z[1] - z[0])
    u = (y[..., None] + jnp.sqrt(jnp.maximum(v, 0.0)) * _trailing(z, y.ndim) - Y_LO) / step
    inside = (u >= 0) & (u <= n)
    u = jnp.clip(u, 0.0, n * (1 - 1e-15))
    cell = jnp.floor(u)
    values = _local_basis(u - cell, order) / step**order * _trailing(w, y.ndim)[..., None]
    if order:
        values = jnp.where(inside[..., None], values, 0.0)
    point = jnp.arange(y.size).reshape(y.shape + (1, 1))
    flat = point * (n + 5) + cell.astype(int)[..., None] + _trailing(np.arange(6), cell.ndim)
    table = jax.ops.segment_sum(values.ravel(), flat.ravel(), num_segments=y.size * (n + 5))
    return table.reshape(y.shape + (n + 5,))


@smoothed_basis.defjvp
def _smoothed_basis_jvp(order, n, step, n_smooth, primals, tangents):
    y, v = primals
    dy, dv = tangents
    at = lambda k: smoothed_basis(order + k, n, step, n_smooth, y, v)
    return at(0), at(1) * dy[..., None] + 0.5 * at(2) * dv


def block_tables(op: FPOrderParams, ref, problem: "FranzParisiQuery", quad: CommitteeFPQuadrature,
                 n: int) -> tuple[Array, Array, Array, Array]:
    """Per block: the $z_0$ weights w (n0,), the reference's branch probabilities
    $\\tilde h = H(x_0)$ and $1 - \\tilde h$, and the projections $V_1, V_0$ (n0, n + 5) of
    the constrained y on the spline basis jointly with $\\sigma = 1, 0$ (module docstring)."""
    z0, w0 = z0_rule(quad.base.n_z0)
    A = op.t / jnp.sqrt(ref.q)
    B = (problem.p - op.t) / jnp.sqrt(1 - ref.q)
    v = (op.q - A**2 - B**2) / (1 - op.q)  # C^2 / (1 - q)
    x0 = (problem.kappa_ref - jnp.sqrt(ref.q) * z0) / jnp.sqrt(1 - ref.q)
    tables = []
    for side in (1.0, -1.0):  # sigma = 1: z1 = x0 + y; sigma = 0: z1 = x0 - y (y >= 0)
        y1, wy = jax.vmap(lambda x, s=side: graded_rule(s * x, quad.base))(x0)
        z1 = x0[:, None] + side * y1
        weight = wy * jnp.exp(-z1**2 / 2) / jnp.sqrt(2 * jnp.pi)
        arg = (problem.kappa - A * z0[:, None] - B * z1) / jnp.sqrt(1 - op.q)
        basis = smoothed_basis(0, n, quad.spline_step, quad.n_smooth, arg, v)
        tables.append(jnp.einsum("ak,akj->aj", weight, basis))
    return w0, H(x0), H(-x0), tables[0], tables[1]


def energetic_committee_fp(op: FPOrderParams, ref, problem: "FranzParisiQuery",
                           quad: CommitteeFPQuadrature) -> Float[Array, ""]:
    """$G_E$ of the module docstring for the query's K (3 or 5) by the tensor contraction:
    the majority patterns with a blocks on the reference's positive side, a = m..K, each
    counted $\\binom{K}{a}$ times (f and $\\tilde T$ are symmetric), share their leading
    contractions."""
    K = problem.K
    c, n = spline_coefficients(quad.spline_step, K)
    w0, h, not_h, V1, V0 = block_tables(op, ref, problem, quad, n)
    U = {1: w0[:, None] * V1, 0: w0[:, None] * V0}
    ratio = jnp.exp(-log_majority_of([_on_axis(h, l, K) for l in range(K)],
                                     [_on_axis(not_h, l, K) for l in range(K)]))  # 1/T~ (n0,)*K
    contracted = {(): jnp.asarray(c)}

    def chain(sides: tuple[int, ...]) -> Array:  # c contracted with U[side] axis by axis
        if sides not in contracted:
            contracted[sides] = jnp.tensordot(chain(sides[:-1]), U[sides[-1]],
                                              axes=([0], [1]))
        return contracted[sides]

    m = (K + 1) // 2
    return sum(comb(K, a) * jnp.sum(chain((1,) * a + (0,) * (K - a)) * ratio)
               for a in range(K, m - 1, -1))


def free_entropy_committee_fp(op: FPOrderParams, ref, problem: "FranzParisiQuery", *,
                              quad: CommitteeFPQuadrature | None = None) -> Float[Array, ""]:
    """RS Franz-Parisi free entropy of the K (3 or 5) tree committee at overlaps ``op``
    around references with the committee's RS overlaps ``ref``: the perceptron's conjugate
    and entropic terms plus alpha ``energetic_committee_fp`` (default quadrature:
    ``QUADRATURES[K]``)."""
    quad = QUADRATURES[problem.K] if quad is None else quad
    conjugate = -op.q_hat * (1 - op.q) / 2 - op.p_hat * problem.p + op.t_hat * op.t
    return (conjugate + entropic_term(op, ref, quad.base)
            + problem.alpha * energetic_committee_fp(op, ref, problem, quad))


def reference_committee(alpha: ArrayLike, kappa_ref: ArrayLike, K: int) -> SaddleSolution:
    """RS saddle of the committee's references at $(\\alpha, \\tilde\\kappa)$
    (``reference_on_path`` on ``CommitteeRS``)."""
    return reference_on_path(lambda a, k: CommitteeRS(TreeCommittee(a, k, K)), alpha,
                             kappa_ref)


@cache
def committee_query(K: int) -> type[FranzParisiQuery]:
    """The Franz-Parisi query class of the K tree committee (storage), for
    ``franz_parisi_curve(..., query=committee_query(K))``: K = 1 is the perceptron's free
    entropy around ``CommitteeRS`` references, K = 3, 5 ``free_entropy_committee_fp``."""
    if K not in QUADRATURES:
        raise ValueError(f"committee_query(K={K}): the committee Franz-Parisi entropy is "
                         f"implemented for K in {sorted(QUADRATURES)} (its spline tensor has "
                         "M^K coefficients)")

    units = K

    class FranzParisiCommittee(FranzParisiQuery):
        __doc__ = f"Franz-Parisi query of the K = {units} tree committee (storage)."
        default_quad: ClassVar = QUADRATURES[units]
        K: ClassVar[int] = units
        chart: ClassVar = STORAGE_CHART
        problem_class: ClassVar = TreeCommittee
        threshold_kappa: ClassVar = (0.0, 0.0)

        def free_entropy(self, op, ref, quad):
            if K == 1:
                return free_entropy_franz_parisi(op, ref, self, quad=quad)
            return free_entropy_committee_fp(op, ref, self, quad=quad)

        def resolved(self, op, ref):
            return FranzParisiStorage.resolved(self, op, ref)

        @staticmethod
        def reference(alpha, kappa_ref) -> SaddleSolution:
            return reference_committee(alpha, kappa_ref, K)

        @staticmethod
        def kappa_max(alpha):
            return committee_kappa_max(alpha, K=K)

        @staticmethod
        def threshold_sweep(kappa) -> Array:
            raise ValueError(f"monotonicity_threshold: no Newton threshold for the K = {K} "
                             "committee (its spline basis has no reliable third derivative); "
                             "use sweep_monotonicity_threshold")

    FranzParisiCommittee.__name__ = FranzParisiCommittee.__qualname__ = f"FranzParisiCommittee{K}"
    return FranzParisiCommittee
