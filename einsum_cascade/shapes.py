"""Symbolic iteration-space sizes and primitive operation counts; pure functions.

Counting rules (one op of each kind an iteration point performs):

* every point of an einsum with a reduction contributes one reduction op (``add`` for
  ``+``, ``mul`` for ``*``, ``max``, ``min``); a multiply at the top of an expression
  reduced with ``+`` fuses with the add into one ``mac``;
* ``+ - * /`` inside the expression count ``add``, ``sub``, ``mul``, ``div``; unary minus
  counts ``neg``; a function call counts its registered lowering (``exp`` -> ``exp``,
  ``sigmoid`` -> ``exp + add + div``);
* sub-expressions without tensors or coordinates (``1 / sqrt(E)``) are constants hoisted
  out of the loop and cost nothing; an einsum that only copies or re-indexes a tensor
  (``BK[e, m1, m0] = K[e, m1 * M0 + m0]``) costs nothing;
* a filter keeps only the points it admits, and so do the einsums that inherit its
  absent points (see :func:`presence_conditions`), counted exactly as an indicator sum;
  ragged tiles count as full tiles (the hardware computes them).
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Mapping
from typing import Any

import numpy as np
import sympy

from einsum_cascade.functions import lookup
from einsum_cascade.graph import einsum_order
from einsum_cascade.ir import (
    Binary,
    Call,
    Cascade,
    Compare,
    Coordinate,
    Einsum,
    Expr,
    Filter,
    Not,
    ReduceOp,
    TensorRef,
    Unary,
    expression_variables,
    operands,
    walk,
)
from einsum_cascade.symbols import extent_symbol, index_symbol, rank_of_variable

_REDUCE_OP = {
    ReduceOp.SUM: "add",
    ReduceOp.PRODUCT: "mul",
    ReduceOp.MAX: "max",
    ReduceOp.MIN: "min",
}
_BINARY_OP = {"+": "add", "-": "sub", "*": "mul", "/": "div"}
_RELATION = {
    "<": sympy.Lt,
    "<=": sympy.Le,
    ">": sympy.Gt,
    ">=": sympy.Ge,
    "==": sympy.Eq,
    "!=": sympy.Ne,
}


def filter_relation(condition: Filter) -> sympy.Basic:
    """Convert a filter to a sympy boolean expression of index symbols."""
    if isinstance(condition, Compare):
        return _RELATION[condition.op](condition.left, condition.right)
    if isinstance(condition, Not):
        return sympy.Not(filter_relation(condition.operand))
    parts = [filter_relation(c) for c in condition.operands]
    return sympy.And(*parts) if condition.op == "and" else sympy.Or(*parts)


def iteration_points(einsum: Einsum, relation: sympy.Basic | None = None) -> sympy.Expr:
    """Return the number of iteration points, exact under filters, as a sympy expression.

    Args:
        einsum: The einsum.
        relation: The condition under which a point is present (default: the einsum's own
            filter); see :func:`presence_conditions` for the one inherited from operands.

    Extents appear as rank symbols (``M1`` stays ``M1``; see ``Cascade.extent``).
    """
    variables = einsum.variables
    if relation is None:
        relation = filter_relation(einsum.condition) if einsum.condition else sympy.true
    if relation is sympy.true:
        return sympy.Mul(*(extent_symbol(rank_of_variable(v)) for v in variables))
    filtered = sorted({s.name for s in relation.free_symbols if s.name == s.name.lower()})
    outside = [v for v in variables if v not in filtered]
    limits = [(index_symbol(v), 0, extent_symbol(rank_of_variable(v)) - 1) for v in filtered]
    indicator = sympy.Piecewise((1, relation), (0, True))
    inside = sympy.Sum(indicator, *limits) if limits else indicator
    return sympy.Mul(*(extent_symbol(rank_of_variable(v)) for v in outside)) * inside


def _tensor_condition(
    ref: TensorRef, known: Mapping[str, tuple[tuple[str, ...], sympy.Basic]]
) -> sympy.Basic:
    if ref.tensor not in known:
        return sympy.true
    variables, condition = known[ref.tensor]
    if condition is sympy.true or len(variables) != len(ref.indices):
        return condition
    return condition.xreplace(
        {index_symbol(v): index for v, index in zip(variables, ref.indices, strict=True)}
    )


def _expression_condition(
    expr: Expr,
    known: Mapping[str, tuple[tuple[str, ...], sympy.Basic]],
    everything: set[str],
) -> sympy.Basic:
    """Where an expression is present, by the interpreter's rules.

    ``* /`` and calls intersect; ``+ - max min`` unite, except that an operand lacking
    some index variable (a broadcast operand) cannot make a point present on its own.
    """
    if isinstance(expr, TensorRef):
        return _tensor_condition(expr, known)
    if isinstance(expr, Unary):
        return _expression_condition(expr.operand, known, everything)
    if isinstance(expr, Binary | Call):
        args = (expr.left, expr.right) if isinstance(expr, Binary) else expr.args
        parts = [_expression_condition(a, known, everything) for a in args]
        if isinstance(expr, Binary):
            union = expr.op in "+-"
        else:
            function = lookup(expr.function)
            union = function is not None and function.union_identity is not None
        if not union:
            return sympy.And(*parts)
        full = [
            c for a, c in zip(args, parts, strict=True) if expression_variables(a) >= everything
        ]
        return sympy.Or(*(full or parts))
    return sympy.true


def presence_conditions(cascade: Cascade) -> dict[str, sympy.Basic]:
    """Return, per einsum, the condition under which an iteration point is present.

    It combines the einsum's own filter with what it inherits from its operands, by the
    interpreter's merge rules (see :func:`_expression_condition`). A tensor passes its
    condition on only when the condition involves no reduced variable and the tensor is
    not iterative; otherwise it counts as everywhere present, so counts never
    under-estimate work.
    """
    known: dict[str, tuple[tuple[str, ...], sympy.Basic]] = {}
    conditions: dict[str, sympy.Basic] = {}
    for einsum in einsum_order(cascade):
        condition = _expression_condition(einsum.expression, known, set(einsum.variables))
        if einsum.condition is not None:
            condition = sympy.And(condition, filter_relation(einsum.condition))
        conditions[einsum.name] = condition
        names = {s.name for s in condition.free_symbols}
        passes_on = einsum.iterative_variable is None and not names & set(einsum.reduced_variables)
        known[einsum.name] = (
            einsum.output_variables,
            condition if passes_on else sympy.true,
        )
    return conditions


def filtered_tensors(cascade: Cascade) -> dict[str, sympy.Basic]:
    """Return the tensors whose points a filter leaves absent, with the condition they pass on.

    Example:
        >>> from einsum_cascade import library
        >>> sorted(filtered_tensors(library.load("attention/3pass-causal")))
        ['QK', 'SN']
    """
    filtered: dict[str, sympy.Basic] = {}
    conditions = presence_conditions(cascade)
    for einsum in cascade.einsums:
        condition = conditions[einsum.name]
        names = {s.name for s in condition.free_symbols}
        if (
            condition != sympy.true
            and einsum.iterative_variable is None
            and not names & set(einsum.reduced_variables)
        ):
            filtered[einsum.name] = condition
    return filtered


def reintroduced_points(cascade: Cascade) -> list[tuple[Einsum, TensorRef, Expr]]:
    """Find sums and differences that make points a filter removed present again.

    ``+`` and ``-`` let an absent operand stand for 0, and an operand that carries every
    index variable decides where a point is present. So in ``B[m, p] = A[m, p] - S[] *
    (p - m)`` with ``A`` filtered by ``m <= p``, the right side is present everywhere and
    ``B`` is present at every point the filter removed. Only coverage by coordinates
    counts: a sum of two tensors (``R[k + 1] = S[k] + Y[k + 1]``, with ``S`` filtered) is a
    union of data, as meant. Returns ``(einsum, filtered operand, covering operand)`` for
    each such sum in an einsum without a filter of its own.
    """
    filtered = filtered_tensors(cascade)
    found: list[tuple[Einsum, TensorRef, Expr]] = []
    for einsum in cascade.einsums:
        if einsum.condition is not None or not filtered:
            continue
        everything = frozenset(einsum.variables)
        for node in walk(einsum.expression):
            if not (isinstance(node, Binary) and node.op in "+-"):
                continue
            for side, other in ((node.left, node.right), (node.right, node.left)):
                refs = [r for r in operands(side) if r.tensor in filtered]
                data = frozenset(v for r in operands(other) for v in r.variables())
                clean = not any(r.tensor in filtered for r in operands(other))
                # coordinates, not data, make it cover: a bias added to filtered data
                by_position = expression_variables(other) >= everything and not data >= everything
                if refs and clean and by_position:
                    found.append((einsum, refs[0], other))
    return found


def _is_constant(expr: Expr) -> bool:
    return not any(isinstance(node, TensorRef | Coordinate) for node in walk(expr))


def point_ops(expr: Expr) -> Counter[str]:
    """Count the primitive ops one evaluation of ``expr`` performs."""
    ops: Counter[str] = Counter()
    if _is_constant(expr):
        return ops
    if isinstance(expr, Unary):
        ops["neg"] += 1
        ops.update(point_ops(expr.operand))
    elif isinstance(expr, Binary):
        ops[_BINARY_OP[expr.op]] += 1
        ops.update(point_ops(expr.left))
        ops.update(point_ops(expr.right))
    elif isinstance(expr, Call):
        function = lookup(expr.function)
        lowering = dict(function.lowering) if function else {expr.function: 1}
        ops.update(lowering)
        for arg in expr.args:
            ops.update(point_ops(arg))
    return ops


def einsum_ops(einsum: Einsum) -> Counter[str]:
    """Count the primitive ops per iteration point of ``einsum``, reduction included."""
    ops = point_ops(einsum.expression)
    if einsum.reduced_variables:
        reduction = _REDUCE_OP[einsum.reduce_op]
        top = einsum.expression
        if einsum.reduce_op is ReduceOp.SUM and isinstance(top, Binary) and top.op == "*":
            ops["mul"] -= 1
            ops["mac"] += 1
            if ops["mul"] == 0:
                del ops["mul"]
        else:
            ops[reduction] += 1
    return ops


def count_ops(cascade: Cascade) -> dict[str, dict[str, sympy.Expr]]:
    """Count primitive ops per einsum as sympy expressions of the rank extents.

    Example:
        >>> from einsum_cascade import library
        >>> count_ops(library.load("attention/3pass"))["QK"]
        {'mac': E*M*P}
    """
    return _count_ops_cached(cascade)


@functools.cache
def _count_ops_cached(cascade: Cascade) -> dict[str, dict[str, sympy.Expr]]:
    counts: dict[str, dict[str, sympy.Expr]] = {}
    conditions = presence_conditions(cascade)
    for einsum in cascade.einsums:
        points = iteration_points(einsum, conditions[einsum.name])
        counts[einsum.name] = {
            op: sympy.Integer(n) * points for op, n in sorted(einsum_ops(einsum).items())
        }
    return counts


def total_ops(counts: Mapping[str, Mapping[str, sympy.Expr]]) -> dict[str, sympy.Expr]:
    """Sum per-einsum counts into one count per op."""
    totals: dict[str, sympy.Expr] = {}
    for per_op in counts.values():
        for op, n in per_op.items():
            totals[op] = totals.get(op, sympy.Integer(0)) + n
    return dict(sorted(totals.items()))


def numeric_extents(cascade: Cascade, extents: Mapping[str, int]) -> dict[sympy.Symbol, int]:
    """Map every rank symbol to its number, derived ranks computed from ``extents``."""
    from einsum_cascade.extents import resolve_extents

    resolved = resolve_extents(cascade, dict(extents))
    return {extent_symbol(name): value for name, value in resolved.items()}


def evaluate_count(expr: sympy.Expr, values: Mapping[sympy.Symbol, int]) -> int:
    """Evaluate a count exactly; filter sums are counted with NumPy, not term by term."""
    # a bare symbol is replaced by the plain int itself, so sympify the result
    replaced = sympy.sympify(sympy.sympify(expr).xreplace(dict(values)))
    sums = {s: sympy.Integer(_count_sum(s)) for s in replaced.atoms(sympy.Sum)}
    result = replaced.xreplace(sums)
    if result.has(sympy.Piecewise):
        result = result.doit()
    return int(result)


def _count_sum(total: sympy.Sum) -> int:
    """Count the points of ``Sum(Piecewise((1, cond), (0, True)), limits...)``."""
    indicator = total.function
    condition = indicator.args[0].cond if isinstance(indicator, sympy.Piecewise) else None
    variables = [limit[0] for limit in total.limits]
    sizes = [int(limit[2]) + 1 for limit in total.limits]
    if condition is None:
        return int(np.prod(sizes))
    test = sympy.lambdify(variables, condition, "numpy")
    *outer, last = range(len(variables))
    count = 0
    last_axis = np.arange(sizes[last])
    outer_sizes = [sizes[i] for i in outer]
    flat = int(np.prod(outer_sizes)) if outer else 1
    chunk = max(1, 4_000_000 // max(1, sizes[last]))
    for start in range(0, flat, chunk):
        index = np.arange(start, min(flat, start + chunk))
        coords: list[Any] = list(np.unravel_index(index, outer_sizes)) if outer else []
        args = [c[:, None] for c in coords] + [last_axis[None, :]]
        count += int(np.count_nonzero(np.broadcast_to(test(*args), (len(index), sizes[last]))))
    return count


def evaluate_counts(cascade: Cascade, extents: Mapping[str, int]) -> dict[str, dict[str, int]]:
    """Return ``count_ops`` with numbers substituted for every extent."""
    values = numeric_extents(cascade, extents)
    return {
        name: {op: evaluate_count(n, values) for op, n in per_op.items()}
        for name, per_op in count_ops(cascade).items()
    }
