"""The search's results, objectives and candidate mappings built from a template.

A template mapping fixes what the search does not vary (levels, schedule, loop order); a
candidate replaces its binding, spatial spreads, tiles and placement.
"""

from __future__ import annotations

import collections.abc
import math
from dataclasses import dataclass, field, replace

import numpy as np
from numpy.typing import NDArray

from einsum_cascade.ir import Cascade
from mappers.errors import MappingError
from mappers.hardware.spec import ArchSpec
from mappers.mapping.schema import Mapping, Schedule, TileRule
from mappers.search.space import Placement, Structure, capable_arrays

Array = NDArray[np.float64]
OBJECTIVES = ("latency", "energy", "edp")
SEARCHABLE_SCHEDULES = ("overlapped", "stages", "pipelined")  # latency = max(memory, compute)
TOLERANCE = 1e-9


@dataclass(frozen=True, slots=True)
class SearchCounts:
    """How much of one point's space the search generated, pruned and costed.

    Structures (a binding and a spatial spread per einsum) are searched by branch and
    bound over the chain of einsums (:mod:`mappers.search.chain`):
    ``structures = structures_illegal + structures_dominated + structures_bounded +
    structures_costed + structures_unexplored``.

    A costed structure's candidates are its loop orders x tiles x partition sizes x
    placements: ``generated = illegal + dominated + bounded + evaluated + unexplored``
    (``illegal``: a buffer overflows; ``dominated``: a tile that is not a divisor of its
    rank; ``bounded``: cut because a bound is worse than the best found; ``unexplored``:
    left when the budget ran out). ``models_built`` counts compiled cost models and
    ``exhaustive`` says whether the search finished within its budget.
    """

    structures: int = 0
    structures_illegal: int = 0
    structures_dominated: int = 0
    structures_bounded: int = 0
    structures_costed: int = 0
    structures_unexplored: int = 0
    generated: int = 0
    illegal: int = 0
    dominated: int = 0
    bounded: int = 0
    evaluated: int = 0
    unexplored: int = 0
    models_built: int = 0
    exhaustive: bool = True
    seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class Found:
    """One searched mapping with its cost at one point (from the cost model directly)."""

    mapping: Mapping
    latency_s: float
    energy_pj: float
    traffic_bytes: float
    summary: str
    metrics: tuple[tuple[str, float], ...] = field(repr=False)
    screened: tuple[float, float] = (0.0, 0.0)  # (latency_s, energy_pj) by decomposition


@dataclass(frozen=True, slots=True)
class SearchResult:
    """The best mappings found for one workload point, best first, and the counts."""

    objective: str
    point: tuple[tuple[str, float], ...]
    best: tuple[Found, ...]
    counts: SearchCounts


def objective_key(objective: str, latency: Array, energy: Array) -> tuple[Array, Array]:
    """Return (primary, secondary) arrays to minimise lexicographically.

    Primaries equal within a relative 1e-9 tie, so the secondary decides between them.
    """
    if objective == "latency":
        primary, secondary = latency, energy
    elif objective == "energy":
        primary, secondary = energy, latency
    else:
        primary, secondary = latency * energy, latency
    quantised = np.round(np.log(np.maximum(primary, 1e-300)) / TOLERANCE)
    return quantised, secondary


def check_template(template: Mapping, objective: str) -> None:
    if objective not in OBJECTIVES:
        raise MappingError.single(
            "M501",
            f"unknown objective '{objective}'",
            None,
            f"objectives: {', '.join(OBJECTIVES)}",
        )
    if template.schedule.kind not in SEARCHABLE_SCHEDULES:
        raise MappingError.single(
            "M502",
            f"the search costs placements for schedules where latency is max(memory, "
            f"compute); template '{template.name}' is '{template.schedule.kind}'",
            template.span_of("schedule"),
            f"use a template with schedule {' or '.join(SEARCHABLE_SCHEDULES)}",
        )


def check_cascade_and_order(cascade: Cascade, template: Mapping, searched: bool) -> None:
    """Refuse a cascade with nothing to map, and a template loop over ranks it lacks.

    Raises:
        MappingError: M504 no einsums; M505 a rank of the template's loop order that the
            cascade does not have (a template made for another cascade).
    """
    if not cascade.einsums:
        raise MappingError.single(
            "M506", f"cascade '{cascade.name}' has no einsums: there is nothing to map", None
        )
    if searched:
        return
    names = [r.name for r in cascade.ranks]
    for rank in template.loop_order:
        if not cascade.has_rank(rank):
            raise MappingError.single(
                "M507",
                f"template '{template.name}' loops over rank '{rank}', which cascade "
                f"'{cascade.name}' does not have",
                template.span_of("loop_order"),
                "the template was written for another cascade; pick one for this cascade or "
                f"leave --template out (ranks: {', '.join(names)})",
            )


def default_loop_order(cascade: Cascade, bound: collections.abc.Iterable[str]) -> tuple[str, ...]:
    """Return the ranks every bound einsum iterates over and none reduces (fused tile loops)."""
    names = set(bound)
    einsums = [e for e in cascade.einsums if e.name in names]
    ranks = []
    for rank in cascade.free_ranks:
        variable = rank.name.lower()
        if all(variable in e.variables and variable not in e.reduced_variables for e in einsums):
            ranks.append(rank.name)
    return tuple(ranks)


def template_for(cascade: Cascade, spec: ArchSpec) -> Mapping:
    """Return a search template with defaults: overlapped schedule, fused tile loops."""
    capable = capable_arrays(cascade, spec)
    return Mapping(
        name=f"{cascade.name}-on-{spec.name}-searched",
        cascade=cascade.name,
        spec=spec.name,
        extents=(),
        bind=(),
        spatial=(),
        loop_order=default_loop_order(cascade, capable),
        tiles=(),
        place=(),
        reads=(),
        writes=(),
        spill_fraction=0.0,
        schedule=Schedule("overlapped"),
        cost_tables=(),
        batch_ranks=tuple(r for r in ("B", "H") if r not in {str(x.name) for x in cascade.ranks}),
    )


def candidate_mapping(
    template: Mapping,
    spec: ArchSpec,
    structure: Structure,
    tiles: tuple[tuple[str, int | None], ...],
    placement: dict[str, Placement],
    name: str | None = None,
) -> Mapping:
    """Return the mapping of one candidate: the template with the searched choices."""
    place = tuple(
        (level.name, tuple(t for t, option in placement.items() if level.name in option))
        for level in spec.levels
    )
    return replace(
        template,
        name=name or template.name,
        bind=structure.bind,
        spatial=structure.spatial,
        tiles=tuple(
            TileRule(rank, whole=True) if tile is None else TileRule(rank, fixed=tile)
            for rank, tile in tiles
        ),
        place=tuple((level, tensors) for level, tensors in place if tensors),
        reads=structure.reads,
        writes=(),
        spill_fraction=0.0,
        spans=(),
    )


def tile_kind(tiles: tuple[tuple[str, int | None], ...]) -> tuple[tuple[str, int | None], ...]:
    """Return the tiles' kind: whole stays, a fixed tile becomes 1.

    A compiled model depends on whether a rank is whole or fixed, not on the fixed value,
    which is read at evaluation; one model per kind serves every tile value.
    """
    return tuple((rank, None if tile is None else 1) for rank, tile in tiles)


def worse(key: tuple[Array, Array], than: tuple[Array, Array]) -> NDArray[np.bool_]:
    return np.asarray((key[0] > than[0]) | ((key[0] == than[0]) & (key[1] > than[1])))


def dominated_tiles(
    combos: list[tuple[tuple[str, int | None], ...]], feasible: NDArray[np.bool_]
) -> NDArray[np.bool_]:
    """Return, per tile combination, where a larger one (every rank at least) also fits."""

    def size(tile: int | None) -> float:
        return math.inf if tile is None else float(tile)

    out = np.zeros_like(feasible)
    for i, small in enumerate(combos):
        for j, large in enumerate(combos):
            if i == j:
                continue
            bigger = all(size(b) >= size(a) for (_, a), (_, b) in zip(small, large, strict=True))
            if bigger and small != large:
                out[i] |= feasible[j]
    return out


def spread_count(cascade: Cascade, spec: ArchSpec, bind: dict[str, str]) -> int:
    total = 1
    for einsum in cascade.einsums:
        array = bind.get(einsum.name)
        if array is not None:
            dims = len(spec.array(array).dims)
            total *= math.perm(len(einsum.variables), dims)
    return total
