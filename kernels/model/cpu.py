"""Price a NumPy twin run on a measured CPU: trace its array calls by shape, sum per-op costs.

NumPy calls run one after another, so the predicted time is the sum over the traced calls
of (call overhead + data term), the data term priced by what the call does: an einsum at the
rate measured for its subscripts and shapes, a reduction at the rate for its inner length,
an exp at the exp rate, anything else at the bandwidth of the smallest cache level that
holds the bytes it touches.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from einsum_cascade import TensorKind
from kernels.model.trace import Recorder, ShapeArray, ShapeModule, TracedOp
from kernels.plan.lower import KernelPlan
from kernels.render import twin_runtime
from kernels.render.twin import render_twin
from mappers.hardware.machine import CpuProfile

RUNTIME_HELPERS = ("align", "settle", "combine", "reduce", "contract")


class _RecordingRuntime:
    """Stands in for ``twin_runtime`` in the twin's namespace: marks each helper call."""

    def __init__(self, recorder: Recorder) -> None:
        self._recorder = recorder

    def __getattr__(self, name: str) -> Any:
        function = getattr(twin_runtime, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            outer = self._recorder.inside
            if outer is None:
                self._recorder.add(f"rt.{name}", 0, 0)
                self._recorder.inside = f"rt.{name}"
            try:
                return function(*args, **kwargs)
            finally:
                self._recorder.inside = outer

        return call


@functools.cache
def _twin_code(plan: KernelPlan) -> Any:
    return compile(render_twin(plan), f"<traced twin {plan.cascade.name}>", "exec")


def trace_twin(plan: KernelPlan, extents: Mapping[str, int]) -> tuple[TracedOp, ...]:
    """Return every array call ``run_twin`` makes for ``plan`` at ``extents``, without data.

    Args:
        plan: The kernel plan whose twin is traced.
        extents: Every runtime extent (``M``, ``P``...) and the static ones.
    """
    recorder = Recorder()
    xp = ShapeModule(recorder)
    bound = {**dict(plan.tiling.static_extents), **dict(extents)}
    tensors: dict[str, ShapeArray] = {}
    for tensor in plan.cascade.inputs:
        shape = tuple(bound[r] for r in tensor.ranks)
        source = ShapeArray(recorder, shape, 4)
        tensors[tensor.name] = xp.asarray(source.astype(xp.float32))  # run_twin's copy
    produced = {
        name
        for kernel in plan.kernels
        for name in kernel.params
        if plan.cascade.tensor(name).kind is not TensorKind.INPUT
    }
    for name in sorted(produced):
        shape = tuple(bound[r] for r in plan.cascade.tensor(name).ranks)
        tensors[name] = xp.full(shape, float("nan"), dtype=xp.float32)
    namespace: dict[str, Any] = {}
    exec(_twin_code(plan), namespace)
    namespace["rt"] = _RecordingRuntime(recorder)
    for kernel in plan.kernels:
        namespace[kernel.name](xp, tensors, bound)
    return tuple(recorder.ops)


def price_op(op: TracedOp, profile: CpuProfile) -> tuple[str, float]:
    """Return (category, seconds) of one traced call on ``profile``.

    An elementwise call measured per size (``call_times``) costs its measured time at its
    output size; inside a twin-runtime helper, only the part above the smallest size's time
    (the helper's overhead covers the call itself).
    """
    overhead = profile.overhead_s(op.function) if op.inside is None else 0.0
    if op.function.startswith("rt."):
        return "overhead", overhead
    measured = profile.call_seconds(op.function, op.elements)
    if measured is not None and op.function not in ("einsum", "reduce"):
        if op.inside is not None:
            measured -= profile.call_seconds(op.function, 0) or 0.0
        return ("exp" if op.function == "exp" else "elementwise"), measured
    if op.function == "einsum":
        rate = profile.einsum_flops_per_s(op.subscripts, op.shapes)
        return "einsum", overhead + op.flops / rate
    if op.function == "reduce":
        return "reduce", overhead + op.elements / profile.reduce_elements_per_s(op.inner)
    if op.function == "exp":
        return "exp", overhead + op.elements / profile.exp_per_s
    if op.bytes_moved == 0:
        return "overhead", overhead
    bandwidth = profile.bandwidth_bytes_per_s(op.bytes_moved)
    return "elementwise", overhead + op.bytes_moved / bandwidth


def price_trace(ops: tuple[TracedOp, ...], profile: CpuProfile) -> dict[str, float]:
    """Return seconds per category of a trace.

    Categories: overhead (call overheads of calls whose data term is zero), einsum, reduce,
    exp, elementwise (each including its calls' overheads) and interpreter (the twin's Python
    work between calls: ``interpreter_s_per_call`` per top-level call).
    """
    totals = {
        "overhead": 0.0,
        "einsum": 0.0,
        "reduce": 0.0,
        "exp": 0.0,
        "elementwise": 0.0,
        "interpreter": 0.0,
    }
    for op in ops:
        category, seconds = price_op(op, profile)
        totals[category] += seconds
        if op.inside is None:
            totals["interpreter"] += profile.interpreter_s_per_call
    return totals
