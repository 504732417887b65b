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

Cost: the run is not replayed task by task (:func:`simulate_run` does that, as the
reference). With in-order issue the times after a tile are a max-plus linear function of
the times after the tile before (a maximum over earlier finishes plus constant task
lengths), so one row is a constant max-plus matrix and the run is its ``rows``-th power:
:func:`simulate_point` takes the powers by repeated squaring, exact for any run length
(equal to the full replay up to rounding) and monotone for the same reason the replay is.
A point costs about a millisecond, whatever its tile count.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from mappers.cost.pipeline import Pipeline

Array = NDArray[np.float64]
BUFFERS = 2
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
    """Return the latency in cycles of ``rows`` x ``inner`` tiles, replayed task by task.

    The reference :func:`simulate_point` is checked against; its cost grows with the tasks.
    """
    return _schedule(_build(graph, times, rows, inner, buffers))


# A time in the max-plus form: entry j is the longest path from state entry j (-inf: none),
# so the time is max_j(form[j] + state[j]).
NONE = -np.inf


def maxplus(left: Array, right: Array) -> Array:
    """Return the max-plus product: ``out[i, j] = max_k left[i, k] + right[k, j]``."""
    return np.asarray((left[:, :, None] + right[None, :, :]).max(axis=1), dtype=np.float64)


def maxplus_power(matrix: Array, exponent: int) -> Array:
    """Return ``matrix`` to the max-plus power ``exponent`` >= 0, by repeated squaring."""
    result = np.full_like(matrix, NONE)
    np.fill_diagonal(result, 0.0)
    square = matrix
    while exponent:
        if exponent & 1:
            result = maxplus(square, result)
        exponent >>= 1
        if exponent:
            square = maxplus(square, square)
    return result


class _Step:
    """One stage of a row (prologue, a tile, epilogue) as a max-plus matrix over the state.

    The state holds what later tasks wait for: each resource's free time, the finish of the
    last ``buffers`` tiles (their transfers' gates, newest first), each looped einsum's
    finish on the last tile (``last``), each prologue einsum's in this row (``row``) and
    the row's end that the next row's state updates wait for (``previous``). A time is a
    row vector over that state (its max-plus form); a task's finish is the maximum of its
    resource's free time and its inputs' finishes, plus its length: the same rule as
    :func:`_schedule`, applied to forms instead of numbers.
    """

    def __init__(self, keys: dict[tuple[str, str], int]) -> None:
        self.keys = keys
        unit = np.full((len(keys), len(keys)), NONE)
        np.fill_diagonal(unit, 0.0)
        self.forms: dict[tuple[str, str], Array] = {key: unit[i] for key, i in keys.items()}

    def get(self, kind: str, name: str) -> Array:
        return self.forms[(kind, name)]

    def set(self, kind: str, name: str, form: Array) -> None:
        self.forms[(kind, name)] = form

    def task(self, resource: str, duration: float, deps: list[Array]) -> Array:
        finish = np.maximum.reduce([self.get("free", resource), *deps]) + duration
        self.set("free", resource, finish)
        return np.asarray(finish, dtype=np.float64)

    def matrix(self) -> Array:
        return np.stack([self.forms[key] for key in self.keys])


def _latest(forms: list[Array], size: int) -> Array:
    """Return the form of the last of ``forms`` to finish (none: never waited for)."""
    return np.asarray(np.maximum.reduce(forms) if forms else np.full(size, NONE), np.float64)


@dataclass(frozen=True, slots=True)
class _Row:
    """The stages of a row as max-plus matrices, and the state layout they act on."""

    keys: dict[tuple[str, str], int]
    prologue: Array
    first: Array  # a row's first tile: no carried inputs, waits for the previous row's end
    tile: Array  # every later tile
    epilogue: Array

    @staticmethod
    def of(graph: TileGraph, times: Durations, buffers: int) -> _Row:
        resources = sorted({*graph.arrays.values(), MEMORY})
        names = [("free", r) for r in resources]
        names += [("gate", str(k)) for k in range(buffers)]
        names += [("last", n) for n in graph.looped] + [("row", n) for n in graph.prologue]
        keys = {key: index for index, key in enumerate([*names, ("previous", "")])}
        return _Row(
            keys,
            _prologue(graph, times, keys),
            _tile(graph, times, keys, buffers, first=True),
            _tile(graph, times, keys, buffers, first=False),
            _epilogue(graph, times, keys),
        )


def _prologue(graph: TileGraph, times: Durations, keys: dict[tuple[str, str], int]) -> Array:
    step, row = _Step(keys), dict[str, Array]()
    for name in graph.prologue:
        deps = [row[p] for p in graph.current[name] if p in row]
        row[name] = step.task(graph.arrays[name], times.per_row[name], deps)
        step.set("row", name, row[name])
    return step.matrix()


def _tile(
    graph: TileGraph, times: Durations, keys: dict[tuple[str, str], int], buffers: int, first: bool
) -> Array:
    step = _Step(keys)
    transfer = step.task(MEMORY, times.memory_per_tile, [step.get("gate", str(buffers - 1))])
    row = {n: step.get("row", n) for n in graph.prologue}
    last = {} if first else {n: step.get("last", n) for n in graph.looped}
    done: dict[str, Array] = {}
    for name in graph.looped:
        deps = [transfer]
        deps += [{**row, **done}[p] for p in graph.current[name] if p in done or p in row]
        deps += [last[p] for p in graph.carried[name] if p in last]
        if first and name in graph.state_writers:
            deps.append(step.get("previous", ""))
        done[name] = step.task(graph.arrays[name], times.per_tile[name], deps)
    gates = [_latest(list(done.values()), len(keys))]
    gates += [step.get("gate", str(k)) for k in range(buffers - 1)]
    for k, gate in enumerate(gates):
        step.set("gate", str(k), gate)
    for name, form in done.items():
        step.set("last", name, form)
    return step.matrix()


def _epilogue(graph: TileGraph, times: Durations, keys: dict[tuple[str, str], int]) -> Array:
    step = _Step(keys)
    last = {n: step.get("last", n) for n in graph.looped}
    row = {n: step.get("row", n) for n in graph.prologue}
    epilogue: list[Array] = []
    for name in graph.epilogue:
        sources = {**last, **row}
        deps = [sources[p] for p in graph.current[name] if p in sources]
        row[name] = step.task(graph.arrays[name], times.per_row[name], deps)
        epilogue.append(row[name])
    step.set("previous", "", _latest(epilogue or list(last.values()), len(keys)))
    return step.matrix()


def simulate_point(
    graph: TileGraph, times: Durations, rows: int, inner: int, buffers: int = BUFFERS
) -> float:
    """Return the latency of ``rows`` x ``inner`` tiles: :func:`simulate_run`'s, in closed form.

    A row maps the state (see :class:`_Step`) to the next row's by the max-plus matrix
    ``epilogue (x) tile^(inner - 1) (x) first (x) prologue``; the run is that matrix to the
    power ``rows`` applied to the start (every resource free at 0). The powers are taken by
    repeated squaring: O(n^3 log(rows x inner)) for n state entries. Each entry is a longest
    path, a maximum of sums of task lengths, so the result equals the task-by-task
    simulation (up to rounding) and cannot fall when a task gets longer.
    """
    if buffers < 1:
        raise ValueError(f"buffers must be at least 1, not {buffers}")
    stages = _Row.of(graph, times, buffers)
    row = maxplus(maxplus_power(stages.tile, inner - 1), maxplus(stages.first, stages.prologue))
    run = maxplus_power(maxplus(stages.epilogue, row), rows)
    start = np.array([0.0 if kind == "free" else NONE for kind, _ in stages.keys])
    free = [index for (kind, _), index in stages.keys.items() if kind == "free"]
    return float(np.max(run[free] + start, initial=0.0))


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
