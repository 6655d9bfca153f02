"""What a model must say to the engine: its free entropy, written once, and where to look
for its saddle point."""

import abc
from typing import ClassVar

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float, PyTree


class ReplicaModel(eqx.Module):
    """A replica free entropy $\\phi(\\mathrm{op})$ at fixed problem parameters.

    A model holds its ``problem`` (the spec, with the control parameters as array fields)
    and says: ``free_entropy(op)``, a ``cold_start()`` order-parameter pytree, and,
    optionally, solver coordinates (``to_coords``/``to_order_params``, identity by
    default) in which the admissible set is the box ``bounds()`` (None: unbounded), a
    damped ``fixed_point`` map that brings a cold start into Newton's basin (identity by
    default), and ``resolved(op)``, whether its quadrature resolves the integrand at
    ``op`` (True by default). The saddle-point equations are ``jax.grad`` of
    ``free_entropy`` in solver coordinates; everything else is the engine's.

    Class settings: ``line_search`` (Newton halves steps that do not decrease the
    residual), ``newton_halvings`` (halvings of one Newton step), ``max_newton_steps`` (of
    a solve), ``corrector_steps`` (of a continuation corrector), ``warm_up_damping`` and
    ``warm_up_tol`` (of the damped fixed-point iteration)."""

    problem: eqx.AbstractVar[PyTree]
    line_search: ClassVar[bool] = False
    newton_halvings: ClassVar[int] = 8
    max_newton_steps: ClassVar[int] = 64
    corrector_steps: ClassVar[int] = 24
    warm_up_damping: ClassVar[float] = 0.5
    warm_up_tol: ClassVar[float] = 1e-6

    @abc.abstractmethod
    def free_entropy(self, op: PyTree) -> Float[Array, ""]:
        """The replica free entropy at order parameters ``op`` (nats per weight)."""

    @abc.abstractmethod
    def cold_start(self) -> PyTree:
        """Order parameters to start from when nothing better is known."""

    def bounds(self) -> tuple[PyTree, PyTree] | None:
        """The box (lower, upper) of the admissible set in solver coordinates."""
        return None

    def to_coords(self, op: PyTree) -> PyTree:
        return op

    def to_order_params(self, x: PyTree) -> PyTree:
        return x

    def fixed_point(self, op: PyTree) -> PyTree:
        """One step of a fixed-point iteration whose fixed points are saddle points."""
        return op

    def resolved(self, op: PyTree) -> Bool[Array, ""]:
        del op
        return jnp.array(True)


class LineSearchModel(ReplicaModel):
    """A model whose Newton steps must decrease the residual (each step halved up to 12
    times until the gradient is finite and smaller), with 40 Newton iterations per solve
    and per continuation corrector: landscapes with narrow admissible sets (the large
    deviations)."""

    line_search: ClassVar[bool] = True
    newton_halvings: ClassVar[int] = 12
    max_newton_steps: ClassVar[int] = 40
    corrector_steps: ClassVar[int] = 40
