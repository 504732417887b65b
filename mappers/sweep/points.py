"""Expand a sweep spec into numbered design points and group them for vectorised evaluation.

Points are the Cartesian product of the axes (zipped axes count as one dimension), named
configurations and text axes outermost, numbers innermost, so consecutive point ids share
their structural settings and differ only in numbers. A point's id is its position in this
order, which depends only on the spec: ids are stable across runs and resumes.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from mappers.sweep.errors import SweepError
from mappers.sweep.spec import CONFIG_AXIS, Axis, SweepSpec

if TYPE_CHECKING:
    import pandas as pd

POINT_ID = "point_id"
MAX_POINTS = 10**10


@dataclass(frozen=True, slots=True)
class PointGroup:
    """Points that share every non-numeric setting, so one model serves them all.

    ``settings`` are the base settings overlaid with the configuration's and the text axes'
    values; ``base_dir`` is where relative paths in the settings are resolved.
    """

    settings: tuple[tuple[str, str], ...]
    base_dir: str

    def get(self, key: str, default: str | None = None) -> str | None:
        """Return one setting, or ``default``."""
        return dict(self.settings).get(key, default)


@dataclass(frozen=True, slots=True)
class PointBlock:
    """A run of points of one group: their ids, numeric columns and table labels.

    A label named in ``names`` (a text or vector axis) holds codes: indices into its names.
    """

    group: PointGroup
    point_ids: np.ndarray
    columns: dict[str, np.ndarray]
    labels: dict[str, np.ndarray]
    names: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def decoded(self) -> dict[str, np.ndarray]:
        """Return the labels with codes replaced by their names."""
        return {
            key: np.asarray(self.names[key], dtype=object)[values] if key in self.names else values
            for key, values in self.labels.items()
        }


def dimensions(spec: SweepSpec) -> tuple[tuple[Axis, ...], ...]:
    """Return the product's dimensions, outermost first; a zip group is one dimension."""
    axes = list(spec.axes)
    if spec.configs:
        axes.insert(0, Axis(CONFIG_AXIS, tuple(name for name, _ in spec.configs), "text"))
    zipped = {name: group for group in spec.zips for name in group}
    by_name = {a.name: a for a in axes}
    dims: list[tuple[Axis, ...]] = []
    placed: set[str] = set()
    for axis in axes:
        if axis.name in placed:
            continue
        members = zipped.get(axis.name, (axis.name,))
        dims.append(tuple(by_name[name] for name in members))
        placed.update(members)
    return tuple(sorted(dims, key=lambda d: 0 if all(a.kind == "text" for a in d) else 1))


def count_points(spec: SweepSpec) -> int:
    """Return the number of design points of ``spec`` (at most :data:`MAX_POINTS`).

    Raises:
        SweepError: SW114 when the axes multiply to more points than the limit; nothing
            has been allocated for them.
    """
    total = 1
    for dim in dimensions(spec):
        total *= len(dim[0].values)  # Python integers: no overflow
    if total > MAX_POINTS:
        sizes = " x ".join(f"{len(d[0].values)} ({d[0].name})" for d in dimensions(spec))
        raise SweepError.single(
            "SW114",
            f"the sweep has {total:,} points ({sizes}), more than the limit of {MAX_POINTS:,}",
            spec.span("axes"),
            "split it into several sweeps, or use fewer values per axis",
        )
    return total


def chunk_ranges(spec: SweepSpec) -> list[tuple[int, int]]:
    """Return ``[start, stop)`` point-id ranges of the chunks, in order."""
    total, size = count_points(spec), spec.chunk_points
    return [(start, min(start + size, total)) for start in range(0, total, size)]


def point_groups(spec: SweepSpec) -> Iterator[PointGroup]:
    """Yield each distinct group of settings the sweep's points use, in point order."""
    dims = [d for d in dimensions(spec) if all(a.kind == "text" for a in d)]
    for choice in itertools.product(*(range(len(d[0].values)) for d in dims)):
        settings = dict(spec.base)
        for dim, code in zip(dims, choice, strict=True):
            for axis in dim:
                settings.update(_text_settings(spec, axis, str(axis.values[code])))
        yield PointGroup(tuple(sorted(settings.items())), spec.base_dir)


def point_blocks(spec: SweepSpec, start: int, stop: int) -> Iterator[PointBlock]:
    """Yield the points ``start <= id < stop`` as blocks of one group each."""
    dims = dimensions(spec)
    ids = np.arange(start, stop, dtype=np.int64)
    shape = tuple(len(d[0].values) for d in dims) or (1,)
    codes = np.unravel_index(ids, shape) if dims else ()
    structural = [i for i, d in enumerate(dims) if all(a.kind == "text" for a in d)]
    if structural:
        keys = np.stack([codes[i] for i in structural], axis=1)
        change = np.flatnonzero(np.any(keys[1:] != keys[:-1], axis=1)) + 1
        bounds = [0, *change.tolist(), len(ids)]
    else:
        bounds = [0, len(ids)]
    for lo, hi in itertools.pairwise(bounds):
        yield _block(spec, dims, codes, ids, lo, hi)


def _block(
    spec: SweepSpec,
    dims: tuple[tuple[Axis, ...], ...],
    codes: tuple[np.ndarray, ...],
    ids: np.ndarray,
    lo: int,
    hi: int,
) -> PointBlock:
    settings = dict(spec.base)
    columns: dict[str, np.ndarray] = {}
    labels: dict[str, np.ndarray] = {}
    names: dict[str, tuple[str, ...]] = {}
    for dim, code in zip(dims, codes, strict=True):
        part = code[lo:hi]
        for axis in dim:
            if axis.kind == "text":
                value = str(axis.values[int(part[0])])
                settings.update(_text_settings(spec, axis, value))
                labels[axis.name] = np.full(hi - lo, int(part[0]), dtype=np.int32)
                names[axis.name] = tuple(str(v) for v in axis.values)
                continue
            table = np.asarray(axis.values)
            columns[axis.name] = table[part]
            if axis.kind == "vector":
                names[axis.name] = tuple(
                    "x".join(f"{v:g}" for v in vector) for vector in table.tolist()
                )
                labels[axis.name] = part.astype(np.int32)
                for j in range(table.shape[1]):
                    labels[f"{axis.name}[{j}]"] = table[part, j]
            else:
                labels[axis.name] = table[part]
    group = PointGroup(tuple(sorted(settings.items())), spec.base_dir)
    return PointBlock(group, ids[lo:hi], columns, labels, names)


def _text_settings(spec: SweepSpec, axis: Axis, value: str) -> dict[str, str]:
    if axis.name == CONFIG_AXIS and spec.configs:
        return {CONFIG_AXIS: value, **dict(dict(spec.configs)[value])}
    return {axis.name: value}


def points_frame(spec: SweepSpec, start: int = 0, stop: int | None = None) -> pd.DataFrame:
    """Return the points table (``point_id`` and one column per axis) for a range of ids."""
    import pandas as pd

    stop = count_points(spec) if stop is None else stop
    frames = [
        pd.DataFrame({POINT_ID: block.point_ids, **block.decoded()})
        for block in point_blocks(spec, start, stop)
    ]
    if not frames:
        return pd.DataFrame({POINT_ID: np.zeros(0, dtype=np.int64)})
    return pd.concat(frames, ignore_index=True)
