"""Guarded caches: every unusable record is reported by file name and recomputed, writes
are atomic, a failed computation leaves no record (``atypical.results``, DMFT ``cache``)."""

import json

import numpy as np
import pytest

from atypical.problems import two_layer_preset
from atypical.results import SCHEMA, CacheRecordWarning, ResultsCache, write_atomic
from theory.dynamics.dmft import DMFTBlowUpError, solve_dmft


def _cache_with_record(tmp_path):
    cache = ResultsCache(tmp_path)
    cache.get_or_compute("pt", {"alpha": 0.5}, lambda: {"x": [1.0]})
    (path,) = tmp_path.glob("pt-*.json")
    return cache, path


@pytest.mark.parametrize("damage, reason", [
    (lambda text: "", "empty or truncated"),
    (lambda text: text[: len(text) // 2], "empty or truncated"),
    (lambda text: json.dumps([1, 2]), "foreign"),
    (lambda text: text.replace(f'"schema": {SCHEMA}', '"schema": 0'), "stale"),
    (lambda text: text.replace('"alpha": 0.5', '"alpha": 0.7'), "other parameters"),
])
def test_unusable_record_is_reported_by_name_and_recomputed(tmp_path, damage, reason):
    cache, path = _cache_with_record(tmp_path)
    path.write_text(damage(path.read_text()))
    with pytest.warns(CacheRecordWarning, match=rf"{path.name}.*{reason}.*recomputing"):
        result = cache.get_or_compute("pt", {"alpha": 0.5}, lambda: {"x": [2.0]})
    assert result == {"x": [2.0]}
    assert json.loads(path.read_text())["result"] == {"x": [2.0]}  # the record is repaired
    assert cache.get_or_compute("pt", {"alpha": 0.5}, lambda: {"x": [3.0]}) == {"x": [2.0]}


def test_record_holds_schema_and_parameters(tmp_path):
    _, path = _cache_with_record(tmp_path)
    record = json.loads(path.read_text())
    assert record == {"schema": SCHEMA, "name": "pt", "params": {"alpha": 0.5},
                      "result": {"x": [1.0]}}


def test_failed_computation_leaves_no_record(tmp_path):
    cache = ResultsCache(tmp_path)

    def fails():
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        cache.get_or_compute("pt", {"alpha": 0.5}, fails)
    with pytest.raises(TypeError):  # not JSON-serialisable: nothing written
        cache.get_or_compute("pt", {"alpha": 0.5}, lambda: {"x": object()})
    assert list(tmp_path.iterdir()) == []


def test_write_atomic_keeps_the_old_file_when_the_write_fails(tmp_path):
    path = tmp_path / "record.json"
    write_atomic(path, lambda f: f.write(b"old"))

    def half_then_fail(f):
        f.write(b"partial")
        raise OSError("disk full")

    with pytest.raises(OSError):
        write_atomic(path, half_then_fail)
    assert path.read_bytes() == b"old" and list(tmp_path.iterdir()) == [path]


def test_resumed_value_equals_the_computed_one(tmp_path):
    cache = ResultsCache(tmp_path)
    first = cache.get_or_compute("pt", {"a": 1}, lambda: {"x": (0.1, 2), "y": [np.inf]})
    again = cache.get_or_compute("pt", {"a": 1}, lambda: pytest.fail("recomputed"))
    assert first == again == {"x": [0.1, 2], "y": [np.inf]}


@pytest.fixture(scope="module")
def single_index():
    return two_layer_preset("quad", m=4, alpha=0.3, tau=0.6, a0=1.0)


@pytest.mark.parametrize("damage", [lambda b: b"", lambda b: b[: len(b) // 2],
                                    lambda b: b"PK\x03\x04 not a zip"])
def test_dmft_cache_damaged_is_reported_and_recomputed(tmp_path, single_index, damage):
    path = tmp_path / "dmft.npz"
    ref = solve_dmft(single_index, t_max=0.5, dt=0.05, symmetric=True, cache=str(path))
    path.write_bytes(damage(path.read_bytes()))
    with pytest.warns(CacheRecordWarning, match=r"dmft\.npz"):
        res = solve_dmft(single_index, t_max=0.5, dt=0.05, symmetric=True, cache=str(path))
    np.testing.assert_array_equal(res.C, ref.C)


def test_dmft_cache_of_another_problem_is_reported(tmp_path, single_index):
    path = str(tmp_path / "dmft.npz")
    solve_dmft(single_index, t_max=0.5, dt=0.05, symmetric=True, cache=path)
    with pytest.warns(CacheRecordWarning, match="stale"):
        solve_dmft(single_index, t_max=0.5, dt=0.1, symmetric=True, cache=path)


def test_dmft_blow_up_leaves_no_cache(tmp_path):
    p = two_layer_preset("quad", m=16, alpha=0.3, tau=0.6, a0=16.0, teacher=False)
    path = tmp_path / "dmft.npz"
    with pytest.raises(DMFTBlowUpError):
        solve_dmft(p, t_max=20.0, dt=0.5, symmetric=True, scheme="euler", cache=str(path),
                   chunk=8)
    assert list(tmp_path.iterdir()) == []
