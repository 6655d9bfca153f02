"""Replicated SGD against independent SGD restarts at equal compute (binary storage).

Replicated SGD trains y coupled students for E epochs (y E student-epochs); the fair
baseline is y independent SGD students on the same instance for E epochs each, counted as
solved when any of them is. Per alpha: the fraction of instances solved by each, with
binomial standard errors, and the mean student-epochs spent on the solved instances
(both stop at the first solution).

    python benchmarks/bench_rsgd_vs_restarts.py [--n 1001] [--alpha 0.66,0.70,0.74]
                                                [--instances 16] [--quick]
"""

import argparse
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

from atypical import BinaryStorage
from sim.enumerate import sample_instances
from sim.rsgd import RSGDConfig, train_one as rsgd_one
from sim.sgd import train_one as sgd_one

from _machine import describe


def _epochs_used(res, epochs: int):
    return jnp.where(res.epochs_to_solution >= 0, res.epochs_to_solution, epochs)


def restarts(key, data, config: RSGDConfig):
    """y independent SGD students per instance, tried one after the other: solved if any
    is; student-epochs spent up to the first that solves (all y if none does)."""
    n = data.y.shape[0]
    keys = jr.split(key, (n, config.y))
    run = jax.vmap(jax.vmap(sgd_one, in_axes=(0, None, None)), in_axes=(0, 0, None))
    res = run(keys, data, config.sgd)
    spent = jnp.cumsum(_epochs_used(res, config.sgd.epochs), axis=1)
    first = jnp.argmax(res.solved, axis=1)
    solved = res.solved.any(axis=1)
    return solved, jnp.where(solved, jnp.take_along_axis(spent, first[:, None], 1)[:, 0],
                             spent[:, -1])


def replicated(key, data, config: RSGDConfig):
    """One coupled ensemble of y students per instance; student-epochs used."""
    res = jax.vmap(rsgd_one, in_axes=(0, 0, None))(jr.split(key, data.y.shape[0]), data,
                                                   config)
    return res.solved, config.y * _epochs_used(res, config.sgd.epochs)


def row(name: str, solved, epochs, seconds: float) -> str:
    solved, epochs = np.asarray(solved), np.asarray(epochs)
    p = solved.mean()
    sem = np.sqrt(p * (1 - p) / solved.size)
    used = epochs[solved].mean() if solved.any() else float("nan")
    return (f"| {name} | {solved.sum()}/{solved.size} | {p:.2f} +- {sem:.2f} | {used:.0f} "
            f"| {seconds:.0f} |")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1001, help="weights N")
    parser.add_argument("--alpha", default="0.66,0.70,0.74", help="comma-separated P/N")
    parser.add_argument("--instances", type=int, default=16, help="instances per alpha")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="N = 201, 2 instances, 0.6")
    args = parser.parse_args(argv)
    if args.quick:
        args.n, args.alpha, args.instances = 201, "0.6", 2
    config = RSGDConfig()
    print(describe())
    print(f"N = {args.n}, y = {config.y} students, {config.sgd.epochs} epochs each, "
          f"{args.instances} instances per alpha (library defaults)\n")
    print("| alpha | algorithm | solved | fraction | student-epochs (solved) | seconds |")
    print("|---|---|---|---|---|---|")
    for alpha in (float(a) for a in args.alpha.split(",")):
        k_data, k_sgd, k_rsgd = jr.split(jr.key(args.seed), 3)
        data = sample_instances(k_data, BinaryStorage(alpha), args.n, args.instances)
        for name, fn, key in ((f"{config.y} SGD restarts", restarts, k_sgd),
                              (f"replicated SGD (y = {config.y})", replicated, k_rsgd)):
            start = time.perf_counter()
            solved, epochs = eqx.filter_jit(fn)(key, data, config)
            solved.block_until_ready()
            print(f"| {alpha} " + row(name, solved, epochs, time.perf_counter() - start),
                  flush=True)


if __name__ == "__main__":
    main()
