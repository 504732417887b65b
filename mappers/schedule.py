"""Combine per-einsum compute cycles and per-region memory cycles into latency, per schedule."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from mappers.mapping import Mapping, Stall

Array = np.ndarray


def _array_loads(names, cycles: dict[str, Array], arrays: dict[str, str]) -> Array:
    loads: dict[str, Array] = {}
    for name in names:
        loads[arrays[name]] = loads.get(arrays[name], 0) + cycles[name]
    return np.maximum.reduce(list(loads.values())) if loads else 0.0


def _sequential(mapping, cycles, arrays, memory, times) -> Array:
    groups = mapping.schedule.groups or tuple((n,) for n in cycles)
    total = 0.0
    for group, mem in zip(groups, memory, strict=True):
        names = [i for i in group if isinstance(i, str)]
        total = total + np.maximum(mem, _array_loads(names, cycles, arrays))
    return total


def _overlapped(mapping, cycles, arrays, memory, times) -> Array:
    return np.maximum(sum(memory), _array_loads(list(cycles), cycles, arrays))


def _stages(mapping, cycles, arrays, memory, times) -> Array:
    compute = 0.0
    for stage in mapping.schedule.groups:
        names = [i for i in stage if isinstance(i, str)]
        stalls = sum(cycles[i.einsum] * times(i.times) for i in stage if isinstance(i, Stall))
        compute = compute + _array_loads(names, cycles, arrays) + stalls
    return np.maximum(sum(memory), compute)


def _pipelined(mapping, cycles, arrays, memory, times, tiles=None, looped=None, graph=None):
    """Software pipeline over tiles: II = max(resource, recurrence); plus fill and drain."""
    assert tiles is not None and looped is not None and graph is not None
    per_tile = {n: cycles[n] / tiles for n in cycles if n in looped}
    resource = _array_loads(list(per_tile), per_tile, arrays)
    recurrence = 0.0
    for chain in graph["recurrences"]:
        recurrence = np.maximum(recurrence, sum(per_tile.get(n, 0.0) for n in chain))
    interval = np.maximum(resource, recurrence)
    path: dict[str, Array] = {}
    for name in graph["order"]:
        if name in per_tile:
            before = [path[p] for p in graph["preds"].get(name, ()) if p in path]
            path[name] = per_tile[name] + (np.maximum.reduce(before) if before else 0.0)
    critical = np.maximum.reduce(list(path.values())) if path else 0.0
    epilogue = _array_loads([n for n in cycles if n not in looped], cycles, arrays)
    compute = (tiles - 1) * interval + critical + epilogue
    return np.maximum(sum(memory), compute)


SCHEDULES: dict[str, Callable[..., Array]] = {
    "sequential": _sequential,
    "overlapped": _overlapped,
    "stages": _stages,
    "pipelined": _pipelined,
}


def latency_cycles(
    mapping: Mapping,
    cycles: dict[str, Array],
    arrays: dict[str, str],
    memory: list[Array],
    times: Callable[[object], float],
    **pipeline: object,
) -> Array:
    """Return latency in cycles under the mapping's schedule (a registry keyed by kind)."""
    function = SCHEDULES[mapping.schedule.kind]
    if mapping.schedule.kind == "pipelined":
        return function(mapping, cycles, arrays, memory, times, **pipeline)
    return function(mapping, cycles, arrays, memory, times)
