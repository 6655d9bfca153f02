"""One entry point to every training algorithm: defaults and a vectorized runner."""

import jax

from . import amp, anneal, fbp, rsgd, sgd
from .amp import AMPConfig
from .anneal import AnnealConfig
from .fbp import FBPConfig
from .rsgd import RSGDConfig
from .sgd import SGDConfig

ALGORITHMS = ("sgd", "rsgd", "fbp", "amp", "sa")


def default_config(algo: str):
    """The library's default configuration of each algorithm (float32)."""
    return {"sgd": SGDConfig, "rsgd": RSGDConfig, "fbp": FBPConfig, "amp": AMPConfig,
            "sa": AnnealConfig}[algo]()


def run_algorithm(algo: str, key, data, config, *, instances: bool):
    """Run ``algo`` vectorized: on a stack of data sets (``instances=True``, one run per
    instance, leading axis I) or R = ``key.shape[0]`` runs on one data set. Returns
    (final binary weights ``R N``, solved ``R``)."""
    if algo == "amp":
        if not instances:
            raise ValueError("amp is deterministic: run it on instances")
        res = amp.run_amp_instances(data, config)
        return res.W, res.solved
    one = {"sgd": sgd.train_one, "rsgd": rsgd.train_one, "fbp": fbp.fbp_one,
           "sa": anneal.anneal_one}[algo]
    fn = jax.jit(jax.vmap(one, in_axes=(0, 0 if instances else None, None)))
    res = fn(key, data, config)
    return res.W, res.solved
