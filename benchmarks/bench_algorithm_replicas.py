"""Throughput of R independent runs of replicated SGD (sim/rsgd.py), focusing BP
(sim/fbp.py) and simulated annealing (sim/anneal.py): each as one vmapped jitted program
against a Python loop over the same jitted single run, with the same keys (the vmapped
drivers split their key into R run keys; the loop calls the single run on those keys), and,
for SA, a batched NumPy implementation of the same Metropolis chain.

Both sides do identical work: storage data at (N, alpha), a fixed number of epochs /
sweeps, no early stop (``stop_at_solution=False`` for rsgd and fbp; SA's scan always runs
every sweep). The script checks that the vmapped and the looped runs agree on the first
``--check`` runs (same binary weights, same training-error curves up to float32 rounding).
Work units, per second:

- rsgd: N x P x y x R x epochs (weights x examples x coupled students x runs x epochs);
- fbp: N x P x R x sweeps (factor-to-weight messages updated);
- sa: N x P x R x sweeps (each of the N proposals of a sweep updates P stabilities).

    python benchmarks/bench_algorithm_replicas.py [--algos rsgd fbp sa] [--n 1001]
        [--alpha 0.6] [--replicas 16] [--epochs 10] [--sweeps 10] [--sa-n 201]
        [--sa-sweeps 50] [--quick]
"""

import argparse
import time

import jax
import jax.random as jr
import numpy as np

from atypical import BinaryStorage
from sim import anneal, fbp, rsgd
from sim.anneal import AnnealConfig
from sim.data import sample_storage
from sim.fbp import FBPConfig
from sim.rsgd import RSGDConfig
from sim.sgd import SGDConfig

from _machine import best_time, describe


def numpy_anneal(xi, y, config: AnnealConfig, n_replicas: int, seed: int):
    """The chain of sim/anneal.py (random order per sweep, incremental stabilities, beta =
    infinity among solutions, ``sweeps_at_solution`` then stop), batched over replicas with
    NumPy in float32; its own random numbers, so it agrees with the JAX chains in law only.
    Returns the final energies (R,)."""
    rng = np.random.default_rng(seed)
    P, N = xi.shape
    R = n_replicas
    cols = (y[:, None] * xi / np.sqrt(np.float32(N))).T.astype(np.float32)  # (N, P)
    W = rng.choice(np.array([-1, 1], np.float32), size=(R, N))
    stab = W @ cols
    E = np.sum(stab < 0, axis=1)
    frozen = E == 0
    since = np.zeros(R, np.int64)
    T = config.sweeps
    b0, b1 = float(config.beta0), float(config.beta1)
    betas = (b0 * (b1 / b0) ** (np.arange(T) / max(T - 1, 1))).astype(np.float32)
    rows = np.arange(R)
    for s in range(T):
        active = ~(frozen & (since >= config.sweeps_at_solution))
        order = np.argsort(rng.random((R, N)), axis=1)
        us = rng.random((R, N), dtype=np.float32)
        for j in range(N):
            i = order[:, j]
            w_i = W[rows, i]
            new_stab = stab - 2 * w_i[:, None] * cols[i]
            dE = np.sum(new_stab < 0, axis=1) - E
            with np.errstate(over="ignore"):
                hot = (dE <= 0) | (us[:, j] < np.exp(-betas[s] * dE.astype(np.float32)))
            accept = np.where(frozen, dE == 0, hot) & active
            W[rows, i] = np.where(accept, -w_i, w_i)
            stab = np.where(accept[:, None], new_stab, stab)
            E = np.where(accept, E + dE, E)
            frozen = frozen | (active & (E == 0))
        since = since + frozen
    return E


def _compare(vmapped, looped, n_check: int, errors_field: str) -> str:
    """Agreement of the first n_check runs: identical binary weights, max |difference| of
    the training-error curves."""
    same_W = [bool(np.array_equal(np.asarray(vmapped.W[r]), np.asarray(looped[r].W)))
              for r in range(n_check)]
    diff = max(float(np.max(np.abs(np.asarray(getattr(vmapped, errors_field)[r])
                                   - np.asarray(getattr(looped[r], errors_field)))))
               for r in range(n_check))
    return (f"check vmap vs loop, first {n_check} runs: identical W in {sum(same_W)}/{n_check}, "
            f"max |training-error difference| over all epochs/sweeps {diff:.2e}")


def bench(name, one, batched, data, config, R: int, work: float, repeats: int,
          n_check: int, errors_field: str, key) -> dict:
    """Time the vmapped program and the Python loop of the jitted single run; returns
    {implementation: seconds} and prints one line per implementation."""
    P, N = data.xi.shape
    results = {}

    def report(label, seconds, final_errors):
        results[label] = seconds
        print(f"  {label:<26} {seconds:9.3f} s  {R / seconds:9.2f} runs/s  "
              f"{work / seconds:10.3e} units/s  mean final error {np.mean(final_errors):.4f}",
              flush=True)

    # 1. vmapped runs, one program (the library's driver)
    start = time.perf_counter()
    out = jax.block_until_ready(batched(key, data, config, R))
    compile_vmap = time.perf_counter() - start
    seconds = best_time(lambda: jax.block_until_ready(batched(key, data, config, R)), repeats)
    report("jax vmap (one program)", seconds, np.asarray(getattr(out, errors_field))[:, -1])

    # 2. the same single run, jitted, in a Python loop over the same run keys
    single = jax.jit(one)
    keys = jr.split(key, R)
    keys = [keys[r] for r in range(R)]  # indexing outside the timed loop
    start = time.perf_counter()
    jax.block_until_ready(single(keys[0], data, config))
    compile_loop = time.perf_counter() - start
    best, looped = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        outs = jax.block_until_ready([single(k, data, config) for k in keys])
        best, looped = min(best, time.perf_counter() - start), outs
    report("jax python loop", best, [np.asarray(getattr(o, errors_field))[-1] for o in looped])
    print(f"  first call (compile + 1 run): vmap {compile_vmap:.1f} s, loop {compile_loop:.1f} s")
    print("  " + _compare(out, looped, min(n_check, R), errors_field))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--algos", nargs="+", choices=("rsgd", "fbp", "sa"),
                        default=["rsgd", "fbp", "sa"])
    parser.add_argument("--n", type=int, default=1001, help="N for rsgd and fbp")
    parser.add_argument("--alpha", type=float, default=0.6)
    parser.add_argument("--replicas", type=int, default=16, help="independent runs R")
    parser.add_argument("--epochs", type=int, default=10, help="rsgd epochs")
    parser.add_argument("--sweeps", type=int, default=10, help="fbp sweeps")
    parser.add_argument("--sa-n", type=int, default=201, help="N for SA")
    parser.add_argument("--sa-sweeps", type=int, default=50, help="SA sweeps")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--check", type=int, default=4,
                        help="runs whose vmapped and looped results are compared")
    parser.add_argument("--no-numpy", action="store_true", help="skip the NumPy SA baseline")
    parser.add_argument("--quick", action="store_true",
                        help="N=101 (SA 51), R=4, 2 epochs/sweeps (SA 5): smoke test")
    args = parser.parse_args()
    if args.quick:
        args.n, args.replicas, args.epochs, args.sweeps = 101, 4, 2, 2
        args.sa_n, args.sa_sweeps, args.repeats, args.check = 51, 5, 1, 2
    R = args.replicas
    print(describe())
    print(f"alpha={args.alpha} R={R} repeats={args.repeats} (best of); "
          "no early stop, float32, library defaults otherwise")
    key = jr.key(1)
    speedups = {}

    if "rsgd" in args.algos:
        N = args.n
        data = sample_storage(jr.key(0), BinaryStorage(args.alpha), N)
        P = data.xi.shape[0]
        config = RSGDConfig(sgd=SGDConfig(epochs=args.epochs, stop_at_solution=False))
        print(f"rsgd: N={N} P={P} y={config.y} epochs={args.epochs} "
              f"batch={config.sgd.batch_size} optimizer={config.sgd.optimizer}")
        res = bench("rsgd", rsgd.train_one, rsgd.train_replicas, data, config, R,
                    N * P * config.y * R * args.epochs, args.repeats, args.check,
                    "train_errors", key)
        speedups["rsgd"] = res["jax python loop"] / res["jax vmap (one program)"]

    if "fbp" in args.algos:
        N = args.n
        data = sample_storage(jr.key(0), BinaryStorage(args.alpha), N)
        P = data.xi.shape[0]
        config = FBPConfig(iterations=args.sweeps, stop_at_solution=False)
        print(f"fbp: N={N} P={P} y={float(config.y)} sweeps={args.sweeps} "
              f"gamma_step={float(config.gamma_step)} damping={float(config.damping)}")
        res = bench("fbp", fbp.fbp_one, fbp.run_replicas, data, config, R,
                    N * P * R * args.sweeps, args.repeats, args.check, "train_errors", key)
        speedups["fbp"] = res["jax python loop"] / res["jax vmap (one program)"]

    if "sa" in args.algos:
        N = args.sa_n
        data = sample_storage(jr.key(0), BinaryStorage(args.alpha), N)
        P = data.xi.shape[0]
        config = AnnealConfig(sweeps=args.sa_sweeps)
        print(f"sa: N={N} P={P} sweeps={args.sa_sweeps} beta {float(config.beta0)} -> "
              f"{float(config.beta1)} (geometric over these sweeps)")
        work = N * P * R * args.sa_sweeps
        res = bench("sa", anneal.anneal_one, anneal.run_replicas, data, config, R, work,
                    args.repeats, args.check, "train_errors", key)
        speedups["sa"] = res["jax python loop"] / res["jax vmap (one program)"]
        if not args.no_numpy:
            xi, y = np.asarray(data.xi), np.asarray(data.y)
            start = time.perf_counter()  # one pass: it is the slow baseline
            E = numpy_anneal(xi, y, config, R, seed=0)
            seconds = time.perf_counter() - start
            print(f"  {'numpy batched':<26} {seconds:9.3f} s  {R / seconds:9.2f} runs/s  "
                  f"{work / seconds:10.3e} units/s  mean final error {np.mean(E) / P:.4f} "
                  "(own random numbers)", flush=True)
            speedups["sa over numpy"] = seconds / res["jax vmap (one program)"]

    for name, s in speedups.items():
        label = name if name.endswith("numpy") else f"{name} over its python loop"
        print(f"speed-up of jax vmap, {label}: {s:.2f}x")


if __name__ == "__main__":
    main()
