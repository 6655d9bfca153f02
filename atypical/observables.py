"""Every plotted observable, defined once, computable from theory and from finite-N weights.

Conventions: N binary weights, Hamming distance d as a fraction of N, overlaps normalised to
1, stabilities $\\Delta = y\\,W\\cdot\\xi/\\sqrt N$, entropies per weight in nats.
"""

import itertools

import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from .errors import checked
from .gaussian import H
from .problems import as_array


def gen_error_from_overlap(R: ArrayLike) -> Array:
    """Generalization error of a perceptron with normalised teacher overlap R on Gaussian
    inputs: $\\epsilon_g = \\arccos(R)/\\pi$ (Gardner-Derrida 1989)."""
    return jnp.arccos(jnp.asarray(R)) / jnp.pi


def tree_committee_gen_error(R: ArrayLike, K: int) -> Array:
    """Generalization error of a tree committee (K odd hidden units, disjoint blocks) whose
    every hidden unit has normalised overlap R with the teacher unit of its block, on
    Gaussian inputs: each hidden sign disagrees independently with probability
    $\\epsilon = \\arccos(R)/\\pi$, so $\\epsilon_g = \\sum_k c_k \\epsilon^k(1-\\epsilon)^{K-k}$,
    $c_k$ the number of k-subsets of flipped units times the fraction of teacher hidden
    signs whose majority they reverse. K = 1: ``gen_error_from_overlap``."""
    eps = gen_error_from_overlap(R)
    c = [0.0] * (K + 1)
    for signs in itertools.product((-1, 1), repeat=K):
        for flips in itertools.product((0, 1), repeat=K):
            student = [s * (1 - 2 * f) for s, f in zip(signs, flips)]
            if (sum(student) > 0) != (sum(signs) > 0):
                c[sum(flips)] += 2.0**-K
    return sum(c[k] * eps**k * (1 - eps) ** (K - k) for k in range(K + 1) if c[k])


def bayes_optimal_gen_error(q: ArrayLike) -> Array:
    """Generalization error of the Bayes-optimal perceptron predictor, the sign of the
    posterior mean $\\langle W\\rangle\\cdot\\xi$, whose teacher overlap on the Nishimori
    line is $R/\\sqrt{q} = \\sqrt q$: $\\epsilon_{BO} = \\arccos(\\sqrt q)/\\pi$ (Opper-Haussler 1991)."""
    return gen_error_from_overlap(jnp.sqrt(jnp.asarray(q)))


def hamming_to_overlap(d: ArrayLike) -> Array:
    """Overlap $q = W\\cdot W'/N = 1 - 2d$ of two binary vectors at Hamming fraction d."""
    return 1 - 2 * jnp.asarray(d)


def overlap_to_hamming(q: ArrayLike) -> Array:
    """Hamming fraction $d = (1 - q)/2$ of two binary vectors with overlap q."""
    return (1 - jnp.asarray(q)) / 2


def binary_sign(x: Array) -> Array:
    """Binary weights or outputs of real fields x: sign(x) with sign(0) = +1 (never 0), in
    the dtype of x."""
    return jnp.where(x >= 0, 1, -1).astype(x.dtype)


def hamming_shell_entropy(d: ArrayLike) -> Array:
    """$-d\\ln d - (1-d)\\ln(1-d)$: $\\ln\\binom{N}{dN}/N$ at large N, the entropy of all
    binary configurations at Hamming fraction d from a given one (the upper bound of every
    local entropy)."""
    d = jnp.asarray(d)
    return -d * jnp.log(d) - (1 - d) * jnp.log1p(-d)


def train_error(stabilities: Float[Array, "*batch P"]) -> Float[Array, "*batch"]:
    """Fraction of misclassified examples, $\\frac1P\\sum_\\mu \\theta(-\\Delta_\\mu)$."""
    return jnp.mean((stabilities < 0).astype(stabilities.dtype), axis=-1)


def flip_error_probability(stability: ArrayLike, d: ArrayLike) -> Array:
    """Probability that an example of stability $\\Delta$ is misclassified after flipping a
    random fraction d of the weights (large N):
    $H\\big((1-2d)\\Delta / (2\\sqrt{d(1-d)})\\big)$, since
    $\\Delta' = (1-2d)\\Delta + 2\\sqrt{d(1-d)}\\,z$."""
    stability, d = jnp.asarray(stability), jnp.asarray(d)
    return H((1 - 2 * d) * stability / (2 * jnp.sqrt(d * (1 - d))))


def local_energy(stabilities: Float[Array, " P"], d: ArrayLike,
                 weights: Float[Array, " P"] | None = None) -> Array:
    """Local energy $\\delta E(d)$ [P2]: increase of the training error when a random fraction
    d of the weights is flipped,
    $\\delta E(d) = \\sum_\\mu w_\\mu [H((1-2d)\\Delta_\\mu/(2\\sqrt{d(1-d)})) - \\theta(-\\Delta_\\mu)]$.

    ``stabilities`` are empirical (``weights=None``: uniform $1/P$) or quadrature points of a
    stability density (``weights`` = density times quadrature weight, summing to 1).
    ``d`` may carry leading batch axes; it must lie in (0, 1/2]."""
    stabilities = jnp.asarray(stabilities)
    d = as_array(d, stabilities.dtype)
    d = checked(d, lambda: (d <= 0) | (d > 0.5),
                "local_energy(d=...): the flipped fraction d must lie in (0, 1/2]")
    if weights is None:
        weights = jnp.full(stabilities.shape, 1 / stabilities.shape[-1], stabilities.dtype)
    expand = lambda x: jnp.reshape(x, (1,) * d.ndim + x.shape)  # explicit rank broadcast
    excess = (flip_error_probability(expand(stabilities), d[..., None])
              - expand((stabilities < 0).astype(stabilities.dtype)))
    return jnp.sum(expand(weights) * excess, axis=-1)


def output_margins(outputs: Float[Array, "P C"], labels: Array) -> Float[Array, " P"]:
    """Output margin of each example, negative when it is misclassified: with one output
    (C = 1, labels $y = \\pm 1$) $\\Delta_\\mu = y_\\mu f(x_\\mu)$, with C classes (integer
    labels) $\\Delta_\\mu = f_{y_\\mu}(x_\\mu) - \\max_{c \\ne y_\\mu} f_c(x_\\mu)$.
    ``train_error(output_margins(...))`` is then the classification error; a nan output
    (a diverged network) gives the margin $-\\infty$, a misclassified example."""
    outputs, labels = jnp.asarray(outputs), jnp.asarray(labels)
    if outputs.ndim != 2 or labels.shape != outputs.shape[:1]:
        raise ValueError(f"output_margins: outputs {outputs.shape} must be (P, C) and labels "
                         f"{labels.shape} must be (P,)")
    if outputs.shape[1] == 1:
        margins = labels.astype(outputs.dtype) * outputs[:, 0]
    else:
        onehot = jnp.arange(outputs.shape[1], dtype=labels.dtype)[None, :] == labels[:, None]
        true = jnp.sum(jnp.where(onehot, outputs, 0), axis=1)
        margins = true - jnp.max(jnp.where(onehot, -jnp.inf, outputs), axis=1)
    return jnp.where(jnp.isnan(margins), -jnp.inf, margins)


def multiplicative_noise_local_energy(margins: Float[Array, " P"], sigma: ArrayLike,
                                      noise_norms: Float[Array, " P"]) -> Array:
    """Exact local energy of a LINEAR classifier under multiplicative Gaussian weight noise,
    $\\delta E(\\sigma) = E_\\epsilon[E(w(1+\\sigma\\epsilon))] - E(w)
    = \\frac1P\\sum_\\mu [H(\\Delta_\\mu/(\\sigma r_\\mu)) - \\theta(-\\Delta_\\mu)]$, where
    $\\Delta_\\mu = y_\\mu\\sum_i w_i x_{\\mu i}$ and $r_\\mu^2 = \\sum_i w_i^2 x_{\\mu i}^2$:
    the noisy margin $\\Delta_\\mu + \\sigma y_\\mu \\sum_i w_i x_{\\mu i}\\epsilon_i$ is Gaussian
    with mean $\\Delta_\\mu$ and standard deviation $\\sigma r_\\mu$. sigma >= 0, any shape
    (leading axes of the output); ``noise_norms`` are the $r_\\mu$."""
    margins = jnp.asarray(margins)
    sigma = as_array(sigma, margins.dtype)
    sigma = checked(sigma, lambda: ~(sigma >= 0),
                    "multiplicative_noise_local_energy(sigma=...): the relative noise "
                    "sigma must be >= 0")
    expand = lambda x: jnp.reshape(x, (1,) * sigma.ndim + x.shape)  # explicit rank broadcast
    z = expand(margins) / (sigma[..., None] * expand(jnp.asarray(noise_norms, margins.dtype)))
    return jnp.mean(H(z) - expand((margins < 0).astype(margins.dtype)), axis=-1)


def params_per_example(n_params: ArrayLike, P: ArrayLike) -> Array:
    """Overparameterization of a network trained on P examples: $N_{params}/P$ (the inverse
    of the load $\\alpha = P/N$ of the perceptron theory)."""
    return jnp.asarray(n_params) / jnp.asarray(P)
