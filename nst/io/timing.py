"""Timing helper shared by the experiments, benchmarks and notebooks."""

from __future__ import annotations

import statistics
import time
from typing import Callable


def warm_median(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    """(warm median, first call) in seconds: one call that may compile, then ``repeats`` timed calls.

    ``fn`` must block until its result is ready (return NumPy arrays, not pending JAX arrays).
    """
    t0 = time.perf_counter()
    fn()
    first = time.perf_counter() - t0
    times = []
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), first
