"""A resumable on-disk cache of results (JSON records keyed by their parameters, no pickle)."""

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path


def _write_atomic(path: Path, data) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)


class ResultsCache:
    """A directory of JSON records keyed by their parameters: a sweep that calls
    ``get_or_compute`` point by point resumes where it stopped, recomputing nothing."""

    def __init__(self, directory: str | os.PathLike):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    def _path(self, name: str, params: dict) -> Path:
        digest = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:16]
        return self.directory / f"{name}-{digest}.json"

    def get_or_compute(self, name: str, params: dict, compute: Callable[[], dict]) -> dict:
        """The stored record for (name, params), or ``compute()`` stored then returned.
        ``compute`` must return JSON-serialisable values (lists, floats, ints, str)."""
        path = self._path(name, params)
        if path.exists():
            return json.loads(path.read_text())["result"]
        result = compute()
        _write_atomic(path, {"name": name, "params": params, "result": result})
        return result
