"""Results that carry their coordinates, and a resumable on-disk cache (JSON, no pickle)."""

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Curve:
    """Values on named coordinates, e.g. ``Curve({"alpha": a}, {"entropy": s})``; every
    value array has the shape of the coordinate grid, so curves line up by name."""

    coords: dict[str, np.ndarray]
    values: dict[str, np.ndarray]
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        shape = tuple(len(np.atleast_1d(v)) for v in self.coords.values())
        for name, value in self.values.items():
            if np.shape(value) != shape:
                raise ValueError(f"Curve: value {name!r} has shape {np.shape(value)}, the "
                                 f"coordinates {list(self.coords)} give {shape}")

    def to_dict(self) -> dict:
        as_list = lambda d: {k: np.asarray(v).tolist() for k, v in d.items()}
        return {"coords": as_list(self.coords), "values": as_list(self.values),
                "meta": self.meta}

    @classmethod
    def from_dict(cls, data: dict) -> "Curve":
        as_array = lambda d: {k: np.asarray(v, dtype=float) for k, v in d.items()}
        return cls(as_array(data["coords"]), as_array(data["values"]), data.get("meta", {}))


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
