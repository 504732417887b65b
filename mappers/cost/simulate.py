"""``schedule: simulate``: a per-tile discrete-event simulation of the arrays and the memory.

The closed-form schedules price a run from whole-run totals (``pipelined``: interval times
tile count plus one fill and drain). This one replays it task by task:

* The run is ``rows`` x ``inner`` tiles. ``inner`` is the extent of the innermost DRAM loop
  (``M1``: the tiles one running state passes through); ``rows`` is every other loop
  (batch, heads, query tiles), each with its own running state.
* A task is one einsum on one tile; it lasts the einsum's cycles divided by the number of
  times it runs. Each array runs one task at a time and issues its tasks in program order
  (row, tile, einsum): a task starts when its inputs are ready and the array has finished
  the one issued before it. The arrays and the memory run concurrently, so tiles pipeline
  across them (one array works on tile g + 1 while the next works on tile g).
* In-order issue makes every start a maximum of sums of task lengths (a max-plus system),
  so no finish time falls when a length grows: more bandwidth or a faster array never
  gives a slower run. A greedy list schedule (start any ready task when free) is not so:
  given data earlier, an array starts the next tile's long task just before a short
  wait for the current tile's input ends, and the other array idles behind it.
* A task waits for the einsums whose value of the same tile it reads, for those it reads
  at their previous generation on the previous tile (the running-max recurrence
  ``RM[m1 + 1] = max(RM[m1], LM)``, and ``RD``, ``RNV`` through ``PRM``), and for its
  tile's data.
* The backing store moves one tile of data at a time (memory cycles / tiles), in order,
  into one of ``BUFFERS`` tile buffers: tile ``g``'s transfer waits until every task of
  tile ``g - BUFFERS`` has finished (double buffering), which bounds the tiles in flight.
* An einsum outside the innermost loop runs once per row: before the row's first tile when
  it reads nothing the loop computes (a prologue), else after its last tile (``AV`` reads
  the final ``RNV`` and ``RD``). A row's running state lives in one buffer: the first
  tile's state updates of the next row wait until this row's epilogue has read it.

So every row pays a fill (the first tile's chain through the arrays) and a drain (the last
recurrence step and the epilogue), which the closed forms charge once per run. With few
tiles per row (``M1 = 4`` at 1K tokens) that is a visible share of the latency.

Cost: not vectorised; one simulation per distinct point. The schedule is a max-plus
recurrence with constant task times, so after a transient each extra row and each extra
tile adds a constant: the run is simulated for ``ROWS`` x ``TILES`` sizes (at most 4 x 16
tiles, about a thousand tasks, tens of milliseconds) and extrapolated linearly in tiles,
then in rows, to the full run, by whole multiples of the step between the simulated sizes:
exact once the transient has passed for a steady state that repeats every 1, 2, 4 or 8
tiles (tests check it against full simulations).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from mappers.cost.pipeline import Pipeline

Array = NDArray[np.float64]
BUFFERS = 2
ROWS = (2, 4)  # simulated row counts for the extrapolation
TILES = (8, 16)  # simulated tiles per row
FULL_TILES = 512  # runs of at most this many tiles are simulated in full, never extrapolated
MEMORY = "<memory>"


@dataclass(frozen=True, slots=True)
class TileGraph:
    """The einsums of one row by role, in program order, and what each reads."""

    prologue: tuple[str, ...]
    looped: tuple[str, ...]
    epilogue: tuple[str, ...]
    arrays: dict[str, str]
    current: dict[str, tuple[str, ...]]
    carried: dict[str, tuple[str, ...]]

    @staticmethod
    def of(pipeline: Pipeline, arrays: dict[str, str]) -> TileGraph:
        """Split the pipeline's einsums into prologue, looped and epilogue tasks."""
        preds, same = dict(pipeline.preds), dict(pipeline.current)
        current = {n: same.get(n, preds.get(n, ())) for n in arrays}
        carried = {n: dict(pipeline.carried).get(n, ()) for n in arrays}
        order = [n for n in pipeline.order if n in arrays]
        after: set[str] = set()
        for name in order:
            if name not in pipeline.looped and any(
                p in pipeline.looped or p in after for p in current[name]
            ):
                after.add(name)
        return TileGraph(
            prologue=tuple(n for n in order if n not in pipeline.looped and n not in after),
            looped=tuple(n for n in order if n in pipeline.looped),
            epilogue=tuple(n for n in order if n in after),
            arrays=arrays,
            current=current,
            carried=carried,
        )

    @property
    def state_writers(self) -> frozenset[str]:
        """Return the looped einsums whose previous generation is read (running state)."""
        return frozenset(p for preds in self.carried.values() for p in preds)


@dataclass(frozen=True, slots=True)
class Durations:
    """Task lengths of one point: per tile (looped einsums), per row (the others), memory."""

    per_tile: dict[str, float]
    per_row: dict[str, float]
    memory_per_tile: float


@dataclass(slots=True)
class _Tasks:
    """The task graph of a run, in program order (the priority)."""

    resource: list[str] = field(default_factory=list)
    duration: list[float] = field(default_factory=list)
    deps: list[list[int]] = field(default_factory=list)

    def add(self, resource: str, duration: float, deps: list[int]) -> int:
        self.resource.append(resource)
        self.duration.append(duration)
        self.deps.append(sorted(set(deps)))
        return len(self.resource) - 1


def _build(graph: TileGraph, times: Durations, rows: int, inner: int, buffers: int) -> _Tasks:
    tasks = _Tasks()
    tile_tasks: list[list[int]] = []  # every task of each global tile
    previous_epilogue: list[int] = []
    writers = graph.state_writers
    for _ in range(rows):
        row: dict[str, int] = {}
        for name in graph.prologue:
            deps = [row[p] for p in graph.current[name] if p in row]
            row[name] = tasks.add(graph.arrays[name], times.per_row[name], deps)
        last: dict[str, int] = {}
        for index in range(inner):
            gate = tile_tasks[-buffers] if len(tile_tasks) >= buffers else []
            transfer = tasks.add(MEMORY, times.memory_per_tile, gate)
            done: dict[str, int] = {}
            for name in graph.looped:
                deps = [transfer]
                deps += [{**row, **done}[p] for p in graph.current[name] if p in done or p in row]
                deps += [last[p] for p in graph.carried[name] if p in last]
                if index == 0 and name in writers:
                    deps += previous_epilogue
                done[name] = tasks.add(graph.arrays[name], times.per_tile[name], deps)
            tile_tasks.append(list(done.values()))
            last = done
        epilogue: list[int] = []
        for name in graph.epilogue:
            sources = {**last, **row}
            deps = [sources[p] for p in graph.current[name] if p in sources]
            row[name] = tasks.add(graph.arrays[name], times.per_row[name], deps)
            epilogue.append(row[name])
        previous_epilogue = epilogue or list(last.values())
    return tasks


def _schedule(tasks: _Tasks) -> float:
    """Run the tasks in order of issue; return when the last one ends.

    Every resource issues its tasks in program order (the order they were added): a task
    starts once its inputs are ready and its resource has finished the task issued before
    it. Each start is a maximum of sums of earlier durations, so no finish time can fall
    when a duration grows: a faster memory or array never makes the run slower.
    """
    finish = [0.0] * len(tasks.resource)
    free: dict[str, float] = {}
    for task, (resource, duration, deps) in enumerate(
        zip(tasks.resource, tasks.duration, tasks.deps, strict=True)
    ):
        start = max([free.get(resource, 0.0), *(finish[d] for d in deps)])
        finish[task] = free[resource] = start + duration
    return max(finish, default=0.0)


def simulate_run(
    graph: TileGraph, times: Durations, rows: int, inner: int, buffers: int = BUFFERS
) -> float:
    """Return the simulated latency in cycles of ``rows`` x ``inner`` tiles, in full."""
    return _schedule(_build(graph, times, rows, inner, buffers))


def _sizes(steps: tuple[int, int], target: int) -> tuple[int, int]:
    """Return two simulated sizes ``d`` apart, the larger congruent to ``target`` mod ``d``.

    Extrapolating by whole multiples of ``d`` stays exact for a schedule whose steady state
    repeats every 1, 2, 4 or 8 steps (``d`` = 8 tiles, 2 rows by default).
    """
    small, large = steps
    step = large - small
    large += (target - large) % step
    return large - step, large


def _extrapolate(sizes: tuple[int, int], target: int, values: tuple[float, float]) -> float:
    (small, large), (low, high) = sizes, values
    return high + (target - large) * (high - low) / (large - small)


def _along(steps: tuple[int, int], target: int, run: Callable[[int], float]) -> float:
    """Return ``run(target)``, simulated in full or extrapolated from a steady state.

    Three sizes ``d`` apart must grow by equal steps before the larger two are extrapolated
    from: only then has the transient passed and the extrapolation is the full simulation's
    value (which is monotone, where an extrapolation from a transient is not: its smaller
    size enters with a negative weight). Otherwise the sizes and ``d`` double, until the
    next sizes reach ``target`` and the run is simulated in full.
    """
    while True:
        low, high = _sizes(steps, target)
        third = high + (high - low)
        if third >= target:
            return run(target)
        values = run(low), run(high), run(third)
        growth = values[2] - values[1]
        if abs(growth - (values[1] - values[0])) <= 1e-9 * max(1.0, abs(values[2])):
            return _extrapolate((high, third), target, values[1:])
        steps = (2 * steps[0], 2 * steps[1])


def simulate_point(
    graph: TileGraph, times: Durations, rows: int, inner: int, buffers: int = BUFFERS
) -> float:
    """Return the latency of one point: simulated, extrapolated past a steady state.

    Up to ``FULL_TILES`` tiles the run is simulated in full, and the result is monotone
    (more bandwidth or a faster array is never slower). Past it the value is extrapolated
    from simulated sizes whose growth looked steady; a transient longer than those sizes
    (an array that starts ahead and is overtaken rows later) makes the extrapolation
    optimistic and, unlike the full simulation, not guaranteed monotone.
    """
    if rows * inner <= FULL_TILES:
        return simulate_run(graph, times, rows, inner, buffers)

    def along_tiles(r: int) -> float:
        return _along(TILES, inner, lambda i: simulate_run(graph, times, r, i, buffers))

    return _along(ROWS, rows, along_tiles)


def simulate_latency(
    pipeline: Pipeline,
    cycles: dict[str, Array],
    arrays: dict[str, str],
    memory: Array,
    buffers: int = BUFFERS,
) -> Array:
    """Return the simulated latency in cycles of every point (one simulation per distinct one).

    Args:
        pipeline: tiles, the innermost loop's extent and the einsum graph.
        cycles: compute cycles per costed einsum over the whole run.
        arrays: the array each costed einsum is bound to.
        memory: backing-store cycles over the whole run.
        buffers: tile buffers (tiles in flight); 1 forbids any overlap between tiles.
    """
    graph = TileGraph.of(pipeline, arrays)
    shape = np.broadcast_shapes(
        np.shape(pipeline.tiles), np.shape(memory), *(np.shape(c) for c in cycles.values())
    )
    tiles = np.broadcast_to(np.asarray(pipeline.tiles, dtype=float), shape)
    inner_tiles = 1.0 if pipeline.inner_tiles is None else pipeline.inner_tiles
    inner = np.broadcast_to(np.asarray(inner_tiles, dtype=float), shape)
    names = (*graph.prologue, *graph.looped, *graph.epilogue)
    columns = [np.broadcast_to(np.asarray(cycles[n], dtype=float), shape) for n in names]
    table = np.stack(
        [np.rint(inner), np.rint(tiles / inner), np.broadcast_to(memory, shape), *columns],
        axis=-1,
    ).reshape(-1, 3 + len(names))
    unique, inverse = np.unique(table, axis=0, return_inverse=True)
    results = np.empty(len(unique))
    looped = set(graph.looped)
    for index, (n_inner, n_rows, memory_cycles, *work) in enumerate(unique):
        inner_count, row_count = max(int(n_inner), 1), max(int(n_rows), 1)
        total = inner_count * row_count
        times = Durations(
            per_tile={n: w / total for n, w in zip(names, work, strict=True) if n in looped},
            per_row={n: w / row_count for n, w in zip(names, work, strict=True)},
            memory_per_tile=float(memory_cycles) / total,
        )
        results[index] = simulate_point(graph, times, row_count, inner_count, buffers)
    return np.asarray(results[inverse.reshape(-1)].reshape(shape), dtype=np.float64)
