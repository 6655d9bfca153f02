"""A resumable on-disk cache of results (JSON records keyed by their parameters, no pickle),
and the guarded reading and atomic writing every cache of the project uses.

A record carries ``SCHEMA`` and the parameters it was computed for. A record that cannot be
used (truncated or empty, not a record of this cache, another schema, other parameters) is
reported by file name (``CacheRecordWarning``) and recomputed; never reused, never a crash.
Writes go to a temporary file beside the record and are moved into place by ``os.replace``:
an interrupted or failed run leaves the old record or none, never a partial one."""

import hashlib
import json
import os
import tempfile
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

SCHEMA = 1
"""Version of the record layout; records of another version are recomputed."""


class CacheRecordWarning(UserWarning):
    """A cache record was not used (the message names the file and why); it is recomputed."""


def report_bad_record(path: str | os.PathLike, reason: str) -> None:
    """Warn that the record ``path`` is not used because of ``reason``."""
    warnings.warn(f"cache record {path}: {reason}; recomputing", CacheRecordWarning,
                  stacklevel=3)


def write_atomic(path: str | os.PathLike, write: Callable[[BinaryIO], None]) -> None:
    """Create or replace ``path`` with what ``write(file)`` writes to a binary file: first a
    temporary file in the same directory, then ``os.replace`` (atomic); on any error the
    temporary file is removed and ``path`` is left as it was."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _canonical(value):
    """``value`` after a JSON round trip (tuples become lists, numpy scalars floats)."""
    return json.loads(json.dumps(value))


class ResultsCache:
    """A directory of JSON records keyed by their parameters: a sweep that calls
    ``get_or_compute`` point by point resumes where it stopped, recomputing nothing."""

    def __init__(self, directory: str | os.PathLike):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    def _path(self, name: str, params: dict) -> Path:
        digest = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:16]
        return self.directory / f"{name}-{digest}.json"

    def _read(self, path: Path, name: str, params: dict | None = None) -> dict | None:
        """The record at ``path`` if it is a valid record of ``name`` (and of ``params``
        when given), else None after ``report_bad_record``."""
        try:
            record = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            report_bad_record(path, f"unreadable, empty or truncated ({type(err).__name__})")
            return None
        if not (isinstance(record, dict) and {"name", "params", "result"} <= record.keys()):
            report_bad_record(path, "not a results record (foreign file)")
            return None
        if record.get("schema") != SCHEMA:
            report_bad_record(path, f"schema {record.get('schema')}, expected {SCHEMA} (stale)")
            return None
        if record["name"] != name or (params is not None
                                      and record["params"] != _canonical(params)):
            report_bad_record(path, "computed for other parameters (stale or foreign)")
            return None
        return record

    def get_or_compute(self, name: str, params: dict, compute: Callable[[], dict]) -> dict:
        """The stored record for (name, params), or ``compute()`` stored then returned.
        ``compute`` must return JSON-serialisable values (lists, floats, ints, str); the
        value returned is the stored one (after its JSON round trip) either way, so a
        resumed run sees exactly what an uninterrupted one saw."""
        path = self._path(name, params)
        if path.exists():
            record = self._read(path, name, params)
            if record is not None:
                return record["result"]
        text = json.dumps({"schema": SCHEMA, "name": name, "params": params,
                           "result": compute()})
        write_atomic(path, lambda f: f.write(text.encode()))
        return json.loads(text)["result"]

    def records(self, name: str) -> Iterator[dict]:
        """Every valid stored record of ``name`` (``{"params", "result", ...}``), in file
        name order; unusable ones are reported and skipped."""
        for path in sorted(self.directory.glob(f"{name}-*.json")):
            record = self._read(path, name)
            if record is not None:
                yield record
