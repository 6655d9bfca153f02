"""Focusing BP for binary storage: structure, determinism, dtypes, an easy instance;
committee fields against enumeration of the hidden units."""

import itertools
import math

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

from atypical import BinaryStorage
from sim.committee import committee_error
from sim.data import sample_storage
from sim.enumerate import sample_instances
from sim.fbp import (FBPConfig, committee_factor_fields, fbp_one, focusing_field, run_instances,
                     run_replicas)

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


def _brute_force_fields(u, h, xi_s, y):
    """u_{mu k i} = (1/2) ln Z(+1)/Z(-1), Z(w) = sum over the 2^K hidden signs tau with
    majority y of prod_l P(tau_l), unit l Gaussian with its cavity mean and variance."""
    m = np.tanh(h[None] - u)
    mean, var = xi_s * m, xi_s**2 * (1 - m**2)
    P, K, Nk = u.shape
    out = np.zeros_like(u)
    for mu, k, i in itertools.product(range(P), range(K), range(Nk)):
        def Z(w):
            total = 0.0
            for tau in itertools.product((-1, 1), repeat=K):
                if np.sign(sum(tau)) != y[mu]:
                    continue
                prob = 1.0
                for l in range(K):
                    omega, V = mean[mu, l].sum(), var[mu, l].sum()
                    if l == k:
                        omega += w * xi_s[mu, k, i] - mean[mu, k, i]
                        V -= var[mu, k, i]
                    prob *= 0.5 * math.erfc(-tau[l] * omega / math.sqrt(2 * V))  # H
                total += prob
            return total
        out[mu, k, i] = 0.5 * np.log(Z(1.0) / Z(-1.0))
    return out


@pytest.mark.parametrize("K", [3, 5])
def test_committee_fields_match_enumeration_of_hidden_units(K):
    """The Poisson-binomial (log-domain) fields against the sum over all 2^K hidden
    configurations, float64: equal to rounding."""
    rng = np.random.default_rng(K)
    P, Nk = 3, 4
    u = rng.normal(size=(P, K, Nk)) * 0.3
    h = rng.normal(size=(K, Nk))
    xi_s = rng.normal(size=(P, K, Nk)) / np.sqrt(Nk)
    y = rng.choice([-1.0, 1.0], P)
    got = committee_factor_fields(*(jnp.asarray(v, jnp.float64) for v in (u, h, xi_s, y)))
    np.testing.assert_allclose(got, _brute_force_fields(u, h, xi_s, y), atol=1e-12)


@pytest.mark.slow
def test_solves_tree_committee():
    """K = 3 tree committee, N = 201, alpha = 0.5: measured 8/8 instances within 500 sweeps
    (default config); here 2 instances and the committee's own error on the solutions."""
    keys = jr.split(jr.key(4), 2)
    data = jax.vmap(lambda k: sample_storage(k, BinaryStorage(0.5), 201, K=3))(keys)
    res = run_instances(jr.key(5), data, FBPConfig())
    assert bool(jnp.all(res.solved)) and res.W.shape == (2, 201)
    errors = jax.vmap(lambda W, xi, y: committee_error(W, xi, y, 3, "tree"))(
        res.W, data.xi, data.y)
    assert float(errors.max()) == 0.0
