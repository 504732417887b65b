"""Buffer footprints of search candidates: the peak of live tile words in each storage pool.

A tensor is live from the einsum that produces it (an input: from the start) to its last
reader (an output: to the end). Its live words are its tile inside one DRAM-loop iteration;
an intermediate whose producer and readers all run on one array and all keep a DRAM-loop
rank (none reduces it) is streamed one index of that rank at a time, so only that slice is
live. An einsum whose output has the ranks of an operand it reads for the last time writes
in place of that operand. The pools are the on-chip levels and each array's registers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from einsum_cascade.ir import Cascade, TensorKind
from einsum_cascade.symbols import rank_of_variable
from mappers.hardware.spec import ArchSpec
from mappers.search.space import Placement, reads_tensor, register_array

Array = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Lifetime:
    """When a tensor is live (einsum positions, inclusive) and what writes in place of it."""

    tensor: str
    start: int
    end: int


def lifetimes(cascade: Cascade) -> tuple[Lifetime, ...]:
    """Return every tensor's live interval over the cascade's einsums (source order)."""
    names = [e.name for e in cascade.einsums]
    last = len(names) - 1
    out = []
    for tensor in cascade.tensors:
        readers = [i for i, e in enumerate(cascade.einsums) if reads_tensor(e, tensor.name)]
        start = 0 if tensor.kind is TensorKind.INPUT else names.index(tensor.name)
        end = last if tensor.kind is TensorKind.OUTPUT else max(readers, default=start)
        out.append(Lifetime(tensor.name, start, end))
    return tuple(out)


def in_place_pairs(cascade: Cascade) -> tuple[tuple[int, str, str], ...]:
    """Return (position, operand, output) where an output may overwrite a dying operand."""
    ends = {life.tensor: life.end for life in lifetimes(cascade)}
    pairs = []
    for i, einsum in enumerate(cascade.einsums):
        ranks = cascade.tensor(einsum.name).ranks
        for ref in dict.fromkeys(r.tensor for r in einsum.operands):
            if ref != einsum.name and ends[ref] == i and cascade.tensor(ref).ranks == ranks:
                pairs.append((i, ref, einsum.name))
    return tuple(pairs)


def streamed_rank(
    cascade: Cascade, bind: dict[str, str], tensor: str, loop_ranks: tuple[str, ...]
) -> str | None:
    """Return the DRAM-loop rank an intermediate is streamed along, or None."""
    if cascade.tensor(tensor).kind is not TensorKind.INTERMEDIATE:
        return None
    if register_array(cascade, bind, tensor) is None:
        return None
    users = [cascade.einsum(tensor)]
    users += [e for e in cascade.einsums if reads_tensor(e, tensor)]
    for rank in loop_ranks:
        if rank not in cascade.tensor(tensor).ranks:
            continue
        kept = all(
            any(rank_of_variable(v) == rank for v in e.variables)
            and not any(rank_of_variable(v) == rank for v in e.reduced_variables)
            for e in users
        )
        if kept:
            return rank
    return None


def pool_of(
    spec: ArchSpec, bind: dict[str, str], cascade: Cascade, tensor: str, option: Placement
) -> str | None:
    """Return the pool an option keeps a tensor's tile in: a level, ``registers:<array>``."""
    if not option:  # one array's registers, or streamed over a link (no pool)
        array = register_array(cascade, bind, tensor)
        return None if array is None else f"registers:{array}"
    innermost = option[-1]
    return None if innermost == spec.backing.name else innermost


def pool_capacity_words(spec: ArchSpec, pool: str) -> float:
    """Return a pool's capacity in words."""
    if pool.startswith("registers:"):
        array = spec.array(pool.partition(":")[2])
        return float(array.register_words_per_pe * array.num_pes)
    size = spec.level(pool).size_bytes
    return float("inf") if size is None else size / spec.word_bytes


def fits(
    cascade: Cascade,
    spec: ArchSpec,
    bind: dict[str, str],
    options: dict[str, tuple[Placement, ...]],
    choice: NDArray[np.int64],
    tile_words: dict[str, Array],
    loop_ranks: tuple[str, ...],
    tile_extents: dict[str, Array],
) -> NDArray[np.bool_]:
    """Return, per placement (rows of ``choice``) and point, whether every pool holds its peak.

    Args:
        choice: option index per tensor (columns in ``cascade.tensors`` order) per placement.
        tile_words: per tensor, its tile words per point.
        tile_extents: per DRAM-loop rank, its tile extent per point.
    """
    tensors = [t.name for t in cascade.tensors]
    steps = len(cascade.einsums)
    points = next(iter(tile_words.values())).shape
    live: dict[str, Array] = {}
    for name in tensors:
        words = tile_words[name]
        rank = streamed_rank(cascade, bind, name, loop_ranks)
        live[name] = words / tile_extents[rank] if rank is not None else words
    alive = {life.tensor: (life.start, life.end) for life in lifetimes(cascade)}
    pools = {
        pool
        for name in tensors
        for option in options[name]
        if (pool := pool_of(spec, bind, cascade, name, option)) is not None
    }
    ok = np.ones((choice.shape[0], *points), dtype=bool)
    for pool in sorted(pools):
        total = np.zeros((choice.shape[0], steps, *points))
        member: dict[str, NDArray[np.bool_]] = {}
        for column, name in enumerate(tensors):
            inside = np.array(
                [pool_of(spec, bind, cascade, name, o) == pool for o in options[name]], dtype=bool
            )
            member[name] = inside[choice[:, column]]
            start, end = alive[name]
            profile = np.zeros((steps, *points))
            profile[start : end + 1] = live[name]
            total += member[name][:, None, None] * profile[None]
        for position, operand, output in in_place_pairs(cascade):
            both = member[operand] & member[output]
            shared = np.minimum(live[operand], live[output])
            total[:, position] -= both[:, None] * shared[None]
        ok &= total.max(axis=1) <= pool_capacity_words(spec, pool)
    return ok


__all__ = [
    "Lifetime",
    "fits",
    "in_place_pairs",
    "lifetimes",
    "pool_capacity_words",
    "pool_of",
    "streamed_rank",
]
