"""Render a kernel plan as a NumPy twin: the same loop nest over an array module ``xp``.

The parallel rank becomes a batch axis (every thread at once); the tile loop stays a Python
loop; static and in-tile loops become array axes.
"""

from __future__ import annotations

import math
import string
from typing import ClassVar

import sympy
from sympy.printing.pycode import pycode

from einsum_cascade.ir import Binary, Literal, TensorKind, TensorRef, filter_variables
from einsum_cascade.symbols import rank_of_variable
from kernels.errors import KernelError
from kernels.plan.lower import Buffer, KernelPlan, KernelSpec, Role, Segment, Step, Storage
from kernels.render.base import Renderer

Axes = tuple[str, ...]


class TwinRenderer(Renderer):
    """Renders one kernel of a plan as a Python function over ``xp`` arrays."""

    name: ClassVar[str] = "twin"
    vectorized: ClassVar[bool] = True
    true: ClassVar[str] = "True"
    false: ClassVar[str] = "False"
    conjunction: ClassVar[str] = " & "
    disjunction: ClassVar[str] = " | "
    negation: ClassVar[str] = "(~{0})"
    select: ClassVar[str] = "xp.where({0}, {1}, {2})"
    comment: ClassVar[str] = "#"
    block: ClassVar[tuple[str, str | None]] = (":", None)
    functions: ClassVar[dict[str, str]] = {
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

    def __init__(self, plan: KernelPlan, kernel: KernelSpec) -> None:
        super().__init__(plan, kernel, depth=1)
        self.target: Axes = ()  # the axes of the array being computed

    def literal(self, value: float) -> str:
        """Return a Python float literal."""
        if math.isinf(value):
            return "-math.inf" if value < 0 else "math.inf"
        return repr(float(value))

    def buffer_axes(self, buffer: Buffer) -> Axes:
        """Return the axes of a local buffer: grid ranks, the parallel rank, then its dims."""
        return (*self.grid, self.kernel.parallel, *buffer.dims)

    def shape(self, axes: Axes) -> str:
        """Return a shape tuple for named axes."""
        return "(" + "".join(f"sizes[{v!r}], " for v in axes) + ")"

    # ---- reads: (value, presence, axes)

    def read(self, ref: TensorRef) -> tuple[str, str, Axes]:
        """Return the array a read of ``ref`` uses, its presence and its axes."""
        buffer = self.kernel.buffer(ref.tensor)
        if buffer.storage is Storage.VIEW:
            tensor, axes = self.view_source(ref)
            return f"t_{tensor}", self.true, axes
        variables = tuple(self.ref_variable(i) for i in ref.indices)
        if buffer.storage is Storage.STAGED:
            return f"t_{ref.tensor}", self.true, variables
        if buffer.storage is Storage.GLOBAL:
            return self.global_tile(ref.tensor, variables), self.true, variables
        name = f"l_{ref.tensor}{self.generation_suffix(ref, buffer)}"
        present = f"{name}_ok" if buffer.maybe_absent else self.true
        return name, present, (*self.grid, self.kernel.parallel, *self.local_variables(ref))

    def global_tile(self, tensor: str, variables: Axes) -> str:
        """Return a kernel parameter read in place: its in-tile axes sliced to the current tile."""
        in_tile = [self.kernel.role(v) is Role.IN_TILE for v in variables]
        if not any(in_tile):
            return f"g_{tensor}"
        index = ", ".join(
            "slice(t * TILE, t * TILE + count)" if sliced else "slice(None)" for sliced in in_tile
        )
        return f"g_{tensor}[{index}]"

    def aligned(self, code: str, axes: Axes) -> str:
        """Transpose and reshape an array so it broadcasts against the target axes."""
        if code == self.true or not axes:
            return code
        return f"rt.align(xp, {code}, {axes!r}, {self.target!r})"

    def operand(self, ref: TensorRef) -> tuple[str, str]:
        """Return (value, presence) of a read, aligned to the target axes."""
        value, present, axes = self.read(ref)
        return self.aligned(value, axes), self.aligned(present, axes)

    def extent(self, rank: str) -> str:
        """Return a rank's extent (a number when static)."""
        static = self.plan.static_extents
        return str(static[rank]) if rank in static else rank

    def extent_value(self, rank: str) -> str:
        """Return a rank's extent as a float."""
        return f"float({self.extent(rank)})"

    def coordinate(self, variable: str) -> str:
        """Return a variable's coordinates as an aligned integer array."""
        role = self.kernel.role(variable)
        if role is Role.TILE:
            return "t"
        if role is Role.IN_TILE:
            base = "t * TILE + " if self.plan.tile_variable is None else ""
            return self.aligned(f"({base}xp.arange(count))", (variable,))
        return self.aligned(f"xp.arange({rank_of_variable(variable)})", (variable,))

    def coordinate_value(self, variable: str) -> str:
        """Return a variable's coordinates as floats."""
        return f"({self.coordinate(variable)}).astype(xp.float32)"

    def index_code(self, expr: sympy.Expr) -> str:
        """Return an index expression over aligned coordinate arrays."""
        names = {}
        for symbol in expr.free_symbols:
            if symbol.name == symbol.name.lower():
                names[symbol] = sympy.Symbol(f"({self.coordinate(symbol.name)})")
            elif symbol.name == self.plan.tile_extent:
                names[symbol] = sympy.Symbol("TILE")
            else:
                names[symbol] = sympy.Symbol(self.extent(symbol.name))
        return str(pycode(expr.xreplace(names)))

    # ---- steps

    def contraction(self, step: Step) -> tuple[str, str] | None:
        """Return an einsum for a sum of products whose filter keeps the reduced ranks."""
        einsum = step.einsum
        expr = einsum.expression
        if einsum.reduce_op.value != "+" or not isinstance(expr, Binary) or expr.op != "*":
            return None
        if not (isinstance(expr.left, TensorRef) and isinstance(expr.right, TensorRef)):
            return None
        condition = einsum.condition
        if condition is not None and set(filter_variables(condition)) & set(step.reduced):
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
        self.out.line(
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
        """Compute one einsum over every thread and in-thread axis at once."""
        einsum = step.einsum
        buffer = self.kernel.buffer(einsum.name)
        suffix = "_cur" if buffer.iterative else ""
        name = f"l_{einsum.name}{suffix}"
        self.target = (*self.grid, self.kernel.parallel, *step.local)
        kept = self.target[: len(self.target) - len(step.reduced)]
        self.out.line(f"# {einsum.name}")
        op = einsum.reduce_op.value
        self.compute(step, kept)
        axes = self.buffer_axes(buffer)
        self.out.line(f"value = rt.settle(xp, value, {kept!r}, {axes!r}, sizes)")
        self.out.line(f"present = rt.settle(xp, present, {kept!r}, {axes!r}, sizes)")
        if step.across_tiles:
            self.out.line(
                f"{name} = rt.combine(xp, {op!r}, {name}, xp.where(present, value, "
                f"{self.literal(einsum.reduce_op.identity)}))"
            )
            self.out.line(f"{name}_ok = {name}_ok | present")
            return
        self.out.line(
            f"{name} = xp.where(present, value, {self.literal(buffer.empty)}).astype(xp.float32)"
        )
        self.out.line(f"{name}_ok = present")
        self.store(step)

    def compute(self, step: Step, kept: Axes) -> None:
        """Write ``value, present`` of a step: element-wise, an einsum, or a masked reduction."""
        if not step.reduced:
            value, present = self.point(step)
            self.out.line(f"value, present = {value}, {present}")
            return
        fast = self.contraction(step)
        if fast is not None:
            self.out.line(f"present = {fast[1]}")
            return
        value, present = self.point(step)
        positions = tuple(range(len(kept), len(self.target)))
        op = step.einsum.reduce_op.value
        self.out.line(
            f"value, present = rt.reduce(xp, {op!r}, {value}, {present}, "
            f"{self.shape(self.target)}, {positions!r})"
        )

    def store(self, step: Step) -> None:
        """Write a step's result into its output array."""
        name = step.einsum.name
        if name not in self.kernel.params:
            return
        buffer = self.kernel.buffer(name)
        tensor = self.cascade.tensor(name)
        suffix = "_cur" if buffer.iterative else ""
        order = tuple(r.lower() for r in tensor.ranks)
        self.out.line(
            f"g_{name}[...] = rt.settle(xp, l_{name}{suffix}, {self.buffer_axes(buffer)!r}, "
            f"{order!r}, sizes)"
        )

    def init_accumulator(self, step: Step) -> None:
        """Start a cross-tile reduction at its identity, nothing present."""
        buffer = self.kernel.buffer(step.einsum.name)
        shape = self.shape(self.buffer_axes(buffer))
        identity = self.literal(step.einsum.reduce_op.identity)
        self.out.line(f"l_{buffer.tensor} = xp.full({shape}, {identity}, dtype=xp.float32)")
        self.out.line(f"l_{buffer.tensor}_ok = xp.zeros({shape}, dtype=bool)")

    def finalize_accumulator(self, step: Step) -> None:
        """Replace never-reached points by the tensor's empty value."""
        buffer = self.kernel.buffer(step.einsum.name)
        name = f"l_{buffer.tensor}"
        self.out.line(f"{name} = xp.where({name}_ok, {name}, {self.literal(buffer.empty)})")

    # ---- the kernel around the steps

    def prologue(self) -> None:
        """Bind extents, tensors and the size of every named axis."""
        self.out.line(f"TILE = {self.plan.tiling.tile}")
        for rank in self.kernel.extents:
            self.out.line(f"{rank} = extents[{rank!r}]")
        for rank, value in sorted(self.plan.tiling.static_extents):
            self.out.line(f"{rank} = {value}")
        names = sorted(
            {*self.kernel.params}
            | {b.tensor for b in self.kernel.buffers if b.storage is Storage.STAGED}
        )
        for name in names:
            self.out.line(f"g_{name} = tensors[{name!r}]")
        sizes = ", ".join(
            f"{v!r}: {rank_of_variable(v)}"
            for v, role in sorted(self.kernel.roles)
            if role in (Role.PARALLEL, Role.STATIC, Role.GRID)
        )
        self.out.line(f"sizes = {{{sizes}}}")

    def declare(self, buffer: Buffer) -> None:
        """Declare nothing: arrays are made by the step that assigns them."""

    def init_iterative(self, buffer: Buffer) -> None:
        """Set the previous generation from a literal init."""
        init = self.cascade.init(buffer.tensor)
        if init is None:
            raise KernelError.single("K005", f"iterative tensor '{buffer.tensor}' has no init")
        axes = self.buffer_axes(buffer)
        shape = self.shape(axes)
        start = init.value
        present = not (isinstance(start, Literal) and start.value == buffer.empty)
        self.target = axes
        if isinstance(start, Literal):
            value = self.literal(start.value)
            self.out.line(f"l_{buffer.tensor}_prev = xp.full({shape}, {value}, dtype=xp.float32)")
        else:  # an expression of inputs, e.g. a sink logit S[]
            value = self.expression(start)[0]
            self.out.line(
                f"l_{buffer.tensor}_prev = xp.array(xp.broadcast_to({value}, {shape})"
                ".astype(xp.float32))"
            )
        self.out.line(f"l_{buffer.tensor}_prev_ok = xp.full({shape}, {present}, dtype=bool)")

    def advance_iterative(self, buffer: Buffer) -> None:
        """Make the current generation the previous one."""
        name = f"l_{buffer.tensor}"
        self.out.line(f"{name}_prev, {name}_prev_ok = {name}_cur, {name}_cur_ok")

    def open_tile_loop(self, segment: Segment) -> None:
        """Open the loop over tiles and slice the segment's inputs."""
        sequence = self.plan.tiling.sequence_rank
        self.out.open(f"for t in range(-(-{sequence} // TILE))")
        self.out.line(f"count = min(TILE, {sequence} - t * TILE)")
        self.out.line(f"sizes[{self.plan.in_tile_variable!r}] = count")
        for tensor in segment.staged:
            index = ", ".join(
                "slice(t * TILE, t * TILE + count)" if r == sequence else "slice(None)"
                for r in self.cascade.tensor(tensor).ranks
            )
            self.out.line(f"t_{tensor} = g_{tensor}[{index}]")

    def render(self) -> str:
        """Return the kernel as one Python function."""
        self.body()
        return "\n".join([f"def {self.kernel.name}(xp, tensors, extents):", *self.out.lines])


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
        parts += ["", "", TwinRenderer(plan, kernel).render()]
    return "\n".join(parts) + "\n"


def input_tensors(plan: KernelPlan) -> tuple[str, ...]:
    """Return the input tensor names in declaration order."""
    return tuple(t.name for t in plan.cascade.tensors if t.kind is TensorKind.INPUT)
