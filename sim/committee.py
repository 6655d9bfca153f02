"""Binary committee machines (DESIGN.md section 3, problem 4): K hidden sign units, output
$\\sigma(x) = \\mathrm{sign}(\\sum_{k=1}^K \\mathrm{sign}(W_k\\cdot x_k/\\sqrt{N_k}))$, K odd.

``tree``: hidden unit k sees its own block $x_k = x_{kN/K+1..(k+1)N/K}$ ($N_k = N/K$, needs
K | N); ``fc`` (fully connected): every unit sees all of x ($N_k = N$). The weights of a
committee are one flat vector of length $K N_k$ (N for tree, K N for fc), unit k being the
k-th block, so that K = 1 is the binary perceptron with the same layout.

Training (``sim.sgd``, ``sim.rsgd``) uses least-action learning (Mitchison & Durbin, Biol.
Cybern. 60, 345 (1989); the rule of the committee experiments of Baldassi et al., PNAS 113,
E7655 (2016)): the loss of example mu is the perceptron loss of the $(K+1)/2$ hidden units
with the largest hidden stabilities $\\Delta_{\\mu k} = y_\\mu W_k\\cdot\\xi_{\\mu k}/\\sqrt{N_k}$.
On a misclassified example these are the correct units plus the wrong units closest to
threshold: the gradient flips the fewest, easiest hidden units that fix the output.
"""

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from atypical.observables import binary_sign
from atypical.problems import check_one_of

ARCHS = ("tree", "fc")


def check_committee(K, arch, N, who: str) -> None:
    """Raise ValueError unless K is an odd int >= 1, arch in ARCHS and (tree) K divides N."""
    if not isinstance(K, int) or isinstance(K, bool) or K < 1 or K % 2 == 0:
        raise ValueError(f"{who}(K={K!r}): the number of hidden units K must be an odd int "
                         ">= 1 (the majority vote of the committee must not tie)")
    check_one_of(who, "arch", arch, ARCHS)
    if arch == "tree" and N % K != 0:
        raise ValueError(f"{who}(N={N}, K={K}, arch='tree'): each hidden unit sees N/K "
                         "inputs, so N must be divisible by K")


def n_weights(N: int, K: int, arch: str) -> int:
    """Length of the flat weight vector: N (tree) or K N (fully connected)."""
    return N if arch == "tree" else K * N


def inputs_per_unit(N: int, K: int, arch: str) -> int:
    """$N_k$, the inputs of one hidden unit (its stabilities are normalised by
    $\\sqrt{N_k}$): N/K (tree) or N (fully connected)."""
    return N // K if arch == "tree" else N


def hidden_fields(W: Float[Array, " Nw"], xi: Float[Array, "P N"], K: int, arch: str,
                  precision=None) -> Float[Array, "P K"]:
    """Hidden pre-activations $\\lambda_{\\mu k} = W_k\\cdot\\xi_{\\mu k}/\\sqrt{N_k}$ of the
    flat committee weights W (length ``n_weights(N, K, arch)``) on the examples xi."""
    N = xi.shape[-1]
    Nk = inputs_per_unit(N, K, arch)
    if W.shape != (K * Nk,):
        raise ValueError(f"hidden_fields: W has shape {W.shape}, a K={K} {arch} committee "
                         f"on N={N} inputs needs ({K * Nk},)")
    Wk = W.reshape(K, Nk).astype(xi.dtype)
    if arch == "tree":
        fields = jnp.einsum("pkn,kn->pk", xi.reshape(-1, K, Nk), Wk, precision=precision)
    else:
        fields = jnp.matmul(xi, Wk.T, precision=precision)
    return fields / jnp.sqrt(jnp.asarray(Nk, xi.dtype))


def committee_output(W: Float[Array, " Nw"], xi: Float[Array, "P N"], K: int, arch: str,
                     precision=None) -> Float[Array, " P"]:
    """$\\mathrm{sign}(\\sum_k \\mathrm{sign}(\\lambda_{\\mu k}))$ in {-1, +1} (K odd: no tie)."""
    tau = binary_sign(hidden_fields(W, xi, K, arch, precision))
    return binary_sign(jnp.sum(tau, axis=-1))


def committee_error(W: Float[Array, " Nw"], xi: Float[Array, "P N"], y: Float[Array, " P"],
                    K: int, arch: str) -> Float[Array, ""]:
    """Fraction of examples whose committee output differs from the label y (HIGHEST
    precision: the solved decision must not depend on TF32 matmuls on GPUs)."""
    out = committee_output(W, xi, K, arch, jax.lax.Precision.HIGHEST)
    return jnp.mean((out != y).astype(xi.dtype))


def least_action_units(stab: Float[Array, "B K"]) -> Float[Array, "B K"]:
    """Mask (0/1) of the $(K+1)/2$ hidden units with the largest stabilities per example:
    the units the least-action rule trains (all of them have to be correct)."""
    K = stab.shape[-1]
    _, idx = jax.lax.top_k(stab, (K + 1) // 2)
    return jnp.sum(jax.nn.one_hot(idx, K, dtype=stab.dtype), axis=-2)


def backprop_hidden(c: Float[Array, "B K"], xi: Float[Array, "B N"], K: int,
                    arch: str) -> Float[Array, " Nw"]:
    """$\\sum_b c_{bk}\\,\\xi_{bk}/\\sqrt{N_k}$ per unit k, flattened like the weights: the
    gradient of $\\sum_{bk} c_{bk}\\lambda_{bk}$ with respect to W."""
    Nk = inputs_per_unit(xi.shape[-1], K, arch)
    if arch == "tree":
        g = jnp.einsum("bk,bkn->kn", c, xi.reshape(-1, K, Nk))
    else:
        g = jnp.matmul(c.T, xi)
    return g.reshape(-1) / jnp.sqrt(jnp.asarray(Nk, xi.dtype))
