"""Replica-symmetric theory of the binary tree committee machine: storage (entropy, capacity,
maximal margin, replicon) and learning from a committee teacher of the same architecture.

K (odd) hidden sign units on disjoint blocks of $N/K$ binary weights, majority output,
$P = \\alpha N$ random labels; the margin kappa acts on the hidden fields (``TreeCommittee``).
The branches are independent (disjoint inputs) and exchangeable, so at the symmetric saddle
$q_l = q$, $\\hat q_l = \\hat q$ the RS free entropy per weight is

$\\phi(q, \\hat q) = -\\hat q(1-q)/2 + E_z\\ln 2\\cosh(\\sqrt{\\hat q}z)
+ \\alpha\\, E_{z_1..z_K} \\ln T$,  $T = P(\\sum_l \\tau_l \\ge (K+1)/2)$,

with $\\tau_l$ independent Bernoulli of means $p_l = H((\\kappa - \\sqrt q z_l)/\\sqrt{1-q})$
(a Poisson-binomial tail; K = 1 is the perceptron, ``free_entropy_storage``). The K-fold
Gaussian average is a product trapezoid rule summed over multisets of nodes (the integrand
is symmetric in the $z_l$): $\\binom{n+K-1}{K}$ instead of $n^K$ terms, pruned to
$\\sum z_l^2 \\le R^2$.
"""

from collections.abc import Sequence
from functools import lru_cache
from math import factorial

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import ndtri
from jaxtyping import Array, ArrayLike, Float, Int
from jax.scipy.special import gammaincc

from atypical import TreeCommittee, TreeCommitteeTeacherStudent, f64, require_x64
from atypical.gaussian import H, gauss_mean, gauss_nodes, log_2cosh, log_H
from atypical.observables import tree_committee_gen_error

from .margins import MaximalMargin
from .perceptron import (COLD_START_RS, COLD_START_TS, TS_BOUNDS, OverlapModel, RSOrderParams,
                         TSOrderParams)
from ..engine import (MARGIN, ReplicaModel, SaddleSolution, Threshold, check, checked_grid,
                      entropy, saddle, threshold_on_branch)

# Trapezoid step per K (K = 1: the 1001-node rule of ``gauss_mean``, so that K = 1 is the
# perceptron to rounding; ``gauss_nodes`` documents 12 digits up to q = 0.997). The integrand varies on the scale sqrt((1-q)/q) in each z_l, so a
# fixed step resolves it up to some q: measured against a rule of 0.6 times the step, for
# kappa in {-1, 0, 1}, |dG_E| <= 3e-11 (K = 3) and 2e-9 (K = 5, largest at kappa = 1) for
# q <= Q_RESOLVED, with 51190 (K = 3) and 278018 (K = 5) multisets.
STEP = {3: 0.2, 5: 0.4}
Q_RESOLVED = {1: 0.997, 3: 0.6, 5: 0.5}
TAIL = 1e-14  # Gaussian mass dropped by the pruning sum z_l^2 <= R^2 (|ln T| < 50 there)


def _check_K(K: int, who: str) -> None:
    if K not in Q_RESOLVED:
        raise ValueError(f"{who}(K={K}): the committee theory is tabulated for K in "
                         f"{sorted(Q_RESOLVED)} (the K-fold quadrature grows like n^K/K!)")


class CommitteeRule(eqx.Module):
    """A Gaussian rule for integrands symmetric in K iid fields: 1-d ``nodes`` (n,) and
    the index multisets ``rows`` (M, K) with their ``weights`` (M,), so that
    $E f(z_1..z_K) \\approx \\sum_r w_r f(\\mathrm{nodes}[\\mathrm{rows}_r])$."""

    nodes: Float[Array, " n"]
    rows: Int[Array, "M K"]
    weights: Float[Array, " M"]


def _chi2_quantile(K: int) -> float:
    """$R^2$ with $P(\\chi^2_K > R^2) = $ TAIL, by bisection on the regularized upper
    incomplete gamma function $Q(K/2, R^2/2)$ (to 1e-12 relative)."""
    lo, hi = 0.0, 1e3
    with jax.ensure_compile_time_eval():
        while hi - lo > 1e-12 * hi:
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if float(gammaincc(K / 2, mid / 2)) > TAIL else (lo, mid)
    return hi


@lru_cache(maxsize=None)
def _rule(K: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if K == 1:
        with jax.ensure_compile_time_eval():  # _rule may first be called under a trace
            z, w = gauss_nodes()
        return np.asarray(z), np.arange(z.shape[0])[:, None], np.asarray(w)
    radius2 = _chi2_quantile(K)
    h = STEP[K]
    n_half = np.floor(np.sqrt(radius2) / h)
    z = np.arange(-n_half, n_half + 1) * h
    w = np.exp(-z**2 / 2) * h / np.sqrt(2 * np.pi)
    rows = np.arange(z.size)[:, None]
    for _ in range(K - 1):  # extend each multiset by an index >= its last, pruning as we go
        last = rows[:, -1]
        counts = z.size - last
        base = np.repeat(rows, counts, axis=0)
        offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        rows = np.column_stack([base, np.repeat(last, counts) + offsets])
        rows = rows[np.sum(z[rows] ** 2, axis=1) <= radius2]
    # sorted rows: position i closes a run of equal indices of length r_i, so the product
    # of r_i over positions is prod_i c_i! (the multiplicities' factorials)
    repeats = np.ones(len(rows))
    for i in range(K):
        repeats *= np.sum(rows[:, : i + 1] == rows[:, [i]], axis=1)
    return z, rows, factorial(K) / repeats * np.prod(w[rows], axis=1)


def committee_rule(K: int) -> CommitteeRule:
    """The K-fold rule of the committee: the trapezoid rule of step ``STEP[K]`` on each
    field (K = 1: ``gauss_nodes()``), summed over sorted index multisets
    $i_1 \\le .. \\le i_K$ with weight $K!/\\prod_i c_i!\\,\\prod_l w_{i_l}$ ($c_i$ the
    multiplicities), kept where $\\sum z^2 \\le R^2$, $P(\\chi^2_K > R^2) = $ ``TAIL``."""
    _check_K(K, "committee_rule")
    z, rows, weights = _rule(K)
    return CommitteeRule(jnp.asarray(z), jnp.asarray(rows), jnp.asarray(weights))


def log_majority(p: Float[Array, "... K"], not_p: Float[Array, "... K"]) -> Float[Array, "..."]:
    """$\\ln P(S \\ge (K+1)/2)$, S the number of successes of independent Bernoulli($p_l$),
    from $p_l$ and $1-p_l$ on the last axis (``log_majority_of``)."""
    K = p.shape[-1]
    return log_majority_of([p[..., l] for l in range(K)], [not_p[..., l] for l in range(K)])


def log_majority_of(p: Sequence[Array], not_p: Sequence[Array]) -> Array:
    """``log_majority`` from K broadcastable arrays $p_l$ and $1 - p_l$ (a grid over the
    units' own axes is never materialised K-fold): Poisson-binomial recursion over the
    counts $0..m-1$ and the lumped state $\\ge m$, sums of positive terms, no cancellation."""
    K = len(p)
    m = (K + 1) // 2
    states = [not_p[0], p[0]]  # counts 0, 1 after the first unit
    for l in range(1, K):
        a, b = not_p[l], p[l]
        grown = [states[0] * a] + [states[j] * a + states[j - 1] * b
                                   for j in range(1, len(states))]
        if len(states) <= m:
            grown.append(states[-1] * b)
        else:  # the last state is 'at least m': a success keeps it there
            grown[-1] = states[-1] + states[-2] * b
        states = grown
    return jnp.log(states[m])


def energetic_committee(q: Float[Array, ""], kappa: Float[Array, ""], K: int
                        ) -> Float[Array, ""]:
    """$G_E(q) = E_{z_1..z_K}\\ln T$ of the module docstring (``committee_rule``); $p_l$ and
    $1 - p_l$ are evaluated once per 1-d node (K = 1: $\\ln T = \\ln H$ in the log domain,
    the perceptron's term)."""
    rule = committee_rule(K)
    x = (kappa - jnp.sqrt(q) * rule.nodes) / jnp.sqrt(1 - q)
    if K == 1:
        return jnp.sum(rule.weights * log_H(x))
    p, not_p = jnp.exp(log_H(x)), jnp.exp(log_H(-x))
    return jnp.sum(rule.weights * log_majority(p[rule.rows], not_p[rule.rows]))


def free_entropy_committee(op: RSOrderParams, problem: TreeCommittee) -> Float[Array, ""]:
    """RS free entropy of the binary tree committee (module docstring):
    $\\phi = -\\hat q(1-q)/2 + E_z\\ln2\\cosh(\\sqrt{\\hat q}z) + \\alpha G_E(q)$, nats per
    weight; at $q = \\hat q = 0$ it is the annealed $(1-\\alpha)\\ln 2$."""
    entropic = -op.q_hat * (1 - op.q) / 2 + gauss_mean(
        lambda z: log_2cosh(jnp.sqrt(op.q_hat) * z))
    return entropic + problem.alpha * energetic_committee(op.q, problem.kappa, problem.K)


class CommitteeRS(OverlapModel):
    """RS tree committee storage (``free_entropy_committee``) as a model of the engine;
    resolved where q <= ``Q_RESOLVED[K]``."""

    problem: TreeCommittee

    def __check_init__(self):
        _check_K(self.problem.K, "CommitteeRS")

    def free_entropy(self, op: RSOrderParams) -> Float[Array, ""]:
        return free_entropy_committee(op, self.problem)

    def fixed_point(self, op: RSOrderParams) -> RSOrderParams:
        # bilinear conjugate pair (as StorageRS): q <- q - 2 dphi/dq_hat, q_hat <- q_hat - 2 dphi/dq
        g = jax.grad(free_entropy_committee)(op, self.problem)
        return RSOrderParams(op.q - 2 * g.q_hat, op.q_hat - 2 * g.q)

    def resolved(self, op: RSOrderParams) -> Array:
        return op.q <= Q_RESOLVED[self.problem.K]


def saddle_committee(problem: TreeCommittee, init: RSOrderParams = COLD_START_RS, *,
                     max_fp_steps: int = 40) -> SaddleSolution:
    """RS saddle point of the tree committee: damped RS iteration from ``init``, then
    Newton (the engine's ``saddle``). Jit- and vmap-able; never throws."""
    return saddle(CommitteeRS(problem), init, warm_up_steps=max_fp_steps)


@eqx.filter_jit
def _saddle_grid(Model: type[ReplicaModel], Problem: type, alpha: Array, kappa: Array, K: int
                 ) -> SaddleSolution:
    return jax.vmap(lambda a, k: saddle(Model(Problem(a, k, K)), warm_up_steps=40))(alpha,
                                                                                    kappa)


def _solve_grid(Model: type[ReplicaModel], Problem: type, alpha, kappa, K: int, where: str
                ) -> SaddleSolution:
    """RS saddle points of ``Model(Problem(alpha, kappa, K))`` on a grid from the cold
    start (one jitted vmapped call); raises ``SaddlePointError`` naming the points that
    did not converge."""
    require_x64(where)
    _check_K(K, where)
    alpha, kappa = jnp.broadcast_arrays(f64(alpha), f64(kappa))
    alpha, kappa = jnp.atleast_1d(alpha), jnp.atleast_1d(kappa)
    sol = _saddle_grid(Model, Problem, alpha, kappa, K)
    return check(sol, f"{where}(K={K})", alpha=alpha, kappa=kappa)


def solve_committee(alpha: ArrayLike, kappa: ArrayLike = 0.0, *, K: int = 3
                    ) -> SaddleSolution:
    """RS saddle points of the tree committee with K hidden units on a grid (one jitted
    vmapped call); ``alpha``, ``kappa`` broadcast. Raises ``SaddlePointError`` naming every
    point where Newton did not reach |grad phi| < 1e-10 or q left the resolved range."""
    return _solve_grid(CommitteeRS, TreeCommittee, alpha, kappa, K, "solve_committee")


# --------------------------------------------------------------- teacher-student
# The teacher, a tree committee of the same architecture gauged to W_T = +1, has hidden
# fields u_l with E u_l lambda_l = R; given z_l its hidden sign is + with probability
# t_l = H(-R z_l / sqrt(q - R^2)). Summing over the two labels (z -> -z maps one onto the
# other) gives the energetic term 2 E_z Maj(t) ln T(p), K = 1: the perceptron's.

def energetic_committee_teacher(q: Float[Array, ""], R: Float[Array, ""],
                                kappa: Float[Array, ""], K: int) -> Float[Array, ""]:
    """$2 E_{z_1..z_K} M(t) \\ln T(p)$: $M(t)$ the probability that the teacher's majority
    is +, $t_l = H(-R z_l/\\sqrt{q - R^2})$, T and $p_l$ as in ``energetic_committee``."""
    rule = committee_rule(K)
    x = (kappa - jnp.sqrt(q) * rule.nodes) / jnp.sqrt(1 - q)
    y = -R * rule.nodes / jnp.sqrt(q - R**2)
    if K == 1:
        return 2 * jnp.sum(rule.weights * H(y) * log_H(x))
    p, not_p = jnp.exp(log_H(x)), jnp.exp(log_H(-x))
    t, not_t = jnp.exp(log_H(y)), jnp.exp(log_H(-y))
    teacher = jnp.exp(log_majority(t[rule.rows], not_t[rule.rows]))
    return 2 * jnp.sum(rule.weights * teacher * log_majority(p[rule.rows], not_p[rule.rows]))


def free_entropy_committee_teacher_student(op: TSOrderParams,
                                           problem: TreeCommitteeTeacherStudent
                                           ) -> Float[Array, ""]:
    """RS free entropy of a tree committee student of a tree committee teacher (same K,
    teacher gauged to +1; symmetric saddle over the branches):
    $\\phi = -\\hat q(1-q)/2 - \\hat R R + E_z\\ln2\\cosh(\\sqrt{\\hat q}z + \\hat R)
    + 2\\alpha E_{z_1..z_K} M(t)\\ln T(p)$ (``energetic_committee_teacher``)."""
    entropic = -op.q_hat * (1 - op.q) / 2 - op.R_hat * op.R + gauss_mean(
        lambda z: log_2cosh(jnp.sqrt(op.q_hat) * z + op.R_hat))
    return entropic + problem.alpha * energetic_committee_teacher(op.q, op.R, problem.kappa,
                                                                  problem.K)


class CommitteeTeacherStudentRS(ReplicaModel):
    """RS committee teacher-student (``free_entropy_committee_teacher_student``) as a
    model; resolved where the student's and the teacher's integrands vary on scales the
    rule resolves: q <= Q and $R^2 \\le Q q$ (Q = ``Q_RESOLVED[K]``)."""

    problem: TreeCommitteeTeacherStudent

    def __check_init__(self):
        _check_K(self.problem.K, "CommitteeTeacherStudentRS")

    def free_entropy(self, op: TSOrderParams) -> Float[Array, ""]:
        return free_entropy_committee_teacher_student(op, self.problem)

    def cold_start(self) -> TSOrderParams:
        return COLD_START_TS

    def bounds(self):
        return TS_BOUNDS

    def fixed_point(self, op: TSOrderParams) -> TSOrderParams:
        # bilinear pairs as TeacherStudentRS: -q_hat q... enters as +q_hat q/2, -R_hat R
        g = jax.grad(free_entropy_committee_teacher_student)(op, self.problem)
        return TSOrderParams(op.q - 2 * g.q_hat, op.R + g.R_hat,
                             op.q_hat - 2 * g.q, op.R_hat + g.R)

    def resolved(self, op: TSOrderParams) -> Array:
        Q = Q_RESOLVED[self.problem.K]
        return (op.q <= Q) & (op.R**2 <= Q * op.q)


def saddle_committee_teacher_student(problem: TreeCommitteeTeacherStudent,
                                     init: TSOrderParams = COLD_START_TS, *,
                                     max_fp_steps: int = 40) -> SaddleSolution:
    """RS saddle point of committee teacher-student from ``init`` (default: the cold
    start, which follows the poorly generalizing branch); jit/vmap-able, never throws."""
    return saddle(CommitteeTeacherStudentRS(problem), init, warm_up_steps=max_fp_steps)


def solve_committee_teacher_student(alpha: ArrayLike, kappa: ArrayLike = 0.0, *, K: int = 3
                                    ) -> SaddleSolution:
    """RS saddle points (poorly generalizing branch, from the cold start) of a tree
    committee student of a tree committee teacher with K hidden units, on a grid; raises
    ``SaddlePointError`` naming the points that did not converge."""
    return _solve_grid(CommitteeTeacherStudentRS, TreeCommitteeTeacherStudent, alpha, kappa,
                       K, "solve_committee_teacher_student")


def committee_gen_error(op: TSOrderParams, K: int) -> Array:
    """Generalization error of a typical committee student (``tree_committee_gen_error``
    at the per-branch teacher overlap R)."""
    return tree_committee_gen_error(op.R, K)


# ------------------------------------------------------------------------ thresholds

def _majority_probability(p: Array, K: int) -> Array:
    """$P(\\mathrm{Bin}(K, p) \\ge (K+1)/2)$."""
    m = (K + 1) // 2
    return sum(factorial(K) / (factorial(k) * factorial(K - k)) * p**k * (1 - p) ** (K - k)
               for k in range(m, K + 1))


def annealed_capacity(kappa: ArrayLike, K: int) -> Array:
    """Root in alpha of the annealed entropy $\\ln 2 + \\alpha \\ln T_0$, $T_0$ the
    probability that a majority of K hidden stabilities exceeds kappa at q = 0:
    $\\alpha = \\ln 2 / (-\\ln T_0)$, an upper bound on the RS capacity (Jensen)."""
    return jnp.log(2.0) / -jnp.log(_majority_probability(jnp.exp(log_H(f64(kappa))), K))


def annealed_kappa_max(alpha: ArrayLike, K: int) -> Array:
    """Root in kappa of the annealed entropy (an upper bound on the RS maximal margin):
    $T_0 = 2^{-1/\\alpha}$, solved for $p = H(\\kappa)$ by bisection ($T_0$ increases in p)."""
    target = jnp.exp(-jnp.log(2.0) / f64(alpha))

    def halve(_, bracket):
        lo, hi = bracket
        mid = (lo + hi) / 2
        up = _majority_probability(mid, K) < target
        return jnp.where(up, mid, lo), jnp.where(up, hi, mid)

    lo, hi = jax.lax.fori_loop(0, 60, halve, (jnp.zeros_like(target), jnp.ones_like(target)))
    return -ndtri((lo + hi) / 2)


# The continuation sweep in alpha: from 2 % of the annealed bound up to it, steps of 10 %
ALPHA_SWEEP = jnp.geomspace(0.02, 1.0, 42)
# The sweep in kappa at fixed alpha: KAPPA_SPAN below the annealed bound up to it
KAPPA_SWEEP, KAPPA_SPAN = 48, 1.5
KAPPA_RANGE = (-2.0, 2.0)
ALPHA_RANGE = (0.1, 3.0)


def committee_replicon(op: RSOrderParams, problem: TreeCommittee) -> Float[Array, ""]:
    """Replicon eigenvalue of the RS storage saddle (uniform mode over the K branches):
    $\\lambda_R = 1 - \\alpha\\, E_z[(1-\\tanh^2\\sqrt{\\hat q}z)^2]\\;
    E_{z_1..z_K}\\|\\partial^2_\\omega \\ln T\\|_F^2$, the Hessian in the cavity fields
    $\\omega_l = \\sqrt q z_l$ at fixed $1-q$: the mean-square gain $K\\alpha\\gamma_S(a+(K-1)b)$
    of a perturbation through the K blocks of N/K weights ($a$, $b$ the mean squared
    diagonal and off-diagonal entries). K = 1: the perceptron's ``replicon``."""
    rule = committee_rule(problem.K)
    width = jnp.sqrt(1 - op.q)

    def log_T(omega):
        x = (problem.kappa - omega) / width
        if problem.K == 1:
            return log_H(x)[0]
        return log_majority(jnp.exp(log_H(x)), jnp.exp(log_H(-x)))

    curvature = jax.vmap(jax.hessian(log_T))(jnp.sqrt(op.q) * rule.nodes[rule.rows])
    energetic = jnp.sum(rule.weights * jnp.sum(curvature**2, axis=(1, 2)))
    entropic = gauss_mean(lambda z: (1 - jnp.tanh(jnp.sqrt(op.q_hat) * z) ** 2) ** 2)
    return 1 - problem.alpha * entropic * energetic


def replicon_condition(model: CommitteeRS, op: RSOrderParams) -> Array:
    """The condition replicon = 0 (de Almeida-Thouless line) of a committee model."""
    return committee_replicon(op, model.problem)


@eqx.filter_jit
def committee_threshold(kappa: Array, K: int, condition=entropy) -> Threshold:
    """Root in alpha of ``condition(model, op)`` (positive at small alpha; default the
    entropy: the capacity) along the K committee's branch swept over ``ALPHA_SWEEP`` times
    the annealed capacity; jit/vmap-able, never throws."""
    grid = jax.lax.stop_gradient(annealed_capacity(kappa, K)) * ALPHA_SWEEP
    return threshold_on_branch(CommitteeRS(TreeCommittee(1.0, kappa, K)), grid, condition)


def _checked_threshold(kappa: ArrayLike, K: int, condition, where: str) -> Threshold:
    require_x64(where)
    _check_K(K, where)
    return checked_grid(lambda k: committee_threshold(k, K, condition), f64(kappa), "kappa",
                        KAPPA_RANGE, f"{where}(K={K})")


def committee_capacity(kappa: ArrayLike = 0.0, *, K: int = 3) -> Threshold:
    """RS capacity $\\alpha_c(\\kappa)$ of the binary tree committee with K hidden units:
    the alpha where the RS entropy of solutions with hidden margin kappa vanishes (K = 1:
    ``storage_capacity``). ``kappa`` in [-2, 2], a scalar or an array (one vmapped call).

    Differentiable in kappa (``jax.grad(lambda k: committee_capacity(k, K=3).alpha)``)."""
    return _checked_threshold(kappa, K, entropy, "committee_capacity")


def committee_rs_instability(kappa: ArrayLike = 0.0, *, K: int = 3) -> Threshold:
    """The alpha where the RS storage saddle of the K committee turns locally unstable
    (``committee_replicon`` = 0, de Almeida-Thouless line; K = 1: Gardner-Derrida 1.015)."""
    return _checked_threshold(kappa, K, replicon_condition, "committee_rs_instability")


@eqx.filter_jit
def committee_margin_threshold(alpha: Array, K: int) -> MaximalMargin:
    """RS maximal margin of the K committee at alpha: ``entropy`` on the branch swept in
    kappa (``Margin`` control) from ``KAPPA_SPAN`` below the annealed bound up to it;
    jit/vmap-able, never throws."""
    top = jax.lax.stop_gradient(annealed_kappa_max(alpha, K))
    grid = jnp.linspace(top - KAPPA_SPAN, top, KAPPA_SWEEP)
    found = threshold_on_branch(CommitteeRS(TreeCommittee(alpha, 0.0, K)), grid, entropy,
                                control=MARGIN)
    # the engine's Threshold calls the control's value ``alpha``: here it is kappa_max
    return MaximalMargin(alpha, found.alpha, found.order_params, found.residual,
                         found.newton_steps, found.status)


def committee_kappa_max(alpha: ArrayLike, *, K: int = 3) -> MaximalMargin:
    """RS maximal hidden margin $\\kappa_{max}(\\alpha)$ of the tree committee: root in kappa
    of the RS entropy (``.kappa``, with the order parameters there). alpha in [0.1, 3],
    scalar or array (one vmapped call). Differentiable in alpha."""
    require_x64("committee_kappa_max")
    _check_K(K, "committee_kappa_max")
    return checked_grid(lambda a: committee_margin_threshold(a, K), f64(alpha), "alpha",
                        ALPHA_RANGE, f"committee_kappa_max(K={K})")
