"""Tile sizes per design point: fixed tiles, and the largest tile that fits a buffer.

A ``fit`` rule's choice is discrete (a divisor of the rank's tile count), so it is made once
per distinct (tiles, cap) pair and scattered back to the points.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from mappers.cost_parameters import quantity_column
from mappers.errors import MappingError
from mappers.mapping import TileRule

if TYPE_CHECKING:
    from mappers.cost import CostModel


def _largest_divisor_at_most(n: int, cap: int) -> int:
    best = 1
    for d in range(1, math.isqrt(n) + 1):
        if n % d == 0:
            for c in (d, n // d):
                if best < c <= cap:
                    best = c
    return best


def _budget_bytes(model: CostModel, rule: TileRule, columns: dict[str, np.ndarray]) -> Any:
    assert rule.fit_level is not None
    size = columns.get(f"{rule.fit_level}.size_bytes", 0.0)
    return (rule.budget_bytes or size) * rule.fraction


def fit_caps(
    model: CostModel, rule: TileRule, columns: dict[str, np.ndarray], shape: tuple[int, ...]
) -> np.ndarray:
    """Return, per point, how many ``step``-sized tiles of a fit rule's rank fit its budget."""
    names, function = {rank: (n, f) for rank, n, f in model.fit_functions}[rule.rank]
    constant, per_tile = (
        np.broadcast_to(np.asarray(v, dtype=float), shape)
        for v in function(*(columns[n] for n in names))
    )
    step = quantity_column(columns, rule.step)
    capacity = _budget_bytes(model, rule, columns) / columns["word_bytes"]
    return np.asarray(np.floor((capacity - constant) / (per_tile * step)), dtype=float)


def _fit_tiles(
    model: CostModel, rule: TileRule, full: np.ndarray, columns: dict[str, np.ndarray]
) -> np.ndarray:
    """Return the largest multiple of ``step`` dividing ``full`` that fits, per point.

    The choice is discrete (a divisor), so it is made once per distinct (tiles, cap) pair
    and scattered back: a sweep over buffer sizes costs one divisor search per distinct
    pair, not per point.
    """
    spec, mapping = model.spec, model.mapping
    caps = fit_caps(model, rule, columns, full.shape)
    bad = caps < 1
    if bad.any():
        assert rule.fit_level is not None
        first = np.flatnonzero(bad.ravel())[0]
        budget = np.broadcast_to(_budget_bytes(model, rule, columns), full.shape).ravel()[first]
        level = spec.level(rule.fit_level)
        tensors = ", ".join(rule.tensors or dict(mapping.place)[rule.fit_level])
        raise MappingError.single(
            "M401",
            f"no tile of {rule.rank} fits level '{level.name}' "
            f"({budget:.0f} bytes): it must hold {tensors}",
            spec.span_of(f"levels.{level.name}.size_bytes"),
            "use a larger buffer, or place fewer tensors in it",
        )
    step = np.broadcast_to(quantity_column(columns, rule.step), full.shape).astype(np.int64)
    count = full // step
    limit = np.minimum(caps, count).astype(np.int64)
    pairs = np.stack([count.ravel(), limit.ravel(), step.ravel()], axis=1)
    unique, inverse = np.unique(pairs, axis=0, return_inverse=True)
    chosen = np.array([s * _largest_divisor_at_most(int(n), int(c)) for n, c, s in unique])
    return chosen[inverse.reshape(-1)].reshape(full.shape).astype(float)


def tile_extents(model: CostModel, columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Return ``tile_<rank>`` per point for every tiled rank: fixed, or the largest that fits."""
    tiles: dict[str, np.ndarray] = {}
    for rule in model.mapping.tiles:
        full = np.asarray(columns[rule.rank], dtype=np.int64)
        if rule.whole:
            continue
        if rule.fixed is not None:
            fixed = quantity_column(columns, rule.fixed)
            tiles[f"tile_{rule.rank}"] = np.minimum(fixed, full).astype(float)
            continue
        tiles[f"tile_{rule.rank}"] = _fit_tiles(model, rule, full, columns)
    return tiles
