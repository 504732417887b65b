"""Recursive-descent parser: tokens -> AST. The only place that knows the syntax."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TypeVar

from einsum_cascade import ast
from einsum_cascade.diagnostics import SourceSpan
from einsum_cascade.errors import DslSyntaxError
from einsum_cascade.lexer import KEYWORDS, Kind, Token, tokenize

T = TypeVar("T")

RELATIONS = ("<", "<=", ">", ">=", "==", "!=")
MAX_DEPTH = 100
"""The deepest expression or condition the parser accepts: parentheses, calls, indices,
unary minus and each operator of a chain (``a + b + c`` is two levels) count one level.
Deeper trees are refused with a located E110 rather than exhausting Python's stack in the
parser or in the passes after it."""
REDUCE_OPS = ("+", "*", "max", "min")


def join(first: SourceSpan, last: SourceSpan) -> SourceSpan:
    """Return the span from the start of ``first`` to the end of ``last``."""
    return SourceSpan(first.file, first.line, first.col, last.end_line, last.end_col, first.source)


def parse_program(text: str, file: str = "<string>") -> ast.Program:
    """Parse a whole cascade text.

    Raises:
        DslSyntaxError: at the first syntax error.
    """
    parser = _Parser(tokenize(text, file))
    statements = parser.program()
    for statement in statements:
        _check_depth(statement)
    return ast.Program(file, text, statements)


def parse_equation(text: str, file: str = "<string>", line_offset: int = 0) -> ast.Statement:
    """Parse one equation or init statement (used for TeAAL-style YAML strings)."""
    parser = _Parser(tokenize(text, file))
    statements = parser.program()
    for statement in statements:
        _check_depth(statement)
    if len(statements) != 1 or not isinstance(statements[0], ast.Equation | ast.InitDecl):
        first = parser.tokens[0]
        raise DslSyntaxError.single("E110", "expected one equation", first.span)
    return statements[0]


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.depth = 0

    def enter(self, token: Token) -> None:
        """Count one level of nesting at ``token``; refuse more than MAX_DEPTH."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _too_deep(token.span)

    def leave(self) -> None:
        self.depth -= 1

    # ---- token helpers

    @property
    def tok(self) -> Token:
        return self.tokens[self.pos]

    def peek(self, offset: int = 1) -> Token:
        return self.tokens[min(self.pos + offset, len(self.tokens) - 1)]

    def advance(self) -> Token:
        token = self.tok
        if token.kind is not Kind.EOF:
            self.pos += 1
        return token

    def at(self, text: str) -> bool:
        return self.tok.kind in (Kind.OP, Kind.IDENT) and self.tok.text == text

    def accept(self, text: str) -> Token | None:
        return self.advance() if self.at(text) else None

    def expect(self, text: str, context: str) -> Token:
        if self.at(text):
            return self.advance()
        raise self.error(f"expected '{text}' {context}, found {self.tok.describe()}")

    def error(self, message: str, token: Token | None = None, hint: str | None = None) -> Exception:
        token = token or self.tok
        return DslSyntaxError.single("E110", message, token.span, hint)

    def ident(self, what: str) -> Token:
        token = self.tok
        if token.kind is not Kind.IDENT or token.text in KEYWORDS:
            raise self.error(f"expected {what}, found {token.describe()}")
        return self.advance()

    def separated(self, item: Callable[[], T]) -> list[T]:
        items = [item()]
        while self.accept(","):
            items.append(item())
        return items

    def end_statement(self) -> None:
        if self.tok.kind is Kind.NEWLINE:
            self.advance()
        elif self.tok.kind is not Kind.EOF:
            raise self.error(f"expected end of line, found {self.tok.describe()}")

    # ---- statements

    def program(self) -> tuple[ast.Statement, ...]:
        statements: list[ast.Statement] = []
        while self.tok.kind is not Kind.EOF:
            if self.tok.kind is Kind.NEWLINE:
                self.advance()
                continue
            statements.append(self.statement())
            self.end_statement()
        return tuple(statements)

    def statement(self) -> ast.Statement:
        token = self.tok
        if token.kind is Kind.IDENT:
            handlers: dict[str, Callable[[], ast.Statement]] = {
                "cascade": self.header,
                "rank": self.rank_decl,
                "input": self.input_decl,
                "output": self.output_decl,
                "tensor": self.tensor_decl,
                "init": self.init_decl,
            }
            handler = handlers.get(token.text)
            if handler is not None:
                return handler()
            if token.text not in KEYWORDS:
                return self.equation()
        raise self.error(
            f"expected a declaration or an equation, found {token.describe()}",
            hint="statements start with cascade, rank, input, output, tensor, init "
            "or a tensor name",
        )

    def header(self) -> ast.Header:
        start = self.advance()
        name = self.ident("a cascade name")
        description = ""
        last = name.span
        if self.tok.kind is Kind.NEWLINE and self.peek().kind is Kind.STRING:
            self.advance()
        if self.tok.kind is Kind.STRING:
            string = self.advance()
            description, last = string.text, string.span
        return ast.Header(name.text, description, join(start.span, last))

    def rank_decl(self) -> ast.RanksDecl:
        start = self.advance()
        decls = self.separated(self.one_rank)
        return ast.RanksDecl(tuple(decls), join(start.span, decls[-1].span))

    def one_rank(self) -> ast.RankDecl:
        name = self.ident("a rank name")
        value = None
        span = name.span
        if self.accept("="):
            value = self.expression()
            span = join(name.span, value.span)
        return ast.RankDecl(name.text, value, span)

    def shape(self) -> ast.TensorShape:
        name = self.ident("a tensor name")
        self.expect("[", f"after tensor name '{name.text}'")
        ranks: list[tuple[str, SourceSpan]] = []
        if not self.at("]"):
            for token in self.separated(lambda: self.ident("a rank name")):
                ranks.append((token.text, token.span))
        close = self.expect("]", "to close the rank list")
        return ast.TensorShape(name.text, tuple(ranks), join(name.span, close.span))

    def input_decl(self) -> ast.InputDecl:
        start = self.advance()
        shapes = self.separated(self.shape)
        return ast.InputDecl(tuple(shapes), join(start.span, shapes[-1].span))

    def output_decl(self) -> ast.OutputDecl:
        start = self.advance()
        names = self.separated(lambda: self.ident("an output tensor name"))
        return ast.OutputDecl(
            tuple((n.text, n.span) for n in names), join(start.span, names[-1].span)
        )

    def tensor_decl(self) -> ast.TensorDecl:
        start = self.advance()
        shape = self.shape()
        empty = None
        last = shape.span
        if self.accept("empty"):
            value = self.expression()
            empty = _constant(value)
            if empty is None:
                raise DslSyntaxError.single("E110", "expected a number after 'empty'", value.span)
            last = value.span
        return ast.TensorDecl(shape, empty, join(start.span, last))

    def init_decl(self) -> ast.InitDecl:
        start = self.advance()
        name = self.ident("a tensor name")
        self.expect("[", f"after tensor name '{name.text}'")
        indices = self.separated(self.init_index)
        self.expect("]", "to close the index list")
        self.expect("=", "after the init's left-hand side")
        value = self.expression()
        return ast.InitDecl(
            name.text, tuple(indices), value, join(start.span, value.span), name.span
        )

    def init_index(self) -> tuple[str, int | None, SourceSpan]:
        token = self.ident("an index variable")
        if not self.accept("="):
            return (token.text, None, token.span)
        number = self.tok
        if number.kind is not Kind.NUMBER or not number.text.isdigit():
            raise self.error(
                f"expected a whole number after '{token.text} =', found {number.describe()}"
            )
        self.advance()
        return (token.text, int(number.text), join(token.span, number.span))

    def equation(self) -> ast.Equation:
        lhs = self.reference_or_scalar()
        self.expect("=", "after the left-hand side")
        rhs = self.expression()
        condition = None
        if self.accept("where"):
            condition = self.condition()
        reduce_op = reduce_span = None
        if op := self.accept("::"):
            token = self.tok
            if token.text not in REDUCE_OPS or token.kind is Kind.STRING:
                raise self.error(
                    f"expected a reduction operator after '::', found {token.describe()}",
                    hint="reductions are +, *, max and min",
                )
            self.advance()
            reduce_op, reduce_span = token.text, join(op.span, token.span)
        last = reduce_span or (condition.span if condition else rhs.span)
        return ast.Equation(lhs, rhs, condition, reduce_op, reduce_span, join(lhs.span, last))

    def reference_or_scalar(self) -> ast.Ref:
        name = self.ident("a tensor name")
        if not self.accept("["):
            return ast.Ref(name.text, (), name.span, name.span)
        indices: list[ast.Node] = []
        self.enter(name)
        if not self.at("]"):
            indices = self.separated(self.expression)
        self.leave()
        close = self.expect("]", "to close the index list")
        return ast.Ref(name.text, tuple(indices), join(name.span, close.span), name.span)

    # ---- conditions

    def condition(self) -> ast.Condition:
        return self.bool_chain("or", self.and_chain)

    def and_chain(self) -> ast.Condition:
        return self.bool_chain("and", self.not_condition)

    def bool_chain(self, op: str, item: Callable[[], ast.Condition]) -> ast.Condition:
        parts = [item()]
        while self.accept(op):
            parts.append(item())
        if len(parts) == 1:
            return parts[0]
        return ast.BoolNode(op, tuple(parts), join(parts[0].span, parts[-1].span))

    def not_condition(self) -> ast.Condition:
        if start := self.accept("not"):
            self.enter(start)
            operand = self.not_condition()
            self.leave()
            return ast.NotNode(operand, join(start.span, operand.span))
        if self.at("("):
            saved, depth = self.pos, self.depth
            try:
                self.enter(self.advance())
                inner = self.condition()
                self.leave()
                self.expect(")", "to close the condition")
                if self.tok.text not in RELATIONS:
                    return inner
            except DslSyntaxError as exc:
                if _is_too_deep(exc):
                    raise
            self.pos, self.depth = saved, depth
        return self.comparison()

    def comparison(self) -> ast.Condition:
        left = self.expression()
        if self.tok.text not in RELATIONS or self.tok.kind is not Kind.OP:
            raise self.error(
                f"expected a comparison ({', '.join(RELATIONS)}), found {self.tok.describe()}"
            )
        parts: list[ast.Condition] = []
        while self.tok.kind is Kind.OP and self.tok.text in RELATIONS:
            op = self.advance().text
            right = self.expression()
            parts.append(ast.CompareNode(op, left, right, join(left.span, right.span)))
            left = right
        if len(parts) == 1:
            return parts[0]
        return ast.BoolNode("and", tuple(parts), join(parts[0].span, parts[-1].span))

    # ---- expressions

    def expression(self) -> ast.Node:
        node = self.term()
        while self.tok.kind is Kind.OP and self.tok.text in "+-" and len(self.tok.text) == 1:
            op = self.advance().text
            right = self.term()
            node = ast.BinaryNode(op, node, right, join(node.span, right.span))
        return node

    def term(self) -> ast.Node:
        node = self.unary()
        while self.tok.kind is Kind.OP and self.tok.text in ("*", "/"):
            op = self.advance().text
            right = self.unary()
            node = ast.BinaryNode(op, node, right, join(node.span, right.span))
        return node

    def unary(self) -> ast.Node:
        if start := self.accept("-"):
            self.enter(start)
            operand = self.unary()
            self.leave()
            if isinstance(operand, ast.Number):
                return ast.Number(
                    -operand.value, "-" + operand.text, join(start.span, operand.span)
                )
            return ast.UnaryNode("-", operand, join(start.span, operand.span))
        if plus := self.accept("+"):
            self.enter(plus)
            operand = self.unary()
            self.leave()
            return operand
        return self.primary()

    def primary(self) -> ast.Node:
        token = self.tok
        if token.kind is Kind.NUMBER:
            value = float(token.text)
            if math.isinf(value):
                hint = "write inf for an infinite value"
                raise self.error("number too large for a double (over 1.8e308)", token, hint)
            self.advance()
            return ast.Number(value, token.text, token.span)
        if token.kind is Kind.IDENT and token.text not in KEYWORDS:
            if token.text == "inf":
                self.advance()
                return ast.Number(math.inf, "inf", token.span)
            if self.peek().text == "[":
                return self.reference_or_scalar()
            if self.peek().text == "(":
                return self.call()
            self.advance()
            return ast.Name(token.text, token.span)
        if open_ := self.accept("("):
            self.enter(open_)
            inner = self.expression()
            self.leave()
            close = self.expect(")", "to close the parenthesis")
            return _respan(inner, join(open_.span, close.span))
        raise self.error(f"expected an expression, found {token.describe()}")

    def call(self) -> ast.CallNode:
        name = self.advance()
        self.expect("(", f"after function name '{name.text}'")
        args: list[ast.Node] = []
        self.enter(name)
        if not self.at(")"):
            args = self.separated(self.expression)
        self.leave()
        close = self.expect(")", f"to close the call of '{name.text}'")
        return ast.CallNode(name.text, tuple(args), join(name.span, close.span), name.span)


_TOO_DEEP = "expression nested more than {} levels deep"


def _too_deep(span: SourceSpan) -> DslSyntaxError:
    return DslSyntaxError.single(
        "E110",
        _TOO_DEEP.format(MAX_DEPTH),
        span,
        "split it into several einsums; parentheses, calls, indices and each + - * / of "
        "a chain count one level",
    )


def _is_too_deep(error: DslSyntaxError) -> bool:
    return any(d.message == _TOO_DEEP.format(MAX_DEPTH) for d in error.diagnostics)


def _children(node: object) -> tuple[object, ...]:
    """The sub-expressions and sub-conditions of a syntax node."""
    if isinstance(node, ast.BinaryNode | ast.CompareNode):
        return (node.left, node.right)
    if isinstance(node, ast.UnaryNode | ast.NotNode):
        return (node.operand,)
    if isinstance(node, ast.CallNode):
        return node.args
    if isinstance(node, ast.Ref):
        return node.indices
    if isinstance(node, ast.BoolNode):
        return node.operands
    if isinstance(node, ast.Equation):
        return (node.lhs, node.rhs) + ((node.condition,) if node.condition else ())
    if isinstance(node, ast.InitDecl):
        return (node.value,)
    if isinstance(node, ast.RanksDecl):
        return tuple(r.value for r in node.ranks if r.value is not None)
    return ()


def _check_depth(statement: ast.Statement) -> None:
    """Refuse a statement whose syntax tree is deeper than MAX_DEPTH, without recursing.

    The parser bounds nesting as it reads; chains (``a + b + ... + z``) are read by loops
    but still build a tree one level deeper per operator, which every later pass walks
    recursively.
    """
    stack: list[tuple[object, int]] = [(statement, -1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            span = getattr(node, "span", None)
            assert span is not None  # every expression node has a span
            raise _too_deep(span)
        stack.extend((child, depth + 1) for child in _children(node))


def _constant(node: ast.Node) -> float | None:
    if isinstance(node, ast.Number):
        return node.value
    return None


def _respan(node: ast.Node, span: SourceSpan) -> ast.Node:
    """Keep the node but widen its span to include surrounding parentheses."""
    from dataclasses import replace

    return replace(node, span=span)
