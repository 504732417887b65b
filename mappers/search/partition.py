"""Partition ranks are search choices; the other extents come from the workload.

A *partition rank* is a free rank with a default (``rank M0 = 256``) that only splits
another rank: it divides a derived extent (``rank M1 = ceil(M / M0)``) and is used in
index expressions (``K[e, m1 * M0 + m0]``), never as a value or in a filter. Any value
computes the same result, so its size is a tile the search picks; the default is one
candidate. A rank with a default that is used as a value (Agent's pooling ``P0``, which
divides the queries) describes the algorithm and keeps its default unless the point gives
it. Every other extent must come from the workload point.
"""

from __future__ import annotations

import collections.abc
import itertools

import numpy as np
import sympy
from numpy.typing import NDArray

from einsum_cascade.expressions import Compare, ExtentRef, Filter, Not, walk
from einsum_cascade.ir import Cascade
from einsum_cascade.symbols import extent_symbol, index_symbol
from mappers.errors import MappingError
from mappers.hardware.spec import ArchSpec
from mappers.search.candidates import Array


def _filter_sides(condition: Filter) -> list[sympy.Expr]:
    """Return the sympy expressions a filter's comparisons read."""
    if isinstance(condition, Compare):
        return [sympy.sympify(condition.left), sympy.sympify(condition.right)]
    if isinstance(condition, Not):
        return _filter_sides(condition.operand)
    return [side for c in condition.operands for side in _filter_sides(c)]


def _splits(cascade: Cascade) -> dict[str, tuple[str, str]]:
    """Return, per candidate rank X0, the (outer, inner) index variables of its split.

    ``rank M1 = ceil(M / M0)`` splits ``m`` into ``m1 * M0 + m0``.
    """
    out = {}
    for rank in cascade.ranks:
        if rank.expression is None:
            continue
        for symbol in sympy.sympify(rank.expression).free_symbols:
            out[symbol.name] = (rank.name.lower(), symbol.name.lower())
    return out


def _used_as_value(cascade: Cascade) -> set[str]:
    """Return the ranks whose extent an expression or a filter reads as a number.

    In a filter, a split coordinate ``m1 * M0 + m0`` reads no value of ``M0``: it is
    replaced by one coordinate before the check.
    """
    names: set[str] = set()
    splits = _splits(cascade)
    for einsum in cascade.einsums:
        for node in walk(einsum.expression):
            if isinstance(node, ExtentRef):
                names.add(str(node.rank))
        if einsum.condition is None:
            continue
        for side in _filter_sides(einsum.condition):
            for rank, (outer, inner) in splits.items():
                whole = sympy.Dummy("whole")
                replaced = side.xreplace(
                    {index_symbol(inner): whole - index_symbol(outer) * extent_symbol(rank)}
                )
                if extent_symbol(rank) in sympy.expand(replaced).free_symbols:
                    names.add(rank)
    return names


def partition_ranks(cascade: Cascade) -> tuple[str, ...]:
    """Return the partition ranks of a cascade: free ranks with a default that only split.

    Example:
        >>> from einsum_cascade import load_cascade
        >>> partition_ranks(load_cascade("attention/1pass"))
        ('M0',)
        >>> partition_ranks(load_cascade("variants/agent"))
        ('M0',)
    """
    divisors: set[str] = set()
    for rank in cascade.ranks:
        if rank.expression is not None:
            divisors.update(s.name for s in sympy.sympify(rank.expression).free_symbols)
    values = _used_as_value(cascade)
    return tuple(
        str(r.name)
        for r in cascade.ranks
        if r.default is not None
        and not r.is_derived
        and r.name in divisors
        and r.name not in values
    )


def split_rank(cascade: Cascade, partition: str) -> str | None:
    """Return the rank a partition rank splits (``M`` for ``M0``), or None."""
    for rank in cascade.ranks:
        if rank.expression is None:
            continue
        symbols = {s.name for s in sympy.sympify(rank.expression).free_symbols}
        if partition in symbols:
            others = sorted(symbols - {partition})
            if others:
                return str(others[0])
    return None


def partition_values(
    cascade: Cascade, spec: ArchSpec, rank: str, extent: float, smallest: int
) -> tuple[int, ...]:
    """Return the candidate sizes of a partition rank, ascending.

    The candidates are the cascade's default, every array dimension size, and the powers of
    two from ``smallest`` up to the extent of the rank it splits (the largest one that holds
    the whole rank included), each at most that extent rounded up to a power of two.

    Example:
        >>> from einsum_cascade import load_cascade
        >>> from mappers.hardware.spec_loader import load_spec
        >>> partition_values(load_cascade("attention/1pass"), load_spec("fusemax"), "M0", 1024, 64)
        (64, 128, 256, 512, 1024)
    """
    default = cascade.rank(rank).default
    top = 1 << max(0, int(np.ceil(np.log2(max(extent, 1)))))
    values = {int(default)} if default is not None and default <= top else set()
    values.update(int(s) for a in spec.arrays for s in a.shape if s <= top)
    power = 1
    while power <= top:
        if power >= smallest:
            values.add(power)
        power *= 2
    return tuple(sorted(v for v in values if v >= 1))


def complete_point(
    cascade: Cascade,
    columns: collections.abc.Mapping[str, Array],
    batch_ranks: tuple[str, ...],
) -> dict[str, Array]:
    """Return the point's columns with algorithm defaults filled in; M503 names what is missing.

    Partition ranks are left out unless the point gives them (then they are fixed). A rank
    with a default that is not a partition rank takes its default unless the point gives
    it. Any other free rank the cascade needs must come from the point.

    Raises:
        MappingError: M503 the free extents the point does not give, and how to give them.
    """
    out = dict(columns)
    partitions = set(partition_ranks(cascade))
    missing = []
    for rank in cascade.free_ranks:
        if rank.name in out or rank.name in partitions:
            continue
        if rank.default is not None:
            out[rank.name] = np.full_like(next(iter(columns.values())), float(rank.default))
        else:
            missing.append(str(rank.name))
    if missing:
        plural = "s" if len(missing) > 1 else ""
        raise MappingError.single(
            "M503",
            f"cascade '{cascade.name}' needs extent{plural} {', '.join(missing)}, which the "
            "workload does not give",
            None,
            "give them with "
            + " ".join(f"--extent {name}=VALUE" for name in missing)
            + f" (the workload gives {', '.join(sorted(set(columns) - set(batch_ranks)))})",
        )
    return out


def expand_partitions(
    cascade: Cascade,
    spec: ArchSpec,
    columns: dict[str, Array],
    smallest: int,
) -> tuple[dict[str, Array], NDArray[np.int64], tuple[str, ...]]:
    """Return rows = points x partition candidates, each row's point, and the searched ranks.

    Partition ranks the point gives stay fixed; the others take every candidate of
    :func:`partition_values` (from the largest extent over the points).
    """
    searched = tuple(r for r in partition_ranks(cascade) if r not in columns)
    points = next(iter(columns.values())).shape[0]
    choices = []
    for rank in searched:
        split = split_rank(cascade, rank)
        extent = float(np.max(columns[split])) if split in columns else float(smallest)
        choices.append(partition_values(cascade, spec, rank, extent, smallest))
    combos = list(itertools.product(*choices)) or [()]
    point = np.repeat(np.arange(points), len(combos))
    rows = {k: np.asarray(v, dtype=float)[point] for k, v in columns.items()}
    for position, rank in enumerate(searched):
        values = np.array([c[position] for c in combos], dtype=float)
        rows[rank] = np.tile(values, points)
    return rows, point.astype(np.int64), searched


__all__ = [
    "complete_point",
    "expand_partitions",
    "partition_ranks",
    "partition_values",
    "split_rank",
]
