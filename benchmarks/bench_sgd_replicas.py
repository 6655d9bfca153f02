"""Throughput of R independent BinaryConnect-SGD replicas (sim/sgd.py): one vmapped jitted
program against a Python loop over the same jitted single replica, a batched NumPy
implementation of the same algorithm and, when torch is importable, a batched PyTorch one.

All run the same work: storage data at (N, alpha), batch 10, Adam, SBPI rule, per-replica
shuffles, the training error of every replica after every epoch, no early stop.
Throughput = weights x examples x replicas x epochs per second.

    python benchmarks/bench_sgd_replicas.py [--n 1001] [--alpha 0.6] [--replicas 64]
                                            [--epochs 20] [--quick]

``--solved 0.6,0.7`` instead measures, with the default SGDConfig (stop at solution), the
fraction of (instance, replica) pairs reaching zero training error at those alphas:

    python benchmarks/bench_sgd_replicas.py --solved 0.6,0.7 --instances 4 --replicas 16
"""

import argparse
import time

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

from atypical import BinaryStorage
from sim.data import sample_storage
from sim.sgd import SGDConfig, train_one, train_replicas

from _machine import best_time, describe

ADAM_B1, ADAM_B2, ADAM_EPS = 0.9, 0.999, 1e-8  # optax.adam defaults


def numpy_train(xi, y, config: SGDConfig, n_replicas: int, seed: int):
    """The algorithm of sim/sgd.py, batched over replicas with NumPy (float32)."""
    rng = np.random.default_rng(seed)
    P, N = xi.shape
    B = min(config.batch_size, P)
    n_batches = -(-P // B)
    lr, beta, margin = (float(config.learning_rate), float(config.beta),
                        float(config.loss_margin(N)))
    x = (y[:, None] * xi).astype(np.float32)  # y_mu xi_mu: stabilities are x @ W / sqrt N
    scale = np.float32(np.sqrt(N))
    h = (float(config.init_scale) * rng.standard_normal((n_replicas, N))).astype(np.float32)
    m = np.zeros_like(h)
    v = np.zeros_like(h)
    t = 0
    errors = np.empty((n_replicas, config.epochs), np.float32)
    for epoch in range(config.epochs):
        perm = np.argsort(rng.random((n_replicas, P)), axis=1)
        idx = np.concatenate([perm, perm[:, : n_batches * B - P]], axis=1)
        mask = (np.arange(n_batches * B) < P).astype(np.float32).reshape(n_batches, B)
        for b in range(n_batches):
            xb = x[idx[:, b * B:(b + 1) * B]]  # (R, B, N)
            W = np.where(h >= 0, 1, -1).astype(np.float32)
            stab = np.einsum("rbn,rn->rb", xb, W) / scale
            # l'(Delta) = -sigmoid(-beta (Delta - margin))
            dloss = -1 / (1 + np.exp(np.clip(beta * (stab - margin), -60, 60)))
            coef = dloss * mask[b] / mask[b].sum()
            wrong = (stab < 0).astype(np.float32)
            g_wrong = np.einsum("rb,rbn->rn", coef * wrong, xb) / scale
            g_right = np.einsum("rb,rbn->rn", coef * (1 - wrong), xb) / scale
            g = g_wrong + g_right * (g_right * h < 0)
            t += 1
            m = ADAM_B1 * m + (1 - ADAM_B1) * g
            v = ADAM_B2 * v + (1 - ADAM_B2) * g * g
            m_hat = m / (1 - ADAM_B1**t)
            v_hat = v / (1 - ADAM_B2**t)
            h = (h - lr * m_hat / (np.sqrt(v_hat) + ADAM_EPS)).astype(np.float32)
        W = np.where(h >= 0, 1, -1).astype(np.float32)
        errors[:, epoch] = np.mean(W @ x.T < 0, axis=1)
    return np.where(h >= 0, 1, -1), errors


def torch_train(xi, y, config: SGDConfig, n_replicas: int, seed: int, device: str):
    """The same algorithm batched over replicas with PyTorch tensors (eager)."""
    import torch

    gen = torch.Generator(device=device).manual_seed(seed)
    P, N = xi.shape
    B = min(config.batch_size, P)
    n_batches = -(-P // B)
    lr, beta, margin = (float(config.learning_rate), float(config.beta),
                        float(config.loss_margin(N)))
    x = torch.as_tensor(y[:, None] * xi, dtype=torch.float32, device=device)
    scale = float(np.sqrt(N))
    h = float(config.init_scale) * torch.randn(n_replicas, N, generator=gen, device=device)
    m, v = torch.zeros_like(h), torch.zeros_like(h)
    mask = (torch.arange(n_batches * B, device=device) < P).float().reshape(n_batches, B)
    t = 0
    errors = torch.empty(n_replicas, config.epochs, device=device)
    for epoch in range(config.epochs):
        perm = torch.argsort(torch.rand(n_replicas, P, generator=gen, device=device), dim=1)
        idx = torch.cat([perm, perm[:, : n_batches * B - P]], dim=1)
        for b in range(n_batches):
            xb = x[idx[:, b * B:(b + 1) * B]]
            W = torch.where(h >= 0, 1.0, -1.0)
            stab = torch.einsum("rbn,rn->rb", xb, W) / scale
            dloss = -torch.sigmoid(-beta * (stab - margin))
            coef = dloss * mask[b] / mask[b].sum()
            wrong = (stab < 0).float()
            g_wrong = torch.einsum("rb,rbn->rn", coef * wrong, xb) / scale
            g_right = torch.einsum("rb,rbn->rn", coef * (1 - wrong), xb) / scale
            g = g_wrong + g_right * (g_right * h < 0).float()
            t += 1
            m = ADAM_B1 * m + (1 - ADAM_B1) * g
            v = ADAM_B2 * v + (1 - ADAM_B2) * g * g
            h = h - lr * (m / (1 - ADAM_B1**t)) / (torch.sqrt(v / (1 - ADAM_B2**t)) + ADAM_EPS)
        W = torch.where(h >= 0, 1.0, -1.0)
        errors[:, epoch] = ((W @ x.T) < 0).float().mean(dim=1)
    if device == "cuda":
        torch.cuda.synchronize()
    return W.cpu().numpy(), errors.cpu().numpy()


def matmul_peak(dtype=jnp.float32, n: int = 4096) -> float:
    """FLOP/s of one n x n x n float32 matrix product (jitted, after warm-up)."""
    a = jr.normal(jr.key(0), (n, n), dtype)
    f = jax.jit(lambda a: a @ a)
    f(a).block_until_ready()
    return 2 * n**3 / best_time(lambda: f(a).block_until_ready(), 3)


def solved_fractions(alphas, N: int, n_instances: int, n_replicas: int, epochs: int) -> None:
    """Storage instances i = 0..n_instances-1 (data key i), n_replicas seeds each."""
    config = SGDConfig(epochs=epochs)
    print(f"solved fractions: N={N} instances={n_instances} replicas={n_replicas} "
          f"epochs={epochs} batch={config.batch_size} optimizer={config.optimizer} "
          f"lr={float(config.learning_rate)} beta={float(config.beta)} "
          f"margin={float(config.loss_margin(N)):.4f} stabilize_correct={config.stabilize_correct}")
    for alpha in alphas:
        solved, epochs_needed, seconds = [], [], 0.0
        for i in range(n_instances):
            data = sample_storage(jr.key(i), BinaryStorage(alpha), N)
            start = time.perf_counter()
            out = jax.block_until_ready(train_replicas(jr.key(1000 + i), data, config,
                                                       n_replicas))
            seconds += time.perf_counter() - start
            solved.append(np.asarray(out.solved))
            e = np.asarray(out.epochs_to_solution)
            epochs_needed.extend(e[e > 0].tolist())
        solved = np.concatenate(solved)
        frac, n = solved.mean(), solved.size
        print(f"alpha={alpha}: solved {solved.sum()}/{n} = {frac:.3f} +- "
              f"{np.sqrt(frac * (1 - frac) / n):.3f}; median epochs to solution "
              f"{np.median(epochs_needed) if epochs_needed else float('nan'):.0f}; "
              f"{seconds:.1f} s incl. compilation", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1001)
    parser.add_argument("--alpha", type=float, default=0.6)
    parser.add_argument("--replicas", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=None,
                        help="default: 20 for throughput, SGDConfig's for --solved")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-torch", action="store_true", help="skip the PyTorch baseline")
    parser.add_argument("--quick", action="store_true", help="N=201, R=8, 3 epochs: smoke test")
    parser.add_argument("--solved", default=None,
                        help="comma list of alphas: measure solved fractions instead")
    parser.add_argument("--instances", type=int, default=4, help="with --solved")
    args = parser.parse_args()
    if args.solved is not None:
        print(describe())
        epochs = args.epochs or SGDConfig().epochs
        solved_fractions([float(a) for a in args.solved.split(",")], args.n, args.instances,
                         args.replicas, 30 if args.quick else epochs)
        return
    args.epochs = args.epochs or 20
    if args.quick:
        args.n, args.replicas, args.epochs, args.repeats = 201, 8, 3, 1
    N, R, E = args.n, args.replicas, args.epochs
    print(describe())
    data = sample_storage(jr.key(0), BinaryStorage(args.alpha), N)
    P = data.xi.shape[0]
    config = SGDConfig(epochs=E, stop_at_solution=False)
    work = N * P * R * E  # weights x examples x replicas x epochs
    # FLOPs per replica-epoch: per example 2N (forward) + 4N (two gradient halves), and
    # 2N per example for the end-of-epoch training error
    flops = 8 * N * P * R * E
    print(f"N={N} P={P} alpha={args.alpha} replicas={R} epochs={E} batch={config.batch_size} "
          f"optimizer={config.optimizer}")
    key = jr.key(1)
    results = {}

    def report(name, seconds, final_errors):
        results[name] = seconds
        print(f"{name:<28} {seconds:9.3f} s  {R / seconds:10.1f} replicas/s  "
              f"{work / seconds:10.3e} NPRE/s  {flops / seconds / 1e9:8.2f} GFLOP/s  "
              f"mean final error {np.mean(final_errors):.4f}", flush=True)

    # 1. vmapped replicas, one program
    compiled = train_replicas.lower(key, data, config, R).compile()
    out = jax.block_until_ready(compiled(key, data, config, R))
    seconds = best_time(lambda: jax.block_until_ready(compiled(key, data, config, R)), args.repeats)
    report("jax vmap", seconds, out.train_errors[:, -1])

    # 2. the same single-replica program, in a Python loop over replicas
    single = jax.jit(train_one)
    keys = jr.split(key, R)
    jax.block_until_ready(single(keys[0], data, config))

    start = time.perf_counter()  # one timed pass: R calls of the compiled program
    outs = jax.block_until_ready([single(k, data, config) for k in keys])
    report("jax python loop", time.perf_counter() - start, [o.train_errors[-1] for o in outs])

    # 3. batched NumPy (one repeat: it is the slow baseline)
    xi, y = np.asarray(data.xi), np.asarray(data.y)
    start = time.perf_counter()
    _, errors = numpy_train(xi, y, config, R, seed=0)
    report("numpy batched", time.perf_counter() - start, errors[:, -1])

    # 4. batched PyTorch, on the GPU when there is one
    if not args.no_torch:
        try:
            import torch
        except ImportError:
            print("torch not importable: PyTorch baseline skipped")
        else:
            device = "cuda" if torch.cuda.is_available() else "cpu"
            # on a busy CPU torch's default OpenMP threads can spin-wait for each other and
            # run 10-100x slower than one thread: time both, report each
            threads = [None] if device == "cuda" else sorted({torch.get_num_threads(), 1})
            default_threads = torch.get_num_threads()
            for n_threads in threads:
                if n_threads is not None:
                    torch.set_num_threads(n_threads)
                warm = SGDConfig(epochs=1, stop_at_solution=False)
                torch_train(xi, y, warm, R, 0, device)
                start = time.perf_counter()
                _, errors = torch_train(xi, y, config, R, 0, device)
                label = device if n_threads is None else f"{device}, {n_threads} thr"
                report(f"torch batched ({label})", time.perf_counter() - start, errors[:, -1])
            torch.set_num_threads(default_threads)

    peak = matmul_peak()
    print(f"float32 matmul peak (4096^3, jitted): {peak / 1e9:.1f} GFLOP/s; jax vmap reaches "
          f"{flops / results['jax vmap'] / peak:.1%} of it (the work is batched matrix-vector "
          "products: memory-bound by construction)")
    base = results["jax vmap"]
    for name, seconds in results.items():
        if name != "jax vmap":
            print(f"speed-up of jax vmap over {name}: {seconds / base:.1f}x")


if __name__ == "__main__":
    main()
