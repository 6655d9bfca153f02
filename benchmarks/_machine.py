"""Machine, date and library versions printed at the top of every benchmark."""

import datetime
import os
import platform

import jax


def describe() -> str:
    devices = ", ".join(sorted({d.device_kind for d in jax.devices()}))
    return (f"date {datetime.date.today()} | {platform.processor() or platform.machine()} "
            f"| {os.cpu_count()} CPUs | jax {jax.__version__} on {jax.default_backend()} "
            f"({devices})")
