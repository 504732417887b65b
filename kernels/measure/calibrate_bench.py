"""The microbenchmarks behind ``calibrate``: run inside the worker process, return JSON data.

Every number is the best of ``repeats`` timings (the least disturbed run), with arrays
allocated per call as the twin does (NumPy reuses freed blocks, so no page faults repeat).
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from kernels.render import twin_runtime as rt
from mappers.hardware.machine import (
    BandwidthLevel,
    CallTime,
    CpuProfile,
    EinsumRate,
    MatmulRate,
    ReduceRate,
)
from mappers.units import SIZE, parse_quantity

OVERHEAD_CALLS = 200
CALL_TIME_ELEMENTS = (16, 256, 4096, 32768, 131072, 524288)
# Twins whose Python work between calls is measured: library cascades that are not among the
# benchmark's (attention/1pass, attention/3pass, variants/linear), at sizes where data is free.
INTERPRETER_CASCADES = (  # the 2-pass cascades reduce over tiles and are not lowered (K001)
    "attention/3pass-deferred",
    "attention/1pass-causal",
    "variants/softcap",
    "attention/3pass-causal",
    "attention/1pass-window",
    "variants/streaming-llm",
)
INTERPRETER_EXTENTS = {"M": 64, "P": 4, "E": 4, "F": 4}
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
        size = int(parse_quantity(text, SIZE))  # sysfs writes 32K, 1024K: binary
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


def call_times(repeats: int) -> list[tuple[str, int, float]]:
    """Time each elementwise call the twin makes, as it makes it, at several output sizes.

    ``where`` selects with an all-true mask (a presence mask) and a scalar, ``where_data``
    between two arrays with a random half-true mask (a mask computed from data, e.g.
    ``K > 0`` on normal inputs: unpredictable branches), ``copy`` copies, ``ufunc`` adds
    two arrays, ``exp``, ``full`` and ``setitem`` as named; outputs are allocated per call,
    as in the twin.
    """
    rows = []
    rng = np.random.default_rng(0)
    for elements in CALL_TIME_ELEMENTS:
        shape = (max(1, elements // 32), min(32, elements))
        a = rng.standard_normal(shape).astype(np.float32)
        b = a.copy()
        present = np.ones(shape, bool)
        data_mask = a > 0
        calls: dict[str, Callable[[], Any]] = {
            "where": partial(np.where, present, a, 0.0),
            "where_data": partial(np.where, data_mask, a, b),
            "copy": partial(np.array, a),
            "ufunc": partial(np.add, a, b),
            "exp": partial(np.exp, a),
            "full": partial(np.full, shape, 0.0, dtype=np.float32),
        }

        def setitem(a: Any = a, b: Any = b) -> None:
            a[...] = b

        calls["setitem"] = setitem
        count = max(1, 2**16 // elements)
        for name, run in calls.items():
            rows.append((name, elements, best_seconds(run, repeats, count)))
    return rows


def interpreter_seconds_per_call(data: dict[str, Any], repeats: int, quick: bool) -> float:
    """Return the twin's Python cost per array call that the call overheads do not cover.

    Runs real twins of :data:`INTERPRETER_CASCADES` at head dim 4, tile 4, ``M`` = 64,
    ``P`` = 4 (data terms near zero; short runs, so best-of-N finds an undisturbed one),
    prices each trace with the rates measured so far (``data``), and spreads the remainder
    over the top-level array calls: the tile loop, tuple and dict work between calls. Returns
    the median over the cascades (the first two only when ``quick``).
    """
    import statistics

    from einsum_cascade import library
    from kernels.model.cpu import price_trace, trace_twin
    from kernels.plan.lower import plan_kernels
    from kernels.plan.tiling import Tiling
    from kernels.run.execute import run_twin

    profile = profile_from_json({**data, "interpreter_s_per_call": 0.0})
    extents = INTERPRETER_EXTENTS
    tiling = Tiling(tile=4, static_extents=(("E", extents["E"]), ("F", extents["F"])))
    residuals = []
    for name in INTERPRETER_CASCADES[: 2 if quick else None]:
        plan = plan_kernels(library.load(name), tiling)
        inputs: dict[str, np.ndarray] = {
            t.name: np.ones(tuple(extents[r] for r in t.ranks), np.float32)
            for t in plan.cascade.inputs
        }
        measured = best_seconds(partial(run_twin, plan, inputs), repeats)
        ops = trace_twin(plan, {"M": extents["M"], "P": extents["P"]})
        modelled = sum(price_trace(ops, profile).values())
        residuals.append((measured - modelled) / sum(1 for op in ops if op.inside is None))
    return max(0.0, statistics.median(residuals))


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
        seconds = best_seconds(partial(np.add, a, b), repeats, calls)
        rows.append((name, float(size if name != "DRAM" else 2**50), 12 * elements / seconds))
    return rows


def exp_rate(repeats: int) -> float:
    """Return exp throughput (elements per second) on an L2-resident array."""
    values = np.linspace(-4, 0, 1 << 16, dtype=np.float32)
    return values.size / best_seconds(lambda: np.exp(values), repeats, 8)


def _max_and_sum(data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.max(data, axis=(1,)), np.sum(data, axis=(1,))


def reduce_rates(repeats: int) -> list[tuple[int, float]]:
    """Return reduction throughput (input elements per second) per inner-axis length."""
    rows = []
    for inner in (4, 8, 16, 32, 64, 128, 256, 512):
        data = np.ones((max(1, 2**16 // inner), inner), np.float32)
        seconds = best_seconds(partial(_max_and_sum, data), repeats)
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
        seconds = best_seconds(partial(np.einsum, subscripts, left, right), repeats)
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
        seconds = best_seconds(partial(np.matmul, left, right), repeats)
        rows.append((m, n, k, 2 * m * n * k / seconds))
    return rows


def run_request(request: dict[str, Any]) -> dict[str, Any]:
    """Run every microbenchmark of one profile; return the worker's JSON."""
    repeats = int(request["repeats"])
    quick = bool(request["quick"])
    data: dict[str, Any] = {
        "threads": request["threads"],
        "call_overhead_s": call_overheads(repeats),
        "levels": bandwidths(repeats, quick),
        "exp_per_s": exp_rate(repeats),
        "reduce": reduce_rates(repeats),
        "einsum": einsum_rates(request["einsum"], repeats),
        "matmul": matmul_rates(request["einsum"], repeats),
        "call_times": call_times(repeats),
    }
    data["interpreter_s_per_call"] = interpreter_seconds_per_call(data, 3 * repeats, quick)
    return data


def profile_from_json(data: dict[str, Any]) -> CpuProfile:
    """Build a profile from the worker's JSON."""
    return CpuProfile(
        threads=int(data["threads"]),
        call_overhead_s=tuple((k, float(v)) for k, v in data["call_overhead_s"].items()),
        levels=tuple(BandwidthLevel(n, float(s), float(b)) for n, s, b in data["levels"]),
        exp_per_s=float(data["exp_per_s"]),
        einsum=tuple(
            EinsumRate(s, tuple(tuple(x) for x in shapes), float(r))
            for s, shapes, r in data["einsum"]
        ),
        matmul=tuple(MatmulRate(m, n, k, float(r)) for m, n, k, r in data["matmul"]),
        reduce=tuple(ReduceRate(int(i), float(r)) for i, r in data["reduce"]),
        call_times=tuple(CallTime(f, int(n), float(t)) for f, n, t in data.get("call_times", ())),
        interpreter_s_per_call=float(data.get("interpreter_s_per_call", 0.0)),
    )


if __name__ == "__main__":
    sys.stdout.write(json.dumps(run_request(json.loads(sys.argv[1]))))
