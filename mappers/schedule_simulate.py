"""``schedule: simulate``: a per-tile discrete-event simulation of the arrays and the memory.

The closed-form schedules price a run from whole-run totals (``pipelined``: interval times
tile count plus one fill and drain). This one replays the run tile by tile:

* The run is ``rows`` x ``inner`` tiles. ``inner`` is the extent of the innermost DRAM loop
  (``M1``: the tiles one running state passes through); ``rows`` is every other loop
  (batch, heads, query tiles), each starting from fresh state.
* Each array executes its tasks one at a time in program order (an in-order queue): row by
  row, tile by tile, the einsums in dependency order. A task lasts its einsum's cycles
  divided by the number of times it runs.
* A looped einsum of tile ``i`` starts once its array is free, the einsums whose value of
  the same tile it reads have finished, the ones it reads at their previous generation have
  finished tile ``i - 1`` (the running-max recurrence ``RM[m1 + 1] = max(RM[m1], LM)``, and
  ``RD``, ``RNV`` through ``PRM``), and the tile's data has arrived.
* The backing store moves one tile of data at a time (total memory cycles / tiles), in
  order, into one of ``BUFFERS`` tile buffers: tile ``g``'s transfer waits for tile
  ``g - BUFFERS`` to be consumed (double buffering).
* An einsum outside the innermost loop runs once per row: before the row's first tile when
  it reads nothing the loop computes (a prologue), else after its last tile (``AV`` reads
  the final ``RNV`` and ``RD``).

So a row pays its own fill (the first tile's chain through both arrays) and drain (the
epilogue after the last recurrence step), which the closed forms spread over the whole run.

Cost: the simulation runs per distinct point (not vectorised). It stays short for any run
length because the state (the time every resource frees up, the last tile's finish times,
the buffers' release times) settles into a uniform shift per tile and per row: once two
consecutive steps shift every entry by the same amount, the remaining steps are
extrapolated exactly (the schedule is a max-plus linear recurrence with constant
durations). A state that does not settle within ``MAX_STEPS`` steps is extrapolated by the
mean increment of its last steps, an approximation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from mappers.schedule import Pipeline

Array = NDArray[np.float64]
BUFFERS = 2
MAX_STEPS = 4096
MEMORY = "<memory>"


@dataclass(frozen=True, slots=True)
class TileGraph:
    """The tasks of one row, in issue order, and what each waits for."""

    prologue: tuple[str, ...]
    looped: tuple[str, ...]
    epilogue: tuple[str, ...]
    arrays: dict[str, str]
    current: dict[str, tuple[str, ...]]
    carried: dict[str, tuple[str, ...]]

    @staticmethod
    def of(pipeline: Pipeline, arrays: dict[str, str]) -> TileGraph:
        """Split the pipeline's einsums into prologue, looped and epilogue tasks."""
        current = {
            n: dict(pipeline.current).get(n, dict(pipeline.preds).get(n, ())) for n in arrays
        }
        carried = {n: dict(pipeline.carried).get(n, ()) for n in arrays}
        order = [n for n in pipeline.order if n in arrays]
        after_loop: set[str] = set()
        for name in order:
            if name not in pipeline.looped and any(
                p in pipeline.looped or p in after_loop for p in current[name]
            ):
                after_loop.add(name)
        return TileGraph(
            prologue=tuple(n for n in order if n not in pipeline.looped and n not in after_loop),
            looped=tuple(n for n in order if n in pipeline.looped),
            epilogue=tuple(n for n in order if n in after_loop),
            arrays=arrays,
            current=current,
            carried=carried,
        )


@dataclass(slots=True)
class _State:
    free: dict[str, float]  # resource -> when it is free
    releases: list[float]  # when each of the last BUFFERS tiles was consumed

    def vector(self, resources: Sequence[str], extra: Sequence[float] = ()) -> Array:
        padded = [0.0] * (BUFFERS - len(self.releases)) + self.releases
        return np.array([*(self.free[r] for r in resources), *padded, *extra], dtype=float)

    def shift(self, resources: Sequence[str], delta: float) -> None:
        for resource in resources:
            self.free[resource] += delta
        self.releases = [r + delta for r in self.releases]


def _settled(history: list[Array]) -> float | None:
    """Return the uniform shift of the last two steps, or None while the state still moves."""
    if len(history) < 3:
        return None
    first, second = history[-2] - history[-3], history[-1] - history[-2]
    scale = 1e-9 * max(1.0, float(np.max(np.abs(history[-1]))))
    if np.all(np.abs(second - second[0]) <= scale) and np.all(np.abs(second - first) <= scale):
        return float(second[0])
    return None


def _mean_step(history: list[Array]) -> float:
    window = history[-64:]
    return float((window[-1].max() - window[0].max()) / max(len(window) - 1, 1))


@dataclass(frozen=True, slots=True)
class _Durations:
    per_tile: dict[str, float]
    per_row: dict[str, float]
    memory_per_tile: float
    inner: int
    rows: int


def _run(state: _State, array: str, ready: float, duration: float) -> float:
    start = max(state.free[array], ready)
    state.free[array] = start + duration
    return start + duration


def _tile(
    graph: TileGraph,
    times: _Durations,
    state: _State,
    row: dict[str, float],
    prev: dict[str, float],
) -> dict[str, float]:
    arrive = 0.0
    if times.memory_per_tile > 0:
        gate = state.releases[-BUFFERS] if len(state.releases) >= BUFFERS else 0.0
        arrive = _run(state, MEMORY, gate, times.memory_per_tile)
    done: dict[str, float] = {}
    for name in graph.looped:
        ready = max(
            [arrive]
            + [done.get(p, row.get(p, 0.0)) for p in graph.current[name]]
            + [prev[p] for p in graph.carried[name] if p in prev]
        )
        done[name] = _run(state, graph.arrays[name], ready, times.per_tile[name])
    state.releases = [*state.releases, max(done.values(), default=arrive)][-BUFFERS:]
    return done


def _row(graph: TileGraph, times: _Durations, state: _State, resources: Sequence[str]) -> None:
    row: dict[str, float] = {}
    for name in graph.prologue:
        ready = max([row.get(p, 0.0) for p in graph.current[name]], default=0.0)
        row[name] = _run(state, graph.arrays[name], ready, times.per_row[name])
    prev: dict[str, float] = {}
    history: list[Array] = []
    index = 0
    while index < times.inner:
        prev = _tile(graph, times, state, row, prev)
        index += 1
        remaining = times.inner - index
        if remaining == 0:
            break
        history.append(state.vector(resources, [prev[n] for n in graph.looped]))
        delta = _settled(history)
        if delta is None and len(history) >= MAX_STEPS:
            delta = _mean_step(history)
        if delta is not None:
            state.shift(resources, remaining * delta)
            prev = {n: t + remaining * delta for n, t in prev.items()}
            index = times.inner
    for name in graph.epilogue:
        ready = max([prev.get(p, row.get(p, 0.0)) for p in graph.current[name]], default=0.0)
        row[name] = _run(state, graph.arrays[name], ready, times.per_row[name])


def simulate_point(graph: TileGraph, times: _Durations) -> float:
    """Return the simulated latency in cycles of one point."""
    used = {graph.arrays[n] for n in (*graph.prologue, *graph.looped, *graph.epilogue)}
    resources = sorted(used) + ([MEMORY] if times.memory_per_tile > 0 else [])
    state = _State(dict.fromkeys((*resources, MEMORY), 0.0), [])
    history: list[Array] = []
    done = 0
    while done < times.rows:
        _row(graph, times, state, resources)
        done += 1
        remaining = times.rows - done
        if remaining == 0:
            break
        history.append(state.vector(resources))
        delta = _settled(history)
        if delta is None and len(history) >= MAX_STEPS:
            delta = _mean_step(history)
        if delta is not None:
            state.shift(resources, remaining * delta)
            done = times.rows
    return max(state.free.values())


def simulate_latency(
    pipeline: Pipeline, cycles: dict[str, Array], arrays: dict[str, str], memory: Array
) -> Array:
    """Return the simulated latency in cycles of every point (one simulation per distinct one).

    Args:
        pipeline: tiles, the innermost loop's extent and the einsum graph.
        cycles: compute cycles per costed einsum over the whole run.
        arrays: the array each costed einsum is bound to.
        memory: backing-store cycles over the whole run.
    """
    graph = TileGraph.of(pipeline, arrays)
    shape = np.broadcast_shapes(
        np.shape(pipeline.tiles), np.shape(memory), *(np.shape(c) for c in cycles.values())
    )
    tiles = np.broadcast_to(np.asarray(pipeline.tiles, dtype=float), shape)
    inner = np.broadcast_to(
        np.asarray(1.0 if pipeline.inner_tiles is None else pipeline.inner_tiles), shape
    )
    rows = tiles / inner
    names = (*graph.prologue, *graph.looped, *graph.epilogue)
    columns = [np.broadcast_to(np.asarray(cycles[n], dtype=float), shape) for n in names]
    table = np.stack(
        [np.rint(inner), np.rint(rows), np.broadcast_to(memory, shape), *columns], axis=-1
    ).reshape(-1, 3 + len(names))
    unique, inverse = np.unique(table, axis=0, return_inverse=True)
    results = np.empty(len(unique))
    looped = set(graph.looped)
    for index, (n_inner, n_rows, mem, *work) in enumerate(unique):
        count = max(n_inner * n_rows, 1.0)
        times = _Durations(
            per_tile={n: w / count for n, w in zip(names, work, strict=True) if n in looped},
            per_row={n: w / max(n_rows, 1.0) for n, w in zip(names, work, strict=True)},
            memory_per_tile=float(mem) / count,
            inner=max(int(n_inner), 1),
            rows=max(int(n_rows), 1),
        )
        results[index] = simulate_point(graph, times)
    return np.asarray(results[inverse.reshape(-1)].reshape(shape), dtype=np.float64)
