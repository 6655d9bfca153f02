"""Problem specs shared by theory and sim: one immutable object per statistical problem.

Continuous parameters are float64 array fields (vmappable, traced under jit); invalid
values raise through ``eqx.error_if``, which works eagerly, under jit and under vmap.
"""

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float


def f64(x: ArrayLike) -> Array:
    """``jnp.asarray(x, float64)``: the converter of every continuous theory parameter."""
    return jnp.asarray(x, jnp.float64)


def _checked_alpha(alpha: Array, who: str) -> Array:
    alpha = f64(alpha)
    bad = ~jnp.isfinite(alpha) | (alpha <= 0)
    return eqx.error_if(alpha, bad, f"{who}(alpha=...): alpha = P/N must be finite and > 0")


def _checked_kappa(kappa: Array, who: str) -> Array:
    kappa = f64(kappa)
    return eqx.error_if(kappa, ~jnp.isfinite(kappa),
                        f"{who}(kappa=...): the margin kappa must be finite")


class BinaryStorage(eqx.Module):
    """Binary perceptron $W \\in \\{\\pm1\\}^N$ storing $P = \\alpha N$ random labels with
    margin kappa: every stability $\\Delta_\\mu = y_\\mu W\\cdot\\xi_\\mu/\\sqrt N \\ge \\kappa$."""

    alpha: Float[Array, ""] = eqx.field(converter=f64)
    kappa: Float[Array, ""] = eqx.field(converter=f64, default=0.0)

    def __post_init__(self):
        self.alpha = _checked_alpha(self.alpha, "BinaryStorage")
        self.kappa = _checked_kappa(self.kappa, "BinaryStorage")


class TeacherStudent(eqx.Module):
    """Binary student learning $P = \\alpha N$ labels $y = \\mathrm{sign}(W_T\\cdot\\xi/\\sqrt N)$
    of a binary teacher $W_T$; the student's stabilities must be $\\ge \\kappa$.

    kappa = 0 is the Bayes-optimal (Gibbs) setting, where the Nishimori identities hold."""

    alpha: Float[Array, ""] = eqx.field(converter=f64)
    kappa: Float[Array, ""] = eqx.field(converter=f64, default=0.0)

    def __post_init__(self):
        self.alpha = _checked_alpha(self.alpha, "TeacherStudent")
        self.kappa = _checked_kappa(self.kappa, "TeacherStudent")
