import jax
import pytest

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_numpy_dtype_promotion", "strict")
jax.config.update("jax_numpy_rank_promotion", "raise")


@pytest.fixture(autouse=True, scope="module")
def _fresh_jax_caches():
    """Drop every compiled program after each test module: one process compiles hundreds
    of them in the suite, and without this the XLA CPU compiler segfaulted on a later large
    program (the y -> infinity random-features Newton) that compiles fine on its own."""
    yield
    jax.clear_caches()
