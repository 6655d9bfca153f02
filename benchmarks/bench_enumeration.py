"""Exact enumeration throughput (sim/enumerate.py): configurations x patterns per second at
N = 20..25, storage and teacher-student at alpha = 0.6, against a chunked NumPy brute force
(all 2^N weight vectors times the patterns, float32) at the smaller N.

    python benchmarks/bench_enumeration.py [--sizes 20,21,22,23,24,25] [--instances 4]
                                           [--alpha 0.6] [--quick]
"""

import argparse
import time

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

from atypical import BinaryStorage, TeacherStudent
from sim.enumerate import default_chunk_size, enumerate_instances, sample_instances

from _machine import describe


def numpy_count(xi_eff: np.ndarray, kappa: float, chunk: int = 2**16) -> int:
    """Brute force: every W in {-1,+1}^N (bits of the integers), stabilities by a matmul."""
    P, N = xi_eff.shape
    count = 0
    bits = np.arange(N)
    for start in range(0, 2**N, chunk):
        r = np.arange(start, min(start + chunk, 2**N))[:, None]
        W = (2 * ((r >> bits) & 1) - 1).astype(np.float32)
        count += int(np.sum(np.all(W @ xi_eff.T >= kappa, axis=1)))
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="20,21,22,23,24,25")
    parser.add_argument("--instances", type=int, default=4)
    parser.add_argument("--alpha", type=float, default=0.6)
    parser.add_argument("--numpy-max-n", type=int, default=21,
                        help="largest N for the NumPy baseline (it is ~100x slower)")
    parser.add_argument("--quick", action="store_true", help="N = 14, 16; 2 instances")
    args = parser.parse_args()
    sizes = [14, 16] if args.quick else [int(n) for n in args.sizes.split(",")]
    n_inst = 2 if args.quick else args.instances
    print(describe())
    print(f"alpha={args.alpha} instances={n_inst} chunk={default_chunk_size()} configurations")
    print(f"{'task':<16}{'N':>4}{'P':>4}{'s/instance':>12}{'cfg*pat/s':>12}  "
          f"{'numpy s/inst':>12}{'speed-up':>9}  mean entropy")
    for task, problem in [("storage", BinaryStorage(args.alpha)),
                          ("teacher-student", TeacherStudent(args.alpha))]:
        for N in sizes:
            # warm-up: same shapes, another key (no recompilation in the timed call)
            jax.block_until_ready(enumerate_instances(jr.key(0), problem, N, n_inst).counts)
            start = time.perf_counter()
            result = enumerate_instances(jr.key(1), problem, N, n_inst)
            jax.block_until_ready(result.counts)
            seconds = (time.perf_counter() - start) / n_inst
            rate = 2**N * result.P / seconds
            line = (f"{task:<16}{N:>4}{result.P:>4}{seconds:>12.4f}{rate:>12.3e}  ")
            if task == "storage" and N <= args.numpy_max_n:
                data = sample_instances(jr.key(1), problem, N, n_inst, dtype=jnp.float32)
                xi_eff = np.asarray(data.y[0][:, None] * data.xi[0]) / np.float32(np.sqrt(N))
                start = time.perf_counter()
                count = numpy_count(xi_eff, 0.0)
                np_seconds = time.perf_counter() - start
                assert count == int(result.counts[0]), (count, int(result.counts[0]))
                line += f"{np_seconds:>12.3f}{np_seconds / seconds:>8.0f}x  "
            else:
                line += f"{'':>12}{'':>9}  "
            print(line + f"{result.mean_entropy:.4f}", flush=True)


if __name__ == "__main__":
    main()
