"""JAX's persistent compilation cache for the processes a user starts (the ``atypical``
command line, the figure scripts, the test suite): every compiled program is written to a
per-user directory and read back by later processes instead of being compiled again.

The directory is ``$ATYPICAL_COMPILE_CACHE`` when that is set (``0`` turns the cache off),
else ``$XDG_CACHE_HOME/atypical/jax`` (``~/.cache/atypical/jax`` when XDG_CACHE_HOME is not
an absolute path). A directory already given to JAX (``JAX_COMPILATION_CACHE_DIR``) is
kept when ``ATYPICAL_COMPILE_CACHE`` is not set. Entries are never evicted; deleting the
directory is always safe. Like any JAX compilation cache it is trusted code: do not point
it at a directory others can write to.
"""

import os
import warnings
from pathlib import Path

import jax

ENV_VAR = "ATYPICAL_COMPILE_CACHE"


def compile_cache_dir() -> Path | None:
    """The cache directory the environment names (module docstring), or None for
    ``ATYPICAL_COMPILE_CACHE=0``."""
    value = os.environ.get(ENV_VAR, "").strip()
    if value == "0":
        return None
    if value:
        return Path(value).expanduser()
    given = jax.config.jax_compilation_cache_dir
    if given:
        return Path(given)
    base = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(base) if os.path.isabs(base) else Path.home() / ".cache"
    return base / "atypical" / "jax"


def enable_compile_cache() -> Path | None:
    """Turn on JAX's persistent compilation cache in ``compile_cache_dir()`` (created if
    missing) for every program this process compiles from now on, whatever its compile
    time. Returns the directory, or None when the cache is off
    (``ATYPICAL_COMPILE_CACHE=0``) or the directory cannot be created (then with a
    warning naming it)."""
    path = compile_cache_dir()
    if path is None:
        return None
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        warnings.warn(f"no persistent compilation cache: cannot create {path} ({err}); "
                      f"set {ENV_VAR} to a writable directory, or to 0", stacklevel=2)
        return None
    jax.config.update("jax_compilation_cache_dir", str(path))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    return path
