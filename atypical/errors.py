"""Errors the library raises and the float64 guard of the theory entry points."""

import jax


class SaddlePointError(RuntimeError):
    """A saddle-point (or threshold) solve did not converge; the message lists the
    parameters, the residual norm and the number of Newton steps of every failing point."""


def require_x64(where: str) -> None:
    """Raise if JAX runs in float32: replica saddle points need float64 residuals."""
    if not jax.config.jax_enable_x64:
        raise RuntimeError(
            f"{where}: theory needs float64; unset JAX_ENABLE_X64=0 or call "
            "jax.config.update('jax_enable_x64', True) before importing jax arrays")
