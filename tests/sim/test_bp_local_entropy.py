"""BP local entropy around a solution against exact enumeration at small N."""

import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

from atypical import BinaryStorage
from sim.anneal import AnnealConfig, run_replicas
from sim.bp_local_entropy import (exact_legendre, exact_local_entropy, local_entropy_at,
                                  local_entropy_bp)
from sim.data import sample_storage

LAM = jnp.array([0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0])


def _solution(N, seed):
    data = sample_storage(jr.key(seed), BinaryStorage(0.4), N, dtype=jnp.float64)
    res = run_replicas(jr.key(9), data, AnnealConfig(sweeps=200, dtype=jnp.float64), 4)
    assert bool(jnp.any(res.solved))
    return data, res.W[int(np.argmax(np.asarray(res.solved)))]


@pytest.mark.parametrize("N,seed", [(15, 0), (21, 0), (21, 1)])
def test_bp_matches_enumeration_within_its_finite_N_error(N, seed):
    data, W = _solution(N, seed)
    d_k, s_k = exact_local_entropy(data, W)
    assert s_k[0] == 0.0  # W itself is the only solution at distance 0
    bp = local_entropy_bp(data, W, LAM)
    assert float(jnp.max(bp.residual)) < 1e-6  # BP converged at every lambda
    phi, q, S = exact_legendre(d_k, s_k, LAM, N)
    # BP's known finite-N error: its ln Z is off by O(1) in total (the Gaussian sum over the
    # N-1 other weights of each factor and the short loops of a dense graph), i.e. O(1/N)
    # per weight. Allowance 1/N; measured max |phi_BP - phi| = 0.040 and max |S_BP - S| =
    # 0.039 over 6 instances at N = 15, 21, alpha = 0.4 (sa solutions), lambda in [0, 4]
    np.testing.assert_array_less(np.abs(np.asarray(bp.phi) - phi), 1 / N)
    np.testing.assert_array_less(np.abs(np.asarray(bp.local_entropy) - S), 1 / N)
    np.testing.assert_array_less(np.abs(np.asarray(bp.q) - q), 2 / N)  # d within 1/N
    assert bp.phi.dtype == jnp.float64 and bp.local_entropy.dtype == jnp.float64


def test_exact_counts_and_interpolation():
    data, W = _solution(15, 3)
    d_k, s_k = exact_local_entropy(data, W)
    assert d_k.shape == (16,) and s_k[0] == 0.0
    # the Legendre-smoothed exact curve tends to the total entropy at lambda = 0
    phi, _, S = exact_legendre(d_k, s_k, np.array([0.0]), 15)
    total = np.log(np.sum(np.exp(15 * s_k[np.isfinite(s_k)]))) / 15
    np.testing.assert_allclose(phi[0], total, rtol=1e-12)
    bp = local_entropy_bp(data, W, LAM)
    s = local_entropy_at(bp, np.array([0.05, 0.9]))
    assert np.isfinite(s[0]) and np.isnan(s[1])  # 0.9 is beyond the lambda >= 0 range


def test_errors():
    data, W = _solution(15, 0)
    with pytest.raises(ValueError, match="W_ref has shape"):
        local_entropy_bp(data, W[:3], LAM)
    with pytest.raises(ValueError, match="iterations"):
        local_entropy_bp(data, W, LAM, iterations=0)
