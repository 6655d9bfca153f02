"""Machine, date and library versions printed at the top of every benchmark; a timer."""

import datetime
import os
import platform
import time

import jax


def describe() -> str:
    devices = ", ".join(sorted({d.device_kind for d in jax.devices()}))
    return (f"date {datetime.date.today()} | {platform.processor() or platform.machine()} "
            f"| {os.cpu_count()} CPUs | jax {jax.__version__} on {jax.default_backend()} "
            f"({devices})")


def best_time(fn, repeats: int) -> float:
    """Best of ``repeats`` wall times of fn() (fn blocks until its results are ready)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best
