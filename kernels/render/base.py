"""The renderer base: capability attributes, syntax tables and the lowering every target shares.

A renderer turns one kernel of a plan into text. Expressions, filters, presence logic and
the shape of a kernel (prologue, iterative state, straight segments, tile loops) are lowered
here once; a target subclass fills in its tables and writes its own steps and memory moves.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from typing import ClassVar

import sympy

from einsum_cascade import Generation
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
    TensorRef,
    Unary,
    generation_of,
)
from kernels.plan.lower import Buffer, KernelPlan, KernelSpec, Segment, Step

COMPARE = {"<": "<", "<=": "<=", ">": ">", ">=": ">=", "==": "==", "!=": "!="}
UNION_IDENTITY = {"max": -math.inf, "min": math.inf}  # what an absent operand of max/min is


class Writer:
    """Indented lines; a block opens with ``opener`` appended and closes with ``closer``."""

    def __init__(self, opener: str, closer: str | None, depth: int = 0) -> None:
        self.lines: list[str] = []
        self.depth = depth
        self.opener = opener
        self.closer = closer

    def line(self, text: str = "") -> None:
        """Append one line at the current depth (an empty line stays empty)."""
        self.lines.append(("    " * self.depth + text) if text else "")

    def open(self, text: str) -> None:
        """Start a block: ``for (...) {`` in C, ``for ...:`` in Python."""
        self.line(text if text.startswith("{") else text + self.opener)
        self.depth += 1

    def close(self) -> None:
        """End the innermost block."""
        self.depth -= 1
        if self.closer is not None:
            self.line(self.closer)


class Renderer:
    """Renders one kernel of a plan; subclasses differ in their tables and their steps.

    Attributes:
        name: The registry key of the target.
        vectorized: Whether loops over in-tile and static ranks become array axes (the
            twin) rather than written loops; a vectorized target ignores step fusion.
        true, false: Boolean literals.
        conjunction, disjunction: Element-wise ``and``/``or`` joiners.
        negation: Element-wise ``not``.
        select: ``{0} ? {1} : {2}`` in the target's syntax.
        functions: Call templates by function name.
        comment: The line-comment prefix.
    """

    name: ClassVar[str] = ""
    vectorized: ClassVar[bool] = False
    true: ClassVar[str] = "true"
    false: ClassVar[str] = "false"
    conjunction: ClassVar[str] = " && "
    disjunction: ClassVar[str] = " || "
    negation: ClassVar[str] = "(!{0})"
    select: ClassVar[str] = "({0} ? {1} : {2})"
    functions: ClassVar[Mapping[str, str]] = {}
    comment: ClassVar[str] = "//"
    block: ClassVar[tuple[str, str | None]] = (" {", "}")  # how a block opens and closes

    def __init__(self, plan: KernelPlan, kernel: KernelSpec, depth: int = 0) -> None:
        self.plan = plan
        self.kernel = kernel
        self.cascade = plan.cascade
        self.out = Writer(*self.block, depth)
        self.grid = tuple(r.lower() for r in plan.tiling.grid_ranks)  # blockIdx.y, major first

    # ---- tables the subclass must provide as methods

    def literal(self, value: float) -> str:
        """Return a float literal in the target's syntax."""
        raise NotImplementedError

    def operand(self, ref: TensorRef) -> tuple[str, str]:
        """Return (value, presence) of a tensor read at the current point."""
        raise NotImplementedError

    def extent_value(self, rank: str) -> str:
        """Return a rank's extent as a float value."""
        raise NotImplementedError

    def coordinate_value(self, variable: str) -> str:
        """Return an index variable's coordinate as a float value."""
        raise NotImplementedError

    def index_code(self, expr: sympy.Expr) -> str:
        """Return an index expression (a filter side) in the target's syntax."""
        raise NotImplementedError

    # ---- boolean algebra with constant folding

    def conjoin(self, a: str, b: str) -> str:
        """Return ``a and b``, folding constants and repeats."""
        if a == b:
            return a
        if self.false in (a, b):
            return self.false
        if a == self.true:
            return b
        return a if b == self.true else f"({a}{self.conjunction}{b})"

    def disjoin(self, a: str, b: str) -> str:
        """Return ``a or b``, folding constants and repeats."""
        if a == b:
            return a
        if self.true in (a, b):
            return self.true
        if a == self.false:
            return b
        return a if b == self.false else f"({a}{self.disjunction}{b})"

    def guarded(self, value: str, present: str, fallback: float) -> str:
        """Return ``value`` where present, else the literal ``fallback``."""
        if present == self.true:
            return value
        return self.select.format(present, value, self.literal(fallback))

    # ---- expressions and filters: (value, presence)

    def expression(self, expr: Expr) -> tuple[str, str]:
        """Lower an expression to a value and the presence of that value."""
        if isinstance(expr, TensorRef):
            return self.operand(expr)
        if isinstance(expr, Literal):
            return self.literal(expr.value), self.true
        if isinstance(expr, ExtentRef):
            return self.extent_value(expr.rank), self.true
        if isinstance(expr, Coordinate):
            return self.coordinate_value(expr.variable), self.true
        if isinstance(expr, Unary):
            value, present = self.expression(expr.operand)
            return f"(-{value})", present
        if isinstance(expr, Binary):
            left, left_ok = self.expression(expr.left)
            right, right_ok = self.expression(expr.right)
            if expr.op in "*/":  # intersection: absent if either operand is
                return f"({left} {expr.op} {right})", self.conjoin(left_ok, right_ok)
            left, right = self.guarded(left, left_ok, 0.0), self.guarded(right, right_ok, 0.0)
            return f"({left} {expr.op} {right})", self.disjoin(left_ok, right_ok)
        assert isinstance(expr, Call)
        parts = [self.expression(a) for a in expr.args]
        identity = UNION_IDENTITY.get(expr.function)
        present = parts[0][1]
        if identity is not None:  # max/min are unions: an absent operand is the identity
            values = [self.guarded(v, ok, identity) for v, ok in parts]
            for _, ok in parts[1:]:
                present = self.disjoin(present, ok)
        else:
            values = [v for v, _ in parts]
            for _, ok in parts[1:]:
                present = self.conjoin(present, ok)
        return self.functions[expr.function].format(*values), present

    def condition(self, condition: Filter) -> str:
        """Lower a filter to a boolean in the target's syntax."""
        if isinstance(condition, Compare):
            left, right = self.index_code(condition.left), self.index_code(condition.right)
            return f"({left} {COMPARE[condition.op]} {right})"
        if isinstance(condition, Not):
            return self.negation.format(self.condition(condition.operand))
        assert isinstance(condition, BoolOp)
        joiner = self.conjunction if condition.op == "and" else self.disjunction
        return "(" + joiner.join(self.condition(c) for c in condition.operands) + ")"

    def point(self, step: Step) -> tuple[str, str]:
        """Return (value, presence) of one point of a step's iteration space.

        A point is present when its expression is, when some operand covering every
        index variable (a carrier) is present there, and when the filter keeps it.
        """
        einsum = step.einsum
        value, present = self.expression(einsum.expression)
        everything = set(einsum.variables)
        carriers = [r for r in einsum.operands if set(r.variables()) >= everything]
        if carriers:
            carried = self.false
            for ref in carriers:
                carried = self.disjoin(carried, self.operand(ref)[1])
            present = self.conjoin(present, carried)
        if einsum.condition is not None:
            present = self.conjoin(present, self.condition(einsum.condition))
        return value, present

    # ---- reads of local buffers

    def generation_suffix(self, ref: TensorRef, buffer: Buffer) -> str:
        """Return ``_cur``/``_prev`` for an iterative tensor's generation, else ``""``."""
        if not buffer.iterative:
            return ""
        tensor = self.cascade.tensor(ref.tensor)
        return "_cur" if generation_of(ref, tensor) is Generation.CURRENT else "_prev"

    def ref_variable(self, index: sympy.Expr) -> str:
        """Return the variable an index stands for (a tile split m1 * M0 + m0 is m0)."""
        if isinstance(index, sympy.Symbol):
            return index.name
        return self.plan.in_tile_variable

    def view_source(self, ref: TensorRef) -> tuple[str, tuple[str, ...]]:
        """Resolve a read of a view (``BK[e, m1, m0] = K[e, m1 * M0 + m0]``).

        Returns the staged input the view aliases and the variables indexing it.
        """
        view = self.cascade.einsum(ref.tensor)
        mapping = {
            out.name: self.ref_variable(index)
            for out, index in zip(view.output.indices, ref.indices, strict=True)
            if isinstance(out, sympy.Symbol)
        }
        source = view.operands[0]
        variables = tuple(
            mapping.get(self.ref_variable(i), self.ref_variable(i)) for i in source.indices
        )
        return source.tensor, variables

    def local_variables(self, ref: TensorRef) -> tuple[str, ...]:
        """Return the variables indexing a thread's local buffer (one per buffer dim)."""
        tensor = self.cascade.tensor(ref.tensor)
        variables = (self.ref_variable(i) for i in ref.indices)
        return tuple(
            v
            for position, v in enumerate(variables)
            if position != tensor.iterative_position
            and v not in (self.kernel.parallel, self.plan.tile_variable)
            and v not in self.grid
        )

    # ---- the shape of a kernel

    def steps(self, steps: tuple[Step, ...]) -> None:
        """Write steps in order; a fused group shares one loop over its outer variable."""
        if self.vectorized:
            for step in steps:
                self.step(step)
            return
        for fusion, members in itertools.groupby(steps, key=lambda s: s.fusion):
            group = list(members)
            if fusion is None:
                for step in group:
                    self.step(step)
            else:
                self.fused(group)

    def segment(self, segment: Segment) -> None:
        """Write straight-line steps, or one tile loop with staging and state advance."""
        if not segment.is_loop:
            self.steps(segment.steps)
            return
        self.out.line(
            f"{self.comment} pass {segment.pass_number} over {self.plan.tiling.sequence_rank}"
        )
        across = [s for s in segment.steps if s.across_tiles]
        for step in across:
            self.init_accumulator(step)
        self.open_tile_loop(segment)
        self.steps(segment.steps)
        for buffer in self.kernel.buffers:
            if buffer.iterative:
                self.advance_iterative(buffer)
        self.out.close()
        for step in across:
            self.finalize_accumulator(step)
            self.store(step)

    def body(self) -> None:
        """Write the kernel body: prologue, declarations, initial state, segments."""
        self.prologue()
        for buffer in self.kernel.buffers:
            self.declare(buffer)
        for buffer in self.kernel.buffers:
            if buffer.iterative:
                self.init_iterative(buffer)
        for segment in self.kernel.segments:
            self.segment(segment)

    # ---- hooks each target writes

    def prologue(self) -> None:
        """Write constants and names every later line uses."""
        raise NotImplementedError

    def declare(self, buffer: Buffer) -> None:
        """Declare a buffer's storage (nothing where the target allocates on assignment)."""
        raise NotImplementedError

    def init_iterative(self, buffer: Buffer) -> None:
        """Set an iterative tensor's first generation from its init."""
        raise NotImplementedError

    def advance_iterative(self, buffer: Buffer) -> None:
        """Make the current generation the previous one at the end of a tile."""
        raise NotImplementedError

    def open_tile_loop(self, segment: Segment) -> None:
        """Open the loop over tiles and stage the segment's inputs."""
        raise NotImplementedError

    def step(self, step: Step) -> None:
        """Write one einsum."""
        raise NotImplementedError

    def fused(self, group: list[Step]) -> None:
        """Write steps that share their outermost loop."""
        raise NotImplementedError

    def init_accumulator(self, step: Step) -> None:
        """Set a reduction's accumulator to its identity, nothing present."""
        raise NotImplementedError

    def finalize_accumulator(self, step: Step) -> None:
        """Replace never-reached accumulator points by the tensor's empty value."""
        raise NotImplementedError

    def store(self, step: Step) -> None:
        """Write a step's result to global memory when a later kernel or the user needs it."""
        raise NotImplementedError
