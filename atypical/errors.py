"""Errors the library raises, the checks of its parameters and the float64 guard of the
theory entry points."""

from typing import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike


class SaddlePointError(RuntimeError):
    """A saddle-point (or threshold) solve did not converge; the message lists the
    parameters, the residual norm and the number of Newton steps of every failing point."""


class ParameterError(ValueError):
    """A parameter lies outside its admissible set; the message names the function, the
    parameter and the set."""


def checked(x: Array, bad: Callable[[], ArrayLike], message: str) -> Array:
    """``x`` (a float array), once the predicate ``bad()`` is False everywhere.

    - Inputs of the predicate concrete (eager values, constants inside a trace): it is
      decided at once, and a violation raises ``ParameterError(message)``.
    - Traced inside ``jit``: ``x`` is NaN where ``bad()`` holds, so the solve that uses it
      reports a failed status (the jit-able solvers never throw). No host callback enters
      the compiled program, which keeps it in JAX's persistent compilation cache.
    - Traced outside ``jit`` (eager ``vmap`` or ``grad``): ``eqx.error_if``, which raises
      with ``message`` when the values arrive."""
    with jax.ensure_compile_time_eval():
        pred = bad()
    if not isinstance(pred, jax.core.Tracer):
        if np.any(np.asarray(pred)):
            raise ParameterError(message)
        return x
    if isinstance(jnp.zeros(()) + 1, jax.core.Tracer):  # inside a jit trace
        return jnp.where(pred, jnp.nan, x)
    return eqx.error_if(x, pred, message)


def require_x64(where: str) -> None:
    """Raise if JAX runs in float32: replica saddle points need float64 residuals."""
    if not jax.config.jax_enable_x64:
        raise RuntimeError(
            f"{where}: theory needs float64; unset JAX_ENABLE_X64=0 or call "
            "jax.config.update('jax_enable_x64', True) before importing jax arrays")
