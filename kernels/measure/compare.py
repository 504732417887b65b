"""Run kernels over a shape sweep, model the same points, and summarise how far apart they are.

Measurement runs in a fresh process whose BLAS/OpenMP thread variables are set first
(single-threaded unless asked), best of N; ``python -m kernels.measure.compare`` is that worker.
"""

from __future__ import annotations

import itertools
import json
import math
import statistics
import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from kernels.errors import KernelError
from mappers.units import COUNT, QuantityError, parse_quantity

SWEEP_KEYS = ("M", "P", "E", "M0", "P0")
DEFAULT_SIZES = "M=512,1024,2048;P=256,1024;E=64,128;M0=32,64"


@dataclass(frozen=True, slots=True)
class SweepPoint:
    """One shape of a sweep: sequence length M, queries P, head dim E (= F), tile M0."""

    cascade: str
    sequence: int
    queries: int
    head_dim: int
    tile: int
    threads_per_block: int = 64


@dataclass(frozen=True, slots=True)
class CompareRow:
    """Measured and modelled seconds of one point."""

    cascade: str
    backend: str
    machine: str
    sequence: int
    queries: int
    head_dim: int
    tile: int
    measured_s: float
    modelled_s: float

    @property
    def relative_error(self) -> float:
        """Return (modelled - measured) / measured."""
        return (self.modelled_s - self.measured_s) / self.measured_s


@dataclass(frozen=True, slots=True)
class ErrorSummary:
    """The error distribution of a comparison."""

    points: int
    median_abs_relative_error: float
    worst_abs_relative_error: float
    spearman: float


def parse_sizes(text: str) -> dict[str, tuple[int, ...]]:
    """Parse ``M=512,1024;P=256;E=64,128;M0=32`` into value lists per key.

    Raises:
        KernelError: an unknown key or a value that is not a positive whole number.
    """
    found: dict[str, tuple[int, ...]] = {}
    for group in filter(None, (g.strip() for g in text.split(";"))):
        key, _, values = group.partition("=")
        key = key.strip()
        if key not in SWEEP_KEYS:
            raise KernelError.single(
                "K610", f"unknown sweep key '{key}'", hint=f"keys: {', '.join(SWEEP_KEYS)}"
            )
        try:  # counts of the one quantity grammar: 512, 1K, 4K
            numbers = tuple(
                int(parse_quantity(v.strip(), COUNT)) for v in values.split(",") if v.strip()
            )
        except QuantityError:
            numbers = ()
        if not numbers:
            raise KernelError.single(
                "K611", f"sweep key '{key}' needs positive whole numbers, found '{values}'"
            )
        found[key] = numbers
    return found


def sweep_points(cascade: str, sizes: Mapping[str, tuple[int, ...]]) -> tuple[SweepPoint, ...]:
    """Return the cartesian product of the sweep values (defaults fill missing keys)."""
    defaults = parse_sizes(DEFAULT_SIZES)
    values = [sizes.get(k, defaults.get(k, (64,))) for k in SWEEP_KEYS]
    return tuple(
        SweepPoint(cascade, m, p, e, tile, block)
        for m, p, e, tile, block in itertools.product(*values)
    )


def plan_for(point: SweepPoint) -> Any:
    """Plan the point's cascade for its tile and head dim (E = F)."""
    from einsum_cascade import load_cascade
    from kernels.plan.lower import plan_kernels
    from kernels.plan.tiling import Tiling

    tiling = Tiling(
        tile=point.tile,
        threads_per_block=point.threads_per_block,
        static_extents=(("E", point.head_dim), ("F", point.head_dim)),
    )
    return plan_kernels(load_cascade(point.cascade), tiling)


def require_gpu() -> None:
    """Raise DeviceUnavailableError (saying why) unless CuPy can launch kernels here."""
    from kernels.run.cupy_launch import require_cupy

    require_cupy()


def measure_points(
    points: Sequence[SweepPoint], backend: str, threads: int = 1, repeats: int = 5
) -> list[float]:
    """Time every point (best of ``repeats``) in a fresh process with ``threads`` threads.

    Raises:
        DeviceUnavailableError: ``cupy`` without CuPy or a device.
        KernelError: the worker failed.
    """
    from kernels.measure.calibrate import run_worker
    from kernels.run.backends import get_backend

    if get_backend(backend).device:
        require_gpu()

    request = {"backend": backend, "repeats": repeats, "points": [asdict(p) for p in points]}
    times = run_worker("kernels.measure.compare", request, threads, "K612", "timing")
    return [float(v) for v in times]


def _time_point(point: SweepPoint, backend: str, repeats: int) -> float:
    import numpy as np

    from kernels.run.backends import get_backend, time_plan
    from kernels.run.timing import MIN_REPEATS

    chosen = get_backend(backend)
    plan = plan_for(point)
    rng = np.random.default_rng(0)
    shapes = {"E": point.head_dim, "F": point.head_dim, "M": point.sequence, "P": point.queries}
    inputs = {
        t.name: rng.standard_normal(tuple(shapes[r] for r in t.ranks)).astype(np.float32)
        for t in plan.cascade.inputs
    }
    runs = max(repeats, MIN_REPEATS) if chosen.device else repeats
    timing, _ = time_plan(plan, backend, inputs, None, runs)
    return float(timing.min_ms) / 1e3


def spearman(left: Sequence[float], right: Sequence[float]) -> float:
    """Return Spearman's rank correlation (average ranks for ties); NaN below two points."""
    if len(left) < 2:
        return math.nan

    def ranks(values: Sequence[float]) -> list[float]:
        order = sorted(range(len(values)), key=lambda i: values[i])
        out = [0.0] * len(values)
        i = 0
        while i < len(order):
            j = i
            while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
                j += 1
            for k in range(i, j + 1):
                out[order[k]] = (i + j) / 2
            i = j + 1
        return out

    a, b = ranks(left), ranks(right)
    mean_a, mean_b = statistics.fmean(a), statistics.fmean(b)
    cov = sum((x - mean_a) * (y - mean_b) for x, y in zip(a, b, strict=True))
    spread = math.sqrt(sum((x - mean_a) ** 2 for x in a) * sum((y - mean_b) ** 2 for y in b))
    return cov / spread if spread else math.nan


def summarize(rows: Sequence[CompareRow]) -> ErrorSummary:
    """Return median and worst absolute relative error and the rank correlation."""
    errors = [abs(r.relative_error) for r in rows]
    return ErrorSummary(
        len(rows),
        statistics.median(errors) if errors else math.nan,
        max(errors, default=math.nan),
        spearman([r.measured_s for r in rows], [r.modelled_s for r in rows]),
    )


if __name__ == "__main__":
    request = json.loads(sys.argv[1])
    times = [
        _time_point(SweepPoint(**p), request["backend"], int(request["repeats"]))
        for p in request["points"]
    ]
    sys.stdout.write(json.dumps(times))
