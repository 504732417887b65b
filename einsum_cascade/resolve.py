"""Resolve rank extents, expressions, indices and filters against the declarations.

``Resolver`` is mixed into the checker; it converts syntax nodes to IR nodes and records a
located diagnostic for every name it cannot resolve.
"""

from __future__ import annotations

import math
from typing import Any

import einsum_cascade.formulas as fm
from einsum_cascade import ast
from einsum_cascade.diagnostics import Diagnostic, Note, Severity, SourceSpan, suggest
from einsum_cascade.extents import MAX_EXTENT
from einsum_cascade.formulas import Formula
from einsum_cascade.functions import lookup, registered
from einsum_cascade.ir import (
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
    Rank,
    RankName,
    TensorName,
    TensorRef,
    Unary,
)
from einsum_cascade.symbols import rank_of_variable

_RANK_FUNCTIONS = ("ceil", "floor", "min", "max", "sqrt")


class InvalidError(Exception):
    """Raised inside conversion after a diagnostic was recorded."""


class Resolver:
    """Expression, index and filter conversion shared by the checker.

    Subclasses provide the declarations (``ranks``, ``tensors``) and the list that
    collects ``diagnostics``.
    """

    ranks: dict[str, Any]
    tensors: dict[str, Any]
    diagnostics: list[Diagnostic]

    def error(
        self,
        code: str,
        message: str,
        span: SourceSpan | None,
        hint: str | None = None,
        notes: tuple[Note, ...] = (),
    ) -> None:
        """Record an error; checking goes on so that every problem is reported."""
        self.diagnostics.append(Diagnostic(Severity.ERROR, code, message, span, hint, notes))

    def warn(
        self, code: str, message: str, span: SourceSpan | None, hint: str | None = None
    ) -> None:
        """Record a warning: legal but probably unintended input."""
        self.diagnostics.append(Diagnostic(Severity.WARNING, code, message, span, hint))

    # ---- ranks and extents

    def declare_rank(self, decl: ast.RankDecl) -> None:
        if decl.name in self.ranks:
            self.error(
                "E214",
                f"rank '{decl.name}' is declared twice",
                decl.span,
                notes=(Note("first declared here", self.ranks[decl.name].span),),
            )
            return
        if decl.name == decl.name.lower():
            self.error(
                "E216",
                f"rank name '{decl.name}' has no upper-case letter",
                decl.span,
                hint=f"rank names are upper case; '{decl.name}' is then its index "
                f"variable, e.g. 'rank {decl.name.upper()}'",
            )
            return
        expression: Formula | None = None
        default: int | None = None
        if decl.value is not None:
            try:
                value = self.rank_expression(decl.value)
            except InvalidError:
                return
            if value.is_number():
                number = value.number()
                if number is not None:
                    whole = number.denominator == 1 and 0 < number <= MAX_EXTENT
                    positive = number > 0
                else:
                    exact = value.expr
                    whole = bool(exact.is_integer and 0 < exact <= MAX_EXTENT)
                    positive = bool(exact.is_positive)
                if not whole:
                    self.error(
                        "E217",
                        f"rank '{decl.name}' needs a positive whole extent",
                        decl.value.span,
                        hint=f"at most 2^40 = {MAX_EXTENT:,}" if positive else None,
                    )
                    # declared without its default, so its uses report nothing more
                    self.ranks[decl.name] = Rank(RankName(decl.name), None, None, decl.span)
                    return
                default = int(number if number is not None else value.expr)
            else:
                expression = value
        self.ranks[decl.name] = Rank(RankName(decl.name), expression, default, decl.span)

    def rank_expression(self, node: ast.Node) -> Formula:
        if isinstance(node, ast.Number):
            return fm.rank_number(node.value)
        if isinstance(node, ast.Name):
            if node.name not in self.ranks:
                self.unknown_rank(node.name, node.span)
                raise InvalidError
            return fm.extent(node.name)
        if isinstance(node, ast.BinaryNode):
            left, right = self.rank_expression(node.left), self.rank_expression(node.right)
            return fm.combine(node.op, left, right)
        if isinstance(node, ast.UnaryNode):
            return fm.negate(self.rank_expression(node.operand))
        if isinstance(node, ast.CallNode) and node.name in _RANK_FUNCTIONS:
            return fm.call(node.name, tuple(self.rank_expression(a) for a in node.args))
        self.error(
            "E217",
            "a rank extent may use only numbers, other extents, + - * / and ceil, floor, min, max",
            node.span,
        )
        raise InvalidError

    # ---- tensors

    def unknown_rank(self, name: str, span: SourceSpan) -> None:
        self.error("E209", f"unknown rank '{name}'", span, suggest(name, self.ranks))

    def no_rank(self, variable: str, span: SourceSpan) -> None:
        candidates = [r.lower() for r in self.ranks]
        hint = suggest(variable, candidates) or (
            f"declare 'rank {variable.upper()}' or use one of: {', '.join(candidates)}"
            if candidates
            else f"declare 'rank {variable.upper()}'"
        )
        self.error("E203", f"index variable '{variable}' has no rank", span, hint)

    def expression(self, node: ast.Node, allowed: set[str] | None) -> Expr:
        """Convert an AST expression; ``allowed`` limits index variables (for inits)."""
        if isinstance(node, ast.Number):
            return Literal(node.value, node.span)
        if isinstance(node, ast.Name):
            return self.name_value(node, allowed)
        if isinstance(node, ast.Ref):
            return self.reference(node)
        if isinstance(node, ast.UnaryNode):
            return Unary(node.op, self.expression(node.operand, allowed), node.span)
        if isinstance(node, ast.BinaryNode):
            left = self.expression(node.left, allowed)
            right = self.expression(node.right, allowed)
            return Binary(node.op, left, right, node.span)
        return self.call(node, allowed)

    def name_value(self, node: ast.Name, allowed: set[str] | None) -> Expr:
        info = self.tensors.get(node.name)
        if info is not None and not info.ranks:
            return TensorRef(TensorName(node.name), (), node.span)
        if node.name in self.ranks:
            return ExtentRef(RankName(node.name), node.span)
        if node.name == node.name.lower() and rank_of_variable(node.name) in self.ranks:
            if allowed is not None and node.name not in allowed:
                self.error("E203", f"index variable '{node.name}' is not bound here", node.span)
                raise InvalidError
            return Coordinate(node.name, node.span)
        scalars = [t for t, i in self.tensors.items() if not i.ranks]
        self.error(
            "E201",
            f"unknown tensor or extent '{node.name}'",
            node.span,
            suggest(node.name, [*self.tensors, *self.ranks, *scalars]),
        )
        raise InvalidError

    def call(self, node: ast.Node, allowed: set[str] | None) -> Expr:
        assert isinstance(node, ast.CallNode)
        function = lookup(node.name)
        if function is None:
            self.error(
                "E202",
                f"unknown function '{node.name}'",
                node.name_span,
                suggest(node.name, registered()),
            )
            raise InvalidError
        if len(node.args) != function.arity:
            self.error(
                "E212",
                f"'{node.name}' takes {function.arity} argument"
                f"{'s' if function.arity != 1 else ''} but {len(node.args)} "
                f"{'were' if len(node.args) != 1 else 'was'} given",
                node.span,
            )
            raise InvalidError
        args = tuple(self.expression(a, allowed) for a in node.args)
        return Call(node.name, args, node.span)

    def reference(self, node: ast.Ref) -> TensorRef:
        info = self.tensors.get(node.name)
        if info is None:
            self.error(
                "E201",
                f"unknown tensor '{node.name}'",
                node.name_span,
                suggest(node.name, self.tensors),
            )
            raise InvalidError
        if len(node.indices) != len(info.ranks):
            self.error(
                "E205",
                f"'{node.name}' has {len(info.ranks)} rank"
                f"{'s' if len(info.ranks) != 1 else ''} [{', '.join(info.ranks)}] but "
                f"{len(node.indices)} ind{'ices' if len(node.indices) != 1 else 'ex'} "
                "are given",
                node.span,
                notes=(Note(f"{node.name} declared here", info.span),),
            )
            raise InvalidError
        indices = []
        for position, index in enumerate(node.indices):
            value = self.index(index)
            if isinstance(index, ast.Name) and index.name == index.name.lower():
                rank = rank_of_variable(index.name)
                expected = info.ranks[position]
                if rank != expected:
                    self.error(
                        "E204",
                        f"rank '{index.name}' has extent {rank} here but "
                        f"{node.name} has extent {expected} at this position",
                        index.span,
                        notes=(
                            Note(
                                f"{node.name} declared as [{', '.join(info.ranks)}] here", info.span
                            ),
                        ),
                    )
            indices.append(value)
        return TensorRef(TensorName(node.name), tuple(indices), node.span)

    def index(self, node: ast.Node) -> Formula:
        value = self.index_value(node)
        if not value.is_affine():
            self.error(
                "E217",
                "an index must be affine in the index variables (like m1 * M0 + m0)",
                node.span,
            )
            raise InvalidError
        return value

    def index_value(self, node: ast.Node) -> Formula:
        if isinstance(node, ast.Number):
            if node.value != int(node.value) if math.isfinite(node.value) else True:
                self.error("E217", "an index must be a whole number", node.span)
                raise InvalidError
            if abs(node.value) > MAX_EXTENT:
                self.error(
                    "E217",
                    "an index number must be at most 2^40 in magnitude",
                    node.span,
                    hint=f"2^40 = {MAX_EXTENT:,}",
                )
                raise InvalidError
            return fm.index_number(int(node.value))
        if isinstance(node, ast.Name):
            if node.name in self.ranks:
                return fm.extent(node.name)
            if node.name == node.name.lower() and rank_of_variable(node.name) in self.ranks:
                return fm.index(node.name)
            if node.name == node.name.lower():
                self.no_rank(node.name, node.span)
            else:
                self.unknown_rank(node.name, node.span)
            raise InvalidError
        if isinstance(node, ast.BinaryNode):
            left, right = self.index_value(node.left), self.index_value(node.right)
            return fm.combine(node.op, left, right)
        if isinstance(node, ast.UnaryNode):
            return fm.negate(self.index_value(node.operand))
        self.error(
            "E217", "an index may use only index variables, extents, numbers and + - * /", node.span
        )
        raise InvalidError

    def condition(self, node: ast.Condition) -> Filter:
        if isinstance(node, ast.CompareNode):
            return Compare(node.op, self.index(node.left), self.index(node.right), node.span)
        if isinstance(node, ast.NotNode):
            return Not(self.condition(node.operand), node.span)
        return BoolOp(node.op, tuple(self.condition(c) for c in node.operands), node.span)
