"""Real data sets that ship with an installed package, loaded offline [P1 numerics].

- ``digits``: scikit-learn's handwritten digits, 1,797 images of 8x8 pixels (values 0-16),
  stored inside the scikit-learn wheel (``sklearn.datasets.load_digits``, no download).
- ``mnist1d``: MNIST-1D (Greydanus 2020), 1D signals of length 40 built from ten digit
  templates by random padding, translation, shear, scaling and noise. The pool is generated
  locally by the package's own generator (``mnist1d.data.make_dataset`` with its default
  arguments and seed 42, 5,000 signals), never by its download path.

A key draws a random permutation of the pool: its first P examples are the training set,
the next ``n_test`` the held-out test set (disjoint). Inputs are standardized with the
training statistics, $x \\to (x - \\bar x)/s$ with the per-feature mean $\\bar x$ and ONE
scale $s^2 = \\frac{1}{P D}\\sum_{\\mu i}(x_{\\mu i} - \\bar x_i)^2$ (a per-feature scale would
divide by zero on the digits' always-blank border pixels). Tasks: ``parity`` (labels
$y = +1$ for even digits, $-1$ for odd, one output unit) and ``digits10`` (labels 0-9, ten
output units). The same key gives the same data.
"""

import functools

import equinox as eqx
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, DTypeLike, Float, PRNGKeyArray

from atypical.problems import check_one_of

DATASETS = ("digits", "mnist1d")
TASKS = ("parity", "digits10")
_MNIST1D_SEED = 42  # the package's default generator seed: the canonical MNIST-1D pool


class RealData(eqx.Module):
    """A training set ``x`` (``P *S``, S the input shape: (8, 8, 1) for digits, (40, 1)
    for MNIST-1D, channels last) with labels ``y`` and a held-out test set. Labels are
    float +-1 for ``parity`` (``n_out`` = 1) and int32 classes 0-9 for ``digits10``
    (``n_out`` = 10). name, task (static) say where the data come from."""

    x: Float[Array, "P *S"]
    y: Array
    x_test: Float[Array, "Pt *S"]
    y_test: Array
    name: str = eqx.field(static=True)
    task: str = eqx.field(static=True)

    @property
    def n_out(self) -> int:
        """Output units of a network for this task: 1 (sign of one output) or 10 classes."""
        return 1 if self.task == "parity" else 10

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one example, channels last."""
        return tuple(self.x.shape[1:])


@functools.cache
def _pool(name: str) -> tuple[np.ndarray, np.ndarray]:
    """Every example of a data set as (inputs (n, *S) float64, digit labels (n,) int)."""
    if name == "digits":
        from sklearn.datasets import load_digits  # ships in the wheel: no download

        bunch = load_digits()
        return bunch.images[..., None].astype(np.float64), bunch.target.astype(np.int64)
    from mnist1d.data import get_dataset_args, make_dataset

    # make_dataset seeds NumPy's global generator: keep the caller's state untouched
    state = np.random.get_state()
    try:
        args = get_dataset_args()
        args.seed = _MNIST1D_SEED
        data = make_dataset(args)
    finally:
        np.random.set_state(state)
    x = np.concatenate([data["x"], data["x_test"]])[..., None].astype(np.float64)
    return x, np.concatenate([data["y"], data["y_test"]]).astype(np.int64)


def pool_size(name: str) -> int:
    """Number of examples available in data set ``name`` (training plus test)."""
    _check_name(name)
    return _pool(name)[0].shape[0]


def _check_name(name: str) -> None:
    check_one_of("load_real_data", "name", name, DATASETS)


def load_real_data(key: PRNGKeyArray, name: str, P: int, *, task: str = "parity",
                   n_test: int | None = None, dtype: DTypeLike = jnp.float32) -> RealData:
    """P training and ``n_test`` test examples of data set ``name`` (``DATASETS``) for
    ``task`` (``TASKS``), drawn by ``key`` without overlap and standardized as in the module
    docstring. ``n_test`` defaults to every example not used for training; P + n_test must
    not exceed the pool (1,797 digits, 5,000 MNIST-1D signals)."""
    _check_name(name)
    check_one_of("load_real_data", "task", task, TASKS)
    n_pool = pool_size(name)
    if not isinstance(P, int) or not 1 <= P <= n_pool - 1:
        raise ValueError(f"load_real_data(P={P!r}): the number of training examples must be "
                         f"an int in [1, {n_pool - 1}] for {name} ({n_pool} examples, at "
                         "least one kept for testing)")
    n_test = n_pool - P if n_test is None else n_test
    if not isinstance(n_test, int) or not 1 <= n_test <= n_pool - P:
        raise ValueError(f"load_real_data(n_test={n_test!r}): must be an int in "
                         f"[1, {n_pool - P}] (the {n_pool} examples of {name} less P = {P})")
    x_all, digit_all = _pool(name)
    perm = np.asarray(jr.permutation(key, n_pool))
    train, test = perm[:P], perm[P:P + n_test]
    mean = x_all[train].mean(axis=0)
    scale = np.sqrt(np.mean((x_all[train] - mean) ** 2))
    if not scale > 0:
        raise ValueError(f"load_real_data(P={P}): the training inputs are all equal; "
                         "increase P")
    standardize = lambda idx: jnp.asarray((x_all[idx] - mean) / scale, dtype)
    if task == "parity":
        labels = lambda idx: jnp.asarray(1 - 2 * (digit_all[idx] % 2), dtype)
    else:
        labels = lambda idx: jnp.asarray(digit_all[idx], jnp.int32)
    return RealData(x=standardize(train), y=labels(train), x_test=standardize(test),
                    y_test=labels(test), name=name, task=task)
