"""RS saddle points of binary storage on a 1,000-point alpha grid: one jitted vmapped call
(damped fixed point from the free entropy's gradient, then autodiff Newton) against a
straightforward SciPy/NumPy damped fixed-point loop, same quadrature and tolerance.

    python benchmarks/bench_rs_grid.py [--points 1000] [--quick]
"""

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np
from scipy import special

import atypical
import theory
from atypical.gaussian import gauss_nodes

from _machine import describe

TOL = 1e-10


def scipy_damped_fixed_point(alpha: float, kappa: float, z, w, damping=0.5,
                             max_steps=20000) -> tuple[float, float, int]:
    """Textbook RS iteration q = E tanh^2(sqrt(q_hat) z), q_hat = alpha/(1-q) E[(G/H)^2]
    with NumPy arrays over the same quadrature nodes, damped, until the update < TOL."""
    q, q_hat = 0.01, 0.01
    for step in range(max_steps):
        u = (kappa - np.sqrt(q) * z) / np.sqrt(1 - q)
        mills = np.exp(-0.5 * u**2 - 0.5 * np.log(2 * np.pi) - special.log_ndtr(-u))
        new_q = w @ np.tanh(np.sqrt(q_hat) * z) ** 2
        new_q_hat = alpha / (1 - q) * (w @ mills**2)
        new_q = (1 - damping) * q + damping * new_q
        new_q_hat = (1 - damping) * q_hat + damping * new_q_hat
        if max(abs(new_q - q), abs(new_q_hat - q_hat)) < TOL:
            return new_q, new_q_hat, step + 1
        q, q_hat = new_q, new_q_hat
    return q, q_hat, max_steps


def residuals(alpha, q, q_hat):
    problems = atypical.BinaryStorage(alpha, jnp.zeros_like(alpha))
    grads = jax.vmap(jax.grad(theory.free_entropy_storage))(
        theory.RSOrderParams(q, q_hat), problems)
    return np.maximum(np.abs(grads.q), np.abs(grads.q_hat))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument("--quick", action="store_true", help="50 points, for smoke tests")
    args = parser.parse_args()
    n = 50 if args.quick else args.points
    alpha = jnp.linspace(0.05, 0.95, n)
    print(describe())

    theory.solve_storage(alpha[:2] + 0.01)  # compile for a different grid of another shape
    t0 = time.perf_counter()
    sol = theory.solve_storage(alpha)
    jax.block_until_ready(sol)
    t_first = time.perf_counter() - t0
    t0 = time.perf_counter()
    sol = theory.solve_storage(alpha)
    jax.block_until_ready(sol)
    t_jax = time.perf_counter() - t0

    z, w = map(np.asarray, gauss_nodes())
    t0 = time.perf_counter()
    ref = [scipy_damped_fixed_point(float(a), 0.0, z, w) for a in np.asarray(alpha)]
    t_ref = time.perf_counter() - t0
    q_ref = jnp.array([r[0] for r in ref])
    q_hat_ref = jnp.array([r[1] for r in ref])
    res_ref = residuals(alpha, q_ref, q_hat_ref)

    print(f"grid: {n} alpha values in [0.05, 0.95], kappa = 0, {len(z)} quadrature nodes")
    print(f"jax vmapped (compile + run): {t_first:.2f} s; run only: {t_jax:.3f} s; "
          f"max |grad phi| = {float(sol.residual.max()):.1e}")
    print(f"scipy damped fixed point loop: {t_ref:.2f} s "
          f"(mean {np.mean([r[2] for r in ref]):.0f} iterations); "
          f"max |grad phi| = {float(res_ref.max()):.1e}")
    print(f"speed-up (run only): {t_ref / t_jax:.1f}x; incl. compile: {t_ref / t_first:.1f}x; "
          f"max |q_jax - q_scipy| = {float(jnp.abs(sol.order_params.q - q_ref).max()):.1e}")


if __name__ == "__main__":
    main()
