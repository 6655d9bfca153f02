"""Focusing BP for binary storage: structure, determinism, dtypes, an easy instance."""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

from atypical import BinaryStorage
from sim.data import sample_storage
from sim.enumerate import sample_instances
from sim.fbp import FBPConfig, fbp_one, focusing_field, run_instances, run_replicas

CONFIG = FBPConfig(iterations=100)


def test_solves_easy_instances():
    # alpha = 0.5, N = 301: below fBP's threshold (it solves 0.7 at N = 1001, see
    # benchmarks/ALGORITHMS_RESULTS.md); measured 4/4 within 100 sweeps
    data = sample_instances(jr.key(0), BinaryStorage(0.5), 301, 4)
    res = run_instances(jr.key(1), data, CONFIG)
    assert bool(jnp.all(res.solved))
    stab = data.y * jnp.einsum("ipn,in->ip", data.xi, res.W)
    assert bool(jnp.all(stab >= 0))


def test_vmap_determinism_dtype():
    data = sample_storage(jr.key(2), BinaryStorage(0.5), 101)
    res = run_replicas(jr.key(3), data, FBPConfig(iterations=20), 3)
    one = jax.jit(fbp_one)(jr.split(jr.key(3), 3)[1], data, FBPConfig(iterations=20))
    # same float32 ops; reductions may be ordered differently under vmap: 1e-4 relative on
    # fields of size O(1-10) after 20 damped sweeps
    np.testing.assert_allclose(res.fields[1], one.fields, rtol=1e-4, atol=1e-4)
    again = run_replicas(jr.key(3), data, FBPConfig(iterations=20), 3)
    np.testing.assert_array_equal(again.fields, res.fields)
    for leaf in (res.W, res.fields, res.train_errors):
        assert leaf.dtype == jnp.float32
    assert res.train_errors.shape == (3, 20)
    assert res.iterations_to_solution.dtype == jnp.int32


def test_focusing_field_limits():
    h = jnp.linspace(-3.0, 3.0, 7)
    # y = 1 (one replica) or gamma = 0: no focusing
    np.testing.assert_allclose(focusing_field(h, 1.0, 2.0), 0.0, atol=1e-12)
    np.testing.assert_allclose(focusing_field(h, 5.0, 0.0), 0.0, atol=1e-12)
    # y = 2, gamma large: the field is the cavity field itself, up to tanh(gamma) ~ 1 - 2e-9
    np.testing.assert_allclose(focusing_field(h, 2.0, 10.0), h, rtol=1e-6)


def test_errors():
    with pytest.raises(ValueError, match="iterations"):
        FBPConfig(iterations=0)
    with pytest.raises(Exception, match="damping must be finite"):
        FBPConfig(damping=1.5)
    with pytest.raises(Exception, match="y must be finite"):
        FBPConfig(y=0.5)
    data = sample_storage(jr.key(0), BinaryStorage(0.5), 20, dtype=jnp.float64)
    with pytest.raises(ValueError, match="dtype"):
        fbp_one(jr.key(0), data, CONFIG)
