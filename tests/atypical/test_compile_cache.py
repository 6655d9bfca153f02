"""The persistent compilation cache (``atypical.compile_cache``), seen from the files it
leaves: each check runs a fresh process, since a process sets JAX's cache up once."""

import os
import subprocess
import sys

import pytest

# compile one program with the cache on, then print the directory and JAX's count of
# persistent-cache hits (the public monitoring events)
PROGRAM = """
import jax, jax.numpy as jnp
from atypical.compile_cache import enable_compile_cache
hits = []
jax.monitoring.register_event_listener(
    lambda event, **_: hits.append(event) if event.endswith("/cache_hits") else None)
print(enable_compile_cache())
jax.jit(lambda x: jnp.sin(x) * 3.0 + x)(jnp.arange(7.0)).block_until_ready()
print(len(hits))
"""

CLI = "import sys; from atypical.cli import main; sys.exit(main(sys.argv[1:]))"


def _python(code: str, *argv: str, **env: str) -> list[str]:
    environ = {k: v for k, v in os.environ.items()
               if k not in ("ATYPICAL_COMPILE_CACHE", "JAX_COMPILATION_CACHE_DIR")}
    done = subprocess.run([sys.executable, "-c", code, *argv], env={**environ, **env},
                          capture_output=True, text=True, check=True, timeout=300)
    return done.stdout.splitlines()


def _entries(path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in path.iterdir()}


def test_the_directory_is_created_filled_and_reused(tmp_path):
    cache = tmp_path / "a" / "b"
    first = _python(PROGRAM, ATYPICAL_COMPILE_CACHE=str(cache))
    assert first == [str(cache), "0"]
    written = _entries(cache)
    assert written and all(len(v) > 0 for v in written.values())
    second = _python(PROGRAM, ATYPICAL_COMPILE_CACHE=str(cache))
    assert second[0] == str(cache) and int(second[1]) >= 1  # read back, not compiled
    assert _entries(cache) == written


def test_zero_disables_the_cache(tmp_path):
    lines = _python(PROGRAM, ATYPICAL_COMPILE_CACHE="0", XDG_CACHE_HOME=str(tmp_path))
    assert lines == ["None", "0"]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("disabled", [False, True])
def test_the_command_line_caches_under_xdg_cache_home(tmp_path, disabled):
    env = {"XDG_CACHE_HOME": str(tmp_path)}
    if disabled:
        env["ATYPICAL_COMPILE_CACHE"] = "0"
    lines = _python(CLI, "theory", "rs", "--alpha", "0.5", "--json", **env)
    assert '"converged": true' in lines[0]
    cache = tmp_path / "atypical" / "jax"
    if disabled:
        assert list(tmp_path.iterdir()) == []
    else:
        assert len(_entries(cache)) >= 3


# a program that builds a problem spec from a traced alpha and solves it
SPEC_IN_JIT = """
import jax
jax.config.update("jax_enable_x64", True)
import atypical, theory
from atypical.compile_cache import enable_compile_cache
enable_compile_cache()
def spec_in_jit(alpha):
    return theory.saddle_storage(atypical.BinaryStorage(alpha)).free_entropy
print(float(jax.jit(spec_in_jit)(0.5)), float(jax.jit(spec_in_jit)(-1.0)),
      float(theory.solve_storage(0.5).free_entropy[0]))
"""


def test_checks_of_traced_parameters_leave_programs_cacheable(tmp_path):
    """A check of a traced parameter adds no host callback (JAX never writes a program with
    one to the cache, so it would be compiled again in every process): the program is
    written, and an invalid alpha gives NaN instead of an error."""
    lines = _python(SPEC_IN_JIT, ATYPICAL_COMPILE_CACHE=str(tmp_path))
    good, bad, solved = map(float, lines[0].split())
    assert good == pytest.approx(solved, rel=1e-12) and bad != bad
    assert any(name.startswith("jit_spec_in_jit-") for name in _entries(tmp_path))
