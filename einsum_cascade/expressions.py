"""Frozen expression and filter nodes of the IR, with the walkers every analysis uses.

Index expressions are sympy expressions of index variables and extents, kept as the
formulas the resolver built (:mod:`einsum_cascade.formulas`) and converted to sympy on
first use; spans take no part in equality.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NewType, Union

from einsum_cascade.diagnostics import SourceSpan
from einsum_cascade.formulas import Formula, combine

if TYPE_CHECKING:
    import sympy

RankName = NewType("RankName", str)
TensorName = NewType("TensorName", str)


# ---------------------------------------------------------------- expressions


@dataclass(frozen=True, slots=True)
class TensorRef:
    """An operand ``T[i, j + 1, m1 * M0 + m0]``: a tensor read at index expressions."""

    tensor: TensorName
    formulas: tuple[Formula, ...]  # sympy expressions are accepted and wrapped
    span: SourceSpan | None = field(default=None, compare=False, hash=False, repr=False)

    def __post_init__(self) -> None:
        if not all(isinstance(f, Formula) for f in self.formulas):
            object.__setattr__(self, "formulas", tuple(Formula.of(f) for f in self.formulas))

    @property
    def indices(self) -> tuple[sympy.Expr, ...]:
        """Return the index expressions as sympy expressions."""
        return tuple(f.expr for f in self.formulas)

    def variables(self) -> tuple[str, ...]:
        """Return the index variables used, in index order, each once."""
        seen: dict[str, None] = {}
        for formula in self.formulas:
            for name in formula.variables():
                seen.setdefault(name, None)
        return tuple(seen)


@dataclass(frozen=True, slots=True)
class Literal:
    """A numeric constant (``inf`` and ``-inf`` included)."""

    value: float
    span: SourceSpan | None = field(default=None, compare=False, hash=False, repr=False)


@dataclass(frozen=True, slots=True)
class ExtentRef:
    """An extent used as a number, as in ``1 / sqrt(E)``."""

    rank: RankName
    span: SourceSpan | None = field(default=None, compare=False, hash=False, repr=False)


@dataclass(frozen=True, slots=True)
class Coordinate:
    """The current coordinate of an index variable used as a number, as in ``pow(L, b - c)``."""

    variable: str
    span: SourceSpan | None = field(default=None, compare=False, hash=False, repr=False)


@dataclass(frozen=True, slots=True)
class Unary:
    """Unary minus."""

    op: str
    operand: Expr
    span: SourceSpan | None = field(default=None, compare=False, hash=False, repr=False)


@dataclass(frozen=True, slots=True)
class Binary:
    """An infix operation: ``+ - * /``."""

    op: str
    left: Expr
    right: Expr
    span: SourceSpan | None = field(default=None, compare=False, hash=False, repr=False)


@dataclass(frozen=True, slots=True)
class Call:
    """A call of a registered function such as ``exp`` or ``max``."""

    function: str
    args: tuple[Expr, ...]
    span: SourceSpan | None = field(default=None, compare=False, hash=False, repr=False)


Expr = Union[TensorRef, Literal, ExtentRef, Coordinate, Unary, Binary, Call]  # noqa: UP007


def walk(expr: Expr) -> Iterator[Expr]:
    """Yield every node of an expression, parents before children, left to right."""
    yield expr
    if isinstance(expr, Unary):
        yield from walk(expr.operand)
    elif isinstance(expr, Binary):
        yield from walk(expr.left)
        yield from walk(expr.right)
    elif isinstance(expr, Call):
        for arg in expr.args:
            yield from walk(arg)


def expression_variables(expr: Expr) -> frozenset[str]:
    """Return the index variables an expression carries: tensor indices and coordinates."""
    names: set[str] = set()
    for node in walk(expr):
        if isinstance(node, TensorRef):
            names.update(node.variables())
        elif isinstance(node, Coordinate):
            names.add(node.variable)
    return frozenset(names)


def operands(expr: Expr) -> tuple[TensorRef, ...]:
    """Return the tensor references of an expression in source order."""
    return tuple(node for node in walk(expr) if isinstance(node, TensorRef))


# -------------------------------------------------------------------- filters


@dataclass(frozen=True, slots=True)
class Compare:
    """A comparison of two index expressions: ``m <= p``."""

    op: str
    left_formula: Formula  # sympy expressions are accepted and wrapped
    right_formula: Formula
    span: SourceSpan | None = field(default=None, compare=False, hash=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "left_formula", Formula.of(self.left_formula))
        object.__setattr__(self, "right_formula", Formula.of(self.right_formula))

    @property
    def left(self) -> sympy.Expr:
        """Return the left-hand index expression (sympy)."""
        return self.left_formula.expr

    @property
    def right(self) -> sympy.Expr:
        """Return the right-hand index expression (sympy)."""
        return self.right_formula.expr


@dataclass(frozen=True, slots=True)
class BoolOp:
    """``and`` / ``or`` of several conditions."""

    op: str
    operands: tuple[Filter, ...]
    span: SourceSpan | None = field(default=None, compare=False, hash=False, repr=False)


@dataclass(frozen=True, slots=True)
class Not:
    """Negation of a condition."""

    operand: Filter
    span: SourceSpan | None = field(default=None, compare=False, hash=False, repr=False)


Filter = Union[Compare, BoolOp, Not]  # noqa: UP007


def filter_variables(condition: Filter) -> tuple[str, ...]:
    """Return the index variables a filter mentions, sorted."""
    if isinstance(condition, Compare):
        return combine("+", condition.left_formula, condition.right_formula).variables()
    if isinstance(condition, Not):
        return filter_variables(condition.operand)
    names: set[str] = set()
    for part in condition.operands:
        names.update(filter_variables(part))
    return tuple(sorted(names))
