"""Frozen IR of a cascade: ranks, tensors, expressions and einsums (it imports no analysis).

Everything here is immutable and hashable; spans take no part in equality, so a cascade
printed and parsed again compares equal to the original.
"""

from __future__ import annotations

import enum
import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import einsum_cascade.formulas as fm
from einsum_cascade.diagnostics import Diagnostic, SourceSpan
from einsum_cascade.expressions import (
    Binary,
    BoolOp,
    Call,
    Compare,
    Coordinate,
    Expr,
    ExtentRef,
    Filter,
    Literal,
    Not,
    RankName,
    TensorName,
    TensorRef,
    Unary,
    expression_variables,
    filter_variables,
    operands,
    walk,
)
from einsum_cascade.formulas import Formula
from einsum_cascade.symbols import extent_symbol, rank_of_variable

if TYPE_CHECKING:
    import sympy


class TensorKind(enum.Enum):
    """The role of a tensor in a cascade."""

    INPUT = "input"
    INTERMEDIATE = "intermediate"
    OUTPUT = "output"


class ReduceOp(enum.Enum):
    """How values landing on one output point are combined."""

    SUM = "+"
    PRODUCT = "*"
    MAX = "max"
    MIN = "min"

    @property
    def identity(self) -> float:
        """Return the identity element of the reduction."""
        return {"+": 0.0, "*": 1.0, "max": -math.inf, "min": math.inf}[self.value]


class Generation(enum.Enum):
    """Which generation of an iterative tensor a reference reads."""

    PREVIOUS = "previous"  # T[x]: the generation this step started from
    CURRENT = "current"  # T[x + 1]: the generation this step produces
    FINAL = "final"  # T[X]: the last generation
    CONSTANT = "constant"  # T[0] or another fixed coordinate


@dataclass(frozen=True, slots=True)
class Rank:
    """A named dimension with a symbolic extent."""

    name: RankName
    formula: Formula | None = None  # set for derived ranks: ceil(M / M0); sympy accepted
    default: int | None = None  # constant default, overridable: rank M0 = 256
    span: SourceSpan | None = field(default=None, compare=False, hash=False, repr=False)

    def __post_init__(self) -> None:
        if self.formula is not None:
            object.__setattr__(self, "formula", Formula.of(self.formula))

    @property
    def expression(self) -> sympy.Expr | None:
        """Return the derived extent as a sympy expression (None for a free rank)."""
        return None if self.formula is None else self.formula.expr

    @property
    def symbol(self) -> sympy.Symbol:
        """Return the extent symbol of this rank."""
        return extent_symbol(self.name)

    @property
    def is_derived(self) -> bool:
        """Tell whether the extent is computed from other extents."""
        return self.formula is not None


# ------------------------------------------------------------ einsums, tensors


# an einsum's operands and variables, by its identity (the entry keeps the einsum, so its id
# is not reused): the cost model and the mapper ask for them millions of times in a search
_DERIVED: dict[tuple[int, str], tuple[Einsum, tuple[Any, ...]]] = {}


def _derived(einsum: Einsum, what: str, compute: Callable[[], tuple[Any, ...]]) -> tuple[Any, ...]:
    entry = _DERIVED.get((id(einsum), what))
    if entry is None or entry[0] is not einsum:
        entry = _DERIVED[(id(einsum), what)] = (einsum, compute())
    return entry[1]


@dataclass(frozen=True, slots=True)
class Einsum:
    """One extended Einsum ``OUT[...] = expression [where filter] [:: op]``."""

    output: TensorRef
    expression: Expr
    condition: Filter | None = None
    reduce_op: ReduceOp = ReduceOp.SUM
    explicit_reduce: bool = False
    span: SourceSpan | None = field(default=None, compare=False, hash=False, repr=False)

    @property
    def name(self) -> TensorName:
        """Return the name of the einsum: the tensor it produces."""
        return self.output.tensor

    @property
    def output_variables(self) -> tuple[str, ...]:
        """Return the index variables of the left-hand side, in order."""
        return self.output.variables()

    @property
    def iterative_variable(self) -> str | None:
        """Return ``x`` when the left-hand side writes ``x + 1``, else None."""
        for formula in self.output.formulas:
            names = formula.variables()
            if len(names) == 1 and formula.same_as(fm.plus(fm.index(names[0]), 1)):
                return names[0]
        return None

    @property
    def operands(self) -> tuple[TensorRef, ...]:
        """Return the tensor references on the right-hand side."""
        return _derived(self, "operands", lambda: operands(self.expression))

    @property
    def variables(self) -> tuple[str, ...]:
        """Return every index variable of the iteration space, left-hand side first."""
        return _derived(self, "variables", self._variables)

    def _variables(self) -> tuple[str, ...]:
        seen: dict[str, None] = dict.fromkeys(self.output_variables)
        for node in walk(self.expression):
            if isinstance(node, TensorRef):
                for name in node.variables():
                    seen.setdefault(name, None)
            elif isinstance(node, Coordinate):
                seen.setdefault(node.variable, None)
        if self.condition is not None:
            for name in filter_variables(self.condition):
                seen.setdefault(name, None)
        return tuple(seen)

    @property
    def reduced_variables(self) -> tuple[str, ...]:
        """Return the index variables that are reduced (not on the left-hand side)."""
        kept = set(self.output_variables)
        return tuple(v for v in self.variables if v not in kept)

    @property
    def ranks(self) -> tuple[RankName, ...]:
        """Return the ranks of the iteration space."""
        return tuple(RankName(rank_of_variable(v)) for v in self.variables)


@dataclass(frozen=True, slots=True)
class Init:
    """``init T[x = 0, ...] = value``: generation 0 of an iterative tensor."""

    tensor: TensorName
    variables: tuple[str, ...]  # index variable per position of the tensor
    iterative_position: int
    value: Expr
    span: SourceSpan | None = field(default=None, compare=False, hash=False, repr=False)


@dataclass(frozen=True, slots=True)
class Tensor:
    """A tensor with its rank order, role and empty value."""

    name: TensorName
    ranks: tuple[RankName, ...]
    kind: TensorKind
    empty: float = 0.0
    explicit_empty: bool = False
    iterative_rank: RankName | None = None
    span: SourceSpan | None = field(default=None, compare=False, hash=False, repr=False)

    @property
    def iterative_position(self) -> int | None:
        """Return the position of the iterative rank, if any."""
        if self.iterative_rank is None:
            return None
        return self.ranks.index(self.iterative_rank)


def generation_of(ref: TensorRef, tensor: Tensor) -> Generation | None:
    """Classify which generation a reference to an iterative tensor reads."""
    position = tensor.iterative_position
    if position is None:
        return None
    index = ref.formulas[position]
    assert tensor.iterative_rank is not None
    variable = fm.index(tensor.iterative_rank.lower())
    if index.same_as(variable):
        return Generation.PREVIOUS
    if index.same_as(fm.plus(variable, 1)):
        return Generation.CURRENT
    if index.same_as(fm.extent(tensor.iterative_rank)):
        return Generation.FINAL
    return Generation.CONSTANT


# ------------------------------------------------------------------- cascade


@dataclass(frozen=True)
class Cascade:
    """A checked cascade: the immutable IR every analysis, model and renderer reads.

    Build one with ``parse_cascade``, ``parse_teaal_yaml`` or ``load_cascade`` (a library
    name or a file); the analyses that read it are functions of their own modules.
    """

    name: str
    description: str
    ranks: tuple[Rank, ...]
    tensors: tuple[Tensor, ...]
    inits: tuple[Init, ...]
    einsums: tuple[Einsum, ...]
    source_file: str = field(default="<string>", compare=False, hash=False)
    warnings: tuple[Diagnostic, ...] = field(default=(), compare=False, hash=False, repr=False)

    # ---- lookups

    @functools.cached_property
    def _tensor_index(self) -> dict[str, Tensor]:
        return {t.name: t for t in self.tensors}

    @functools.cached_property
    def _rank_index(self) -> dict[str, Rank]:
        return {r.name: r for r in self.ranks}

    def tensor(self, name: str) -> Tensor:
        """Return the tensor called ``name``."""
        return self._tensor_index[name]

    def rank(self, name: str) -> Rank:
        """Return the rank called ``name``."""
        return self._rank_index[name]

    def has_rank(self, name: str) -> bool:
        """Tell whether the cascade declares ``name`` as a rank."""
        return name in self._rank_index

    @functools.cached_property
    def _einsum_index(self) -> dict[str, Einsum]:
        return {e.name: e for e in self.einsums}

    @functools.cached_property
    def _init_index(self) -> dict[str, Init]:
        return {i.tensor: i for i in self.inits}

    def einsum(self, name: str) -> Einsum:
        """Return the einsum producing tensor ``name``."""
        return self._einsum_index[name]

    def init(self, name: str) -> Init | None:
        """Return the ``init`` of tensor ``name``, if any."""
        return self._init_index.get(name)

    @property
    def inputs(self) -> tuple[Tensor, ...]:
        """Return the input tensors in declaration order."""
        return tuple(t for t in self.tensors if t.kind is TensorKind.INPUT)

    @property
    def outputs(self) -> tuple[Tensor, ...]:
        """Return the output tensors in declaration order."""
        return tuple(t for t in self.tensors if t.kind is TensorKind.OUTPUT)

    @property
    def free_ranks(self) -> tuple[Rank, ...]:
        """Return the ranks whose extents are not derived from others."""
        return tuple(r for r in self.ranks if not r.is_derived)

    def extent(self, rank: str) -> sympy.Expr:
        """Return the extent of ``rank`` as an expression of free extents only."""
        import sympy

        found = self.rank(rank)
        if found.expression is None:
            return found.symbol
        substitutions = {
            symbol: self.extent(symbol.name)
            for symbol in found.expression.free_symbols
            if isinstance(symbol, sympy.Symbol) and self.has_rank(symbol.name)
        }
        return found.expression.xreplace(substitutions)


__all__ = [
    "Binary",
    "BoolOp",
    "Call",
    "Cascade",
    "Compare",
    "Coordinate",
    "Einsum",
    "Expr",
    "ExtentRef",
    "Filter",
    "Generation",
    "Init",
    "Literal",
    "Not",
    "Rank",
    "RankName",
    "ReduceOp",
    "Tensor",
    "TensorKind",
    "TensorName",
    "TensorRef",
    "Unary",
    "expression_variables",
    "filter_variables",
    "generation_of",
    "operands",
    "walk",
]
