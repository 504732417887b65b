"""Run design-space sweeps: evaluate chunks of points vectorised and append them to a store.

The engine knows nothing about the cost model: it expands the spec into points
(:mod:`mappers.sweep.points`), hands each group of points that differ only in numbers to
the spec's evaluator in one call (:mod:`mappers.sweep.evaluators`), filters rows by the
constraints, and writes each finished chunk atomically (:mod:`mappers.sweep.store`) from
the executor of choice (:mod:`mappers.sweep.executors`).

A point the evaluator cannot evaluate does not stop the sweep: it becomes a row with
``feasible = false`` and a ``reason`` (the diagnostic, located at the axis value that
caused it when that is known). Errors of the sweep itself (an unknown metric, a constraint
on no column) stop it, and so does every error of a ``strict`` sweep.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from einsum_cascade.diagnostics import Diagnostic, Severity, SourceSpan, suggest
from einsum_cascade.errors import DiagnosticError
from mappers.sweep.errors import SweepError
from mappers.sweep.evaluators import InfeasiblePoints, check_settings, get_evaluator
from mappers.sweep.executors import Executor, SerialExecutor
from mappers.sweep.points import (
    POINT_ID,
    PointBlock,
    PointGroup,
    chunk_ranges,
    count_points,
    point_blocks,
)
from mappers.sweep.provenance import describe_sweep
from mappers.sweep.spec import Axis, SweepSpec
from mappers.sweep.store import open_store
from mappers.sweep.values import Constraint

Progress = Callable[[int, int], None]
FEASIBLE = "feasible"
REASON = "reason"


@dataclass(frozen=True, slots=True)
class ChunkRows:
    """The rows of a chunk as columns; a column named in ``names`` holds codes into its names
    (-1: no value), which is how text columns (axis names, reasons) travel and are written.
    """

    columns: dict[str, np.ndarray]
    names: dict[str, tuple[str, ...]]

    def __len__(self) -> int:
        """Return the number of rows."""
        return len(self.columns[POINT_ID])

    def infeasible(self) -> int:
        """Return how many rows are infeasible."""
        return int((~self.columns[FEASIBLE]).sum())

    def decoded(self) -> dict[str, np.ndarray]:
        """Return the columns with codes replaced by their names (None for -1)."""
        out = {}
        for key, values in self.columns.items():
            if key in self.names:
                table = np.asarray([*self.names[key], None], dtype=object)
                values = table[np.where(values < 0, len(table) - 1, values)]
            out[key] = values
        return out


@dataclass(frozen=True, slots=True)
class ChunkTask:
    """One chunk of a sweep: the points ``start <= point_id < stop``."""

    spec: SweepSpec
    chunk_id: int
    start: int
    stop: int
    strict: bool = False


@dataclass(frozen=True, slots=True)
class SweepSummary:
    """What a call to :func:`run_sweep` did."""

    path: str
    num_points: int
    num_chunks: int
    chunks_skipped: int
    chunks_run: int
    rows_written: int
    infeasible_rows: int = 0

    def __str__(self) -> str:
        """Return a one-line report."""
        infeasible = f" ({self.infeasible_rows} infeasible)" if self.infeasible_rows else ""
        return (
            f"{self.num_points} points in {self.num_chunks} chunks: ran {self.chunks_run}, "
            f"skipped {self.chunks_skipped} already done; wrote {self.rows_written} rows"
            f"{infeasible} to {self.path}"
        )


def run_sweep(
    spec: SweepSpec,
    out: str | Path,
    *,
    executor: Executor | None = None,
    resume: bool = False,
    force: bool = False,
    strict: bool = False,
    progress: Progress | None = None,
) -> SweepSummary:
    """Evaluate every point of ``spec`` and write the rows, chunk by chunk, to ``out``.

    Args:
        spec: the sweep.
        out: the results directory (see :mod:`mappers.sweep.store`).
        executor: where chunks run; in this process by default.
        resume: skip the chunks an earlier, interrupted run of the same sweep completed.
        force: replace an existing sweep output (never anything else).
        strict: stop at the first point that fails instead of recording it as a row.
        progress: called with (points done, points in total) after each chunk.

    Returns:
        A summary of the chunks run and skipped and the rows written.

    Raises:
        SweepError: for an unknown evaluator, setting or metric, a bad constraint, an
            output that exists (without ``resume`` or ``force``), belongs to another sweep
            or is in use; with ``strict``, for the first point that fails.
    """
    get_evaluator(spec.evaluator, spec.span("evaluator"))
    check_settings(spec)
    ranges = chunk_ranges(spec)
    total = count_points(spec)
    provenance = describe_sweep(spec)
    store = open_store(
        out, provenance["fingerprint"], len(ranges), provenance, resume=resume, force=force
    )
    try:
        done = store.completed_chunks()
        tasks = [
            ChunkTask(spec, i, a, b, strict) for i, (a, b) in enumerate(ranges) if i not in done
        ]
        finished = total - sum(task.stop - task.start for task in tasks)
        if progress is not None:
            progress(finished, total)
        rows = infeasible = 0
        for task, table in (executor or SerialExecutor()).run(evaluate_chunk, tasks):
            store.write_chunk(task.chunk_id, table)
            rows += len(table)
            infeasible += table.infeasible()
            finished += task.stop - task.start
            if progress is not None:
                progress(finished, total)
    except BaseException:
        store.abandon()
        raise
    store.close()
    return SweepSummary(
        str(out), total, len(ranges), len(ranges) - len(tasks), len(tasks), rows, infeasible
    )


def evaluate_sweep(spec: SweepSpec, *, strict: bool = False) -> Any:
    """Evaluate every point of ``spec`` in this process and return the rows as a DataFrame."""
    import pandas as pd

    from mappers.sweep.store import arrow_table

    get_evaluator(spec.evaluator, spec.span("evaluator"))
    check_settings(spec)
    frames = [
        arrow_table(*_parts(evaluate_chunk(ChunkTask(spec, i, a, b, strict))[1])).to_pandas()
        for i, (a, b) in enumerate(chunk_ranges(spec))
    ]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def evaluate_sweep_columns(spec: SweepSpec, *, strict: bool = False) -> dict[str, np.ndarray]:
    """Evaluate every point of ``spec`` in this process and return the rows as columns.

    The columns of :func:`evaluate_sweep` without pandas or Arrow: text columns hold
    ``str`` objects (None for no value), numbers and flags their NumPy types.
    """
    get_evaluator(spec.evaluator, spec.span("evaluator"))
    check_settings(spec)
    blocks = [
        evaluate_chunk(ChunkTask(spec, i, a, b, strict))[1]
        for i, (a, b) in enumerate(chunk_ranges(spec))
    ]
    return _concatenate(blocks).decoded() if blocks else {}


def _parts(rows: ChunkRows) -> tuple[dict[str, np.ndarray], dict[str, tuple[str, ...]]]:
    return rows.columns, rows.names


def evaluate_chunk(task: ChunkTask) -> tuple[ChunkTask, ChunkRows]:
    """Evaluate one chunk and return it with its rows (``point_id``, axes, metrics, feasibility).

    Errors that stop the sweep are raised as :class:`SweepError`, whose diagnostics cross
    process boundaries intact.
    """
    try:
        blocks = [
            _evaluate_block(task.spec, block, task.strict)
            for block in point_blocks(task.spec, task.start, task.stop)
        ]
    except SweepError:
        raise
    except DiagnosticError as exc:
        raise SweepError(exc.diagnostics) from None
    return task, _concatenate(blocks)


def _concatenate(blocks: list[ChunkRows]) -> ChunkRows:
    if len(blocks) == 1:
        return blocks[0]
    keys = list(dict.fromkeys(key for block in blocks for key in block.columns))
    names: dict[str, tuple[str, ...]] = {}
    for key in dict.fromkeys(key for block in blocks for key in block.names):
        names[key] = tuple(dict.fromkeys(n for block in blocks for n in block.names.get(key, ())))
    columns: dict[str, np.ndarray] = {}
    for key in keys:
        parts = []
        for block in blocks:
            values = block.columns.get(key)
            if values is None:
                values = np.full(len(block), -1 if key in names else np.nan)
            elif key in names and block.names.get(key) != names[key]:
                position = {name: index for index, name in enumerate(names[key])}
                remap = np.array([position[n] for n in block.names[key]] + [-1], dtype=np.int32)
                values = remap[np.where(values < 0, len(remap) - 1, values)]
            parts.append(values)
        columns[key] = np.concatenate(parts)
    return ChunkRows(columns, names)


def _evaluate_block(spec: SweepSpec, block: PointBlock, strict: bool) -> ChunkRows:
    metric_constraints, keep = [], None
    for constraint in spec.constraints:
        if constraint.column in block.labels:
            mask = constraint.mask(block.decoded()[constraint.column])
            keep = mask if keep is None else keep & mask
        else:
            metric_constraints.append(constraint)
    if keep is not None and not keep.all():
        columns = {name: values[keep] for name, values in block.columns.items()}
        labels = {name: values[keep] for name, values in block.labels.items()}
        ids = block.point_ids[keep]
    else:
        columns, labels, ids = block.columns, block.labels, block.point_ids
    outcome = _Outcome(spec, block.group, columns, labels, block.names, len(ids), strict)
    metrics, reasons = outcome.run()
    for constraint in metric_constraints:
        if metrics or not outcome.failed:
            _check_column(constraint, (*labels, *metrics))
    if outcome.failed:
        feasible = np.array([reason is None for reason in reasons.tolist()], dtype=bool)
    else:
        feasible = np.ones(len(ids), dtype=bool)
    rows = feasible.copy()
    for constraint in metric_constraints:
        if constraint.column in metrics:
            rows &= constraint.mask(metrics[constraint.column])
    rows |= ~feasible
    select = None if rows.all() else rows
    table: dict[str, np.ndarray] = {POINT_ID: _take(ids, select)}
    table |= {name: _take(values, select) for name, values in labels.items()}
    names = spec.metrics or tuple(metrics)
    table |= {name: _take(metrics.get(name, _nan(len(ids))), select) for name in names}
    table[FEASIBLE] = _take(feasible, select)
    texts = dict(block.names)
    if outcome.failed:
        distinct = tuple(dict.fromkeys(r for r in reasons.tolist() if r is not None))
        position = {reason: index for index, reason in enumerate(distinct)}
        codes = np.array([position.get(r, -1) for r in reasons.tolist()], dtype=np.int32)
        table[REASON], texts[REASON] = _take(codes, select), distinct
    else:
        table[REASON], texts[REASON] = np.full(len(table[POINT_ID]), -1, dtype=np.int32), ()
    return ChunkRows(table, texts)


def _take(values: np.ndarray, select: np.ndarray | None) -> np.ndarray:
    return values if select is None else values[select]


def _nan(count: int) -> np.ndarray:
    return np.full(count, np.nan)


class _Outcome:
    """Evaluates one block's points, turning failures into per-point reasons."""

    def __init__(
        self,
        spec: SweepSpec,
        group: PointGroup,
        columns: Mapping[str, np.ndarray],
        labels: Mapping[str, np.ndarray],
        names: Mapping[str, tuple[str, ...]],
        count: int,
        strict: bool,
    ) -> None:
        self.spec, self.group, self.columns, self.labels = spec, group, columns, labels
        self.names = names
        self.count, self.strict = count, strict
        self.evaluator = get_evaluator(spec.evaluator)
        self.reasons = np.full(count, None, dtype=object)
        self.failed = False
        self.group_fails: bool | None = None

    def run(self) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Return the metrics (NaN where infeasible) and the reasons (None where feasible)."""
        results: list[tuple[np.ndarray | None, Mapping[str, np.ndarray]]] = []
        pending: list[np.ndarray | None] = [None]  # None: every point, no copy
        while pending:
            index = pending.pop()
            try:
                results.append((index, self.evaluator(self.group, self._columns(index))))
            except InfeasiblePoints as signal:
                pending.extend(self._infeasible(index, signal))
            except SweepError:
                raise
            except Exception as exc:
                pending.extend(self._failed(index, exc))
        metrics: dict[str, np.ndarray] = {}
        for index, raw in results:
            size = self.count if index is None else len(index)
            for name, values in _metric_arrays(self.spec, raw, size).items():
                if index is None:
                    metrics[name] = values
                else:
                    metrics.setdefault(name, _nan(self.count))[index] = values
        if results:
            _check_metrics(self.spec, tuple(results[0][1]))
        return metrics, self.reasons

    def _columns(self, index: np.ndarray | None) -> dict[str, np.ndarray]:
        if index is None:
            return dict(self.columns)
        return {name: values[index] for name, values in self.columns.items()}

    def _positions(self, index: np.ndarray | None) -> np.ndarray:
        return np.arange(self.count) if index is None else index

    def _infeasible(self, index: np.ndarray | None, signal: InfeasiblePoints) -> list[np.ndarray]:
        positions = self._positions(index)
        mask = np.broadcast_to(signal.mask, positions.shape)
        if not mask.any():
            return self._failed(index, signal)
        bad = positions[mask]
        where = np.flatnonzero(mask)
        if self.strict:
            raise SweepError([self._locate_on_axis(signal, int(bad[0]), int(where[0]))])
        self.failed = True
        self._record_on_axis(signal, bad, where)
        rest = positions[~mask]
        return [rest] if len(rest) else []

    def _failed(self, index: np.ndarray | None, exc: Exception) -> list[np.ndarray]:
        diagnostics = _diagnostics_of(exc, self.spec.evaluator)
        positions = self._positions(index)
        if self.strict:
            raise SweepError([self._relocate(d, int(positions[0])) for d in diagnostics])
        if len(positions) > 1 and self.columns and not self._fails_as_a_group():
            half = len(positions) // 2
            return [positions[half:], positions[:half]]
        first = self._relocate(diagnostics[0], int(positions[0]))
        self.failed = True
        self.reasons[positions] = render_reason(first)
        return []

    def _fails_as_a_group(self) -> bool:
        """Return whether the evaluator fails on this group with no points at all."""
        if self.group_fails is None:
            empty = {name: values[:0] for name, values in self.columns.items()}
            try:
                self.evaluator(self.group, empty)
                self.group_fails = False
            except Exception:
                self.group_fails = True
        return self.group_fails

    def _record_on_axis(self, signal: InfeasiblePoints, bad: np.ndarray, where: np.ndarray) -> None:
        axis = self._axis(signal.axis)
        if axis is None or signal.axis is None:
            if signal.messages is None:
                self.reasons[bad] = render_reason(signal.diagnostic())
            else:
                for position, at in zip(bad.tolist(), where.tolist(), strict=True):
                    self.reasons[position] = render_reason(signal.diagnostic(at))
            return
        cache: dict[tuple[Any, str], str] = {}
        for position, at in zip(bad.tolist(), where.tolist(), strict=True):
            value = self._value(axis, position)
            message = signal.message if signal.messages is None else str(signal.messages[at])
            key = (value, message)
            if key not in cache:
                cache[key] = render_reason(self._locate_on_axis(signal, position, at))
            self.reasons[position] = cache[key]

    def _locate_on_axis(self, signal: InfeasiblePoints, position: int, at: int) -> Diagnostic:
        diagnostic = signal.diagnostic(at)
        axis = self._axis(signal.axis)
        if axis is None:
            return diagnostic
        span = axis.value_span(self._value(axis, position))
        return _with_span(diagnostic, span) if span is not None else diagnostic

    def _axis(self, name: str | None) -> Axis | None:
        return next((a for a in self.spec.axes if a.name == name), None)

    def _value(self, axis: Axis, position: int) -> Any:
        if axis.kind == "text":
            return self.names[axis.name][int(self.labels[axis.name][position])]
        values = self.columns[axis.name][position]
        return tuple(values.tolist()) if axis.kind == "vector" else values.item()

    def _relocate(self, diagnostic: Diagnostic, position: int) -> Diagnostic:
        """Locate an unlocated diagnostic at the axis value its message quotes."""
        if diagnostic.span is not None:
            return diagnostic
        for axis in self.spec.axes:
            if axis.name not in self.labels:
                continue
            value = self._value(axis, position)
            text = value if isinstance(value, str) else None
            if text is not None and f"'{text}'" in diagnostic.message:
                span = axis.value_span(value)
                if span is not None:
                    return _with_span(diagnostic, span)
        return diagnostic


def _with_span(diagnostic: Diagnostic, span: SourceSpan) -> Diagnostic:
    return Diagnostic(
        diagnostic.severity,
        diagnostic.code,
        diagnostic.message,
        span,
        diagnostic.hint,
        diagnostic.notes,
    )


def _diagnostics_of(exc: Exception, evaluator: str) -> list[Diagnostic]:
    if isinstance(exc, DiagnosticError) and exc.diagnostics:
        return list(exc.diagnostics)
    if isinstance(exc, InfeasiblePoints):
        return [exc.diagnostic()]
    message = f"evaluator '{evaluator}' failed: {type(exc).__name__}: {exc}"
    return [Diagnostic(Severity.ERROR, "SW310", message, None)]


def render_reason(diagnostic: Diagnostic) -> str:
    """Return the one-line ``reason`` of an infeasible row: location, code and message."""
    head = f"error[{diagnostic.code}]: {diagnostic.message}"
    return f"{diagnostic.span.location()}: {head}" if diagnostic.span is not None else head


def _metric_arrays(
    spec: SweepSpec, raw: Mapping[str, np.ndarray], num_points: int
) -> dict[str, np.ndarray]:
    metrics = {}
    wanted = {*spec.metrics, *(c.column for c in spec.constraints)} if spec.metrics else None
    for name, values in raw.items():
        if wanted is not None and name not in wanted:
            continue
        array = np.asarray(values, dtype=float)
        if array.shape != (num_points,):
            if array.shape != ():
                raise SweepError.single(
                    "SW303",
                    f"evaluator '{spec.evaluator}' returned {array.shape} values for metric "
                    f"'{name}' but was given {num_points} points",
                )
            array = np.full(num_points, float(array))
        metrics[name] = array
    return metrics


def _check_metrics(spec: SweepSpec, available: tuple[str, ...]) -> None:
    for index, name in enumerate(spec.metrics):
        if name not in available:
            hint = suggest(name, available) or "available: " + ", ".join(available)
            raise SweepError.single(
                "SW304",
                f"evaluator '{spec.evaluator}' gives no metric '{name}'",
                spec.span(f"metrics[{index}]"),
                hint,
            )


def _check_column(constraint: Constraint, names: tuple[str, ...]) -> None:
    if constraint.column not in names:
        raise SweepError.single(
            "SW305",
            f"constraint on '{constraint.column}', which is neither an axis nor a metric",
            constraint.span,
            suggest(constraint.column, names),
        )
