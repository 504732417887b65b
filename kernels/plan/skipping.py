"""Whole tiles a filter removes: loop bounds of a tile loop, and the proof that skipping is exact.

A tile loop may start late and end early for a block of rows when (1) every filtered step of
the loop is false at every point of the skipped tiles for every row of the block (the filter
is a conjunction, or a disjunction, of linear bounds ``position <= c * p + rest`` /
``position >= c * p + rest`` with ``c`` a number), and (2) running one such tile would leave
the loop's state unchanged: with every in-tile value absent, each iterative tensor's next
generation equals its previous one, symbolically, both while the state is live (present)
and before anything was seen (absent). (2) is checked on the cascade's expressions with the
same presence rules the renderers use (``kernels.render.base``); when it fails, no tile is
skipped and the masks alone keep the result exact.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy

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
    TensorRef,
    Unary,
)
from einsum_cascade.symbols import extent_symbol, index_symbol
from kernels.plan.nodes import KernelPlan, KernelSpec, Segment, Step, Storage

POSITION = sympy.Symbol("position__")  # the sequence coordinate, m1 * M0 + m0 (or m)

Bounds = tuple[sympy.Expr | None, sympy.Expr | None]  # (lowest, highest) present position


@dataclass(frozen=True, slots=True)
class TileBounds:
    """Positions a row ``p`` can see: ``lowest(p) <= position <= highest(p)`` (None: open)."""

    parallel: str
    lowest: sympy.Expr | None
    highest: sympy.Expr | None

    def describe(self) -> str:
        """Return ``lowest <= position <= highest`` as text."""
        low = "0" if self.lowest is None else str(self.lowest)
        high = "end" if self.highest is None else str(self.highest)
        return f"{low}, {high}"


def _position(plan: KernelPlan, expr: sympy.Expr) -> sympy.Expr | None:
    """Rewrite an index expression in terms of POSITION, or None if it keeps tile variables."""
    in_tile = index_symbol(plan.in_tile_variable)
    if plan.tile_variable is None:
        result = sympy.expand(expr.xreplace({in_tile: POSITION}))
        return result
    tile = index_symbol(plan.tile_variable)
    split = sympy.expand(expr.subs(in_tile, POSITION - tile * extent_symbol(plan.tile_extent)))
    if tile in split.free_symbols or in_tile in split.free_symbols:
        return None
    return split


def _compare_bounds(plan: KernelPlan, row: sympy.Symbol, compare: Compare) -> Bounds:
    difference = _position(plan, sympy.expand(compare.left - compare.right))
    if difference is None:
        return None, None
    slope = difference.coeff(POSITION)
    if slope not in (1, -1):
        return None, None
    op = compare.op
    if slope == -1:
        difference = -difference
        op = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}[op]
    rest = sympy.expand(POSITION - difference)  # position op rest
    coefficient = rest.coeff(row)
    if not coefficient.is_number or POSITION in rest.free_symbols:
        return None, None
    if any(s.name.islower() and s != row for s in rest.free_symbols):
        return None, None
    if op == "<=":
        return None, rest
    if op == "<":
        return None, rest - 1
    if op == ">=":
        return rest, None
    if op == ">":
        return rest + 1, None
    if op == "==":
        return rest, rest
    return None, None


def _hull(parts: list[Bounds]) -> Bounds:
    """Bounds of a disjunction: open unless every part has the same bound."""
    lows = {p[0] for p in parts}
    highs = {p[1] for p in parts}
    low = lows.pop() if len(lows) == 1 else None
    high = highs.pop() if len(highs) == 1 else None
    return low, high


def _filter_bounds(plan: KernelPlan, row: sympy.Symbol, condition: Filter) -> Bounds:
    if isinstance(condition, Compare):
        return _compare_bounds(plan, row, condition)
    if isinstance(condition, BoolOp):
        parts = [_filter_bounds(plan, row, c) for c in condition.operands]
        if condition.op == "or":
            return _hull(parts)
        low = high = None
        for part_low, part_high in parts:  # a conjunction keeps one bound of each side
            low = part_low if low is None else low
            high = part_high if high is None else high
        return low, high
    return None, None  # a negation bounds nothing


def tile_bounds(plan: KernelPlan, kernel: KernelSpec, segment: Segment) -> TileBounds | None:
    """Return the positions a tile loop must visit per row, or None to visit every tile."""
    if not segment.is_loop:
        return None
    in_tile = plan.in_tile_variable
    filtered = [s for s in segment.steps if s.einsum.condition is not None]
    if not filtered or any(in_tile not in s.local for s in filtered):
        return None
    row = index_symbol(kernel.parallel)
    parts = []
    for step in filtered:
        assert step.einsum.condition is not None
        parts.append(_filter_bounds(plan, row, step.einsum.condition))
    low, high = _hull(parts)
    if low is None and high is None:
        return None
    if not _skipping_is_exact(plan, kernel, segment):
        return None
    return TileBounds(kernel.parallel, low, high)


# ---- the exactness proof: one all-absent tile leaves the state unchanged

_FUNCTIONS = {
    "exp": sympy.exp,
    "log": sympy.log,
    "sqrt": sympy.sqrt,
    "rsqrt": lambda x: 1 / sympy.sqrt(x),
    "tanh": sympy.tanh,
    "sigmoid": lambda x: 1 / (1 + sympy.exp(-x)),
    "relu": lambda x: sympy.Max(x, 0),
    "abs": sympy.Abs,
    "max": sympy.Max,
    "min": sympy.Min,
    "pow": sympy.Pow,
}
_UNION = {"max": -sympy.oo, "min": sympy.oo}


class _NotProvableError(Exception):
    """The all-absent tile cannot be shown to be a no-op."""


class _Evaluator:
    """Evaluates a loop's steps on one tile where every filtered point is absent."""

    def __init__(self, plan: KernelPlan, kernel: KernelSpec, live: bool) -> None:
        self.plan = plan
        self.kernel = kernel
        self.values: dict[str, sympy.Expr | None] = {}  # None: absent
        for buffer in kernel.buffers:
            if buffer.iterative:
                present = live or not buffer.maybe_absent
                name = f"{buffer.tensor}_prev"
                self.values[name] = sympy.Symbol(name) if present else None

    def read(self, ref: TensorRef) -> sympy.Expr | None:
        buffer = self.kernel.buffer(ref.tensor)
        if buffer.storage in (Storage.STAGED, Storage.VIEW, Storage.GLOBAL):
            return sympy.Symbol(f"data_{ref.tensor}")
        if buffer.iterative:
            tensor = self.plan.cascade.tensor(ref.tensor)
            position = tensor.iterative_position
            assert position is not None
            index = ref.indices[position]
            tile = index_symbol(self.plan.tile_variable or self.plan.in_tile_variable)
            current = sympy.expand(index - tile) != 0
            key = f"{ref.tensor}_cur" if current else f"{ref.tensor}_prev"
            if key not in self.values:
                raise _NotProvableError(key)
            return self.values[key]
        if ref.tensor not in self.values:
            raise _NotProvableError(ref.tensor)
        return self.values[ref.tensor]

    def expression(self, expr: Expr) -> sympy.Expr | None:
        if isinstance(expr, TensorRef):
            return self.read(expr)
        if isinstance(expr, Literal):
            return sympy.Float(expr.value) if expr.value % 1 else sympy.Integer(int(expr.value))
        if isinstance(expr, ExtentRef):
            return extent_symbol(expr.rank)
        if isinstance(expr, Coordinate):
            return index_symbol(expr.variable)
        if isinstance(expr, Unary):
            value = self.expression(expr.operand)
            return None if value is None else -value
        if isinstance(expr, Binary):
            left, right = self.expression(expr.left), self.expression(expr.right)
            if expr.op in "*/":
                if left is None or right is None:
                    return None
                return left * right if expr.op == "*" else left / right
            if left is None and right is None:
                return None
            left = sympy.Integer(0) if left is None else left
            right = sympy.Integer(0) if right is None else right
            return left + right if expr.op == "+" else left - right
        assert isinstance(expr, Call)
        function = _FUNCTIONS.get(expr.function)
        if function is None:
            raise _NotProvableError(expr.function)
        args = [self.expression(a) for a in expr.args]
        identity = _UNION.get(expr.function)
        if identity is not None:
            if all(a is None for a in args):
                return None
            return function(*[identity if a is None else a for a in args])
        if any(a is None for a in args):
            return None
        return function(*args)

    def step(self, step: Step) -> None:
        einsum = step.einsum
        in_tile = self.plan.in_tile_variable in einsum.variables or any(
            self.plan.in_tile_variable in self.kernel.buffer(r.tensor).dims
            for r in einsum.operands
            if self.kernel.buffer(r.tensor).storage
            in (Storage.REGISTER, Storage.SHARED, Storage.STAGED)
        )
        value: sympy.Expr | None
        if einsum.condition is not None:
            if not in_tile:
                raise _NotProvableError(einsum.name)
            value = None  # the filter is false at every point of a skipped tile
        else:
            value = self.expression(einsum.expression)
            everything = set(einsum.variables)
            carriers = [r for r in einsum.operands if set(r.variables()) >= everything]
            if carriers and all(self.read(r) is None for r in carriers):
                value = None
        if in_tile and value is not None and step.reduced:
            raise _NotProvableError(einsum.name)  # a present point of a tile reduction
        if in_tile and value is not None:
            value = sympy.Symbol(f"tile_{einsum.name}")  # present, never reduced: checked later
        if step.across_tiles and value is not None:
            raise _NotProvableError(einsum.name)
        if step.across_tiles:
            return  # combining an absent tile changes nothing
        buffer = self.kernel.buffer(einsum.name)
        name = f"{einsum.name}_cur" if buffer.iterative else einsum.name
        self.values[name] = value


def _skipping_is_exact(plan: KernelPlan, kernel: KernelSpec, segment: Segment) -> bool:
    iterative = [b for b in kernel.buffers if b.iterative]
    for live in (True, False):
        evaluator = _Evaluator(plan, kernel, live)
        try:
            for step in segment.steps:
                evaluator.step(step)
        except _NotProvableError:
            return False
        for buffer in iterative:
            before = evaluator.values.get(f"{buffer.tensor}_prev")
            after = evaluator.values.get(f"{buffer.tensor}_cur")
            if (before is None) != (after is None):
                return False
            if before is not None and after is not None:
                if any(s.name.startswith("tile_") for s in after.free_symbols):
                    return False
                if sympy.simplify(after - before) != 0:
                    return False
    return True


__all__ = ["POSITION", "TileBounds", "tile_bounds"]
