"""Why a search found no legal mapping: ops no array runs, tensors no buffer holds.

The search prunes silently; when nothing is left, :func:`why_no_mapping` states the causes
it can establish without searching: an einsum whose ops no single array runs (``sqrt`` on
FuseMax's arrays), and a tensor whose smallest tile is larger than every on-chip buffer.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from einsum_cascade import Cascade
from einsum_cascade.shapes import einsum_ops
from mappers.hardware.spec import ArchSpec, lower_op


def missing_ops(cascade: Cascade, spec: ArchSpec) -> tuple[str, ...]:
    """One sentence per einsum that no array of ``spec`` can run, naming the missing ops.

    Example:
        >>> from einsum_cascade import parse_cascade
        >>> from mappers.hardware.spec_loader import load_spec
        >>> c = parse_cascade("rank P\\ninput S[P]\\nR[p] = sqrt(S[p])")
        >>> missing_ops(c, load_spec("fusemax"))[0]
        "einsum 'R' needs sqrt, which no array of 'fusemax' runs (pe2d lacks sqrt; pe1d lacks sqrt)"
    """
    reasons = []
    for einsum in cascade.einsums:
        needed = sorted(einsum_ops(einsum))
        lacking = {
            array.name: [op for op in needed if lower_op(array, op) is None]
            for array in spec.arrays
        }
        if all(lacking.values()):
            detail = "; ".join(f"{name} lacks {' '.join(ops)}" for name, ops in lacking.items())
            union = sorted({op for ops in lacking.values() for op in ops})
            reasons.append(
                f"einsum '{einsum.name}' needs {' '.join(union)}, which no array of "
                f"'{spec.name}' runs ({detail})"
            )
    return tuple(reasons)


def oversized_tensors(
    cascade: Cascade, spec: ArchSpec, extents: Mapping[str, int], smallest_tile: int
) -> tuple[str, ...]:
    """One sentence per tensor whose smallest tile no on-chip buffer holds.

    The smallest tile takes ``smallest_tile`` (or the whole extent, when smaller) of every
    rank; a buffer is an on-chip level or an array's registers. Extents of ranks missing
    from ``extents`` are left out (the tile is then a lower bound).
    """
    from mappers.search.footprint import pool_capacity_words

    pools = [lv.name for lv in spec.levels if lv.size_bytes is not None]
    pools += [f"registers:{a.name}" for a in spec.arrays if a.register_words_per_pe]
    if not pools:
        return (f"spec '{spec.name}' has no on-chip buffer",)
    capacity = {pool: pool_capacity_words(spec, pool) for pool in pools}
    largest = max(capacity, key=lambda p: capacity[p])
    reasons = []
    for tensor in cascade.tensors:
        sizes = [min(smallest_tile, extents[r]) for r in tensor.ranks if r in extents]
        words = math.prod(sizes)
        if words > capacity[largest]:
            reasons.append(
                f"tensor '{tensor.name}' needs at least {words:,} words (a tile of "
                f"{min(smallest_tile, max(sizes, default=1))} per rank), more than the largest "
                f"buffer, {largest.replace('registers:', 'the registers of ')}, holds "
                f"({capacity[largest]:,.0f} words)"
            )
    return tuple(reasons)


def why_no_mapping(
    cascade: Cascade, spec: ArchSpec, extents: Mapping[str, int], smallest_tile: int = 16
) -> tuple[str, ...]:
    """The causes of an empty search that can be stated without searching (maybe none)."""
    return missing_ops(cascade, spec) + oversized_tensors(cascade, spec, extents, smallest_tile)


__all__ = ["missing_ops", "oversized_tensors", "why_no_mapping"]
