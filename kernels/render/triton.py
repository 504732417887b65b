"""Render a kernel plan as Triton: tensor-core kernels from the same plan as the CUDA renderer.

A program owns ``BLOCK_P`` coordinates of the parallel rank (a Q tile kept in registers) and
one coordinate of the grid ranks (heads; GQA/MQA index their shared K/V, nothing is copied).
Every local buffer is a register block ``[BLOCK_P, *dims]``; in-tile and static ranks are block
axes, the tile loop is a ``for`` whose loop-carried values are the cascade's running state.
A sum of products whose one operand is shared by every row is a ``tl.dot`` (fp16 inputs and
fp32 accumulation); other reductions are ``tl.sum``/``tl.max``; absent points are masks
(``tl.where``); whole tiles a filter removes for every row of the program are skipped by the
loop bounds (``kernels.plan.skipping``).
"""

from __future__ import annotations

import sympy
from sympy.printing.pycode import pycode

from einsum_cascade import TensorKind
from einsum_cascade.ir import Literal, TensorRef, walk
from einsum_cascade.symbols import index_symbol, rank_of_variable
from kernels.build.triton_source import TritonKernel, TritonParam, TritonSource
from kernels.errors import KernelError
from kernels.plan.lower import Buffer, KernelPlan, Role, Segment, Storage
from kernels.plan.skipping import TileBounds, tile_bounds
from kernels.render.triton_steps import ELEMENT, TritonSteps

__all__ = ["TritonRenderer", "default_warps", "render_triton"]


class TritonRenderer(TritonSteps):
    """Renders one kernel of a plan as a ``@triton.jit`` function over register blocks."""

    def prologue(self) -> None:
        """Bind grid coordinates, axis vectors and the blocks loaded once per program."""
        self.out.line("pid = tl.program_id(0)")
        rest = "tl.program_id(1)"
        for position in range(len(self.grid) - 1, -1, -1):  # minor grid rank first
            variable = self.grid[position]
            if position == 0:
                self.out.line(f"c_{variable} = {rest}")
            else:
                extent = rank_of_variable(variable)
                self.out.line(f"c_{variable} = {rest} % {extent}")
                rest = f"({rest} // {extent})"
        parallel = self.kernel.parallel
        self.out.line(f"offs_{parallel} = pid * BLOCK_P + tl.arange(0, BLOCK_P)")
        self.out.line(
            f"ok_{parallel} = offs_{parallel} < {self.extent_name(rank_of_variable(parallel))}"
        )
        for variable, role in sorted(self.kernel.roles):
            if role is Role.STATIC:
                self.out.line(f"offs_{variable} = tl.arange(0, {self.size(variable)})")
                if self.padded(variable):
                    bound = self.static[rank_of_variable(variable)]
                    self.out.line(f"ok_{variable} = offs_{variable} < {bound}")
            elif role is Role.IN_TILE:
                self.out.line(f"offs_{variable} = tl.arange(0, TILE)")
        for item in self.kernel.buffers:
            if item.storage is not Storage.GLOBAL:
                continue
            axes = self.tensor_axes(item.tensor)
            if item.tensor not in self.used_globals() or self.plan.in_tile_variable in axes:
                continue  # along the sequence rank: loaded tile by tile in the loop
            self.out.line(f"g_{item.tensor} = {self.load(item.tensor, axes)}  # once per program")

    def used_globals(self) -> set[str]:
        """Return the tensors the kernel's steps and inits read."""
        used: set[str] = set()
        for segment in self.kernel.segments:
            for step in segment.steps:
                used |= {ref.tensor for ref in step.einsum.operands}
                init = self.cascade.init(step.einsum.name)
                if init is not None:
                    used |= {n.tensor for n in walk(init.value) if isinstance(n, TensorRef)}
        return used

    def declare(self, buffer: Buffer) -> None:
        """Give every register block a value before any loop (Triton's loop-carried rule)."""
        if buffer.storage not in (Storage.SHARED, Storage.REGISTER) or buffer.iterative:
            return  # iterative state is set by init_iterative
        shape = self.shape(self.buffer_axes(buffer))
        self.out.line(f"l_{buffer.tensor} = tl.zeros({shape}, tl.float32)")
        if buffer.maybe_absent:
            flags = self.shape(self.flag_axes(buffer))
            self.out.line(f"l_{buffer.tensor}_ok = tl.full({flags}, 0, tl.int1)")

    def init_iterative(self, buffer: Buffer) -> None:
        """Set the previous (and current) generation from a literal init."""
        init = self.cascade.init(buffer.tensor)
        if init is None:
            raise KernelError.single("K005", f"iterative tensor '{buffer.tensor}' has no init")
        axes = self.buffer_axes(buffer)
        flags = self.shape(self.flag_axes(buffer))
        start = init.value
        empty = isinstance(start, Literal) and start.value == buffer.empty
        present = "0" if empty else "1"
        self.target = axes
        value = (
            self.literal(start.value) if isinstance(start, Literal) else self.expression(start)[0]
        )
        for suffix in ("_prev", "_cur"):
            self.out.line(f"l_{buffer.tensor}{suffix} = {self.full(value, axes, axes)}")
            if buffer.maybe_absent:
                self.out.line(
                    f"l_{buffer.tensor}{suffix}_ok = tl.full({flags}, {present}, tl.int1)"
                )

    def advance_iterative(self, buffer: Buffer) -> None:
        """Make the current generation the previous one."""
        name = f"l_{buffer.tensor}"
        self.out.line(f"{name}_prev = {name}_cur")
        if buffer.maybe_absent:
            self.out.line(f"{name}_prev_ok = {name}_cur_ok")

    def segment(self, segment: Segment) -> None:
        """Write a segment; remember when a tile loop is open."""
        self.in_loop = segment.is_loop
        super().segment(segment)
        self.in_loop = False

    def open_tile_loop(self, segment: Segment) -> None:
        """Open the loop over the tiles a filter leaves present and load their staged blocks."""
        sequence = self.plan.tiling.sequence_rank
        bounds = tile_bounds(self.plan, self.kernel, segment)
        first, last = self.loop_bounds(bounds)
        self.out.open(f"for t in range({first}, {last})")
        variable = self.plan.in_tile_variable
        self.out.open("if EVEN")  # the sequence extent is a multiple of TILE: no ragged tile
        self.out.line(f"ok_{variable} = tl.full((TILE,), 1, tl.int1)")
        self.out.close()
        self.out.open("else")
        self.out.line(f"ok_{variable} = t * TILE + offs_{variable} < {sequence}")
        self.out.close()
        for tensor in segment.staged:
            axes = self.tensor_axes(tensor)
            self.out.line(f"t_{tensor} = {self.load(tensor, axes)}")
        read = {ref.tensor for step in segment.steps for ref in step.einsum.operands}
        for item in self.kernel.buffers:  # rows of the program along the tile (GEMM's A)
            axes = self.tensor_axes(item.tensor)
            if item.storage is Storage.GLOBAL and item.tensor in read and variable in axes:
                self.out.line(f"g_{item.tensor} = {self.load(item.tensor, axes)}")

    def loop_bounds(self, bounds: TileBounds | None) -> tuple[str, str]:
        """Return the first tile and the end tile of a loop (whole absent tiles skipped)."""
        sequence = self.plan.tiling.sequence_rank
        tiles = f"tl.cdiv({sequence}, TILE)"
        if bounds is None:
            return "0", tiles
        parallel = rank_of_variable(self.kernel.parallel)
        row_first = "(pid * BLOCK_P)"
        row_last = f"(tl.minimum({parallel}, pid * BLOCK_P + BLOCK_P) - 1)"
        first, last = "0", tiles
        if bounds.lowest is not None:  # positions >= lowest(p) can be present
            low = self.bound_code(bounds.lowest, row_first, row_last, minimum=True)
            first = f"tl.maximum({low}, 0) // TILE"
        if bounds.highest is not None:  # positions <= highest(p) can be present
            high = self.bound_code(bounds.highest, row_first, row_last, minimum=False)
            last = f"tl.minimum({tiles}, (tl.maximum({high}, -1) + TILE) // TILE)"
        self.out.line(f"# whole tiles outside [{bounds.describe()}] are absent: skipped")
        return first, last

    def bound_code(self, bound: sympy.Expr, first: str, last: str, minimum: bool) -> str:
        """Return the extreme of a bound ``c * p + rest`` over the program's rows."""
        row = index_symbol(self.kernel.parallel)
        slope = bound.coeff(row)
        rest = sympy.expand(bound - slope * row)
        pick = first if (slope > 0) == minimum else last
        names = {
            s: sympy.Symbol(self.extent_name(s.name) if s.name != self.plan.tile_extent else "TILE")
            for s in rest.free_symbols
        }
        rest_code = str(pycode(rest.xreplace(names)))
        if slope == 0:
            return f"({rest_code})"
        return f"({slope} * {pick} + {rest_code})"

    def render(self) -> tuple[str, TritonKernel]:
        """Return the kernel's source and launch description."""
        params = []
        for name in self.kernel.params:
            tensor = self.cascade.tensor(name)
            element = (
                ELEMENT[self.plan.tiling.input_dtype] if tensor.kind is TensorKind.INPUT else "fp32"
            )
            params.append(TritonParam(name, f"*{element}"))
        params += [TritonParam(extent, "i32") for extent in self.kernel.extents]
        self.body()
        args = ", ".join(
            [p.name for p in params]
            + ["BLOCK_P: tl.constexpr", "TILE: tl.constexpr", "EVEN: tl.constexpr"]
        )
        lines = ["@triton.jit", f"def {self.kernel.name}({args}):", *self.out.lines]
        constexprs = (("BLOCK_P", self.block_p), ("TILE", self.tile))
        kernel = TritonKernel(
            self.kernel.name,
            tuple(params),
            constexprs,
            rank_of_variable(self.kernel.parallel),
            tuple(self.plan.tiling.grid_ranks),
            self.block_p,
            self.dots,
            self.plan.tiling.sequence_rank,
            default_warps(self.plan),
        )
        return "\n".join(lines), kernel


def default_warps(plan: KernelPlan) -> int:
    """Return the warps per program: 8 when masks or a head dim >= 128 need the registers."""
    filtered = any(e.condition is not None for e in plan.cascade.einsums)
    wide = any(value >= 128 for _, value in plan.tiling.static_extents)
    return 8 if filtered or wide else 4


def render_triton(plan: KernelPlan, mutate_dots: bool = False) -> TritonSource:
    """Render every kernel of ``plan`` as one Python module of ``@triton.jit`` functions.

    ``mutate_dots`` lowers each ``tl.dot`` to a broadcast multiply and ``tl.sum`` (the
    mutation that proves the tensor-core gate can fail).
    """
    header = [
        f'"""{plan.cascade.name}: Triton kernels generated by einsum-cascade; do not edit.',
        "",
        f"tiling: {plan.tiling}",
        '"""',
        "",
        "import triton",
        "import triton.language as tl",
    ]
    bodies: list[str] = []
    kernels: list[TritonKernel] = []
    for kernel in plan.kernels:
        text, launch = TritonRenderer(plan, kernel, mutate_dots).render()
        bodies.append(text)
        kernels.append(launch)
    return TritonSource("\n".join(header) + "\n\n\n" + "\n\n\n".join(bodies) + "\n", tuple(kernels))
