"""Pareto fronts: the non-dominated rows of a results table for two or three metrics."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from einsum_cascade.diagnostics import suggest
from mappers.sweep.errors import SweepError

if TYPE_CHECKING:
    import pandas as pd

DIRECTIONS = ("min", "max")


def pareto(
    frame: pd.DataFrame, metrics: Sequence[str], directions: Sequence[str] | None = None
) -> pd.DataFrame:
    """Return the rows of ``frame`` that no other row dominates.

    A row dominates another when it is at least as good in every metric and better in one.
    Rows with a missing (NaN) metric are never on the front; exact duplicates of a front
    point are all kept. Two metrics take O(n log n) (sort, then a running best); three
    compare each candidate with the front found so far.

    Args:
        frame: the results.
        metrics: two or three column names.
        directions: ``"min"`` or ``"max"`` per metric; all ``"min"`` by default.

    Returns:
        The non-dominated rows, ordered by the first metric (best first), original index kept.

    Raises:
        SweepError: SW401 for an unknown column, SW402 for a bad direction, SW403 for a
            number of metrics other than two or three.

    Example:
        >>> import pandas as pd
        >>> table = pd.DataFrame({"area": [1, 2, 3, 2], "latency": [9, 4, 1, 5]})
        >>> pareto(table, ["area", "latency"])["area"].tolist()
        [1, 2, 3]
    """
    names = list(metrics)
    _signs(names, directions)  # SW403, SW402 before a column is looked up
    for name in names:
        if name not in frame.columns:
            hint = suggest(name, map(str, frame.columns))
            raise SweepError.single("SW401", f"the results have no column '{name}'", None, hint)
    return frame.iloc[front_positions(frame[names].to_numpy(dtype=float), directions)]


def front_positions(values: np.ndarray, directions: Sequence[str] | None = None) -> np.ndarray:
    """Return the positions of the non-dominated rows of ``values`` (one column per
    metric, two or three), ordered by the first metric (best first): :func:`pareto` on an
    array.

    Raises:
        SweepError: SW402 for a bad direction, SW403 for a number of metrics other than
            two or three.
    """
    signs = _signs([str(i) for i in range(values.shape[1])], directions)
    values = values * signs
    finite = ~np.isnan(values).any(axis=1)
    unique, inverse = np.unique(values[finite], axis=0, return_inverse=True)
    on_front = _front_2d(unique) if values.shape[1] == 2 else _front_nd(unique)
    rows = np.flatnonzero(finite)[on_front[inverse.reshape(-1)]]
    positions: np.ndarray = rows[np.argsort(values[rows, 0], kind="stable")]
    return positions


def _signs(names: list[str], directions: Sequence[str] | None) -> np.ndarray:
    if len(names) not in (2, 3):
        raise SweepError.single(
            "SW403", f"a Pareto front needs two or three metrics, not {len(names)}"
        )
    chosen = list(directions) if directions is not None else ["min"] * len(names)
    if len(chosen) != len(names) or any(d not in DIRECTIONS for d in chosen):
        raise SweepError.single(
            "SW402",
            f"directions {chosen} do not fit metrics {names}",
            None,
            "give one of 'min' or 'max' per metric",
        )
    return np.array([1.0 if d == "min" else -1.0 for d in chosen])


def _front_2d(points: np.ndarray) -> np.ndarray:
    # points are unique and sorted by (first, second): a point is on the front exactly when
    # its second metric beats every point before it.
    if len(points) == 0:
        return np.zeros(0, dtype=bool)
    best_before = np.concatenate(([np.inf], np.minimum.accumulate(points[:-1, 1])))
    return points[:, 1] < best_before


def _front_nd(points: np.ndarray) -> np.ndarray:
    # Sorted lexicographically, no later point can dominate an earlier one, so each point
    # only needs checking against the front found so far.
    flags = np.zeros(len(points), dtype=bool)
    front = np.empty_like(points)
    size = 0
    for index, point in enumerate(points):
        if size and np.any(np.all(front[:size] <= point, axis=1)):
            continue
        front[size] = point
        size += 1
        flags[index] = True
    return flags
