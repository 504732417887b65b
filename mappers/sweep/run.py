"""Run design-space sweeps: evaluate chunks of points vectorised and append them to a store.

The engine knows nothing about the cost model: it expands the spec into points
(:mod:`mappers.sweep.points`), hands each group of points that differ only in numbers to
the spec's evaluator in one call (:mod:`mappers.sweep.evaluators`), filters rows by the
constraints, and writes each finished chunk atomically (:mod:`mappers.sweep.store`) from
the executor of choice (:mod:`mappers.sweep.executors`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from einsum_cascade.diagnostics import suggest
from einsum_cascade.errors import DiagnosticError
from mappers.sweep.errors import SweepError
from mappers.sweep.evaluators import get_evaluator
from mappers.sweep.executors import Executor, SerialExecutor
from mappers.sweep.points import POINT_ID, PointBlock, chunk_ranges, count_points, point_blocks
from mappers.sweep.spec import SweepSpec
from mappers.sweep.store import open_store
from mappers.sweep.values import Constraint

Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class ChunkTask:
    """One chunk of a sweep: the points ``start <= point_id < stop``."""

    spec: SweepSpec
    chunk_id: int
    start: int
    stop: int


@dataclass(frozen=True, slots=True)
class SweepSummary:
    """What a call to :func:`run_sweep` did."""

    path: str
    num_points: int
    num_chunks: int
    chunks_skipped: int
    chunks_run: int
    rows_written: int

    def __str__(self) -> str:
        """Return a one-line report."""
        return (
            f"{self.num_points} points in {self.num_chunks} chunks: ran {self.chunks_run}, "
            f"skipped {self.chunks_skipped} already done; wrote {self.rows_written} rows "
            f"to {self.path}"
        )


def run_sweep(
    spec: SweepSpec,
    out: str | Path,
    *,
    executor: Executor | None = None,
    resume: bool = False,
    force: bool = False,
    progress: Progress | None = None,
) -> SweepSummary:
    """Evaluate every point of ``spec`` and write the rows, chunk by chunk, to ``out``.

    Args:
        spec: the sweep.
        out: the results directory (see :mod:`mappers.sweep.store`).
        executor: where chunks run; in this process by default.
        resume: skip the chunks an earlier, interrupted run of the same sweep completed.
        force: overwrite an existing output.
        progress: called with (points done, points in total) after each chunk.

    Returns:
        A summary of the chunks run and skipped and the rows written.

    Raises:
        SweepError: for an unknown evaluator or metric, a bad constraint, or an output that
            exists (without ``resume`` or ``force``) or belongs to another sweep.
    """
    get_evaluator(spec.evaluator, spec.span("evaluator"))
    ranges = chunk_ranges(spec)
    store = open_store(out, spec.fingerprint(), len(ranges), resume=resume, force=force)
    done = store.completed_chunks()
    tasks = [ChunkTask(spec, i, a, b) for i, (a, b) in enumerate(ranges) if i not in done]
    total = count_points(spec)
    finished = total - sum(task.stop - task.start for task in tasks)
    if progress is not None:
        progress(finished, total)
    rows = 0
    for task, frame in (executor or SerialExecutor()).run(evaluate_chunk, tasks):
        store.write_chunk(task.chunk_id, frame)
        rows += len(frame)
        finished += task.stop - task.start
        if progress is not None:
            progress(finished, total)
    return SweepSummary(str(out), total, len(ranges), len(ranges) - len(tasks), len(tasks), rows)


def evaluate_sweep(spec: SweepSpec) -> pd.DataFrame:
    """Evaluate every point of ``spec`` in this process and return the rows (no file)."""
    frames = [
        evaluate_chunk(ChunkTask(spec, i, a, b))[1] for i, (a, b) in enumerate(chunk_ranges(spec))
    ]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def evaluate_chunk(task: ChunkTask) -> tuple[ChunkTask, pd.DataFrame]:
    """Evaluate one chunk and return it with its rows (``point_id``, axes, metrics).

    Errors from the evaluator are re-raised as :class:`SweepError` with the same
    diagnostics, so they cross process boundaries intact.
    """
    try:
        blocks = [
            _evaluate_block(task.spec, block)
            for block in point_blocks(task.spec, task.start, task.stop)
        ]
    except DiagnosticError as exc:
        if isinstance(exc, SweepError):
            raise
        raise SweepError(exc.diagnostics) from None
    return task, pd.concat(blocks, ignore_index=True)


def _evaluate_block(spec: SweepSpec, block: PointBlock) -> pd.DataFrame:
    metric_constraints, keep = [], np.ones(len(block.point_ids), dtype=bool)
    for constraint in spec.constraints:
        if constraint.column in block.labels:
            keep &= constraint.mask(block.labels[constraint.column])
        else:
            metric_constraints.append(constraint)
    columns = {name: values[keep] for name, values in block.columns.items()}
    num_points = int(keep.sum())
    raw = get_evaluator(spec.evaluator)(block.group, columns)
    metrics = _metric_arrays(spec, raw, num_points)
    for constraint in metric_constraints:
        _check_column(constraint, (*block.labels, *metrics))
    table = {POINT_ID: block.point_ids[keep]}
    table |= {name: values[keep] for name, values in block.labels.items()}
    table |= {name: metrics[name] for name in (spec.metrics or tuple(metrics))}
    frame = pd.DataFrame(table)
    rows = np.ones(len(frame), dtype=bool)
    for constraint in metric_constraints:
        rows &= constraint.mask(metrics[constraint.column])
    return frame[rows].reset_index(drop=True)


def _metric_arrays(
    spec: SweepSpec, raw: Mapping[str, np.ndarray], num_points: int
) -> dict[str, np.ndarray]:
    metrics = {}
    for name, values in raw.items():
        array = np.asarray(values, dtype=float)
        if array.shape not in ((), (num_points,)):
            raise SweepError.single(
                "SW303",
                f"evaluator '{spec.evaluator}' returned {array.shape} values for metric "
                f"'{name}' but was given {num_points} points",
            )
        metrics[name] = np.broadcast_to(array, (num_points,)).copy()
    for index, name in enumerate(spec.metrics):
        if name not in metrics:
            hint = suggest(name, metrics) or "available: " + ", ".join(metrics)
            raise SweepError.single(
                "SW304",
                f"evaluator '{spec.evaluator}' gives no metric '{name}'",
                spec.span(f"metrics[{index}]"),
                hint,
            )
    return metrics


def _check_column(constraint: Constraint, names: tuple[str, ...]) -> None:
    if constraint.column not in names:
        raise SweepError.single(
            "SW305",
            f"constraint on '{constraint.column}', which is neither an axis nor a metric",
            constraint.span,
            suggest(constraint.column, names),
        )
