"""CUDA tables and per-step code: reads, loops, element-wise steps, reductions and stores.

One thread owns one coordinate of the parallel rank (``row``); every other rank a step keeps
or reduces is a written loop. The kernel around the steps is in ``kernels.render.cuda``.
"""

from __future__ import annotations

import math
from typing import ClassVar

import sympy

from einsum_cascade import ReduceOp
from einsum_cascade.ir import TensorKind, TensorRef
from einsum_cascade.symbols import rank_of_variable
from kernels.errors import KernelError
from kernels.plan.lower import Buffer, KernelPlan, KernelSpec, Role, Step, Storage
from kernels.render.base import Renderer

INFINITY = "__int_as_float(0x7f800000)"
REDUCE = {
    ReduceOp.SUM: "{0} + {1}",
    ReduceOp.PRODUCT: "{0} * {1}",
    ReduceOp.MAX: "fmaxf({0}, {1})",
    ReduceOp.MIN: "fminf({0}, {1})",
}


def float_literal(value: float) -> str:
    """Return a C float literal (infinities through ``__int_as_float``)."""
    if math.isinf(value):
        return f"(-{INFINITY})" if value < 0 else INFINITY
    return f"{float(value)!r}f"


class CudaSteps(Renderer):
    """The CUDA tables and the code of each step of one kernel."""

    name: ClassVar[str] = "cuda"
    functions: ClassVar[dict[str, str]] = {
        "exp": "expf({0})",
        "log": "logf({0})",
        "sqrt": "sqrtf({0})",
        "rsqrt": "(1.0f / sqrtf({0}))",
        "tanh": "tanhf({0})",
        "sigmoid": "(0.5f * (1.0f + tanhf(0.5f * ({0}))))",
        "relu": "fmaxf({0}, 0.0f)",
        "elu": "(({0}) > 0.0f ? ({0}) : expm1f({0}))",
        "abs": "fabsf({0})",
        "max": "fmaxf({0}, {1})",
        "min": "fminf({0}, {1})",
        "pow": "powf({0}, {1})",
    }

    def __init__(self, plan: KernelPlan, kernel: KernelSpec) -> None:
        super().__init__(plan, kernel)
        self.static = plan.static_extents
        self.bound: set[str] = set()  # variables of the enclosing fused loop
        self.opened: list[bool] = []  # per open_loop call: whether it wrote a loop

    def literal(self, value: float) -> str:
        """Return a C float literal."""
        return float_literal(value)

    # ---- names and coordinates

    def extent(self, rank: str) -> str:
        """Return the C name of a rank's extent."""
        return "TILE" if rank == self.plan.tile_extent else rank

    def size(self, dim: str) -> str:
        """Return the C extent of a buffer dim."""
        return "TILE" if dim == self.plan.in_tile_variable else rank_of_variable(dim)

    def coordinate(self, variable: str) -> str:
        """Return the C expression of a variable's coordinate."""
        role = self.kernel.role(variable)
        if role is Role.PARALLEL:
            return "row"
        if role is Role.TILE:
            return "t"
        if role is Role.IN_TILE:
            return "(t * TILE + j)" if self.plan.tile_variable is None else "j"
        return variable  # a static loop counter, or a grid coordinate set in the prologue

    def extent_value(self, rank: str) -> str:
        """Return a rank's extent as a float (a literal when static)."""
        if rank in self.static:
            return f"{float(self.static[rank])!r}f"
        return f"static_cast<float>({self.extent(rank)})"

    def coordinate_value(self, variable: str) -> str:
        """Return a coordinate as a float."""
        return f"static_cast<float>({self.coordinate(variable)})"

    def index_code(self, expr: sympy.Expr) -> str:
        """Return an index expression in C."""
        names = {
            s: sympy.Symbol(self.coordinate(s.name) if s.name.islower() else self.extent(s.name))
            for s in expr.free_symbols
        }
        return sympy.ccode(expr.xreplace(names))

    def element(self, buffer: Buffer, variables: tuple[str, ...], suffix: str = "") -> str:
        """Return ``name[i][j]`` for a local buffer at the given dims' variables."""
        index = "".join(f"[{self.local(v)}]" for v in variables)
        if buffer.storage is Storage.SHARED:
            return f"s_{buffer.tensor}{suffix}{index}[threadIdx.x]"
        return f"l_{buffer.tensor}{suffix}{index}"

    def flag(self, buffer: Buffer, variables: tuple[str, ...], suffix: str = "") -> str:
        """Return the presence flag of a local buffer at the given dims' variables."""
        return self.element(buffer, buffer.presence_of(variables), suffix + "_ok")

    def local(self, variable: str) -> str:
        """Return the loop counter of a variable inside a thread."""
        role = self.kernel.role(variable)
        if role is Role.PARALLEL:
            return "row"
        return "j" if role is Role.IN_TILE else variable

    # ---- reads

    def operand(self, ref: TensorRef) -> tuple[str, str]:
        """Return (value, presence) of a read of ``ref``."""
        buffer = self.kernel.buffer(ref.tensor)
        if buffer.storage is Storage.VIEW:
            return self.read_view(ref), self.true
        if buffer.storage is Storage.STAGED:
            return self.staged(ref.tensor, [self.ref_variable(i) for i in ref.indices]), self.true
        if buffer.storage is Storage.GLOBAL:
            return self.read_global(ref), self.true
        variables = self.local_variables(ref)
        suffix = self.generation_suffix(ref, buffer)
        value = self.element(buffer, variables, suffix)
        present = self.flag(buffer, variables, suffix) if buffer.maybe_absent else self.true
        return value, present

    def read_view(self, ref: TensorRef) -> str:
        """Read a view (``BK[e, m1, m0] = K[e, m1 * M0 + m0]``) from its staged input."""
        tensor, variables = self.view_source(ref)
        return self.staged(tensor, list(variables))

    def staged(self, tensor: str, variables: list[str]) -> str:
        """Read a staged tile; rows past the parallel extent read zero."""
        buffer = self.kernel.buffer(tensor)
        variables = [v for v in variables if v not in self.grid]  # the block's own slice
        flat = "0"
        for dim, variable in zip(buffer.dims, variables, strict=True):
            counter = self.local(variable)
            flat = counter if flat == "0" else f"({flat}) * {self.size(dim)} + {counter}"
        if any(self.kernel.role(v) is Role.PARALLEL for v in variables):
            return f"(row_ok ? t_{tensor}[{flat}] : 0.0f)"
        return f"t_{tensor}[{flat}]"

    def read_global(self, ref: TensorRef) -> str:
        """Read a kernel parameter; rows past the parallel extent read zero."""
        ranks = self.cascade.tensor(ref.tensor).ranks
        flat = self.flat_index([self.coordinate(self.ref_variable(i)) for i in ref.indices], ranks)
        load = f"{ref.tensor}[{flat}]"
        if self.cascade.tensor(ref.tensor).kind is TensorKind.INPUT:
            load = self.convert(load)
        if self.kernel.parallel in {self.ref_variable(i) for i in ref.indices}:
            return f"(row_ok ? {load} : 0.0f)"
        return load

    def convert(self, load: str) -> str:
        """Convert an input element to fp32."""
        return f"__half2float({load})" if self.plan.tiling.input_dtype == "float16" else load

    def flat_index(self, coordinates: list[str], ranks: tuple[str, ...]) -> str:
        """Return the row-major offset of coordinates in a tensor of ``ranks``."""
        flat = ""
        for coordinate, rank in zip(coordinates, ranks, strict=True):
            flat = coordinate if not flat else f"({flat}) * {self.extent(rank)} + {coordinate}"
        return flat or "0"

    # ---- loops

    def open_loop(self, variable: str) -> None:
        """Open a loop over ``variable`` unless an enclosing fused loop already binds it."""
        self.opened.append(variable not in self.bound)
        if variable in self.bound:
            return
        if self.kernel.role(variable) is Role.IN_TILE:
            self.out.line(f"#pragma unroll {self.plan.tiling.unroll}")
            self.out.open("for (int j = 0; j < count; ++j)")
        else:
            self.out.line("#pragma unroll")
            self.out.open(
                f"for (int {variable} = 0; {variable} < {self.size(variable)}; ++{variable})"
            )

    def close_loop(self) -> None:
        """Close the loop the matching ``open_loop`` opened, if it opened one."""
        if self.opened.pop():
            self.out.close()

    def loops(self, variables: tuple[str, ...], statement: str) -> None:
        """Write ``statement`` inside one loop per variable."""
        for variable in variables:
            self.open_loop(variable)
        self.out.line(statement)
        for _ in variables:
            self.close_loop()

    def fused(self, group: list[Step]) -> None:
        """Write steps that share one loop over their outermost (static) variable."""
        variable = group[0].local[0]
        self.out.line(f"// fused over {variable}: {', '.join(s.einsum.name for s in group)}")
        self.open_loop(variable)
        self.bound.add(variable)
        for step in group:
            self.step(step)
        self.bound.discard(variable)
        self.close_loop()

    # ---- steps

    def destination(self, step: Step) -> tuple[Buffer, tuple[str, ...], str]:
        """Return the buffer a step writes, its dims and the generation suffix."""
        buffer = self.kernel.buffer(step.einsum.name)
        return buffer, buffer.dims, "_cur" if buffer.iterative else ""

    def init_accumulator(self, step: Step) -> None:
        """Set the accumulator to the reduction's identity, nothing present."""
        buffer, dims, suffix = self.destination(step)
        identity = self.literal(step.einsum.reduce_op.identity)
        self.loops(dims, f"{self.element(buffer, dims, suffix)} = {identity};")
        if buffer.maybe_absent:
            flags = buffer.presence_of(dims)
            self.loops(flags, f"{self.flag(buffer, dims, suffix)} = false;")

    def finalize_accumulator(self, step: Step) -> None:
        """Replace never-reached points by the tensor's empty value."""
        buffer, dims, suffix = self.destination(step)
        if not buffer.maybe_absent:
            return
        target, ok = self.element(buffer, dims, suffix), self.flag(buffer, dims, suffix)
        self.loops(dims, f"if (!{ok}) {target} = {self.literal(buffer.empty)};")

    def step(self, step: Step) -> None:
        """Write one einsum: element-wise, a per-point reduction, or a cross-tile one."""
        buffer, dims, suffix = self.destination(step)
        self.out.open(f"{{  // {step.einsum.name}")
        if not step.reduced:
            self.elementwise(step, buffer, dims, suffix)
        elif not step.across_tiles:
            self.scalar_reduction(step, buffer, dims, suffix)
        else:
            for variable in step.local:
                self.open_loop(variable)
            ok = self.flag(buffer, dims, suffix) if buffer.maybe_absent else None
            self.accumulate(step, self.element(buffer, dims, suffix), ok)
            for _ in step.local:
                self.close_loop()
        if not step.across_tiles:
            self.store(step)
        self.out.close()

    def elementwise(self, step: Step, buffer: Buffer, dims: tuple[str, ...], suffix: str) -> None:
        """Write a step with nothing to reduce."""
        target, target_ok = self.element(buffer, dims, suffix), self.flag(buffer, dims, suffix)
        for variable in step.local:
            self.open_loop(variable)
        value, present = self.point(step)
        if present == self.true:
            self.out.line(f"{target} = {value};")
            if buffer.maybe_absent:
                self.out.line(f"{target_ok} = true;")
        else:
            self.out.line(f"{{ const bool ok = {present};")
            self.out.line(f"  {target} = ok ? {value} : {self.literal(buffer.empty)};")
            self.out.line(f"  {target_ok} = ok; }}")
        for _ in step.local:
            self.close_loop()

    def scalar_reduction(
        self, step: Step, buffer: Buffer, dims: tuple[str, ...], suffix: str
    ) -> None:
        """Reduce the innermost variables of each kept point into a register accumulator."""
        kept = step.local[: len(step.local) - len(step.reduced)]
        for variable in kept:
            self.open_loop(variable)
        self.out.line(f"float acc = {self.literal(step.einsum.reduce_op.identity)};")
        self.out.line("bool acc_ok = false;")
        for variable in step.reduced:
            self.open_loop(variable)
        self.accumulate(step, "acc", "acc_ok")
        for _ in step.reduced:
            self.close_loop()
        target = self.element(buffer, dims, suffix)
        self.out.line(f"{target} = acc_ok ? acc : {self.literal(buffer.empty)};")
        if buffer.maybe_absent:
            self.out.line(f"{self.flag(buffer, dims, suffix)} = acc_ok;")
        for _ in kept:
            self.close_loop()

    def accumulate(self, step: Step, target: str, target_ok: str | None) -> None:
        """Combine one present point into the accumulator."""
        value, present = self.point(step)
        combined = REDUCE[step.einsum.reduce_op].format(target, value)
        mark = "" if target_ok is None else f" {target_ok} = true;"
        if present == self.true:
            self.out.line(f"{target} = {combined};{mark}")
        else:
            self.out.line(f"if ({present}) {{ {target} = {combined};{mark} }}")

    def store(self, step: Step) -> None:
        """Write a step's result to its kernel parameter (guarded by ``row_ok``)."""
        name = step.einsum.name
        if name not in self.kernel.params:
            return
        buffer, dims, suffix = self.destination(step)
        tensor = self.cascade.tensor(name)
        if self.plan.in_tile_variable in dims:
            raise KernelError.single(
                "K004",
                f"tensor '{name}' keeps the sequence rank; kernels "
                "cannot write it to global memory",
            )
        self.out.open("if (row_ok)")
        coordinates = [self.coordinate(r.lower()) for r in tensor.ranks]
        flat = self.flat_index(coordinates, tensor.ranks)
        self.loops(dims, f"{name}[{flat}] = {self.element(buffer, dims, suffix)};")
        self.out.close()
