"""Simulated annealing on the number of violated constraints."""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

from atypical import BinaryStorage
from sim.anneal import AnnealConfig, anneal_one, run_instances, run_replicas
from sim.data import sample_storage
from sim.enumerate import enumerate_solutions, sample_instances

CONFIG = AnnealConfig(sweeps=200, sweeps_at_solution=20)


def test_finds_solutions_at_small_N():
    # alpha = 0.5 at N = 21 (P = 10) is far below capacity; measured 8/8 within 63 sweeps
    data = sample_instances(jr.key(1), BinaryStorage(0.5), 21, 8)
    res = run_instances(jr.key(2), data, CONFIG)
    assert bool(jnp.all(res.solved))
    stab = data.y * jnp.einsum("ipn,in->ip", data.xi, res.W)
    assert bool(jnp.all(stab >= 0))


def test_zero_temperature_walk_stays_among_solutions():
    data = sample_storage(jr.key(4), BinaryStorage(0.4), 15, dtype=jnp.float64)
    config = AnnealConfig(sweeps=100, sweeps_at_solution=50, dtype=jnp.float64)
    res = run_replicas(jr.key(5), data, config, 6)
    first = np.asarray(res.sweeps_to_solution)
    errors = np.asarray(res.train_errors)
    for r in range(6):
        if first[r] > 0:  # from the first solution on, every sweep ends at a solution
            assert np.all(errors[r, first[r] - 1:] == 0)
    assert int(enumerate_solutions(data)[0]) > 0


def test_structure_dtype_vmap():
    data = sample_storage(jr.key(0), BinaryStorage(0.5), 31)
    res = run_replicas(jr.key(3), data, AnnealConfig(sweeps=10), 3)
    one = jax.jit(anneal_one)(jr.split(jr.key(3), 3)[1], data, AnnealConfig(sweeps=10))
    # integer energies and accept decisions: the vmapped chain is the single chain exactly
    np.testing.assert_array_equal(res.W[1], one.W)
    assert res.W.dtype == jnp.float32 and res.train_errors.dtype == jnp.float32
    assert res.train_errors.shape == (3, 10) and res.sweeps_to_solution.dtype == jnp.int32


def test_errors():
    with pytest.raises(ValueError, match="sweeps"):
        AnnealConfig(sweeps=0)
    with pytest.raises(Exception, match="beta0 must be finite and > 0"):
        AnnealConfig(beta0=0.0)
    data = sample_storage(jr.key(0), BinaryStorage(0.5), 20, dtype=jnp.float64)
    with pytest.raises(ValueError, match="dtype"):
        anneal_one(jr.key(0), data, CONFIG)
