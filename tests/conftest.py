import jax
import pytest

from atypical.compile_cache import enable_compile_cache

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_numpy_dtype_promotion", "strict")
jax.config.update("jax_numpy_rank_promotion", "raise")
# every compiled program goes to the persistent cache (ATYPICAL_COMPILE_CACHE, as for the
# command line): a program dropped by _fresh_jax_caches and needed again in a later module,
# or in a later run, is read back instead of compiled
enable_compile_cache()


@pytest.fixture(autouse=True, scope="module")
def _fresh_jax_caches():
    """Drop every compiled program after each test module: one process compiles hundreds
    of them in the suite, and without this the XLA CPU compiler segfaulted on a later large
    program (the y -> infinity random-features Newton) that compiles fine on its own."""
    yield
    jax.clear_caches()


@pytest.fixture
def cli(capsys):
    """The ``atypical`` command line in this process: ``cli(*argv)`` runs it on the string
    arguments ``argv`` and returns its exit status, stdout and stderr."""
    from atypical.cli import main

    def run(*argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def quick_figure(tmp_path, capsys):
    """A figure script's ``--quick`` run into ``tmp_path``: ``quick_figure(module, name)``
    runs ``module.main``, checks that it wrote ``name``.png and ``name``.pdf (each > 10 kB)
    and returned their paths, and returns what it printed."""

    def run(module, name: str) -> str:
        paths = module.main(["--quick", "--out", str(tmp_path)])
        assert {p.suffix for p in paths} == {".png", ".pdf"}
        for suffix in ("png", "pdf"):
            assert (tmp_path / f"{name}.{suffix}").stat().st_size > 10_000
        return capsys.readouterr().out

    return run


@pytest.fixture
def forbid(monkeypatch):
    """``forbid(module, *names)``: calling any of those functions of ``module`` fails the
    test from now on (a rerun must read every result from its cache)."""

    def refuse(*args, **kwargs):
        raise AssertionError("a cached result was recomputed")

    def apply(module, *names: str) -> None:
        for name in names:
            monkeypatch.setattr(module, name, refuse)

    return apply
