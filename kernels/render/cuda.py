"""Render a kernel plan as CUDA C++: ``extern "C"`` fp32 SIMT kernels for cupy.RawModule.

The same text compiles with nvcc/NVRTC and, against ``kernels/shim/cuda_shim.h``, with g++.
"""

from __future__ import annotations

import itertools
import math

import sympy

from einsum_cascade import Generation, ReduceOp
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
from kernels.errors import KernelError
from kernels.plan import Buffer, KernelPlan, KernelSpec, Role, Segment, Step, Storage
from kernels.source import KernelParam, KernelSignature, KernelSource

INFINITY = "__int_as_float(0x7f800000)"
FUNCTIONS = {
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
UNION_IDENTITY = {"max": -math.inf, "min": math.inf}
REDUCE = {
    ReduceOp.SUM: "{0} + {1}",
    ReduceOp.PRODUCT: "{0} * {1}",
    ReduceOp.MAX: "fmaxf({0}, {1})",
    ReduceOp.MIN: "fminf({0}, {1})",
}
COMPARE = {"<": "<", "<=": "<=", ">": ">", ">=": ">=", "==": "==", "!=": "!="}
ELEMENT_CTYPE = {"float32": "float", "float16": "__half"}
TRUE, FALSE = "true", "false"


def float_literal(value: float) -> str:
    """Return a C float literal (infinities through ``__int_as_float``)."""
    if math.isinf(value):
        return f"(-{INFINITY})" if value < 0 else INFINITY
    return f"{float(value)!r}f"


def _and(a: str, b: str) -> str:
    if a == b:
        return a
    if FALSE in (a, b):
        return FALSE
    if a == TRUE:
        return b
    return a if b == TRUE else f"({a} && {b})"


def _or(a: str, b: str) -> str:
    if a == b:
        return a
    if TRUE in (a, b):
        return TRUE
    if a == FALSE:
        return b
    return a if b == FALSE else f"({a} || {b})"


class _Writer:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.depth = 0

    def line(self, text: str = "") -> None:
        self.lines.append(("    " * self.depth + text) if text else "")

    def open(self, text: str) -> None:
        self.line(text if text.startswith("{") else text + " {")
        self.depth += 1

    def close(self) -> None:
        self.depth -= 1
        self.line("}")


class _KernelRenderer:
    """Renders one KernelSpec."""

    def __init__(self, plan: KernelPlan, kernel: KernelSpec) -> None:
        self.plan = plan
        self.kernel = kernel
        self.cascade = plan.cascade
        self.static = plan.static_extents
        self.out = _Writer()
        self.bound: set[str] = set()  # variables of the enclosing fused loop
        self.opened: list[bool] = []  # per open_loop call: whether it wrote a loop

    # ---- names and coordinates

    def extent(self, rank: str) -> str:
        if rank == self.plan.tile_extent:
            return "TILE"
        return rank

    def coordinate(self, variable: str) -> str:
        role = self.kernel.role(variable)
        if role is Role.PARALLEL:
            return "row"
        if role is Role.TILE:
            return "t"
        if role is Role.IN_TILE:
            return "(t * TILE + j)" if self.plan.tile_variable is None else "j"
        return variable

    def index_code(self, expr: sympy.Expr) -> str:
        names = {s: sympy.Symbol(self._symbol_code(s.name)) for s in expr.free_symbols}
        return sympy.ccode(expr.xreplace(names))

    def _symbol_code(self, name: str) -> str:
        if name == name.lower():
            return self.coordinate(name)
        return self.extent(name)

    def element(self, buffer: Buffer, variables: tuple[str, ...], suffix: str = "") -> str:
        """Return ``name[i][j]`` for a local buffer at the given dims' variables."""
        index = "".join(f"[{self._local(v)}]" for v in variables)
        if buffer.storage is Storage.SHARED:
            return f"s_{buffer.tensor}{suffix}{index}[threadIdx.x]"
        return f"l_{buffer.tensor}{suffix}{index}"

    def flag(self, buffer: Buffer, variables: tuple[str, ...], suffix: str = "") -> str:
        """Return the presence flag of a local buffer at the given dims' variables."""
        return self.element(buffer, buffer.presence_of(variables), suffix + "_ok")

    def _local(self, variable: str) -> str:
        role = self.kernel.role(variable)
        if role is Role.PARALLEL:
            return "row"
        return "j" if role is Role.IN_TILE else variable

    # ---- expressions: (value, presence)

    def expression(self, expr: Expr) -> tuple[str, str]:
        if isinstance(expr, TensorRef):
            return self.read(expr)
        if isinstance(expr, Literal):
            return float_literal(expr.value), TRUE
        if isinstance(expr, ExtentRef):
            if expr.rank in self.static:
                return f"{float(self.static[expr.rank])!r}f", TRUE
            return f"static_cast<float>({self.extent(expr.rank)})", TRUE
        if isinstance(expr, Coordinate):
            return f"static_cast<float>({self.coordinate(expr.variable)})", TRUE
        if isinstance(expr, Unary):
            value, present = self.expression(expr.operand)
            return f"(-{value})", present
        if isinstance(expr, Binary):
            left, left_ok = self.expression(expr.left)
            right, right_ok = self.expression(expr.right)
            if expr.op in "*/":
                return f"({left} {expr.op} {right})", _and(left_ok, right_ok)
            left = left if left_ok == TRUE else f"({left_ok} ? {left} : 0.0f)"
            right = right if right_ok == TRUE else f"({right_ok} ? {right} : 0.0f)"
            return f"({left} {expr.op} {right})", _or(left_ok, right_ok)
        assert isinstance(expr, Call)
        parts = [self.expression(a) for a in expr.args]
        identity = UNION_IDENTITY.get(expr.function)
        present = parts[0][1]
        if identity is not None:
            values = [
                v if ok == TRUE else f"({ok} ? {v} : {float_literal(identity)})" for v, ok in parts
            ]
            for _, ok in parts[1:]:
                present = _or(present, ok)
        else:
            values = [v for v, _ in parts]
            for _, ok in parts[1:]:
                present = _and(present, ok)
        return FUNCTIONS[expr.function].format(*values), present

    def read(self, ref: TensorRef) -> tuple[str, str]:
        buffer = self.kernel.buffer(ref.tensor)
        tensor = self.cascade.tensor(ref.tensor)
        if buffer.storage is Storage.VIEW:
            return self.read_view(ref, buffer), TRUE
        if buffer.storage is Storage.STAGED:
            return self.staged(ref.tensor, [self._ref_variable(i) for i in ref.indices]), TRUE
        if buffer.storage is Storage.GLOBAL:
            return self.read_global(ref, tensor.ranks), TRUE
        variables = [
            self._ref_variable(index)
            for position, index in enumerate(ref.indices)
            if position != tensor.iterative_position
            and self._ref_variable(index) not in (self.kernel.parallel, self.plan.tile_variable)
        ]
        suffix = ""
        if buffer.iterative:
            generation = generation_of(ref, tensor)
            suffix = "_cur" if generation is Generation.CURRENT else "_prev"
        value = self.element(buffer, tuple(variables), suffix)
        present = self.flag(buffer, tuple(variables), suffix) if buffer.maybe_absent else TRUE
        return value, present

    def _ref_variable(self, index: sympy.Expr) -> str:
        if isinstance(index, sympy.Symbol):
            return index.name
        return self.plan.in_tile_variable  # a tile split m1 * M0 + m0

    def read_view(self, ref: TensorRef, buffer: Buffer) -> str:
        view = self.cascade.einsum(ref.tensor)
        mapping = {
            out.name: self._ref_variable(index)
            for out, index in zip(view.output.indices, ref.indices, strict=True)
            if isinstance(out, sympy.Symbol)
        }
        source = view.operands[0]
        variables = [
            mapping.get(self._ref_variable(i), self._ref_variable(i)) for i in source.indices
        ]
        return self.staged(source.tensor, variables)

    def staged(self, tensor: str, variables: list[str]) -> str:
        buffer = self.kernel.buffer(tensor)
        flat = "0"
        for dim, variable in zip(buffer.dims, variables, strict=True):
            size = "TILE" if dim == self.plan.in_tile_variable else rank_of_variable(dim)
            flat = (
                f"{self._local(variable)}"
                if flat == "0"
                else f"({flat}) * {size} + {self._local(variable)}"
            )
        if any(self.kernel.role(v) is Role.PARALLEL for v in variables):
            return f"(row_ok ? t_{tensor}[{flat}] : 0.0f)"
        return f"t_{tensor}[{flat}]"

    def read_global(self, ref: TensorRef, ranks: tuple[str, ...]) -> str:
        flat = self.flat_index([self.coordinate(self._ref_variable(i)) for i in ref.indices], ranks)
        load = f"{ref.tensor}[{flat}]"
        if self.cascade.tensor(ref.tensor).kind is TensorKind.INPUT:
            load = self.convert(load)
        if self.kernel.parallel in {self._ref_variable(i) for i in ref.indices}:
            return f"(row_ok ? {load} : 0.0f)"
        return load

    def convert(self, load: str) -> str:
        return f"__half2float({load})" if self.plan.tiling.input_dtype == "float16" else load

    def flat_index(self, coordinates: list[str], ranks: tuple[str, ...]) -> str:
        flat = ""
        for coordinate, rank in zip(coordinates, ranks, strict=True):
            flat = coordinate if not flat else f"({flat}) * {self.extent(rank)} + {coordinate}"
        return flat or "0"

    def condition(self, condition: Filter) -> str:
        if isinstance(condition, Compare):
            left, right = self.index_code(condition.left), self.index_code(condition.right)
            return f"({left} {COMPARE[condition.op]} {right})"
        if isinstance(condition, Not):
            return f"(!{self.condition(condition.operand)})"
        assert isinstance(condition, BoolOp)
        joiner = " && " if condition.op == "and" else " || "
        return "(" + joiner.join(self.condition(c) for c in condition.operands) + ")"

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
            rank = rank_of_variable(variable)
            self.out.line("#pragma unroll")
            self.out.open(f"for (int {variable} = 0; {variable} < {rank}; ++{variable})")

    def close_loop(self) -> None:
        """Close the loop the matching ``open_loop`` opened, if it opened one."""
        if self.opened.pop():
            self.out.close()

    def steps(self, steps: tuple[Step, ...]) -> None:
        """Write steps in order; a fused group shares one loop over its outermost variable."""
        for fusion, members in itertools.groupby(steps, key=lambda s: s.fusion):
            group = list(members)
            if fusion is None:
                for step in group:
                    self.step(step)
                continue
            variable = group[0].local[0]
            self.out.line(f"// fused over {variable}: {', '.join(s.einsum.name for s in group)}")
            self.open_loop(variable)
            self.bound.add(variable)
            for step in group:
                self.step(step)
            self.bound.discard(variable)
            self.close_loop()

    def loops(self, variables: tuple[str, ...], statement: str) -> None:
        """Write ``statement`` inside one loop per variable."""
        for variable in variables:
            self.open_loop(variable)
        self.out.line(statement)
        for _ in variables:
            self.close_loop()

    # ---- steps

    def destination(self, step: Step) -> tuple[Buffer, tuple[str, ...], str]:
        buffer = self.kernel.buffer(step.einsum.name)
        kept = tuple(v for v in step.einsum.output_variables if v in buffer.dims)
        ordered = tuple(d for d in buffer.dims)
        assert set(kept) == set(ordered), (kept, ordered)
        suffix = "_cur" if buffer.iterative else ""
        return buffer, ordered, suffix

    def point(self, step: Step) -> tuple[str, str]:
        einsum = step.einsum
        value, present = self.expression(einsum.expression)
        everything = set(einsum.variables)
        carriers = [r for r in einsum.operands if set(r.variables()) >= everything]
        if carriers:
            carried = FALSE
            for ref in carriers:
                carried = _or(carried, self.read(ref)[1])
            present = _and(present, carried)
        if einsum.condition is not None:
            present = _and(present, self.condition(einsum.condition))
        return value, present

    def init_accumulator(self, step: Step) -> None:
        buffer, dims, suffix = self.destination(step)
        identity = float_literal(step.einsum.reduce_op.identity)
        self.loops(dims, f"{self.element(buffer, dims, suffix)} = {identity};")
        if buffer.maybe_absent:
            flags = buffer.presence_of(dims)
            self.loops(flags, f"{self.flag(buffer, dims, suffix)} = false;")

    def finalize_accumulator(self, step: Step) -> None:
        buffer, dims, suffix = self.destination(step)
        if not buffer.maybe_absent:
            return
        for variable in dims:
            self.open_loop(variable)
        target = self.element(buffer, dims, suffix)
        ok = self.flag(buffer, dims, suffix)
        self.out.line(f"if (!{ok}) {target} = {float_literal(buffer.empty)};")
        for _ in dims:
            self.close_loop()

    def step(self, step: Step) -> None:
        einsum = step.einsum
        buffer, dims, suffix = self.destination(step)
        self.out.open(f"{{  // {einsum.name}")
        target = self.element(buffer, dims, suffix)
        target_ok = self.flag(buffer, dims, suffix)
        if not step.reduced:
            for variable in step.local:
                self.open_loop(variable)
            value, present = self.point(step)
            if present == TRUE:
                self.out.line(f"{target} = {value};")
                if buffer.maybe_absent:
                    self.out.line(f"{target_ok} = true;")
            else:
                self.out.line(f"{{ const bool ok = {present};")
                self.out.line(f"  {target} = ok ? {value} : {float_literal(buffer.empty)};")
                self.out.line(f"  {target_ok} = ok; }}")
            for _ in step.local:
                self.close_loop()
        elif step.local[-len(step.reduced) :] == step.reduced and not step.across_tiles:
            self.scalar_reduction(step, buffer, dims, suffix)
        else:
            if not step.across_tiles:
                self.init_accumulator(step)
            for variable in step.local:
                self.open_loop(variable)
            self.accumulate(step, target, target_ok if buffer.maybe_absent else None)
            for _ in step.local:
                self.close_loop()
            if not step.across_tiles:
                self.finalize_accumulator(step)
        if not step.across_tiles:
            self.store(step)
        self.out.close()

    def scalar_reduction(
        self, step: Step, buffer: Buffer, dims: tuple[str, ...], suffix: str
    ) -> None:
        kept = step.local[: len(step.local) - len(step.reduced)]
        for variable in kept:
            self.open_loop(variable)
        identity = float_literal(step.einsum.reduce_op.identity)
        self.out.line(f"float acc = {identity};")
        self.out.line("bool acc_ok = false;")
        for variable in step.reduced:
            self.open_loop(variable)
        self.accumulate(step, "acc", "acc_ok")
        for _ in step.reduced:
            self.close_loop()
        target = self.element(buffer, dims, suffix)
        self.out.line(f"{target} = acc_ok ? acc : {float_literal(buffer.empty)};")
        if buffer.maybe_absent:
            self.out.line(f"{self.flag(buffer, dims, suffix)} = acc_ok;")
        for _ in kept:
            self.close_loop()

    def accumulate(self, step: Step, target: str, target_ok: str | None) -> None:
        value, present = self.point(step)
        combined = REDUCE[step.einsum.reduce_op].format(target, value)
        mark = "" if target_ok is None else f" {target_ok} = true;"
        if present == TRUE:
            self.out.line(f"{target} = {combined};{mark}")
        else:
            self.out.line(f"if ({present}) {{ {target} = {combined};{mark} }}")

    def store(self, step: Step) -> None:
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
        for variable in dims:
            self.open_loop(variable)
        coordinates = [self.coordinate(r.lower()) for r in tensor.ranks]
        flat = self.flat_index(coordinates, tensor.ranks)
        self.out.line(f"{name}[{flat}] = {self.element(buffer, dims, suffix)};")
        for _ in dims:
            self.close_loop()
        self.out.close()

    # ---- declarations and segments

    def declare(self, buffer: Buffer) -> None:
        shape = "".join(
            f"[{'TILE' if d == self.plan.in_tile_variable else rank_of_variable(d)}]"
            for d in buffer.dims
        )
        suffixes = ["_prev", "_cur"] if buffer.iterative else [""]
        flag_shape = "".join(
            f"[{'TILE' if d == self.plan.in_tile_variable else rank_of_variable(d)}]"
            for d in buffer.presence_dims
        )
        for suffix in suffixes:
            name = f"{buffer.tensor}{suffix}"
            if buffer.storage is Storage.SHARED:
                self.out.line(f"__shared__ float s_{name}{shape}[BLOCK];")
                if buffer.maybe_absent:
                    self.out.line(f"__shared__ bool s_{name}_ok{flag_shape}[BLOCK];")
            else:
                self.out.line(f"float l_{name}{shape};")
                if buffer.maybe_absent:
                    self.out.line(f"bool l_{name}_ok{flag_shape};")

    def init_iterative(self, buffer: Buffer) -> None:
        init = self.cascade.init(buffer.tensor)
        if init is None:
            raise KernelError.single("K005", f"iterative tensor '{buffer.tensor}' has no init")
        value, _ = self.expression(init.value)
        present = (
            "false"
            if isinstance(init.value, Literal) and init.value.value == buffer.empty
            else "true"
        )
        dims = buffer.dims
        self.loops(dims, f"{self.element(buffer, dims, '_prev')} = {value};")
        if buffer.maybe_absent:
            flags = buffer.presence_dims
            self.loops(flags, f"{self.flag(buffer, dims, '_prev')} = {present};")

    def advance_iterative(self, buffer: Buffer) -> None:
        dims = buffer.dims
        previous, current = self.element(buffer, dims, "_prev"), self.element(buffer, dims, "_cur")
        self.loops(dims, f"{previous} = {current};")
        if buffer.maybe_absent:
            previous, current = self.flag(buffer, dims, "_prev"), self.flag(buffer, dims, "_cur")
            self.loops(buffer.presence_dims, f"{previous} = {current};")

    def stage(self, tensor: str) -> None:
        buffer = self.kernel.buffer(tensor)
        ranks = self.cascade.tensor(tensor).ranks
        sizes = [
            "TILE" if d == self.plan.in_tile_variable else rank_of_variable(d) for d in buffer.dims
        ]
        total = " * ".join(sizes)
        self.out.open(f"for (int i = threadIdx.x; i < {total}; i += BLOCK)")
        rest = "i"
        coordinates: list[str] = []
        for position in range(len(sizes) - 1, -1, -1):
            name = f"c{position}"
            self.out.line(f"const int {name} = {rest} % {sizes[position]};")
            rest = f"({rest} / {sizes[position]})"
            coordinates.insert(0, name)
        global_coordinates = [
            f"(t * TILE + {c})" if d == self.plan.in_tile_variable else c
            for c, d in zip(coordinates, buffer.dims, strict=True)
        ]
        tile_position = buffer.dims.index(self.plan.in_tile_variable)
        load = self.convert(f"{tensor}[{self.flat_index(global_coordinates, ranks)}]")
        guard = f"{coordinates[tile_position]} < count"
        self.out.line(f"t_{tensor}[i] = {guard} ? {load} : 0.0f;")
        self.out.close()

    def segment(self, segment: Segment) -> None:
        if not segment.is_loop:
            self.steps(segment.steps)
            return
        self.out.line(f"// pass {segment.pass_number} over {self.plan.tiling.sequence_rank}")
        across = [s for s in segment.steps if s.across_tiles]
        for step in across:
            self.init_accumulator(step)
        sequence = self.plan.tiling.sequence_rank
        self.out.open(f"for (int t = 0; t < ({sequence} + TILE - 1) / TILE; ++t)")
        self.out.line(f"const int count = min(TILE, {sequence} - t * TILE);")
        self.out.line("__syncthreads();  // every thread is done with the previous tile")
        for tensor in segment.staged:
            self.stage(tensor)
        self.out.line("__syncthreads();  // the tile is staged")
        self.steps(segment.steps)
        for buffer in self.kernel.buffers:
            if buffer.iterative:
                self.advance_iterative(buffer)
        self.out.close()
        for step in across:
            self.finalize_accumulator(step)
            self.store(step)

    def signature(self) -> KernelSignature:
        params = []
        for name in self.kernel.params:
            tensor = self.cascade.tensor(name)
            if tensor.kind is TensorKind.INPUT:
                ctype = f"const {ELEMENT_CTYPE[self.plan.tiling.input_dtype]}*"
            else:
                ctype = "float*"
            params.append(KernelParam(name, ctype))
        params += [KernelParam(extent, "int") for extent in self.kernel.extents]
        return KernelSignature(self.kernel.name, tuple(params))

    def render(self) -> tuple[str, KernelSignature]:
        signature = self.signature()
        block = self.plan.tiling.threads_per_block
        args = ", ".join(
            f"{p.ctype} __restrict__ {p.name}" if p.is_pointer else f"{p.ctype} {p.name}"
            for p in signature.params
        )
        self.out.line(f'extern "C" __global__ void __launch_bounds__({block})')
        self.out.open(f"{self.kernel.name}({args})")
        self.out.line(f"constexpr int BLOCK = {block};")
        self.out.line(f"constexpr int TILE = {self.plan.tiling.tile};")
        for rank, value in sorted(self.plan.tiling.static_extents):
            self.out.line(f"constexpr int {rank} = {value};")
        self.out.line("const int row = blockIdx.x * BLOCK + threadIdx.x;")
        parallel_extent = rank_of_variable(self.kernel.parallel)
        self.out.line(f"const bool row_ok = row < {parallel_extent};")
        for buffer in self.kernel.buffers:
            if buffer.storage is Storage.STAGED:
                sizes = " * ".join(
                    "TILE" if d == self.plan.in_tile_variable else rank_of_variable(d)
                    for d in buffer.dims
                )
                self.out.line(f"__shared__ float t_{buffer.tensor}[{sizes}];")
            elif buffer.storage in (Storage.SHARED, Storage.REGISTER):
                self.declare(buffer)
        for buffer in self.kernel.buffers:
            if buffer.iterative:
                self.init_iterative(buffer)
        for segment in self.kernel.segments:
            self.segment(segment)
        self.out.close()
        return "\n".join(self.out.lines), signature


def render_cuda(plan: KernelPlan) -> KernelSource:
    """Render every kernel of ``plan`` into one CUDA C++ source."""
    header = [
        f"// {plan.cascade.name}: generated by einsum-cascade from a kernel plan; do not edit.",
        f"// tiling: {plan.tiling}",
    ]
    if plan.tiling.input_dtype == "float16":
        header += ["#ifndef CUDA_SHIM", "#include <cuda_fp16.h>", "#endif"]
    bodies: list[str] = []
    signatures: list[KernelSignature] = []
    for kernel in plan.kernels:
        text, signature = _KernelRenderer(plan, kernel).render()
        bodies.append(text)
        signatures.append(signature)
    return KernelSource("\n".join(header) + "\n\n" + "\n\n".join(bodies) + "\n", tuple(signatures))
