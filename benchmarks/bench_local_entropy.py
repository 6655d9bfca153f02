"""Franz-Parisi local entropy on a 100 x 50 (alpha x d) grid in one jitted call (references
at 0.9 kappa_max(alpha), zero-margin solutions counted), against a SciPy reference in the
style of the derivation notes: a bounded root search on the same free entropy's gradient,
one point at a time, warm-started along d; timed on a few alpha rows and extrapolated.

    python benchmarks/bench_local_entropy.py [--alphas 100 --distances 50] [--quick]
"""

import argparse
import time

import jax
import jax.flatten_util
import jax.numpy as jnp
import numpy as np
from scipy import optimize

import theory.local_entropy.franz_parisi as fp
from atypical import BinaryStorage
from theory.engine import stationarity
from theory.models.margins import find_kappa_max

from _machine import describe

TOL = 1e-10


def references(alpha: np.ndarray) -> np.ndarray:
    """0.9 kappa_max(alpha): high-margin references (kappa_max itself has zero entropy)."""
    kmax = jax.jit(jax.vmap(lambda a: find_kappa_max(BinaryStorage, a).kappa))(jnp.asarray(alpha))
    return 0.9 * np.asarray(kmax)


def scipy_row(alpha: float, kappa_ref: float, d: np.ndarray, start,
              substeps: int = 4) -> tuple[int, float]:
    """One alpha row by ``scipy.optimize.least_squares`` (trust-region reflective, finite-
    difference Jacobian) on the JAX gradient, in the box coordinates of the JAX solver with
    their bounds (MINPACK hybr, unbounded, leaves the admissible set at almost every point),
    continued along d from the JAX solution at d[0] with ``substeps`` geometric substeps
    between grid points; returns (grid points with |grad phi| >= TOL, max |grad phi| there)."""
    ref = fp.reference_saddle(alpha, kappa_ref).order_params
    problem = lambda dd: fp.FranzParisiStorage(alpha, kappa_ref, 0.0, dd)
    flat, unravel = jax.flatten_util.ravel_pytree(problem(d[0]).to_coords(start, ref))
    grad = jax.jit(lambda v, dd: jax.flatten_util.ravel_pytree(
        stationarity(unravel(v), fp.LocalEntropyModel(problem(dd), ref,
                                                      fp.DEFAULT_QUADRATURE)))[0])
    box = jax.jit(lambda dd: [jax.flatten_util.ravel_pytree(b)[0]
                              for b in problem(dd).bounds(ref)])
    x = np.asarray(flat)
    failures, worst = 0, 0.0
    path = [d[0]] + [float(v) for a, b in zip(d[:-1], d[1:])
                     for v in np.geomspace(a, b, substeps + 1)[1:]]
    for k, dd in enumerate(path):
        lower, upper = (np.asarray(b) for b in box(dd))
        inner = lambda b, sign: b + sign * 1e-14 * (1 + np.abs(np.where(np.isfinite(b), b, 0.0)))
        x = np.clip(x, inner(lower, 1), inner(upper, -1))
        sol = optimize.least_squares(lambda v: np.asarray(grad(jnp.asarray(v), dd)), x,
                                     bounds=(lower, upper), method="trf", xtol=1e-15,
                                     ftol=1e-15, gtol=1e-15, max_nfev=400)
        residual = float(np.max(np.abs(sol.fun)))
        if residual < TOL:
            x = sol.x
        if k % substeps == 0:  # a grid point
            worst = max(worst, residual)
            failures += int(residual >= TOL)
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
    parser.add_argument("--batch-size", type=int, default=4,
                        help="curves solved at once under vmap (memory ~0.5 GB each)")
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
    call = (fp.FranzParisiStorage, *(jnp.asarray(v) for v in (alpha, kappa_ref, kappa, d)),
            fp.DEFAULT_QUADRATURE, 8, args.n_fill, args.batch_size)
    t0 = time.perf_counter()
    compiled = fp.curve_grid.lower(*call).compile()
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
    print(f"jax, one call ({args.batch_size} curves at a time under vmap): compile "
          f"{t_compile:.1f} s; run {t_jax:.1f} s ({t_jax / (n_alpha * n_d) * 1e3:.1f} ms per "
          f"grid point); max |grad phi| = {residual:.1e} (converged points); converged "
          f"{int(ok.sum())}/{ok.size}")

    n_rows = 1 if args.quick else min(args.baseline_rows, n_alpha)
    rows = np.linspace(0, n_alpha - 1, n_rows).astype(int)
    t0 = time.perf_counter()
    failures, worst = 0, 0.0
    for i in rows:
        start = jax.tree.map(lambda x: x[i, 0], curve.order_params)
        f, w = scipy_row(float(alpha[i]), float(kappa_ref[i]), d, start)
        failures, worst = failures + f, max(worst, w)
    t_ref = (time.perf_counter() - t0) / len(rows) * n_alpha
    print(f"scipy least_squares (trf, bounded) point by point ({len(rows)} rows, continued "
          f"from the jax solution at d[0], 4 substeps per grid step; extrapolated to "
          f"{n_alpha} rows): {t_ref:.1f} s; max |grad phi| = {worst:.1e}; above {TOL:g} at "
          f"{failures}/{len(rows) * n_d} grid points")
    print(f"speed-up (run only): {t_ref / t_jax:.1f}x; incl. compile: {t_ref / t_first:.1f}x")


if __name__ == "__main__":
    main()
