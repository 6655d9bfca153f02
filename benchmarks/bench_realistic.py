"""Throughput of training realistic networks over seeds (sim/net_train.py): one vmapped
jitted program (``train_networks``) against a Python loop over the same jitted single seed
(``train_network``) and a batched NumPy implementation of the same training (PyTorch is
not a dependency of this environment; the NumPy baseline is batched over seeds by einsum).

All run the same work: the one-hidden-layer ReLU MLP of ``sim.networks`` (bias-free,
$W x/\\sqrt{fan_{in}}$), softmax cross-entropy, plain SGD with batch B, a fresh permutation
per epoch and seed, the training error of every seed after every epoch, no early stop.
Throughput = parameters x examples x seeds x epochs per second (one forward-backward pass
of one example through the network counts once).

    python benchmarks/bench_realistic.py [--width 64] [--P 500] [--seeds 16] [--epochs 20]
                                         [--quick]
"""

import argparse

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

from sim.net_train import NetTrainConfig, train_network, train_networks
from sim.networks import NetworkSpec, n_params
from sim.real_data import load_real_data

from _machine import best_time, describe


def numpy_train(x, y, width: int, config: NetTrainConfig, n_seeds: int, seed: int):
    """The SGD of sim/net_train.py on the MLP, batched over seeds with NumPy (float32)."""
    rng = np.random.default_rng(seed)
    P, D = x.shape
    C = int(y.max()) + 1
    B = min(config.batch_size, P)
    n_b = P // B
    lr = np.float32(config.learning_rate)
    s1, s2 = np.float32(np.sqrt(D)), np.float32(np.sqrt(width))
    W1 = rng.standard_normal((n_seeds, D, width)).astype(np.float32)
    W2 = rng.standard_normal((n_seeds, width, C)).astype(np.float32)
    onehot = np.eye(C, dtype=np.float32)[y]
    errors = np.empty((n_seeds, config.epochs), np.float32)
    for epoch in range(config.epochs):
        perm = np.argsort(rng.random((n_seeds, P)), axis=1)[:, : n_b * B]
        for b in range(n_b):
            idx = perm[:, b * B:(b + 1) * B]
            xb, tb = x[idx], onehot[idx]  # (S, B, D), (S, B, C)
            pre = np.einsum("sbd,sdw->sbw", xb, W1) / s1
            h = np.maximum(pre, 0)
            out = np.einsum("sbw,swc->sbc", h, W2) / s2
            p = np.exp(out - out.max(axis=2, keepdims=True))
            p /= p.sum(axis=2, keepdims=True)
            g_out = (p - tb) / B  # d(mean CE)/d(out)
            g_W2 = np.einsum("sbw,sbc->swc", h, g_out) / s2
            g_h = np.einsum("sbc,swc->sbw", g_out, W2) / s2 * (pre > 0)
            g_W1 = np.einsum("sbd,sbw->sdw", xb, g_h) / s1
            W1 -= lr * g_W1
            W2 -= lr * g_W2
        h = np.maximum(np.einsum("pd,sdw->spw", x, W1) / s1, 0)
        out = np.einsum("spw,swc->spc", h, W2) / s2
        errors[:, epoch] = np.mean(out.argmax(axis=2) != y[None], axis=1)
    return W1, W2, errors


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--P", type=int, default=500)
    parser.add_argument("--seeds", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke run)")
    args = parser.parse_args(argv)
    if args.quick:
        args.width, args.P, args.seeds, args.epochs, args.repeats = 8, 64, 2, 2, 1
    print(describe())
    data = load_real_data(jr.key(0), "digits", args.P, task="digits10")
    spec = NetworkSpec("mlp", args.width, data.input_shape, data.n_out)
    config = NetTrainConfig(epochs=args.epochs, batch_size=32, learning_rate=0.5,
                            stop_at_solution=False)
    work = n_params(spec) * args.P * args.seeds * args.epochs
    print(f"digits10, P = {args.P}, mlp width {args.width} ({n_params(spec)} parameters), "
          f"{args.seeds} seeds, {args.epochs} epochs, batch 32, SGD")

    key = jr.key(1)
    vmapped = lambda: jax.block_until_ready(train_networks(key, data, spec, config, args.seeds))
    vmapped()  # compile
    single = eqx.filter_jit(train_network)
    keys = jr.split(key, args.seeds)
    loop = lambda: [jax.block_until_ready(single(k, data, spec, config)) for k in keys]
    loop()  # compile
    x = np.asarray(data.x).reshape(args.P, -1)
    y = np.asarray(data.y)
    numpy_run = lambda: numpy_train(x, y, args.width, config, args.seeds, 0)
    err_np = numpy_run()[2][:, -1].mean()
    err_jax = float(jnp.mean(vmapped().train_error))
    rows = [("vmapped seeds (one jit)", best_time(vmapped, args.repeats)),
            ("Python loop of jitted single seeds", best_time(loop, args.repeats)),
            ("batched NumPy (einsum over seeds)", best_time(numpy_run, args.repeats))]
    print(f"final training error: jax {err_jax:.4f}, numpy {err_np:.4f} (different seeds)")
    print("| implementation | seconds | params x examples x seeds x epochs / s | speed-up |")
    print("|---|---|---|---|")
    for name, t in rows:
        print(f"| {name} | {t:.3f} | {work / t:.3g} | {rows[2][1] / t:.1f}x |")


if __name__ == "__main__":
    main()
