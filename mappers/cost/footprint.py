"""Symbolic tile extents, tensor sizes and buffer footprints of a mapping over a cascade."""

from __future__ import annotations

from dataclasses import dataclass

import sympy

from einsum_cascade.ir import Cascade
from einsum_cascade.symbols import extent_symbol, rank_of_variable
from mappers.mapping.schema import Mapping


def tile_symbol(rank: str) -> sympy.Symbol:
    """Return the symbol standing for the tile extent of a DRAM-level split rank."""
    return sympy.Symbol(f"tile_{rank}", positive=True)


@dataclass(frozen=True, slots=True)
class Extents:
    """Full extents, tile extents (inside one DRAM-loop iteration) and DRAM loop extents."""

    full: dict[str, sympy.Expr]
    tile: dict[str, sympy.Expr]
    dram_loop: dict[str, sympy.Expr]

    def of_variable(self, variable: str, tiled: bool) -> sympy.Expr:
        """Return the extent of an index variable's rank (tile extent when ``tiled``)."""
        rank = rank_of_variable(variable)
        return (self.tile if tiled else self.full)[rank]

    def trips(self, variable: str) -> sympy.Expr:
        """Return the DRAM-loop tiles along a variable's rank (1 when it is not split)."""
        return self.dram_loop.get(rank_of_variable(variable), sympy.Integer(1))

    def chunks(self, variable: str, size: sympy.Expr) -> sympy.Expr:
        """Return the pieces of at most ``size`` a variable's rank is cut into over the run.

        Each DRAM-loop tile is cut on its own: whole tiles into ``ceil(tile / size)``
        pieces, a ragged last tile (the remainder of the extent) into
        ``ceil(remainder / size)``. A spatial fold of an array dimension of ``size`` PEs
        is one piece.
        """
        rank = rank_of_variable(variable)
        full, tile = self.full[rank], self.tile[rank]
        if tile == full:
            return sympy.ceiling(full / size)
        whole = sympy.floor(full / tile)
        return whole * sympy.ceiling(tile / size) + sympy.ceiling((full - whole * tile) / size)


def build_extents(cascade: Cascade, mapping: Mapping, fixed: dict[str, int]) -> Extents:
    """Return the extents of every rank given fixed values (``M0``) and the loop order."""
    subs = {extent_symbol(rank): value for rank, value in fixed.items()}
    full: dict[str, sympy.Expr] = {
        rank.name: sympy.sympify(cascade.extent(rank.name)).xreplace(subs) for rank in cascade.ranks
    }
    tile = dict(full)
    dram_loop: dict[str, sympy.Expr] = {}
    for rank in mapping.loop_order:
        rule = mapping.tile_rule(rank)
        extent = full.get(rank, extent_symbol(rank))
        if rule is None:
            tile[rank] = sympy.Integer(1)
            dram_loop[rank] = extent
        elif rule.whole:
            dram_loop[rank] = sympy.Integer(1)
        else:
            tile[rank] = tile_symbol(rank)
            dram_loop[rank] = sympy.ceiling(extent / tile_symbol(rank))  # a ragged last tile
    return Extents(full, tile, dram_loop)


def tensor_size(cascade: Cascade, extents: Extents, tensor: str) -> sympy.Expr:
    """Return the number of elements of one generation of a tensor."""
    return sympy.Mul(*(extents.full[r] for r in cascade.tensor(tensor).ranks))


def tile_footprint(cascade: Cascade, extents: Extents, tensors: tuple[str, ...]) -> sympy.Expr:
    """Return the words the tiles of ``tensors`` occupy inside one DRAM-loop iteration."""
    return sympy.Add(
        *(sympy.Mul(*(extents.tile[r] for r in cascade.tensor(t).ranks)) for t in tensors)
    )


def refetch_factor(cascade: Cascade, mapping: Mapping, extents: Extents, tensor: str) -> sympy.Expr:
    """Return how often a tensor is fetched from the backing level by the DRAM loop nest.

    A tile is fetched again for every iteration of a loop that does not index the tensor but
    lies outside a loop that does (the K/V tiles re-read once per query tile).
    """
    ranks = set(cascade.tensor(tensor).ranks)
    order = mapping.loop_order
    relevant = [i for i, rank in enumerate(order) if rank in ranks]
    if not relevant:
        return sympy.Integer(1)
    innermost = max(relevant)
    factor = sympy.Integer(1)
    for rank in order[:innermost]:
        if rank not in ranks:
            factor *= extents.dram_loop[rank]
    return factor
