"""The words a tiled schedule's first load and last store move (``ends: tile``).

A tiled schedule (``overlapped``, ``stages``, ``pipelined``) runs the DRAM tiles through
on-chip tile buffers: while the arrays compute tile ``g``, the backing store fills tile
``g + 1`` and drains tile ``g - 1``. So the transfers overlap the compute except at the
two ends: the first tile's inputs arrive before any compute can start, and the last tile's
results leave after the compute ends.

* First load: per cascade input (or view of inputs) that the mapping stages on chip
  (placed in the backing level and in an on-chip level), the words of its tile in the
  first DRAM-loop iteration: the tile extent of every rank the DRAM loops split, the
  whole extent of the others (a tensor no loop indexes, such as a resident weight, is
  loaded whole).
* Last store: per cascade output written to an on-chip level and backed in DRAM, the words
  of its tile in the last iteration, a ragged last tile at its real size.

Tensors the arrays read straight from DRAM or write straight to it stream through no tile
buffer and are not counted. The forms are per batch entry: the first tile is one batch
entry's.
"""

from __future__ import annotations

import sympy

from einsum_cascade.ir import Cascade
from mappers.cost.footprint import Extents, tile_footprint, tile_symbol
from mappers.mapping.schema import Mapping


def _staged(mapping: Mapping, tensor: str, backing: str) -> bool:
    """Return whether a tensor is backed in DRAM and kept in an on-chip level."""
    levels = mapping.levels_of(tensor)
    return backing in levels and any(level != backing for level in levels)


def _loaded(cascade: Cascade, mapping: Mapping) -> tuple[str, ...]:
    """Return the cascade's inputs and their views (unbound einsums that only reshape
    inputs, such as ``BK[e, m1, m0] = K[e, m1 * M0 + m0]``): what the backing level holds
    before the run."""
    inputs = {t.name for t in cascade.inputs}
    views = tuple(
        e.name
        for e in cascade.einsums
        if mapping.array_of(e.name) is None and {r.tensor for r in e.operands} <= inputs
    )
    return (*sorted(inputs), *views)


def first_load_words(
    cascade: Cascade, mapping: Mapping, extents: Extents, backing: str
) -> sympy.Expr:
    """Return the words the first DRAM tile loads into the on-chip tile buffer."""
    staged = [t for t in _loaded(cascade, mapping) if _staged(mapping, t, backing)]
    return sympy.Add(*(tile_footprint(cascade, extents, (t,)) for t in staged))


def last_store_words(
    cascade: Cascade, mapping: Mapping, extents: Extents, backing: str
) -> sympy.Expr:
    """Return the words the last DRAM tile stores from the on-chip tile buffer."""
    last = {
        tile_symbol(rank): extents.full[rank] - (extents.dram_loop[rank] - 1) * tile_symbol(rank)
        for rank in mapping.loop_order
        if rank in extents.full and extents.tile[rank] == tile_symbol(rank)
    }
    total = sympy.Integer(0)
    for tensor in cascade.outputs:
        if not _staged(mapping, tensor.name, backing):
            continue
        if mapping.write_target(tensor.name) == backing:
            continue
        total += tile_footprint(cascade, extents, (tensor.name,)).xreplace(last)
    return total
