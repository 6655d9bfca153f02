"""Franz-Parisi local entropy on a 100 x 50 (alpha x d) grid in one jitted, vmapped call
(references at 0.9 kappa_max(alpha), zero-margin solutions counted), against a SciPy
reference in the style of the derivation notes: scipy.optimize.root (MINPACK hybr, finite-
difference Jacobian) on the same free entropy's gradient, one point at a time, warm-started
along d; timed on a few alpha rows and extrapolated to the grid.

    python benchmarks/bench_local_entropy.py [--alphas 100 --distances 50] [--quick]
"""

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np
from scipy import optimize

import theory.franz_parisi as fp
from theory.margins import _kappa_max

from _machine import describe

TOL = 1e-10


def references(alpha: np.ndarray) -> np.ndarray:
    """0.9 kappa_max(alpha): high-margin references (kappa_max itself has zero entropy)."""
    kmax = jax.jit(jax.vmap(lambda a: _kappa_max("storage", a).kappa))(jnp.asarray(alpha))
    return 0.9 * np.asarray(kmax)


def scipy_row(alpha: float, kappa_ref: float, d: np.ndarray, start,
              substeps: int = 4) -> tuple[int, float]:
    """One alpha row by scipy hybr on the JAX gradient, point by point, continued along d
    from the converged JAX solution at d[0] with ``substeps`` geometric substeps between
    grid points (hybr alone does not bridge the grid's steps); returns (failures at the
    grid points, max residual there)."""
    ref = fp.reference_saddle(alpha, kappa_ref).order_params
    grad = jax.jit(lambda x, dd: jnp.stack(jax.tree.leaves(jax.grad(
        fp.free_entropy_franz_parisi)(fp.FPOrderParams(*x), ref,
                                      fp.FranzParisiStorage(alpha, kappa_ref, 0.0, dd)))))
    x = np.array([start.q, start.t, start.q_hat, start.t_hat, start.p_hat], dtype=float)
    failures, worst = 0, 0.0
    path = [d[0]] + [float(v) for a, b in zip(d[:-1], d[1:])
                     for v in np.geomspace(a, b, substeps + 1)[1:]]
    for k, dd in enumerate(path):
        sol = optimize.root(lambda v: np.asarray(grad(jnp.asarray(v), dd)), x, method="hybr",
                            tol=1e-13)
        residual = float(np.max(np.abs(sol.fun)))
        ok = sol.success and residual < TOL
        if ok:
            x = sol.x
        if k % substeps == 0:  # a grid point
            worst = max(worst, residual)
            failures += 0 if ok else 1
    return failures, worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alphas", type=int, default=100)
    parser.add_argument("--distances", type=int, default=50)
    parser.add_argument("--baseline-rows", type=int, default=2,
                        help="alpha rows timed with the SciPy reference (extrapolated)")
    parser.add_argument("--n-fill", type=int, default=4,
                        help="extra continuation points each way (the 50-point d grid is "
                             "itself the continuation path)")
    parser.add_argument("--quick", action="store_true",
                        help="3 x 6 grid and one SciPy row, for smoke tests")
    args = parser.parse_args()
    n_alpha, n_d = (3, 6) if args.quick else (args.alphas, args.distances)
    print(describe())
    alpha = np.linspace(0.3, 0.8, n_alpha)
    d = np.geomspace(2e-3, 0.5, n_d)
    kappa_ref = references(alpha)
    kappa = np.zeros_like(alpha)

    # the public franz_parisi_curve is this one jitted call plus input checks; compile
    # ahead of time to time compilation and the solve separately (one run of each)
    call = (jnp.asarray(alpha), jnp.asarray(kappa_ref), jnp.asarray(kappa), jnp.asarray(d),
            fp.DEFAULT_QUADRATURE, 8, args.n_fill)
    t0 = time.perf_counter()
    compiled = fp._curve_grid.lower(*call).compile()
    t_compile = time.perf_counter() - t0
    t0 = time.perf_counter()
    curve = compiled(*call)
    jax.block_until_ready(curve)
    t_jax = time.perf_counter() - t0
    t_first = t_compile + t_jax
    ok = np.asarray(curve.converged)
    residual = float(np.max(np.asarray(curve.residual)[ok])) if ok.any() else float("nan")
    print(f"grid: {n_alpha} alpha in [0.3, 0.8] x {n_d} d in [2e-3, 0.5], kappa_ref = 0.9 "
          f"kappa_max(alpha), kappa = 0; quadrature {fp.DEFAULT_QUADRATURE}")
    print(f"jax, one vmapped call: compile {t_compile:.1f} s; run {t_jax:.1f} s "
          f"({t_jax / (n_alpha * n_d) * 1e3:.1f} ms per grid point); max |grad phi| = "
          f"{residual:.1e} (converged points); converged {int(ok.sum())}/{ok.size}")

    n_rows = 1 if args.quick else min(args.baseline_rows, n_alpha)
    rows = np.linspace(0, n_alpha - 1, n_rows).astype(int)
    t0 = time.perf_counter()
    failures, worst = 0, 0.0
    for i in rows:
        start = jax.tree.map(lambda x: x[i, 0], curve.order_params)
        f, w = scipy_row(float(alpha[i]), float(kappa_ref[i]), d, start)
        failures, worst = failures + f, max(worst, w)
    t_ref = (time.perf_counter() - t0) / len(rows) * n_alpha
    print(f"scipy hybr point by point ({len(rows)} rows, continued from the jax solution at "
          f"d[0], 4 substeps per grid step; extrapolated to {n_alpha} rows): {t_ref:.1f} s; "
          f"max |grad phi| = "
          f"{worst:.1e}; failures {failures}/{len(rows) * n_d}")
    print(f"speed-up (run only): {t_ref / t_jax:.1f}x; incl. compile: {t_ref / t_first:.1f}x")


if __name__ == "__main__":
    main()
