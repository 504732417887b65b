"""Render a kernel plan as CUDA C++: ``extern "C"`` fp32 SIMT kernels for cupy.RawModule.

The same text compiles with nvcc/NVRTC and, against ``kernels/shim/cuda_shim.h``, with g++.
This module writes the kernel around the steps (signature, declarations, staging, running
state); ``kernels.render.cuda_steps`` holds the tables and the code of each step.
"""

from __future__ import annotations

from einsum_cascade.ir import Literal, TensorKind
from einsum_cascade.symbols import rank_of_variable
from kernels.build.source import KernelParam, KernelSignature, KernelSource
from kernels.errors import KernelError
from kernels.plan.lower import Buffer, KernelPlan, Segment, Storage
from kernels.render.cuda_steps import INFINITY, CudaSteps, float_literal

__all__ = ["ELEMENT_CTYPE", "INFINITY", "CudaRenderer", "float_literal", "render_cuda"]

ELEMENT_CTYPE = {"float32": "float", "float16": "__half"}


class CudaRenderer(CudaSteps):
    """Renders one kernel of a plan as a CUDA ``__global__`` function."""

    def shape(self, dims: tuple[str, ...]) -> str:
        """Return C array extents ``[TILE][F]`` for buffer dims."""
        return "".join(f"[{self.size(d)}]" for d in dims)

    def prologue(self) -> None:
        """Write the compile-time extents and this thread's row."""
        self.out.line(f"constexpr int BLOCK = {self.plan.tiling.threads_per_block};")
        self.out.line(f"constexpr int TILE = {self.plan.tiling.tile};")
        for rank, value in sorted(self.plan.tiling.static_extents):
            self.out.line(f"constexpr int {rank} = {value};")
        self.out.line("const int row = blockIdx.x * BLOCK + threadIdx.x;")
        self.out.line(f"const bool row_ok = row < {rank_of_variable(self.kernel.parallel)};")
        rest = "blockIdx.y"
        for position in range(len(self.grid) - 1, -1, -1):  # minor grid rank first
            variable = self.grid[position]
            if position == 0:
                self.out.line(f"const int {variable} = {rest};")
            else:
                extent = rank_of_variable(variable)
                self.out.line(f"const int {variable} = {rest} % {extent};")
                rest = f"({rest} / {extent})"

    def declare(self, buffer: Buffer) -> None:
        """Declare a staged tile, a shared column per thread, or registers."""
        if buffer.storage is Storage.STAGED:
            sizes = " * ".join(self.size(d) for d in buffer.dims)
            self.out.line(f"__shared__ float t_{buffer.tensor}[{sizes}];")
            return
        if buffer.storage not in (Storage.SHARED, Storage.REGISTER):
            return
        shape, flag_shape = self.shape(buffer.dims), self.shape(buffer.presence_dims)
        for suffix in ["_prev", "_cur"] if buffer.iterative else [""]:
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
        """Set the previous generation from the init (absent where it is the empty value)."""
        init = self.cascade.init(buffer.tensor)
        if init is None:
            raise KernelError.single("K005", f"iterative tensor '{buffer.tensor}' has no init")
        value, _ = self.expression(init.value)
        empty = isinstance(init.value, Literal) and init.value.value == buffer.empty
        dims = buffer.dims
        self.loops(dims, f"{self.element(buffer, dims, '_prev')} = {value};")
        if buffer.maybe_absent:
            present = self.false if empty else self.true
            self.loops(buffer.presence_dims, f"{self.flag(buffer, dims, '_prev')} = {present};")

    def advance_iterative(self, buffer: Buffer) -> None:
        """Copy the current generation (values, then flags) over the previous one."""
        dims = buffer.dims
        previous, current = self.element(buffer, dims, "_prev"), self.element(buffer, dims, "_cur")
        self.loops(dims, f"{previous} = {current};")
        if buffer.maybe_absent:
            previous, current = self.flag(buffer, dims, "_prev"), self.flag(buffer, dims, "_cur")
            self.loops(buffer.presence_dims, f"{previous} = {current};")

    def stage(self, tensor: str) -> None:
        """Copy one tile of an input into shared memory, zero past the sequence end."""
        buffer = self.kernel.buffer(tensor)
        ranks = self.cascade.tensor(tensor).ranks
        sizes = [self.size(d) for d in buffer.dims]
        self.out.open(f"for (int i = threadIdx.x; i < {' * '.join(sizes)}; i += BLOCK)")
        rest = "i"
        coordinates: list[str] = []
        for position in range(len(sizes) - 1, -1, -1):
            name = f"c{position}"
            self.out.line(f"const int {name} = {rest} % {sizes[position]};")
            rest = f"({rest} / {sizes[position]})"
            coordinates.insert(0, name)
        local = iter(zip(coordinates, buffer.dims, strict=True))
        global_coordinates = []
        for rank in ranks:  # a grid rank is the block's coordinate; the rest come from i
            if rank.lower() in self.grid:
                global_coordinates.append(rank.lower())
                continue
            coordinate, dim = next(local)
            tiled = dim == self.plan.in_tile_variable
            global_coordinates.append(f"(t * TILE + {coordinate})" if tiled else coordinate)
        tile_position = buffer.dims.index(self.plan.in_tile_variable)
        load = self.convert(f"{tensor}[{self.flat_index(global_coordinates, ranks)}]")
        guard = f"{coordinates[tile_position]} < count"
        self.out.line(f"t_{tensor}[i] = {guard} ? {load} : 0.0f;")
        self.out.close()

    def open_tile_loop(self, segment: Segment) -> None:
        """Open the loop over tiles and stage its inputs between two barriers."""
        sequence = self.plan.tiling.sequence_rank
        self.out.open(f"for (int t = 0; t < ({sequence} + TILE - 1) / TILE; ++t)")
        self.out.line(f"const int count = min(TILE, {sequence} - t * TILE);")
        self.out.line("__syncthreads();  // every thread is done with the previous tile")
        for tensor in segment.staged:
            self.stage(tensor)
        self.out.line("__syncthreads();  // the tile is staged")

    def signature(self) -> KernelSignature:
        """Return the kernel's parameters: tensors in plan order, then runtime extents."""
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
        """Return the kernel's source and signature."""
        signature = self.signature()
        args = ", ".join(
            f"{p.ctype} __restrict__ {p.name}" if p.is_pointer else f"{p.ctype} {p.name}"
            for p in signature.params
        )
        block = self.plan.tiling.threads_per_block
        self.out.line(f'extern "C" __global__ void __launch_bounds__({block})')
        self.out.open(f"{self.kernel.name}({args})")
        self.body()
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
        if plan.shared_bytes(kernel) > 2**31 - 1:  # C array sizes and indices are 32-bit
            raise KernelError.single(
                "K007",
                f"kernel '{kernel.name}' would declare {plan.shared_bytes(kernel)} B of shared "
                "arrays, past 32-bit sizes",
                hint="use a smaller tile (--tile M0=32)",
            )
        text, signature = CudaRenderer(plan, kernel).render()
        bodies.append(text)
        signatures.append(signature)
    return KernelSource("\n".join(header) + "\n\n" + "\n\n".join(bodies) + "\n", tuple(signatures))
