"""Render a kernel plan as a NumPy twin: the same loop nest over an array module ``xp``.

The parallel rank becomes a batch axis (every thread at once); the tile loop stays a Python
loop; static and in-tile loops become array axes.
"""

from __future__ import annotations

import math
import string

import sympy
from sympy.printing.pycode import pycode

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
    TensorKind,
    TensorRef,
    Unary,
    generation_of,
)
from einsum_cascade.symbols import rank_of_variable
from kernels.plan import Buffer, KernelPlan, KernelSpec, Role, Segment, Step, Storage

FUNCTIONS = {
    "exp": "xp.exp({0})",
    "log": "xp.log({0})",
    "sqrt": "xp.sqrt({0})",
    "rsqrt": "(1.0 / xp.sqrt({0}))",
    "tanh": "xp.tanh({0})",
    "sigmoid": "(0.5 * (1.0 + xp.tanh(0.5 * ({0}))))",
    "relu": "xp.maximum({0}, 0.0)",
    "elu": "xp.where({0} > 0, {0}, xp.expm1(xp.minimum({0}, 0.0)))",
    "abs": "xp.abs({0})",
    "max": "xp.maximum({0}, {1})",
    "min": "xp.minimum({0}, {1})",
    "pow": "xp.power({0}, {1})",
}
UNION_IDENTITY = {"max": -math.inf, "min": math.inf}
COMPARE = {"<": "<", "<=": "<=", ">": ">", ">=": ">=", "==": "==", "!=": "!="}
TRUE = "True"
Axes = tuple[str, ...]


def _literal(value: float) -> str:
    if math.isinf(value):
        return "-math.inf" if value < 0 else "math.inf"
    return repr(float(value))


def _and(a: str, b: str) -> str:
    return b if a == TRUE else a if b == TRUE else f"({a} & {b})"


def _or(a: str, b: str) -> str:
    return TRUE if TRUE in (a, b) else f"({a} | {b})"


class _TwinRenderer:
    def __init__(self, plan: KernelPlan, kernel: KernelSpec) -> None:
        self.plan = plan
        self.kernel = kernel
        self.cascade = plan.cascade
        self.lines: list[str] = []
        self.depth = 1
        self.target: Axes = ()

    def line(self, text: str) -> None:
        self.lines.append("    " * self.depth + text)

    def role(self, variable: str) -> Role:
        return self.kernel.role(variable)

    def buffer_axes(self, buffer: Buffer) -> Axes:
        return (self.kernel.parallel, *buffer.dims)

    def sizes(self) -> str:
        return "sizes"

    # ---- reads: (value, presence, axes)

    def read(self, ref: TensorRef) -> tuple[str, str, Axes]:
        buffer = self.kernel.buffer(ref.tensor)
        tensor = self.cascade.tensor(ref.tensor)
        if buffer.storage is Storage.VIEW:
            view = self.cascade.einsum(ref.tensor)
            mapping = {
                out.name: self._variable(index)
                for out, index in zip(view.output.indices, ref.indices, strict=True)
                if isinstance(out, sympy.Symbol)
            }
            source = view.operands[0]
            axes = tuple(mapping.get(self._variable(i), self._variable(i)) for i in source.indices)
            return f"t_{source.tensor}", TRUE, axes
        variables = tuple(self._variable(i) for i in ref.indices)
        if buffer.storage is Storage.STAGED:
            return f"t_{ref.tensor}", TRUE, variables
        if buffer.storage is Storage.GLOBAL:
            return f"g_{ref.tensor}", TRUE, variables
        kept = tuple(
            v
            for position, v in enumerate(variables)
            if position != tensor.iterative_position
            and v not in (self.kernel.parallel, self.plan.tile_variable)
        )
        suffix = ""
        if buffer.iterative:
            suffix = "_cur" if generation_of(ref, tensor) is Generation.CURRENT else "_prev"
        name = f"l_{ref.tensor}{suffix}"
        present = f"{name}_ok" if buffer.maybe_absent else TRUE
        return name, present, (self.kernel.parallel, *kept)

    def _variable(self, index: sympy.Expr) -> str:
        if isinstance(index, sympy.Symbol):
            return index.name
        return self.plan.in_tile_variable

    def aligned(self, code: str, axes: Axes) -> str:
        if code == TRUE or not axes:
            return code
        return f"rt.align(xp, {code}, {axes!r}, {self.target!r})"

    # ---- expressions

    def expression(self, expr: Expr) -> tuple[str, str]:
        if isinstance(expr, TensorRef):
            value, present, axes = self.read(expr)
            return self.aligned(value, axes), self.aligned(present, axes)
        if isinstance(expr, Literal):
            return _literal(expr.value), TRUE
        if isinstance(expr, ExtentRef):
            return f"float({self._extent(expr.rank)})", TRUE
        if isinstance(expr, Coordinate):
            return f"({self.coordinate(expr.variable)}).astype(xp.float32)", TRUE
        if isinstance(expr, Unary):
            value, present = self.expression(expr.operand)
            return f"(-{value})", present
        if isinstance(expr, Binary):
            left, left_ok = self.expression(expr.left)
            right, right_ok = self.expression(expr.right)
            if expr.op in "*/":
                return f"({left} {expr.op} {right})", _and(left_ok, right_ok)
            left = left if left_ok == TRUE else f"xp.where({left_ok}, {left}, 0.0)"
            right = right if right_ok == TRUE else f"xp.where({right_ok}, {right}, 0.0)"
            return f"({left} {expr.op} {right})", _or(left_ok, right_ok)
        assert isinstance(expr, Call)
        parts = [self.expression(a) for a in expr.args]
        identity = UNION_IDENTITY.get(expr.function)
        present = parts[0][1]
        if identity is not None:
            values = [
                v if ok == TRUE else f"xp.where({ok}, {v}, {_literal(identity)})" for v, ok in parts
            ]
            for _, ok in parts[1:]:
                present = _or(present, ok)
        else:
            values = [v for v, _ in parts]
            for _, ok in parts[1:]:
                present = _and(present, ok)
        return FUNCTIONS[expr.function].format(*values), present

    def _extent(self, rank: str) -> str:
        static = self.plan.static_extents
        return str(static[rank]) if rank in static else rank

    def coordinate(self, variable: str) -> str:
        role = self.role(variable)
        if role is Role.TILE:
            return "t"
        if role is Role.IN_TILE:
            base = "t * TILE + " if self.plan.tile_variable is None else ""
            return self.aligned(f"({base}xp.arange(count))", (variable,))
        if role is Role.PARALLEL:
            return self.aligned(f"xp.arange({rank_of_variable(variable)})", (variable,))
        return self.aligned(f"xp.arange({rank_of_variable(variable)})", (variable,))

    def index_code(self, expr: sympy.Expr) -> str:
        names = {}
        for symbol in expr.free_symbols:
            if symbol.name == symbol.name.lower():
                names[symbol] = sympy.Symbol(f"({self.coordinate(symbol.name)})")
            elif symbol.name == self.plan.tile_extent:
                names[symbol] = sympy.Symbol("TILE")
            else:
                names[symbol] = sympy.Symbol(self._extent(symbol.name))
        return str(pycode(expr.xreplace(names)))

    def condition(self, condition: Filter) -> str:
        if isinstance(condition, Compare):
            left, right = self.index_code(condition.left), self.index_code(condition.right)
            return f"({left} {COMPARE[condition.op]} {right})"
        if isinstance(condition, Not):
            return f"(~{self.condition(condition.operand)})"
        assert isinstance(condition, BoolOp)
        joiner = " & " if condition.op == "and" else " | "
        return "(" + joiner.join(self.condition(c) for c in condition.operands) + ")"

    # ---- steps

    def point(self, step: Step) -> tuple[str, str]:
        einsum = step.einsum
        value, present = self.expression(einsum.expression)
        everything = set(einsum.variables)
        carriers = [r for r in einsum.operands if set(r.variables()) >= everything]
        if carriers:
            carried = "False"
            for ref in carriers:
                _, ok, axes = self.read(ref)
                carried = (
                    _or(carried, self.aligned(ok, axes))
                    if carried != "False"
                    else (self.aligned(ok, axes))
                )
            present = _and(present, carried)
        if einsum.condition is not None:
            present = _and(present, self.condition(einsum.condition))
        return value, present

    def contraction(self, step: Step) -> tuple[str, str] | None:
        """Return an einsum for a sum of products whose filter keeps the reduced ranks."""
        einsum = step.einsum
        expr = einsum.expression
        if einsum.reduce_op.value != "+" or not isinstance(expr, Binary) or expr.op != "*":
            return None
        if not (isinstance(expr.left, TensorRef) and isinstance(expr.right, TensorRef)):
            return None
        if einsum.condition is not None:
            from einsum_cascade.ir import filter_variables

            if set(filter_variables(einsum.condition)) & set(step.reduced):
                return None
        left, left_ok, left_axes = self.read(expr.left)
        right, right_ok, right_axes = self.read(expr.right)
        if set(left_axes) | set(right_axes) != set(self.target):
            return None
        letters = {v: string.ascii_letters[i] for i, v in enumerate(self.target)}
        kept = self.target[: len(self.target) - len(step.reduced)]
        subscripts = (
            "".join(letters[v] for v in left_axes)
            + ","
            + "".join(letters[v] for v in right_axes)
            + "->"
            + "".join(letters[v] for v in kept)
        )
        self.line(
            f"value, present = rt.contract(xp, {subscripts!r}, {left}, {left_ok}, {right}, "
            f"{right_ok})"
        )
        present = "present"
        if einsum.condition is not None:
            saved = self.target
            self.target = kept
            present = f"(present & {self.condition(einsum.condition)})"
            self.target = saved
        return "value", present

    def step(self, step: Step) -> None:
        einsum = step.einsum
        buffer = self.kernel.buffer(einsum.name)
        suffix = "_cur" if buffer.iterative else ""
        name = f"l_{einsum.name}{suffix}"
        self.target = (self.kernel.parallel, *step.local)
        kept = self.target[: len(self.target) - len(step.reduced)]
        self.line(f"# {einsum.name}")
        op = einsum.reduce_op.value
        if not step.reduced:
            value, present = self.point(step)
            self.line(f"value, present = {value}, {present}")
        else:
            fast = self.contraction(step)
            if fast is not None:
                self.line(f"present = {fast[1]}")
            else:
                value, present = self.point(step)
                positions = tuple(range(len(kept), len(self.target)))
                shape = "(" + "".join(f"sizes[{v!r}], " for v in self.target) + ")"
                self.line(
                    f"value, present = rt.reduce(xp, {op!r}, {value}, {present}, {shape}, "
                    f"{positions!r})"
                )
        axes = self.buffer_axes(buffer)
        self.line(f"value = rt.settle(xp, value, {kept!r}, {axes!r}, sizes)")
        self.line(f"present = rt.settle(xp, present, {kept!r}, {axes!r}, sizes)")
        if step.across_tiles:
            self.line(
                f"{name} = rt.combine(xp, {op!r}, {name}, xp.where(present, value, "
                f"{_literal(einsum.reduce_op.identity)}))"
            )
            self.line(f"{name}_ok = {name}_ok | present")
            return
        self.line(f"{name} = xp.where(present, value, {_literal(buffer.empty)}).astype(xp.float32)")
        self.line(f"{name}_ok = present")
        self.store(step)

    def store(self, step: Step) -> None:
        name = step.einsum.name
        if name not in self.kernel.params:
            return
        buffer = self.kernel.buffer(name)
        tensor = self.cascade.tensor(name)
        suffix = "_cur" if buffer.iterative else ""
        order = tuple(r.lower() for r in tensor.ranks)
        self.line(
            f"g_{name}[...] = rt.settle(xp, l_{name}{suffix}, {self.buffer_axes(buffer)!r}, "
            f"{order!r}, sizes)"
        )

    def init_accumulator(self, step: Step) -> None:
        buffer = self.kernel.buffer(step.einsum.name)
        shape = "(" + "".join(f"sizes[{v!r}], " for v in self.buffer_axes(buffer)) + ")"
        identity = _literal(step.einsum.reduce_op.identity)
        self.line(f"l_{buffer.tensor} = xp.full({shape}, {identity}, dtype=xp.float32)")
        self.line(f"l_{buffer.tensor}_ok = xp.zeros({shape}, dtype=bool)")

    def finalize_accumulator(self, step: Step) -> None:
        buffer = self.kernel.buffer(step.einsum.name)
        name = f"l_{buffer.tensor}"
        self.line(f"{name} = xp.where({name}_ok, {name}, {_literal(buffer.empty)})")
        self.store(step)

    def init_iterative(self, buffer: Buffer) -> None:
        init = self.cascade.init(buffer.tensor)
        assert init is not None and isinstance(init.value, Literal)
        shape = "(" + "".join(f"sizes[{v!r}], " for v in self.buffer_axes(buffer)) + ")"
        present = init.value.value != buffer.empty
        self.line(
            f"l_{buffer.tensor}_prev = xp.full({shape}, {_literal(init.value.value)}, "
            "dtype=xp.float32)"
        )
        self.line(f"l_{buffer.tensor}_prev_ok = xp.full({shape}, {present}, dtype=bool)")

    def segment(self, segment: Segment) -> None:
        if not segment.is_loop:
            for step in segment.steps:
                self.step(step)
            return
        sequence = self.plan.tiling.sequence_rank
        self.line(f"# pass {segment.pass_number} over {sequence}")
        across = [s for s in segment.steps if s.across_tiles]
        for step in across:
            self.init_accumulator(step)
        self.line(f"for t in range(-(-{sequence} // TILE)):")
        self.depth += 1
        self.line(f"count = min(TILE, {sequence} - t * TILE)")
        self.line(f"sizes[{self.plan.in_tile_variable!r}] = count")
        for tensor in segment.staged:
            ranks = self.cascade.tensor(tensor).ranks
            index = ", ".join(
                "slice(t * TILE, t * TILE + count)" if r == sequence else "slice(None)"
                for r in ranks
            )
            self.line(f"t_{tensor} = g_{tensor}[{index}]")
        for step in segment.steps:
            self.step(step)
        for buffer in self.kernel.buffers:
            if buffer.iterative:
                name = f"l_{buffer.tensor}"
                self.line(f"{name}_prev, {name}_prev_ok = {name}_cur, {name}_cur_ok")
        self.depth -= 1
        for step in across:
            self.finalize_accumulator(step)

    def render(self) -> str:
        header = [f"def {self.kernel.name}(xp, tensors, extents):"]
        self.line(f"TILE = {self.plan.tiling.tile}")
        for rank in self.kernel.extents:
            self.line(f"{rank} = extents[{rank!r}]")
        for rank, value in sorted(self.plan.tiling.static_extents):
            self.line(f"{rank} = {value}")
        names = sorted(
            {*self.kernel.params}
            | {b.tensor for b in self.kernel.buffers if b.storage is Storage.STAGED}
        )
        for name in names:
            self.line(f"g_{name} = tensors[{name!r}]")
        variables = sorted({v for v, _ in self.kernel.roles})
        sizes = ", ".join(
            f"{v!r}: {rank_of_variable(v)}"
            for v in variables
            if self.role(v) in (Role.PARALLEL, Role.STATIC)
        )
        self.line(f"sizes = {{{sizes}}}")
        for buffer in self.kernel.buffers:
            if buffer.iterative:
                self.init_iterative(buffer)
        for segment in self.kernel.segments:
            self.segment(segment)
        return "\n".join(header + self.lines)


def render_twin(plan: KernelPlan) -> str:
    """Render every kernel of ``plan`` as Python source defining one function per kernel."""
    parts = [
        f'"""NumPy twin of {plan.cascade.name}: generated by einsum-cascade; do not edit."""',
        "",
        "import math",
        "",
        "from kernels.render import twin_runtime as rt",
    ]
    for kernel in plan.kernels:
        parts += ["", "", _TwinRenderer(plan, kernel).render()]
    return "\n".join(parts) + "\n"


def input_tensors(plan: KernelPlan) -> tuple[str, ...]:
    """Return the input tensor names in declaration order."""
    return tuple(t.name for t in plan.cascade.tensors if t.kind is TensorKind.INPUT)
