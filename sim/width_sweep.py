"""Width sweeps of realistic networks at fixed data [P1 numerics]: train many seeds at one
width (``sim.net_train``), measure errors, flatness and margins of the weights found
(``sim.net_measure``), and locate the interpolation point across widths.

A point is a JSON-able record (lists, floats), so that sweeps cache and resume point by
point (``atypical.results.ResultsCache``).
"""

import functools
import time

import equinox as eqx
import jax
import jax.random as jr
import numpy as np
from jaxtyping import Array, PRNGKeyArray

from atypical.observables import params_per_example

from .measure import mean_sem
from .net_measure import flip_local_energy, gaussian_local_energy, margin_quantiles
from .net_train import NetTrainConfig, train_networks
from .networks import NetworkSpec, apply, n_params
from .real_data import RealData

MARGIN_QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


@eqx.filter_jit
def _measure(key: PRNGKeyArray, spec: NetworkSpec, params, data: RealData, strengths: Array,
             n_samples: int) -> tuple[Array, Array]:
    """Per seed (leading axis of ``params``): local energy at each strength (mean over
    samples) and the margin quantiles on the training set."""
    forward = functools.partial(apply, spec)
    local = flip_local_energy if spec.binary else gaussian_local_energy

    def one(k, p):
        energy = local(k, forward, p, data.x, data.y, strengths, n_samples).mean(axis=-1)
        return energy, margin_quantiles(forward, p, data.x, data.y, MARGIN_QUANTILES)

    keys = jr.split(key, jax.tree.leaves(params)[0].shape[0])
    return jax.vmap(one)(keys, params)


def width_point(key: PRNGKeyArray, data: RealData, arch: str, width: int,
                config: NetTrainConfig, n_seeds: int, *, binary: bool = False,
                strengths: tuple[float, ...] = (0.1, 0.2, 0.4), n_samples: int = 32) -> dict:
    """Train ``n_seeds`` networks (``arch``, ``width``; binary or continuous weights) on
    ``data`` and measure them. ``strengths``: relative Gaussian noises sigma (continuous)
    or flipped fractions d (binary) of the local energy, ``n_samples`` draws each.
    Returns per seed: train/test error, solved, epochs to solution, local energy per
    strength, training-margin quantiles (``MARGIN_QUANTILES``); with the coordinates."""
    spec = NetworkSpec(arch, width, data.input_shape, data.n_out, binary=binary,
                       dtype=config.dtype)
    k_train, k_measure = jr.split(key)
    t0 = time.perf_counter()
    res = jax.block_until_ready(train_networks(k_train, data, spec, config, n_seeds))
    t_train = time.perf_counter() - t0
    energy, quantiles = _measure(k_measure, spec, res.params, data,
                                 np.asarray(strengths, config.dtype), n_samples)
    N, P = n_params(spec), data.x.shape[0]
    tolist = lambda a: np.asarray(a).tolist()
    return dict(arch=arch, width=width, binary=binary, algo=config.algo, P=P, n_params=N,
                params_per_example=float(params_per_example(N, P)),
                perturbation="flips" if binary else "gaussian", strengths=list(strengths),
                train_error=tolist(res.train_error), test_error=tolist(res.test_error),
                solved=tolist(res.solved), epochs_to_solution=tolist(res.epochs_to_solution),
                local_energy=tolist(energy), margin_quantiles=tolist(quantiles),
                margin_q=list(MARGIN_QUANTILES), train_seconds=t_train,
                seconds=time.perf_counter() - t0)


def summarize_point(record: dict) -> dict:
    """Mean and sem over seeds of a ``width_point`` record: train and test error, solved
    fraction (sem $\\sqrt{p(1-p)/n}$), local energy per strength, and the training-margin
    quantiles (``MARGIN_QUANTILES``, in units of the rms output) averaged over seeds."""
    ms = lambda v: tuple(float(a) for a in mean_sem(np.asarray(v, np.float64))[:2])
    solved = np.asarray(record["solved"], np.float64)
    p, n = float(solved.mean()), solved.size
    energy = np.asarray(record["local_energy"], np.float64)
    return dict(width=record["width"], n_params=record["n_params"],
                params_per_example=record["params_per_example"],
                train_error=ms(record["train_error"]), test_error=ms(record["test_error"]),
                solved_fraction=(p, float(np.sqrt(p * (1 - p) / n))),
                local_energy={s: ms(energy[:, k]) for k, s in enumerate(record["strengths"])},
                margin_quantiles=dict(zip(record["margin_q"], np.nanmean(
                    np.asarray(record["margin_quantiles"], np.float64), axis=0).tolist())))


def interpolation_point(ratios, solved) -> dict:
    """Interpolation point of a width sweep: per seed s, the smallest parameters-per-example
    ratio from which s fits the training set at every larger width,
    $r_s = \\min\\{r_k : \\text{solved}_{s,k'}\\ \\forall k' \\ge k\\}$; mean and sem over the
    seeds that fit at the largest width (n of them), and ``reliable``, the smallest ratio
    from which every seed fits (nan if none). ``ratios``: (K,) increasing; ``solved``:
    (S, K) booleans."""
    ratios, solved = np.asarray(ratios, np.float64), np.asarray(solved, bool)
    if ratios.ndim != 1 or solved.shape[1:] != ratios.shape or np.any(np.diff(ratios) <= 0):
        raise ValueError(f"interpolation_point: ratios {ratios.shape} must increase and "
                         f"solved {solved.shape} must be (seeds, len(ratios))")
    from_here = np.flip(np.cumprod(np.flip(solved, axis=1), axis=1), axis=1).astype(bool)
    per_seed = np.array([ratios[np.argmax(row)] for row in from_here if row.any()])
    everyone = from_here.all(axis=0)
    reliable = float(ratios[np.argmax(everyone)]) if everyone.any() else float("nan")
    if per_seed.size == 0:
        return dict(mean=float("nan"), sem=float("nan"), n=0, reliable=reliable)
    mean, sem, n = mean_sem(per_seed)
    return dict(mean=float(mean), sem=float(sem), n=int(n), reliable=reliable)
