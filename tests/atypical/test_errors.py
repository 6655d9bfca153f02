"""``atypical.checked``: a parameter check decided on the host where the values are
concrete, NaN inside a compiled program, an error at run time under eager transforms."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from atypical import BinaryStorage, ParameterError, checked

MESSAGE = "f(x=...): x must be > 0"


def positive(x):
    return checked(x, lambda: x <= 0, MESSAGE)


def test_concrete_values_are_checked_on_the_host():
    assert positive(jnp.array([1.0, 2.0])).tolist() == [1.0, 2.0]
    with pytest.raises(ParameterError, match=r"f\(x=\.\.\.\): x must be > 0"):
        positive(jnp.array([1.0, -2.0]))


def test_constants_inside_a_trace_are_checked_when_it_is_traced():
    assert float(jax.jit(lambda: BinaryStorage(0.5, 1.0).kappa)()) == 1.0
    with pytest.raises(ParameterError, match="alpha = P/N must be finite and > 0"):
        jax.jit(lambda: BinaryStorage(-0.5).alpha)()


def test_traced_values_inside_jit_become_nan_where_invalid():
    out = np.asarray(jax.jit(positive)(jnp.array([1.0, -2.0, 3.0])))
    assert out[0] == 1.0 and np.isnan(out[1]) and out[2] == 3.0
    alpha = jax.jit(lambda a: BinaryStorage(a).alpha)(jnp.array([-1.0, 0.5]))
    assert np.isnan(alpha[0]) and alpha[1] == 0.5


def test_eager_transforms_raise_when_the_values_arrive():
    with pytest.raises(eqx.EquinoxRuntimeError, match="x must be > 0"):
        jax.vmap(positive)(jnp.array([1.0, -2.0]))
    assert float(jax.grad(lambda x: positive(x) ** 2)(3.0)) == 6.0
