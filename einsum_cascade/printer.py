"""Print the IR back to canonical ``.cascade`` text and to Graphviz DOT."""

from __future__ import annotations

import math
from typing import Any

import sympy
from sympy.printing.str import StrPrinter

from einsum_cascade.graph import EINSUM, TENSOR, build_graph
from einsum_cascade.ir import (
    Binary,
    Cascade,
    Compare,
    Coordinate,
    Einsum,
    Expr,
    ExtentRef,
    Filter,
    Init,
    Literal,
    Not,
    ReduceOp,
    TensorKind,
    TensorRef,
    Unary,
)

_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2}


class _IndexPrinter(StrPrinter):  # type: ignore[misc]  # sympy is untyped
    """sympy printer that writes the cascade language's own syntax."""

    def _print_Mul(self, expr: Any) -> str:  # noqa: N802
        return " * ".join(part.strip() for part in super()._print_Mul(expr).split("*"))

    def _print_Add(self, expr: Any, order: Any = None) -> str:  # noqa: N802
        return str(super()._print_Add(expr, order))

    def _print_Pow(self, expr: Any, rational: bool = False) -> str:  # noqa: N802
        base, exponent = expr.args
        if exponent == sympy.Rational(1, 2):
            return f"sqrt({self._print(base)})"
        if exponent.is_Integer and exponent > 0:
            return " * ".join([self.parenthesize(base, 50)] * int(exponent))
        if exponent.is_Integer and exponent < 0:
            return f"1 / ({self._print(base**-exponent)})"
        raise ValueError(f"cannot print power {expr}")

    def _print_ceiling(self, expr: Any) -> str:
        return f"ceil({self._print(expr.args[0])})"

    def _print_floor(self, expr: Any) -> str:
        return f"floor({self._print(expr.args[0])})"

    def _print_Min(self, expr: Any) -> str:  # noqa: N802
        return f"min({', '.join(self._print(a) for a in expr.args)})"

    def _print_Max(self, expr: Any) -> str:  # noqa: N802
        return f"max({', '.join(self._print(a) for a in expr.args)})"

    def _print_Rational(self, expr: Any) -> str:  # noqa: N802
        return f"{expr.p} / {expr.q}"


def format_index(expr: sympy.Expr) -> str:
    """Print an index or extent expression in cascade syntax."""
    return str(_IndexPrinter().doprint(expr)).replace("*  *", "*")


def format_number(value: float) -> str:
    """Print a literal so that parsing it gives the same float."""
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if value == int(value) and abs(value) < 1e16:
        return str(int(value))
    return repr(value)


def format_expression(expr: Expr, parent: int = 0, right: bool = False) -> str:
    """Print an expression with the minimum parentheses."""
    if isinstance(expr, TensorRef):
        if not expr.indices:
            return expr.tensor
        return f"{expr.tensor}[{', '.join(format_index(i) for i in expr.indices)}]"
    if isinstance(expr, Literal):
        text = format_number(expr.value)
        return f"({text})" if text.startswith("-") and parent > 0 else text
    if isinstance(expr, ExtentRef):
        return expr.rank
    if isinstance(expr, Coordinate):
        return expr.variable
    if isinstance(expr, Unary):
        text = f"-{format_expression(expr.operand, 3)}"
        return f"({text})" if parent >= 3 else text
    if isinstance(expr, Binary):
        own = _PRECEDENCE[expr.op]
        text = (
            f"{format_expression(expr.left, own)} {expr.op} "
            f"{format_expression(expr.right, own, right=True)}"
        )
        return f"({text})" if own < parent or (own == parent and right) else text
    args = ", ".join(format_expression(a) for a in expr.args)
    return f"{expr.function}({args})"


def format_filter(condition: Filter, parent: str | None = None) -> str:
    """Print a filter condition."""
    if isinstance(condition, Compare):
        return f"{format_index(condition.left)} {condition.op} {format_index(condition.right)}"
    if isinstance(condition, Not):
        inner = format_filter(condition.operand, "not")
        return f"not {inner}"
    text = f" {condition.op} ".join(format_filter(c, condition.op) for c in condition.operands)
    return f"({text})" if parent is not None else text


def format_einsum(einsum: Einsum) -> str:
    """Print one einsum line."""
    line = f"{format_expression(einsum.output)} = {format_expression(einsum.expression)}"
    if einsum.condition is not None:
        line += f" where {format_filter(einsum.condition)}"
    if einsum.explicit_reduce or einsum.reduce_op is not ReduceOp.SUM:
        line += f" :: {einsum.reduce_op.value}"
    return line


def _format_init(init: Init) -> str:
    parts = [
        f"{v} = 0" if i == init.iterative_position else v for i, v in enumerate(init.variables)
    ]
    return f"init {init.tensor}[{', '.join(parts)}] = {format_expression(init.value)}"


def to_text(cascade: Cascade) -> str:
    """Print canonical cascade text; ``parse_cascade`` of it equals ``cascade``."""
    lines = [f"cascade {cascade.name}"]
    if cascade.description:
        lines.append(f'  "{cascade.description}"')
    plain = [r.name for r in cascade.ranks if r.default is None and not r.is_derived]
    for rank in cascade.ranks:
        if rank.name == (plain[0] if plain else None):
            lines.append(f"rank {', '.join(plain)}")
        elif rank.default is not None:
            lines.append(f"rank {rank.name} = {rank.default}")
        elif rank.expression is not None:
            lines.append(f"rank {rank.name} = {format_index(rank.expression)}")
    inputs = [f"{t.name}[{', '.join(t.ranks)}]" for t in cascade.inputs]
    if inputs:
        lines.append(f"input {', '.join(inputs)}")
    lines.append(f"output {', '.join(t.name for t in cascade.outputs)}")
    for tensor in cascade.tensors:
        if tensor.explicit_empty:
            lines.append(
                f"tensor {tensor.name}[{', '.join(tensor.ranks)}] empty "
                f"{format_number(tensor.empty)}"
            )
    lines.append("")
    lines.extend(_format_init(init) for init in cascade.inits)
    lines.extend(format_einsum(e) for e in cascade.einsums)
    return "\n".join(lines) + "\n"


def to_dot(cascade: Cascade) -> str:
    """Print the tensor/einsum graph in Graphviz DOT (iterative reads dashed)."""
    shapes = {
        TensorKind.INPUT.value: "invhouse",
        TensorKind.OUTPUT.value: "house",
        TensorKind.INTERMEDIATE.value: "ellipse",
    }
    lines = [f'digraph "{cascade.name}" {{', "  rankdir=LR;"]
    graph = build_graph(cascade)
    for node, data in graph.nodes(data=True):
        kind, name = node
        if kind == TENSOR:
            ranks = ", ".join(data["ranks"])
            shape = shapes[data["kind"]]
            lines.append(f'  "t_{name}" [label="{name}[{ranks}]", shape={shape}];')
        elif kind == EINSUM:
            label = format_einsum(cascade.einsum(name)).replace('"', '\\"')
            lines.append(f'  "e_{name}" [label="{label}", shape=box, fontsize=10];')
    for (kind_a, a), (_, b), data in graph.edges(data=True):
        source = f"t_{a}" if kind_a == TENSOR else f"e_{a}"
        target = f"e_{b}" if kind_a == TENSOR else f"t_{b}"
        style = ' [style=dashed, label="prev"]' if data.get("carried") else ""
        lines.append(f'  "{source}" -> "{target}"{style};')
    lines.append("}")
    return "\n".join(lines) + "\n"
