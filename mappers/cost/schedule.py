"""Combine per-einsum compute cycles and per-region memory cycles into latency, per schedule."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from mappers.cost.pipeline import Pipeline
from mappers.cost.simulate import simulate_latency
from mappers.mapping.schema import Mapping, Quantity, Stall

Array = NDArray[np.float64]
PIPELINE_SCHEDULES = ("pipelined", "simulate")  # the schedules that read a Pipeline


@dataclass(frozen=True, slots=True)
class _Inputs:
    mapping: Mapping
    cycles: dict[str, Array]
    arrays: dict[str, str]
    memory: Sequence[Array]
    times: Callable[[Quantity], Any]
    pipeline: Pipeline | None
    ends: Array | float


def _zeros_like(inputs: _Inputs) -> Array:
    shapes = [np.shape(c) for c in inputs.cycles.values()] + [np.shape(m) for m in inputs.memory]
    return np.zeros(np.broadcast_shapes(*shapes) if shapes else ())


def _array_loads(names: Iterable[str], cycles: dict[str, Array], arrays: dict[str, str]) -> Array:
    """Return the busiest array's cycles: einsums on one array run one after another."""
    loads: dict[str, Array] = {}
    for name in names:
        loads[arrays[name]] = loads.get(arrays[name], 0.0) + cycles[name]
    if not loads:
        return np.zeros(())
    return np.asarray(np.maximum.reduce(list(loads.values())), dtype=np.float64)


def _memory_total(inputs: _Inputs) -> Array:
    return sum(inputs.memory, _zeros_like(inputs))


def _sequential(inputs: _Inputs) -> Array:
    groups = inputs.mapping.schedule.groups or tuple((n,) for n in inputs.cycles)
    total = _zeros_like(inputs)
    for group, memory in zip(groups, inputs.memory, strict=True):
        names = [i for i in group if isinstance(i, str)]
        total = total + np.maximum(memory, _array_loads(names, inputs.cycles, inputs.arrays))
    return total


def _tiled(inputs: _Inputs, compute: Array) -> Array:
    """Return a tiled schedule's latency: memory overlaps the compute, except that with
    ``ends: tile`` the first DRAM tile's load comes before the compute and the last tile's
    store after it (:mod:`mappers.cost.ends`). ``overlapped``, ``stages`` and ``pipelined``
    all end so."""
    if inputs.mapping.schedule.ends == "tile":
        compute = compute + inputs.ends
    return np.maximum(_memory_total(inputs), compute)


def _overlapped(inputs: _Inputs) -> Array:
    """Memory and the busiest array overlap (:func:`_tiled`)."""
    return _tiled(inputs, _array_loads(list(inputs.cycles), inputs.cycles, inputs.arrays))


def _stages(inputs: _Inputs) -> Array:
    compute = _zeros_like(inputs)
    for stage in inputs.mapping.schedule.groups:
        names = [i for i in stage if isinstance(i, str)]
        stalls = [
            inputs.cycles[i.einsum] * inputs.times(i.times) for i in stage if isinstance(i, Stall)
        ]
        compute = compute + _array_loads(names, inputs.cycles, inputs.arrays) + sum(stalls, 0.0)
    return _tiled(inputs, compute)


def _pipelined(inputs: _Inputs) -> Array:
    """Software pipeline over tiles: II = max(resource, recurrence); plus fill and drain."""
    pipeline = inputs.pipeline
    assert pipeline is not None, "the cost model passes a Pipeline for a pipelined schedule"
    cycles, arrays = inputs.cycles, inputs.arrays
    per_tile = {n: cycles[n] / pipeline.tiles for n in cycles if n in pipeline.looped}
    resource = _array_loads(list(per_tile), per_tile, arrays)
    recurrence = _zeros_like(inputs)
    zero = _zeros_like(inputs)
    for chain in pipeline.recurrences:
        recurrence = np.maximum(recurrence, sum((per_tile.get(n, zero) for n in chain), zero))
    interval = np.maximum(resource, recurrence)
    preds = dict(pipeline.preds)
    path: dict[str, Array] = {}
    for name in pipeline.order:
        if name in per_tile:
            before = [path[p] for p in preds.get(name, ()) if p in path]
            path[name] = per_tile[name] + (np.maximum.reduce(before) if before else 0.0)
    critical = np.maximum.reduce(list(path.values())) if path else zero
    epilogue = _array_loads([n for n in cycles if n not in pipeline.looped], cycles, arrays)
    compute = (pipeline.tiles - 1) * interval + critical + epilogue
    return _tiled(inputs, compute)


def _simulate(inputs: _Inputs) -> Array:
    """Per-tile discrete-event simulation (:mod:`mappers.cost.simulate`), per point."""
    assert inputs.pipeline is not None, "the cost model passes a Pipeline for simulation"
    return simulate_latency(inputs.pipeline, inputs.cycles, inputs.arrays, _memory_total(inputs))


SCHEDULES: dict[str, Callable[[_Inputs], Array]] = {
    "sequential": _sequential,
    "overlapped": _overlapped,
    "stages": _stages,
    "pipelined": _pipelined,
    "simulate": _simulate,
}


def latency_cycles(
    mapping: Mapping,
    cycles: dict[str, Array],
    arrays: dict[str, str],
    memory: Sequence[Array],
    times: Callable[[Quantity], Any],
    pipeline: Pipeline | None = None,
    ends: Array | float = 0.0,
) -> Array:
    """Return latency in cycles under the mapping's schedule (a registry keyed by kind).

    Args:
        mapping: gives the schedule kind and its groups or stages.
        cycles: compute cycles per costed einsum.
        arrays: the array each costed einsum is bound to.
        memory: backing-store cycles per traffic region.
        times: resolves a stall's repeat quantity to a number (or one per point).
        pipeline: tile count and einsum graph; required for a pipelined or simulated
            schedule.
        ends: backing-store cycles of the first DRAM tile's load plus the last one's
            store, which an overlapped, stages or pipelined schedule with ``ends: tile``
            does not overlap.
    """
    inputs = _Inputs(mapping, cycles, arrays, memory, times, pipeline, ends)
    return SCHEDULES[mapping.schedule.kind](inputs)
