"""What the pass analyser needs to know about ranks: partitions, counted levels, fiber bounds.

A rank ``M`` is *partitioned* into levels ``M1, M0`` when a rank-``M`` tensor is read at
the affine index ``m1 * M0 + m0`` (more levels nest: ``m2 * M1 * M0 + m1 * M0 + m0``).
A filter such as ``p - W < m and m <= p`` bounds a fiber of ``M`` to ``W`` elements.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sympy

from einsum_cascade.diagnostics import Diagnostic, Severity, suggest
from einsum_cascade.errors import DiagnosticError
from einsum_cascade.ir import BoolOp, Cascade, Compare, Filter, Not
from einsum_cascade.symbols import (
    extent_symbol,
    index_symbol,
    index_variables,
    rank_of_variable,
    variable_of_rank,
)

# A fresh index-like symbol standing for the whole coordinate of a partitioned rank.
_WHOLE = sympy.Symbol("_whole", integer=True, nonnegative=True)


class PassError(DiagnosticError):
    """A pass analysis was asked about a rank or einsum the cascade does not have."""


def pass_error(code: str, message: str, hint: str | None = None) -> PassError:
    """Build a PassError with one diagnostic (no span: the rank came from the caller)."""
    return PassError([Diagnostic(Severity.ERROR, code, message, None, hint)])


@dataclass(frozen=True, slots=True)
class Partition:
    """Rank ``parent`` split into ``levels`` (outermost first) by an affine index."""

    parent: str
    levels: tuple[str, ...]
    index: sympy.Expr  # m1 * M0 + m0

    @property
    def variables(self) -> frozenset[str]:
        """Return the index variables of every level."""
        return frozenset(variable_of_rank(level) for level in self.levels)


@dataclass(frozen=True, slots=True)
class Target:
    """The index variables a pass analysis counts, and the rules that apply to them.

    Attributes:
        ranks: The rank names asked for (several when they index one shared sequence).
        counted: Variables whose traversal makes an einsum take part in a pass and whose
            reduction closes a fiber.
        carriers: A closure counts only when the closing tensor still carries all of these
            (the outer levels, when a lower partition level is counted).
        whole: When ``ranks`` names a partitioned rank, the variable sets that make up a
            whole fiber of it (every level of a partition); passes are then numbered over
            the einsums that traverse whole fibers only. Empty otherwise.
        partitions: The partitions of the ranks asked for, for fiber extents.
    """

    ranks: tuple[str, ...]
    counted: frozenset[str]
    carriers: frozenset[str]
    whole: tuple[frozenset[str], ...]
    partitions: tuple[Partition, ...]


def _as_partition(cascade: Cascade, index: sympy.Expr, parent: str) -> Partition | None:
    """Recognise ``m1 * M0 + m0`` (any number of levels) read at a rank ``parent``."""
    names = index_variables(index)
    if len(names) < 2:
        return None
    symbols = [index_symbol(n) for n in names]
    coefficients = {n: sympy.diff(index, s) for n, s in zip(names, symbols, strict=True)}
    if any(index_variables(c) for c in coefficients.values()):
        return None
    rest = sympy.expand(
        index - sum(coefficients[n] * s for n, s in zip(names, symbols, strict=True))
    )
    if rest != 0:
        return None
    # Innermost first: the level whose coefficient is 1, then the one scaled by its extent,
    # and so on; matched by value, never by name, so renaming ranks changes nothing.
    ordered: list[str] = []
    remaining = list(names)
    scale: sympy.Expr = sympy.Integer(1)
    while remaining:
        # Compare in free extents, so that a level declared 'rank C = B' matches B.
        name = next(
            (
                n
                for n in remaining
                if sympy.simplify(_in_free_extents(cascade, coefficients[n] - scale)) == 0
            ),
            None,
        )
        if name is None:
            return None
        ordered.append(name)
        remaining.remove(name)
        scale = scale * extent_symbol(rank_of_variable(name))
    levels = tuple(rank_of_variable(n) for n in reversed(ordered))
    return Partition(parent, levels, index)


def _in_free_extents(cascade: Cascade, expr: sympy.Expr) -> sympy.Expr:
    substitutions = {
        s: cascade.extent(s.name)
        for s in expr.free_symbols
        if isinstance(s, sympy.Symbol) and cascade.has_rank(s.name)
    }
    return expr.xreplace(substitutions)


def partitions(cascade: Cascade) -> tuple[Partition, ...]:
    """Return every partition of a rank that the cascade's operand indices express."""
    found: dict[tuple[str, tuple[str, ...]], Partition] = {}
    for einsum in cascade.einsums:
        for ref in einsum.operands:
            tensor = cascade.tensor(ref.tensor)
            for rank, index in zip(tensor.ranks, ref.indices, strict=True):
                partition = _as_partition(cascade, index, rank)
                if partition is not None:
                    found.setdefault((partition.parent, partition.levels), partition)
    return tuple(found.values())


def _unknown_rank(cascade: Cascade, rank: str) -> PassError:
    names = [r.name for r in cascade.ranks]
    hint = suggest(rank, names) or f"the ranks of '{cascade.name}' are {', '.join(names)}"
    return pass_error("P101", f"cascade '{cascade.name}' has no rank '{rank}'", hint)


def resolve_target(cascade: Cascade, ranks: Iterable[str]) -> Target:
    """Work out which index variables a pass analysis over ``ranks`` counts.

    Raises:
        PassError: when a rank is not a rank of the cascade, or is named twice.
    """
    asked = tuple(ranks)
    for rank in asked:
        if not cascade.has_rank(rank):
            raise _unknown_rank(cascade, rank)
    if len(set(asked)) != len(asked):
        raise pass_error("P103", f"rank named twice in {', '.join(asked)}")
    found = partitions(cascade)
    iterated = {v for einsum in cascade.einsums for v in einsum.variables}
    counted: set[str] = set()
    carriers: set[str] = set()
    whole: list[frozenset[str]] = []
    used: list[Partition] = []
    for rank in asked:
        variable = variable_of_rank(rank)
        as_parent = [p for p in found if p.parent == rank]
        as_level = [p for p in found if rank in p.levels]
        if as_parent:
            used.extend(as_parent)
            counted.update(variable_of_rank(p.levels[0]) for p in as_parent)
            whole.extend(p.variables for p in as_parent)
            if variable in iterated:
                counted.add(variable)
                whole.append(frozenset({variable}))
            continue
        counted.add(variable)
        if as_level and len(asked) == 1:
            partition = as_level[0]
            used.append(partition)
            outer = partition.levels[: partition.levels.index(rank)]
            carriers.update(variable_of_rank(level) for level in outer)
    if len(asked) > 1:
        whole = []
    return Target(asked, frozenset(counted), frozenset(carriers), tuple(whole), tuple(used))


# ------------------------------------------------------------------ fiber bounds


def _bounds(
    compare: Compare, variable: sympy.Symbol, substitution: dict[sympy.Symbol, sympy.Expr]
) -> tuple[list[sympy.Expr], list[sympy.Expr]]:
    """Return (lower bounds, upper bounds) a comparison puts on ``variable``, inclusive."""
    difference = sympy.expand((compare.left - compare.right).xreplace(substitution))
    slope = sympy.diff(difference, variable)
    rest = sympy.expand(difference - slope * variable)
    if slope not in (1, -1) or variable in rest.free_symbols:
        return [], []
    op = compare.op
    if slope == -1:  # -v + rest OP 0  <=>  v OP' rest
        op = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}[op]
        value = rest
    else:  # v + rest OP 0  <=>  v OP -rest
        value = -rest
    return {
        "<": ([], [value - 1]),
        "<=": ([], [value]),
        ">": ([value + 1], []),
        ">=": ([value], []),
        "==": ([value], [value]),
    }.get(op, ([], []))


def _has_index(expr: sympy.Expr) -> bool:
    return any(s.name == s.name.lower() for s in expr.free_symbols if isinstance(s, sympy.Symbol))


def _length(
    condition: Filter, variable: sympy.Symbol, substitution: dict[sympy.Symbol, sympy.Expr]
) -> sympy.Expr | None:
    if isinstance(condition, Not):
        return None
    if isinstance(condition, BoolOp) and condition.op == "or":
        parts = [_length(part, variable, substitution) for part in condition.operands]
        if any(part is None for part in parts):
            return None
        return sympy.Add(*parts)
    conjuncts = condition.operands if isinstance(condition, BoolOp) else (condition,)
    lowers: list[sympy.Expr] = [sympy.Integer(0)]  # coordinates start at 0
    uppers: list[sympy.Expr] = []
    candidates: list[sympy.Expr] = []
    for part in conjuncts:
        if isinstance(part, Compare):
            low, high = _bounds(part, variable, substitution)
            lowers.extend(low)
            uppers.extend(high)
        else:
            nested = _length(part, variable, substitution)
            if nested is not None:
                candidates.append(nested)
    for low in lowers:
        for high in uppers:
            size = _index_free_bound(sympy.expand(high - low + 1))
            if size is not None:
                candidates.append(size)
    return sympy.Min(*candidates) if candidates else None


def _index_free_bound(size: sympy.Expr) -> sympy.Expr | None:
    """Return a bound on ``size`` over every index value, or None when it has none.

    Indices are coordinates, so never negative: a size that does not grow with any index
    is largest where they are 0 (``S - m1*M0`` keys below a sink bound S is at most S).
    """
    indices = [s for s in size.free_symbols if isinstance(s, sympy.Symbol) and _has_index(s)]
    for index in indices:
        slope = sympy.diff(size, index)
        if index in slope.free_symbols or not slope.is_nonpositive:
            return None
    return size.xreplace({index: sympy.Integer(0) for index in indices})


def filtered_length(condition: Filter | None, rank: str, target: Target) -> sympy.Expr | None:
    """Return how many coordinates of ``rank`` a filter admits per fiber, if it bounds them.

    For a partitioned rank the whole coordinate (``m1 * M0 + m0``) is what is bounded.
    Returns None when the filter does not bound the fiber by an expression of extents.
    """
    if condition is None:
        return None
    for partition in target.partitions:
        if partition.parent == rank:
            inner = index_symbol(variable_of_rank(partition.levels[-1]))
            substitution = {inner: _WHOLE - (partition.index - inner)}
            return _length(condition, _WHOLE, substitution)
    return _length(condition, index_symbol(variable_of_rank(rank)), {})
