"""Shared by the step benchmarks (bench_admm, bench_qat): interleaved median timing of step functions."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def median_step_times(steppers: dict[str, Callable[[], None]], reps: int) -> dict[str, float]:
    """Median seconds per call of each stepper, after one warm-up call each; the steppers take turns
    within every repetition so that a load change on the machine hits all of them alike."""
    times: dict[str, list[float]] = {k: [] for k in steppers}
    for step in steppers.values():
        step()
    for _ in range(reps):
        for kind, step in steppers.items():
            t0 = time.perf_counter()
            step()
            times[kind].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in times.items()}
