"""Time kernel launches with CUDA events or the host clock: the median after a warm-up."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from kernels.errors import KernelError

MIN_REPEATS = 20


@dataclass(frozen=True, slots=True)
class Timing:
    """Summary of repeated timings in milliseconds."""

    median_ms: float
    min_ms: float
    max_ms: float
    repeats: int
    warmup: int


def summarize(samples_ms: Sequence[float], warmup: int) -> Timing:
    """Summarize timing samples (already excluding warm-up runs)."""
    if not samples_ms:
        raise KernelError.single("K404", "no timing samples were recorded")
    return Timing(
        statistics.median(samples_ms), min(samples_ms), max(samples_ms), len(samples_ms), warmup
    )


def time_cuda(run: Callable[[], None], warmup: int = 5, repeats: int = MIN_REPEATS) -> Timing:
    """Time ``run`` (one kernel launch sequence) with CUDA events on the current stream."""
    if repeats < MIN_REPEATS:
        raise KernelError.single("K405", f"use at least {MIN_REPEATS} repeats, not {repeats}")
    from kernels.run.cupy_launch import require_cupy

    cupy = require_cupy()
    for _ in range(warmup):
        run()
    start, end = cupy.cuda.Event(), cupy.cuda.Event()
    samples: list[float] = []
    for _ in range(repeats):
        start.record()
        run()
        end.record()
        end.synchronize()
        samples.append(float(cupy.cuda.get_elapsed_time(start, end)))
    return summarize(samples, warmup)


def time_host(run: Callable[[], object], warmup: int = 1, repeats: int = 5) -> Timing:
    """Time ``run`` on the host with ``time.perf_counter`` (for the numpy and shim backends)."""
    import time

    for _ in range(warmup):
        run()
    samples: list[float] = []
    for _ in range(repeats):
        began = time.perf_counter()
        run()
        samples.append((time.perf_counter() - began) * 1e3)
    return summarize(samples, warmup)
