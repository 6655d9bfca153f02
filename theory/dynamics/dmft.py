"""DMFT of two-layer gradient flow in the Gaussian model [P3] (physics/dmft_two_layer.md).

The residual process is Gaussian, so each time step appends one row of every two-time
kernel with no inner fixed point: causal time stepping on fixed-shape (N+1, N+1) buffers
inside one ``lax.fori_loop``.  Three schemes share the code:

* ``"euler"``: left-point sums, $R(t,t)=0$, $P = (1+\\eta\\Sigma_R)^{-1}$ (paper App. D.1);
* ``"heun"``: trapezoid (Nystrom) quadrature of every memory integral, jumps of R on the
  diagonal taken at their one-sided limits $R(t^+,t)=1$, Heun predictor-corrector in t.
  Second order in the step size (tested);
* ``"exp"``: the same quadrature; on the rows C(t,.), R(t,.) and on v the local linear
  force $A(t) = -(\\mathrm{diag}\\,\\nu(t) + \\int M^R(t,s)\\,ds)$ (the Lagrange multiplier
  plus the memory kernel frozen at its total weight, $\\int_{t'}^t$ for R(t,t')) is
  propagated exactly by $e^{\\eta\\bar A}$, and only the remainder
  $-\\int M^R(t,s)[X(s) - X(t)]\\,ds$ and the other terms are explicit (Lawson /
  exponential trapezoid, second order; a stays explicit).  The step limit, set by the rate
  $\\alpha a^2 h'$ (~ m once $a \\asymp \\gamma\\sqrt m$), is about twice Heun's: it still
  scales like 1/m, because the kernels themselves decay on that fast scale near the diagonal.

Blocks over hidden units are full m x m matrices, or, for permutation-symmetric data, the
pair (diagonal, off-diagonal) of $X = X_d 1 + X_o (J - 1)$ (SymmDMFT, paper C.32-C.46), with
the same algebra (product, transpose, sums) so both solvers run the same recursion.
"""

from __future__ import annotations

import hashlib
import os
from functools import partial

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from atypical.errors import require_x64
from atypical.problems import TwoLayerGradientFlow, check_one_of

SCHEMES = ("euler", "heun", "exp")
_TRAPEZOID = ("heun", "exp")  # schemes on the trapezoid grid with R(t^+, t) = 1 stored


class DMFTBlowUpError(RuntimeError):
    """The DMFT time stepping produced NaN/inf or left |C| <= 1; the message gives the step,
    the step size and the stiffness estimate alpha max_i a_i^2 h'(1)."""


# --------------------------------------------------------------------------------------------
# block algebras: full m x m, or symmetric (diag, offdiag)
# --------------------------------------------------------------------------------------------


class _Full:
    """Blocks ``(..., m, m)``, vectors ``(..., m)``."""

    def __init__(self, m: int):
        self.m, self.block, self.vec = m, (m, m), (m,)

    def eye(self):
        return jnp.eye(self.m, dtype=jnp.float64)

    def outer(self, x, y):
        nd = max(x.ndim, y.ndim)
        return _lead(x, nd)[..., :, None] * _lead(y, nd)[..., None, :]

    def diag(self, X):
        return jnp.diagonal(X, axis1=-2, axis2=-1)

    def T(self, X):
        return jnp.swapaxes(X, -1, -2)

    def set_diag(self, X, d):
        e = jnp.eye(self.m, dtype=X.dtype)
        return X * (1 - e) + d[..., :, None] * e

    def mv(self, X, x):  # sum_l X_il x_l
        return jnp.sum(X * x[..., None, :], axis=-1)

    def sum_all(self, X):
        return jnp.sum(X, axis=(-1, -2))

    def vsum(self, x):
        return jnp.sum(x, axis=-1)

    def scale_rows(self, x, X):  # x_i X_ij
        return _lead(x, X.ndim - 1)[..., :, None] * X

    def scal(self, c, X):  # c[...] * X (scalar per leading index)
        return c[..., None, None] * X

    def kmat(self, K, X):  # sum_s K[s] @ X[s, j]
        return jnp.einsum("sil,sjlk->jik", K, X)

    def kmat_T(self, K, X):  # sum_s K[s] @ X[j, s]^T
        return jnp.einsum("sil,jskl->jik", K, X)

    def kvec(self, K, x):  # sum_s K[s] @ x[s]
        return jnp.einsum("sil,sl->i", K, x)

    def mul(self, A, X):  # A @ X, broadcast over leading axes
        return jnp.einsum("...il,...lk->...ik", A, X)

    def expm(self, A):
        return jnp.vectorize(jax.scipy.linalg.expm, signature="(n,n)->(n,n)")(A)


class _Sym:
    """Blocks ``(..., 2)`` = (diagonal, off-diagonal), vectors ``(..., 1)``."""

    def __init__(self, m: int):
        self.m, self.block, self.vec = m, (2,), (1,)

    def eye(self):
        return jnp.array([1.0, 0.0])

    def outer(self, x, y):
        nd = max(x.ndim, y.ndim)
        xy = _lead(x, nd) * _lead(y, nd)
        return jnp.concatenate([xy, xy], axis=-1)

    def diag(self, X):
        return X[..., :1]

    def T(self, X):
        return X

    def set_diag(self, X, d):
        return jnp.concatenate([d, X[..., 1:]], axis=-1)

    def mv(self, X, x):
        return (X[..., :1] + (self.m - 1) * X[..., 1:]) * x

    def sum_all(self, X):
        return self.m * X[..., 0] + self.m * (self.m - 1) * X[..., 1]

    def vsum(self, x):
        return self.m * x[..., 0]

    def scale_rows(self, x, X):
        return _lead(x, X.ndim) * X

    def scal(self, c, X):
        return c[..., None] * X

    def _prod(self, sub, K, X):
        m = self.m
        Kd, Ko, Xd, Xo = K[..., 0], K[..., 1], X[..., 0], X[..., 1]
        d = jnp.einsum(sub, Kd, Xd) + (m - 1) * jnp.einsum(sub, Ko, Xo)
        o = (jnp.einsum(sub, Kd, Xo) + jnp.einsum(sub, Ko, Xd)
             + (m - 2) * jnp.einsum(sub, Ko, Xo))
        return jnp.stack([d, o], axis=-1)

    def kmat(self, K, X):
        return self._prod("s,sj->j", K, X)

    def kmat_T(self, K, X):
        return self._prod("s,js->j", K, X)

    def kvec(self, K, x):
        return jnp.sum((K[..., :1] + (self.m - 1) * K[..., 1:]) * x, axis=0)

    def mul(self, A, X):  # A @ X, broadcast over leading axes
        shape = jnp.broadcast_shapes(A.shape, X.shape)
        return self._prod("...,...->...", jnp.broadcast_to(A, shape),
                          jnp.broadcast_to(X, shape))

    def expm(self, A):
        # X_d 1 + X_o (J - 1) has eigenvalues X_d + (m-1) X_o (uniform) and X_d - X_o
        eu = jnp.exp(A[..., 0] + (self.m - 1) * A[..., 1])
        en = jnp.exp(A[..., 0] - A[..., 1])
        return jnp.stack([(eu + (self.m - 1) * en) / self.m, (eu - en) / self.m], axis=-1)


def _lead(x, nd: int):
    """Prepend unit axes so that x has nd dimensions (explicit rank promotion)."""
    return jnp.reshape(x, (1,) * (nd - x.ndim) + x.shape)


def _algebra(m: int, symmetric: bool):
    return _Sym(m) if symmetric else _Full(m)


# --------------------------------------------------------------------------------------------
# solution container
# --------------------------------------------------------------------------------------------


class DMFTSolution(eqx.Module):
    """DMFT kernels on the grid $t_k = k\\eta$, k = 0..N (paper C.19-C.25).

    Blocks over hidden units are (m, m) (full) or (2,) = (diagonal, off-diagonal) when
    ``symmetric``; per-unit vectors a, v, nu are (m,) or (1,).  ``R_A`` is the discrete
    operator P with $\\int R_A(t,s) f(s)\\,ds \\approx \\sum_s P[t,s] f(s)$ (it contains the
    $\\delta$ and the quadrature weights).  ``R`` stores $R(t_k, t_k)$ as $R(t^+,t) = 1$ for
    ``heun`` and 0 for ``euler``.  Errors: $e_{tr} = -C_A(t,t)/2$, $e_{ts} = \\Sigma_C(t,t)/2$."""

    t: Float[Array, " T"]
    a: Float[Array, "T mv"]
    v: Float[Array, "T mv"]
    nu: Float[Array, "T mv"]
    C: Float[Array, "T T ..."]
    R: Float[Array, "T T ..."]
    C_A: Float[Array, "T T"]
    R_A: Float[Array, "T T"]
    Sigma_C: Float[Array, "T T"]
    Sigma_R: Float[Array, "T T"]
    m: int = eqx.field(static=True)
    symmetric: bool = eqx.field(static=True)
    scheme: str = eqx.field(static=True)

    @property
    def train_error(self) -> Float[Array, " T"]:
        """$e_{tr}(t) = -\\frac12 C_A(t,t)$ (C.24)."""
        return -0.5 * jnp.diagonal(self.C_A)

    @property
    def test_error(self) -> Float[Array, " T"]:
        """$e_{ts}(t) = \\frac12\\Sigma_C(t,t)$ (C.46/J.10)."""
        return 0.5 * jnp.diagonal(self.Sigma_C)

    @property
    def C_equal_time(self) -> Float[Array, "T ..."]:
        """$C(t,t)$, the Gram matrix of the first-layer rows."""
        k = jnp.arange(self.t.shape[0])
        return self.C[k, k]

    def full_blocks(self, X: Array) -> Array:
        """Expand (diag, offdiag) blocks ``(..., 2)`` to (m, m); identity for full blocks."""
        if not self.symmetric:
            return X
        e = _lead(jnp.eye(self.m, dtype=X.dtype), X.ndim + 1)
        return X[..., :1, None] * e + X[..., 1:, None] * (1 - e)

    def full_vector(self, x: Array) -> Array:
        """Expand a per-unit vector ``(..., 1)`` to ``(..., m)``; identity for full vectors."""
        return jnp.broadcast_to(x, x.shape[:-1] + (self.m,)) if self.symmetric else x


# --------------------------------------------------------------------------------------------
# one row of the causal recursion
# --------------------------------------------------------------------------------------------


def _weights(i, T: int, scheme: str):
    """Quadrature weights of $\\int_0^{t_i}$ on the grid (row i), zero beyond i."""
    s = jnp.arange(T)
    if scheme == "euler":
        return (s < i).astype(jnp.float64)
    w = jnp.where(s <= i, 1.0, 0.0)
    w = jnp.where((s == 0) | (s == i), 0.5 * w, w)
    return jnp.where(i == 0, jnp.zeros((T,)), w)


def _row_eval(st: dict, i, prob: TwoLayerGradientFlow, alg, scheme: str, dt):
    """Kernel rows at t_i (written into st) and the time derivatives of row i."""
    T = st["a"].shape[0]
    m = alg.m
    rho = 1.0 if scheme in _TRAPEZOID else 0.0
    s = jnp.arange(T)
    past, below = s <= i, s < i
    w = _weights(i, T, scheme)
    abar = prob.alpha * alg.m
    C_row, R_row = st["C"][i], st["R"][i]
    a, v = st["a"], st["v"]
    a_t, v_t = a[i], v[i]
    bmask = past.reshape((T,) + (1,) * len(alg.block))

    # residual process: Sigma_C, Sigma_R, P = (1 + S)^{-1}, C_A = -P Sigma_C P^T
    aphi = alg.vsum(a * prob.phi_hat(v)) / m
    aa = alg.outer(a_t, a)
    SC_row = (prob.tau**2 + prob.phi_norm2 - aphi[i] - aphi
              + alg.sum_all(aa * prob.h(C_row)) / m**2)
    SC_row = jnp.where(past, SC_row, 0.0)
    SR_row = jnp.where(past, alg.sum_all(aa * prob.h_prime(C_row) * R_row) / m**2, 0.0)
    S = dt * w * SR_row
    Sb = jnp.where(below, S, 0.0)
    denom = 1.0 + S[i]
    P_row = -(Sb @ st["P"]) / denom
    P_row = jnp.where(below, P_row, 0.0).at[i].set(1.0 / denom)
    P = st["P"].at[i].set(P_row)
    Q = P @ SC_row  # Q[j] = sum_l P[j, l] Sigma_C[i, l]
    CA_b = jnp.where(below, -(Q + Sb @ st["C_A"]) / denom, 0.0)
    CA_ii = -(Q[i] + Sb @ CA_b) / denom
    CA_row = CA_b.at[i].set(CA_ii)
    st = dict(st, P=P,
              C_A=st["C_A"].at[i].set(CA_row).at[:, i].set(CA_row),
              Sigma_C=st["Sigma_C"].at[i].set(SC_row).at[:, i].set(SC_row),
              Sigma_R=st["Sigma_R"].at[i].set(SR_row))

    # memory kernels (the 1/m of the sums over units folded in), quadrature weights included
    hp, hpp = prob.h_prime(C_row), prob.h_second(C_row)
    pref = abar / m / m
    KR = pref * aa * (alg.scal(P_row, hp) + alg.scal(dt * w * CA_row, hpp * R_row))
    KC = pref * aa * alg.scal(dt * w * CA_row, hp)
    KR = jnp.where(bmask, KR, 0.0)
    KC = jnp.where(bmask, KC, 0.0)
    sumP = jnp.sum(P_row)

    # lower-endpoint values of the jump of R on the diagonal (see module docstring)
    if scheme in _TRAPEZOID:
        c_low = jnp.where(s == 0, 1.0, 0.5)  # R(s, t_j) at s = t_j in int_{t_j}^{t_i}
        d_up = jnp.where(s == 0, 0.0, jnp.where(s == i, 1.0, 0.5))  # R(t_j, s) at s = t_j
    else:
        c_low = d_up = jnp.zeros((T,))

    drift = (abar / m) * sumP * alg.outer(a_t * prob.phi_hat_prime(v_t), v)
    FC0 = (drift - alg.kmat(KR, st["C"]) - alg.kmat_T(KC, st["R"])
           - alg.scal(d_up - rho, KC))
    nu = alg.diag(FC0[i])  # C_ii(t,t) = 1 fixes the Lagrange multiplier
    FC = FC0 - alg.scale_rows(nu, C_row)
    FR = -alg.kmat(KR, st["R"]) - alg.scal(c_low - rho, KR) - alg.scale_rows(nu, R_row)
    if scheme == "heun":  # d/dt R(t, t') at t' = t^-: only the instantaneous force acts
        K_delta = pref * alg.outer(a_t, a_t) * prob.h_prime(C_row[i])
        FR = FR.at[i].set(-alg.scale_rows(nu, alg.eye()) - K_delta)
    vdot = -nu * v_t + (abar / m) * sumP * a_t * prob.phi_hat_prime(v_t) - alg.kvec(KR, v)
    if prob.train_second_layer:
        fit = sumP * prob.phi_hat(v_t) - jnp.sum(
            P_row[:, None] * alg.mv(prob.h(C_row), a), axis=0) / m
        react = jnp.sum((dt * w * (-CA_row))[:, None] * alg.mv(hp * R_row, a), axis=0) / m
        adot = (abar / m) * (fit + react)
    else:
        adot = jnp.zeros_like(a_t)
    mask = past.reshape((T,) + (1,) * len(alg.block))
    F = dict(C=jnp.where(mask, FC, 0.0), R=jnp.where(mask, FR, 0.0), a=adot, v=vdot, nu=nu)
    if scheme == "exp":
        # local linear force on the rows: the Lagrange multiplier and the memory kernel frozen
        # at its total weight (over s >= t_j for R(t, t_j)); the remainder G = F - A X is
        # explicit.  d/dt R(t, t^-) is A 1 here (heun above: the bare delta, O(dt) apart)
        KRsuf = jnp.cumsum(KR[::-1], axis=0)[::-1]  # sum_{s >= t_j} of the kernel blocks
        Anu = -alg.scale_rows(nu, alg.eye())
        A = Anu - KRsuf[0]
        AR = jnp.where(mask, Anu[None] - KRsuf, 0.0)
        FR = F["R"].at[i].set(AR[i])
        F = dict(F, R=FR, A=A, AR=AR,
                 GC=jnp.where(mask, F["C"] - alg.mul(A, C_row), 0.0),
                 GR=jnp.where(mask, FR - alg.mul(AR, R_row), 0.0),
                 Gv=vdot - alg.mv(A, v_t))
    return st, F


def _write_row(st: dict, k, row: dict, alg):
    T = st["a"].shape[0]
    mask = (jnp.arange(T) <= k).reshape((T,) + (1,) * len(alg.block))
    C_row = jnp.where(mask, row["C"], 0.0)
    R_row = jnp.where(mask, row["R"], 0.0)
    return dict(st, C=st["C"].at[k].set(C_row).at[:, k].set(alg.T(C_row)),
                R=st["R"].at[k].set(R_row), a=st["a"].at[k].set(row["a"]),
                v=st["v"].at[k].set(row["v"]))


def _advance_row(st: dict, i, F: dict, Fk: dict, Gk, alg, scheme: str, dt):
    """Row i+1 = row i + dt (F + Fk)/2 (Fk = F: Euler; Fk = F(t_{i+1}): trapezoid); Gk is
    d/dt C(t,t) at t_i (Euler) or t_{i+1} (trapezoid)."""
    if scheme == "exp":
        return _advance_row_exp(st, i, F, Fk, Gk, alg, dt)
    T = st["a"].shape[0]
    rho = 1.0 if scheme in _TRAPEZOID else 0.0  # stored R(t,t)
    s = jnp.arange(T)
    bshape = (T,) + (1,) * len(alg.block)
    FC = 0.5 * (F["C"] + Fk["C"])
    FR = 0.5 * (F["R"] + Fk["R"])
    fa, fv = 0.5 * (F["a"] + Fk["a"]), 0.5 * (F["v"] + Fk["v"])
    G = 0.5 * ((F["C"][i] + alg.T(F["C"][i])) + Gk)  # exactly symmetric
    C_i, R_i = st["C"][i], st["R"][i]
    C_new = C_i + dt * FC
    Ctt = alg.set_diag(C_i[i] + dt * G, jnp.ones(alg.vec))[None]
    C_new = jnp.where((s == i + 1).reshape(bshape), Ctt, C_new)
    R_start = jnp.where((s == i).reshape(bshape), alg.eye()[None], R_i)  # R(t_i^+, t_i) = 1
    R_new = R_start + dt * FR
    R_new = jnp.where((s == i + 1).reshape(bshape), rho * alg.eye()[None], R_new)
    row = dict(C=C_new, R=R_new, a=st["a"][i] + dt * fa, v=st["v"][i] + dt * fv)
    return _write_row(st, i + 1, row, alg)


def _advance_row_exp(st: dict, i, F: dict, Fk: dict, Gk, alg, dt):
    """Exponential trapezoid (Lawson): X' = A X + G on each row, with
    X_{i+1} = E (X_i + dt G_i / 2) + dt G_k / 2, E = exp(dt (A_i + A_k)/2) (A_k = A_i in the
    predictor); the equal-time C(t,t)' = A C + C A^T + H uses E (C + dt H_i/2) E^T + dt H_k/2.
    Gk is H at t_k; a (not stiff) as in ``_advance_row``."""
    T = st["a"].shape[0]
    s = jnp.arange(T)
    bshape = (T,) + (1,) * len(alg.block)
    E = alg.expm(0.5 * dt * (F["A"] + Fk["A"]))
    C_i, R_i = st["C"][i], st["R"][i]
    C_new = alg.mul(E, C_i + 0.5 * dt * F["GC"]) + 0.5 * dt * Fk["GC"]
    Y = C_i[i] + 0.5 * dt * (F["GC"][i] + alg.T(F["GC"][i]))  # symmetric
    Ctt = alg.mul(E, alg.T(alg.mul(E, Y))) + 0.5 * dt * Gk  # E Y E^T
    Ctt = alg.set_diag(0.5 * (Ctt + alg.T(Ctt)), jnp.ones(alg.vec))[None]
    C_new = jnp.where((s == i + 1).reshape(bshape), Ctt, C_new)
    R_start = jnp.where((s == i).reshape(bshape), alg.eye()[None], R_i)
    ER = alg.expm(0.5 * dt * (F["AR"] + Fk["AR"]))
    R_new = alg.mul(ER, R_start + 0.5 * dt * F["GR"]) + 0.5 * dt * Fk["GR"]
    R_new = jnp.where((s == i + 1).reshape(bshape), alg.eye()[None], R_new)
    v_new = alg.mv(E, st["v"][i] + 0.5 * dt * F["Gv"]) + 0.5 * dt * Fk["Gv"]
    row = dict(C=C_new, R=R_new, a=st["a"][i] + 0.5 * dt * (F["a"] + Fk["a"]), v=v_new)
    return _write_row(st, i + 1, row, alg)


def _step(i, st, prob, alg, scheme, dt):
    """Row i -> row i+1: Euler (one pass) or Heun (predict with F_i, correct with
    (F_i + F_{i+1})/2); one ``_row_eval`` in the loop body keeps the compile small."""

    def sub(k, carry):
        st, F0 = carry
        st, Fk = _row_eval(st, i + k, prob, alg, scheme, dt)
        first = k == 0
        F0 = jax.tree.map(lambda x, y: jnp.where(first, y, x), F0, Fk)
        st = dict(st, nu=jnp.where(first, st["nu"].at[i].set(Fk["nu"]), st["nu"]))
        Gk = Fk["C"][i + k] + alg.T(Fk["C"][i + k])  # d/dt C(t,t) at t_{i+k}
        if scheme == "exp":  # its part not carried by A C + C A^T
            Gk = Fk["GC"][i + k] + alg.T(Fk["GC"][i + k])
        return _advance_row(st, i, F0, Fk, Gk, alg, scheme, dt), F0

    T = st["a"].shape[0]
    F0 = dict(C=jnp.zeros((T,) + alg.block), R=jnp.zeros((T,) + alg.block),
              a=jnp.zeros(alg.vec), v=jnp.zeros(alg.vec), nu=jnp.zeros(alg.vec))
    if scheme == "exp":
        F0 = dict(F0, A=jnp.zeros(alg.block), AR=jnp.zeros_like(F0["R"]),
                  GC=jnp.zeros_like(F0["C"]), GR=jnp.zeros_like(F0["R"]), Gv=jnp.zeros(alg.vec))
    n_sub = 2 if scheme in _TRAPEZOID else 1
    return jax.lax.fori_loop(0, n_sub, sub, (st, F0))[0]


@partial(jax.jit, static_argnames=("symmetric", "scheme"))
def _advance(st, lo, hi, prob, dt, m_sym, *, symmetric: bool, scheme: str):
    alg = _Sym(m_sym) if symmetric else _Full(prob.m)
    return jax.lax.fori_loop(lo, hi, lambda i, s: _step(i, s, prob, alg, scheme, dt), st)


def buffer_size(n_rows: int) -> int:
    """Rows of the time buffers for n_rows time points: padded up to a multiple of 32 (of
    128 above 512 rows), so that nearby N share one compilation."""
    q = 32 if n_rows <= 512 else 128
    return -(-n_rows // q) * q


def _initial_state(prob: TwoLayerGradientFlow, N: int, symmetric: bool, scheme: str) -> dict:
    """Zero buffers with row 0 set (built in NumPy: eager JAX ops would each compile)."""
    m, T = prob.m, buffer_size(N + 2)
    alg = _algebra(m, symmetric)
    C0, a0, v0 = np.asarray(prob.C0), np.asarray(prob.a0), np.asarray(prob.v0)
    if symmetric:
        C0 = np.array([1.0, C0[0, 1] if m > 1 else 0.0])
        a0, v0 = a0[:1], v0[:1]
    rho = 1.0 if scheme in _TRAPEZOID else 0.0
    eye = np.array([1.0, 0.0]) if symmetric else np.eye(m)
    C, R = np.zeros((2, T, T) + alg.block)
    C[0, 0], R[0, 0] = C0, rho * eye
    a, v = np.zeros((2, T) + alg.vec)
    a[0], v[0] = a0, v0
    st = dict(C=C, R=R, a=a, v=v, nu=np.zeros((T,) + alg.vec), P=np.zeros((T, T)),
              C_A=np.zeros((T, T)), Sigma_C=np.zeros((T, T)), Sigma_R=np.zeros((T, T)))
    return {k: jnp.asarray(x, jnp.float64) for k, x in st.items()}


def _fingerprint(prob, N, dt, symmetric, scheme) -> str:
    h = hashlib.sha256()
    for x in (prob.alpha, prob.tau, prob.sigma_coeffs, prob.target_coeffs, prob.a0, prob.C0,
              prob.v0):
        h.update(np.asarray(x, np.float64).tobytes())
    h.update(repr((N, float(dt), symmetric, scheme, prob.train_second_layer)).encode())
    return h.hexdigest()


_C_OVERSHOOT = 1e-3  # largest |C| - 1 taken as scheme error (blow-ups are O(1))
_TRAIN_RISE = 1e-4  # largest one-step rise of e_tr, relative to e_tr(0), taken as stable


def _check_blowup(st: dict, done: int, prob, dt: float, where: str) -> None:
    """Raise DMFTBlowUpError at the first step whose rows are non-finite, break |C| <= 1,
    or raise the train error (a Lyapunov function of gradient flow)."""
    a = np.asarray(st["a"][: done + 1])
    Cabs = np.abs(np.asarray(st["C"][: done + 1, : done + 1]))
    row_bad = ~np.all(np.isfinite(a.reshape(a.shape[0], -1)), axis=1)
    row_bad |= ~np.all(np.isfinite(np.asarray(st["v"][: done + 1]).reshape(done + 1, -1)),
                       axis=1)
    # Cauchy-Schwarz |C_ij(t,s)| <= 1, up to the scheme error: stable Heun/exp solves at
    # dt = 0.1-0.2 overshoot by 1e-6 to 6e-6 next to the diagonal; blow-ups are O(1)
    row_bad |= ~(np.nanmax(Cabs.reshape(done + 1, -1), axis=1) <= 1 + _C_OVERSHOOT)
    # an unstable step can stay bounded (m = 16, dt = 0.4: e_tr ends at 0.36 instead of 6e-5,
    # after a rise of 0.07 in one step); stable solves decrease e_tr at every step
    train = -0.5 * np.diagonal(np.asarray(st["C_A"][: done + 1, : done + 1]))
    row_bad[1:] |= np.diff(train) > _TRAIN_RISE * train[0]
    if not row_bad.any():
        return
    k = int(np.argmax(row_bad))
    a_prev = a[max(k - 1, 0)]
    stiff = float(prob.alpha) * float(np.max(a_prev**2)) * float(prob.h_prime(1.0))
    raise DMFTBlowUpError(
        f"{where}: the DMFT blew up at step {k} (t = {k * dt:.6g}): non-finite values, "
        f"|C| > 1 or a rising train error; dt = {dt:.3g}, stiffness estimate "
        f"alpha * max_i a_i^2 * h'(1) = {stiff:.4g} (dt * stiffness = {dt * stiff:.3g}); reduce dt below about "
        f"{1.0 / max(stiff, 1e-300):.3g}")


def solve_dmft(problem: TwoLayerGradientFlow, *, t_max: float, dt: float,
               scheme: str = "heun", symmetric: bool = False, cache: str | None = None,
               chunk: int = 256) -> DMFTSolution:
    """Gaussian-model DMFT of two-layer gradient flow on $t_k = k\\,dt \\le$ t_max [P3 C.19-C.46].

    ``symmetric=True`` uses the permutation-symmetric reduction (needs equal a0, v0 and
    off-diagonal C0).  ``scheme``: "heun" (trapezoid, O(dt^2)), "euler" (O(dt), App. D.1) or
    "exp" (trapezoid memory, local linear force exponentiated, O(dt^2); its step limit at
    large a is about twice Heun's, both ~ 1/(alpha a^2 h'(1))).
    Cost O(N^3) (symmetric) or O(N^3 m^3) (full) with N = t_max/dt; memory ~ 2 (N m)^2 doubles.
    ``cache``: .npz path; the state is saved every ``chunk`` steps and a rerun resumes.
    Raises DMFTBlowUpError (step, dt, stiffness) on NaN or |C| > 1."""
    require_x64("solve_dmft")
    where = f"solve_dmft(t_max={t_max}, dt={dt}, scheme={scheme!r})"
    check_one_of("solve_dmft", "scheme", scheme, SCHEMES)
    if not (np.isfinite(dt) and dt > 0):
        raise ValueError(f"solve_dmft(dt={dt}): the step dt must be finite and > 0")
    if not (np.isfinite(t_max) and t_max >= dt):
        raise ValueError(f"solve_dmft(t_max={t_max}): t_max must be finite and >= dt = {dt}")
    if symmetric and not problem.is_symmetric:
        raise ValueError("solve_dmft(symmetric=True): the problem is not permutation symmetric "
                         "(a0, v0 and the off-diagonal of C0 must be constant); use "
                         "symmetric=False")
    N = int(round(t_max / dt))
    dt_a = jnp.asarray(dt, jnp.float64)
    st, done = _initial_state(problem, N, symmetric, scheme), 0
    key = _fingerprint(problem, N, dt, symmetric, scheme)
    if cache is not None and os.path.exists(cache):
        with np.load(cache) as z:
            if str(z["fingerprint"]) == key:
                st = {k: jnp.asarray(z[k]) for k in st}
                done = int(z["done"])
    kw = dict(symmetric=symmetric, scheme=scheme)
    # the symmetric solver sees m only as a traced number: one compilation for every m
    prob = _reduced(problem) if symmetric else problem
    m_sym = jnp.asarray(problem.m, jnp.float64)
    # steps 0..N: the last one evaluates the kernels of row N (and writes a spare row N+1)
    while done < N + 1:
        hi = min(done + chunk, N + 1) if cache is not None else N + 1
        st = _advance(st, done, hi, prob, dt_a, m_sym, **kw)
        done = hi
        if cache is not None:
            tmp = cache + ".tmp.npz"
            np.savez(tmp, fingerprint=key, done=done, **{k: np.asarray(x) for k, x in st.items()})
            os.replace(tmp, cache)
    st = {k: x[: N + 1, : N + 1] if k in _TWO_TIME else x[: N + 1] for k, x in st.items()}
    _check_blowup(st, N, problem, dt, where)
    return DMFTSolution(t=dt * jnp.arange(N + 1, dtype=jnp.float64), a=st["a"], v=st["v"],
                        nu=st["nu"], C=st["C"], R=st["R"], C_A=st["C_A"], R_A=st["P"],
                        Sigma_C=st["Sigma_C"], Sigma_R=st["Sigma_R"], m=problem.m,
                        symmetric=symmetric, scheme=scheme)


_TWO_TIME = ("C", "R", "P", "C_A", "Sigma_C", "Sigma_R")


def _reduced(problem: TwoLayerGradientFlow) -> TwoLayerGradientFlow:
    """The problem with one representative unit (the symmetric solver's m is traced)."""
    return TwoLayerGradientFlow(problem.alpha, problem.tau, problem.sigma_coeffs,
                                problem.target_coeffs, problem.a0[:1], jnp.ones((1, 1)),
                                problem.v0[:1], problem.train_second_layer)
