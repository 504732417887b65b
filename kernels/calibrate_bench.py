"""The microbenchmarks behind ``calibrate``: run inside the worker process, return JSON data.

Every number is the best of ``repeats`` timings (the least disturbed run), with arrays
allocated per call as the twin does (NumPy reuses freed blocks, so no page faults repeat).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from kernels.render import twin_runtime as rt

OVERHEAD_CALLS = 200
FALLBACK_CACHES = (("L1", 32 * 2**10), ("L2", 1 * 2**20), ("L3", 16 * 2**20))


def best_seconds(run: Callable[[], Any], repeats: int, calls: int = 1) -> float:
    """Return the best per-call time of ``calls`` back-to-back calls over ``repeats`` runs."""
    run()
    best = math.inf
    for _ in range(repeats):
        began = time.perf_counter()
        for _ in range(calls):
            run()
        best = min(best, (time.perf_counter() - began) / calls)
    return best


def cache_levels() -> tuple[tuple[str, int], ...]:
    """Return (name, size_bytes) of the data caches of CPU 0, from sysfs when present."""
    root = Path("/sys/devices/system/cpu/cpu0/cache")
    found: dict[str, int] = {}
    for index in sorted(root.glob("index*")):
        kind = (index / "type").read_text().strip()
        if kind == "Instruction":
            continue
        text = (index / "size").read_text().strip()
        factor = {"K": 2**10, "M": 2**20, "G": 2**30}.get(text[-1], 1)
        size = int(text.rstrip("KMG")) * factor
        found[f"L{(index / 'level').read_text().strip()}"] = size
    return tuple(sorted(found.items(), key=lambda item: item[1])) or FALLBACK_CACHES


def call_overheads(repeats: int) -> dict[str, float]:
    """Time each array function the twin calls on tiny arrays: the fixed cost per call."""
    a = np.ones((4, 4), np.float32)
    b = np.ones((4, 4), np.float32)
    mask = np.ones((4, 4), bool)
    row = np.ones((4,), np.float32)
    calls: dict[str, Callable[[], Any]] = {
        "ufunc": lambda: a + b,
        "exp": lambda: np.exp(a),
        "where": lambda: np.where(mask, a, 0.0),
        "copy": lambda: np.array(a),
        "full": lambda: np.full((4, 4), 0.0, dtype=np.float32),
        "asarray": lambda: np.asarray(a),
        "reshape": lambda: a.reshape((16,)),
        "transpose": lambda: np.transpose(a, (1, 0)),
        "broadcast_to": lambda: np.broadcast_to(row, (4, 4)),
        "getitem": lambda: a[slice(None), slice(0, 2)],
        "einsum": lambda: np.einsum("ca,cb->ab", a, b),
        "reduce": lambda: np.max(a, axis=(1,)),
        "rt.align": lambda: rt.align(np, row, ("p",), ("p", "m")),
        "rt.settle": lambda: rt.settle(np, a, ("p", "m"), ("p", "m"), {"p": 4, "m": 4}),
        "rt.combine": lambda: rt.combine(np, "max", row, row),
        "rt.reduce": lambda: rt.reduce(np, "max", a, True, (4, 4), (1,)),
        "rt.contract": lambda: rt.contract(np, "ca,cb->ab", a, True, b, True),
    }
    table = {name: best_seconds(run, repeats, OVERHEAD_CALLS) for name, run in calls.items()}

    def setitem() -> None:
        a[...] = b

    table["setitem"] = best_seconds(setitem, repeats, OVERHEAD_CALLS)
    table["default"] = table["ufunc"]
    return table


def bandwidths(repeats: int, quick: bool) -> list[tuple[str, float, float]]:
    """Measure ``c = a + b`` (3 streams) with working sets inside each cache level and DRAM."""
    cap = 64 * 2**20 if quick else 512 * 2**20
    levels = list(cache_levels())
    rows = []
    for name, size in [*levels, ("DRAM", 4 * levels[-1][1])]:
        working = min(size // 2 if name != "DRAM" else size, cap)
        elements = max(working // 12, 1024)  # three float32 streams
        a = np.ones(elements, np.float32)
        b = np.ones(elements, np.float32)
        calls = max(1, int(2**22 // elements))
        seconds = best_seconds(lambda a=a, b=b: a + b, repeats, calls)
        rows.append((name, float(size if name != "DRAM" else 2**50), 12 * elements / seconds))
    return rows


def exp_rate(repeats: int) -> float:
    """Return exp throughput (elements per second) on an L2-resident array."""
    values = np.linspace(-4, 0, 1 << 16, dtype=np.float32)
    return values.size / best_seconds(lambda: np.exp(values), repeats, 8)


def reduce_rates(repeats: int) -> list[tuple[int, float]]:
    """Return reduction throughput (input elements per second) per inner-axis length."""
    rows = []
    for inner in (4, 8, 16, 32, 64, 128, 256, 512):
        data = np.ones((max(1, 2**16 // inner), inner), np.float32)
        seconds = best_seconds(lambda d=data: (np.max(d, axis=(1,)), np.sum(d, axis=(1,))), repeats)
        rows.append((inner, 2 * data.size / seconds))
    return rows


def einsum_rates(shapes: list[Any], repeats: int) -> list[tuple[str, list[list[int]], float]]:
    """Return numpy.einsum FLOP rates at the traced (subscripts, operand shapes)."""
    rows = []
    for subscripts, (left_shape, right_shape) in shapes:
        left = np.ones(left_shape, np.float32)
        right = np.ones(right_shape, np.float32)
        inputs = subscripts.split("->")[0].split(",")
        sizes = dict(zip(inputs[0], left_shape, strict=True))
        sizes.update(zip(inputs[1], right_shape, strict=True))
        flops = 2 * math.prod(sizes.values())
        seconds = best_seconds(lambda a=left, b=right, s=subscripts: np.einsum(s, a, b), repeats)
        rows.append((subscripts, [list(left_shape), list(right_shape)], flops / seconds))
    return rows


def matmul_rates(shapes: list[Any], repeats: int) -> list[tuple[int, int, int, float]]:
    """Return BLAS matmul rates of (m x k) @ (k x n) at the einsum shapes (m, n, k)."""
    found: dict[tuple[int, int, int], None] = {}
    for subscripts, (left_shape, right_shape) in shapes:
        inputs, output = subscripts.split("->")
        sizes = dict(zip(inputs.split(",")[0], left_shape, strict=True))
        sizes.update(zip(inputs.split(",")[1], right_shape, strict=True))
        reduced = [c for c in sizes if c not in output]
        if len(output) == 2 and len(reduced) == 1:
            found.setdefault((sizes[output[0]], sizes[output[1]], sizes[reduced[0]]), None)
    found.setdefault((1024, 1024, 1024), None)
    rows = []
    for m, n, k in found:
        left = np.ones((m, k), np.float32)
        right = np.ones((k, n), np.float32)
        seconds = best_seconds(lambda a=left, b=right: a @ b, repeats)
        rows.append((m, n, k, 2 * m * n * k / seconds))
    return rows


def run_request(request: dict[str, Any]) -> dict[str, Any]:
    """Run every microbenchmark of one profile; return the worker's JSON."""
    repeats = int(request["repeats"])
    quick = bool(request["quick"])
    return {
        "threads": request["threads"],
        "call_overhead_s": call_overheads(repeats),
        "levels": bandwidths(repeats, quick),
        "exp_per_s": exp_rate(repeats),
        "reduce": reduce_rates(repeats),
        "einsum": einsum_rates(request["einsum"], repeats),
        "matmul": matmul_rates(request["einsum"], repeats),
    }
