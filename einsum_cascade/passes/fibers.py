"""Fiber extents for the live-footprint bound: the rank's extent, shrunk by filters.

A filter bounds the fibers of the einsum it is written on, and every einsum whose points
inherit their presence from that einsum's output (``SN`` after a windowed ``QK``).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

import sympy

from einsum_cascade.ir import Cascade, Einsum
from einsum_cascade.passes.rules import Target, filtered_length
from einsum_cascade.symbols import extent_symbol


def _intersect(bounds: Iterable[sympy.Expr | None]) -> sympy.Expr | None:
    known = [b for b in bounds if b is not None]
    return sympy.Min(*known) if known else None


def _union(bounds: Iterable[sympy.Expr | None]) -> sympy.Expr | None:
    collected = list(bounds)
    if not collected or any(b is None for b in collected):
        return None
    return sympy.Max(*collected)


class _Bounds:
    """Per-rank presence bounds of einsums and tensors, memoized for one cascade."""

    def __init__(self, cascade: Cascade, target: Target, rank: str) -> None:
        self.cascade = cascade
        self.target = target
        self.rank = rank
        self.produced = {e.name for e in cascade.einsums}

    @functools.cache  # noqa: B019 - the instance lives for one footprint computation
    def einsum(self, name: str) -> sympy.Expr | None:
        einsum: Einsum = self.cascade.einsum(name)
        own = filtered_length(einsum.condition, self.rank, self.target)
        everything = set(einsum.variables)
        deciding = [
            ref.tensor
            for ref in einsum.operands
            if everything <= set(ref.variables()) and ref.tensor != name
        ]
        inherited = _union(self.tensor(t) for t in deciding) if deciding else None
        return _intersect((own, inherited))

    def tensor(self, name: str) -> sympy.Expr | None:
        return self.einsum(name) if name in self.produced else None


def _carried_extent(cascade: Cascade, target: Target, tensor: str, rank: str) -> sympy.Expr | None:
    ranks = set(cascade.tensor(tensor).ranks)
    for partition in target.partitions:
        if partition.parent == rank and set(partition.levels) <= ranks:
            return extent_symbol(rank)
    if rank in ranks:
        return extent_symbol(rank)
    return None


def fiber_extent(
    cascade: Cascade, target: Target, tensor: str, readers: Iterable[str]
) -> sympy.Expr | None:
    """Return the size of the fibers of ``tensor`` over the counted ranks that stay live.

    For one rank it is the rank's extent, or the filtered extent when filters bound every
    read (``Min(M, W)`` for a sliding window). For several ranks sharing a sequence it is
    the product over the ranks the tensor carries. Returns None when the tensor carries
    none of the counted ranks (its fiber is then a single element).
    """
    readers = tuple(readers)
    sizes = []
    for rank in target.ranks:
        extent = _carried_extent(cascade, target, tensor, rank)
        if extent is None:
            continue
        bounds = _Bounds(cascade, target, rank)
        bound = _intersect(
            (bounds.tensor(tensor), _union(bounds.einsum(reader) for reader in readers))
        )
        sizes.append(extent if bound is None else sympy.Min(extent, bound))
    if not sizes:
        return None
    return sympy.Mul(*sizes)
