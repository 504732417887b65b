"""Frozen syntax nodes: what the user wrote, with spans, before names are resolved."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from einsum_cascade.diagnostics import SourceSpan


@dataclass(frozen=True, slots=True)
class Number:
    """A numeric literal, ``inf`` included."""

    value: float
    text: str
    span: SourceSpan


@dataclass(frozen=True, slots=True)
class Name:
    """A bare identifier in an expression: an extent or an index variable."""

    name: str
    span: SourceSpan


@dataclass(frozen=True, slots=True)
class Ref:
    """A tensor reference ``T[i, j]`` with raw index expressions."""

    name: str
    indices: tuple[Node, ...]
    span: SourceSpan
    name_span: SourceSpan


@dataclass(frozen=True, slots=True)
class CallNode:
    """A function call ``f(a, b)``."""

    name: str
    args: tuple[Node, ...]
    span: SourceSpan
    name_span: SourceSpan


@dataclass(frozen=True, slots=True)
class UnaryNode:
    """Unary minus."""

    op: str
    operand: Node
    span: SourceSpan


@dataclass(frozen=True, slots=True)
class BinaryNode:
    """An infix arithmetic operation."""

    op: str
    left: Node
    right: Node
    span: SourceSpan


Node = Union[Number, Name, Ref, CallNode, UnaryNode, BinaryNode]  # noqa: UP007


@dataclass(frozen=True, slots=True)
class CompareNode:
    """A comparison between two index expressions."""

    op: str
    left: Node
    right: Node
    span: SourceSpan


@dataclass(frozen=True, slots=True)
class BoolNode:
    """``and`` / ``or`` of conditions."""

    op: str
    operands: tuple[Condition, ...]
    span: SourceSpan


@dataclass(frozen=True, slots=True)
class NotNode:
    """``not`` of a condition."""

    operand: Condition
    span: SourceSpan


Condition = Union[CompareNode, BoolNode, NotNode]  # noqa: UP007


@dataclass(frozen=True, slots=True)
class Header:
    """``cascade NAME "description"``."""

    name: str
    description: str
    span: SourceSpan


@dataclass(frozen=True, slots=True)
class RankDecl:
    """``rank NAME`` or ``rank NAME = expression``."""

    name: str
    value: Node | None
    span: SourceSpan


@dataclass(frozen=True, slots=True)
class RanksDecl:
    """``rank E, F, M0 = 256``: one or more rank declarations."""

    ranks: tuple[RankDecl, ...]
    span: SourceSpan


@dataclass(frozen=True, slots=True)
class TensorShape:
    """``NAME[R1, R2]`` in an ``input`` or ``tensor`` declaration."""

    name: str
    ranks: tuple[tuple[str, SourceSpan], ...]
    span: SourceSpan


@dataclass(frozen=True, slots=True)
class InputDecl:
    """``input Q[E, P], K[E, M]``."""

    tensors: tuple[TensorShape, ...]
    span: SourceSpan


@dataclass(frozen=True, slots=True)
class OutputDecl:
    """``output AV``."""

    names: tuple[tuple[str, SourceSpan], ...]
    span: SourceSpan


@dataclass(frozen=True, slots=True)
class TensorDecl:
    """``tensor S[M, P] empty -inf``."""

    shape: TensorShape
    empty: float | None
    span: SourceSpan


@dataclass(frozen=True, slots=True)
class InitDecl:
    """``init RM[m1 = 0, p] = -inf``."""

    name: str
    indices: tuple[tuple[str, int | None, SourceSpan], ...]
    value: Node
    span: SourceSpan
    name_span: SourceSpan


@dataclass(frozen=True, slots=True)
class Equation:
    """``OUT[...] = expression [where condition] [:: op]``."""

    lhs: Ref
    rhs: Node
    condition: Condition | None
    reduce_op: str | None
    reduce_span: SourceSpan | None
    span: SourceSpan


Statement = Union[Header, RanksDecl, InputDecl, OutputDecl, TensorDecl, InitDecl, Equation]  # noqa: UP007


@dataclass(frozen=True, slots=True)
class Program:
    """A whole parsed file."""

    file: str
    source: str
    statements: tuple[Statement, ...]
