"""Run rendered Triton kernels: Triton's interpreter on NumPy arrays, or the AOT cubin on CuPy.

The interpreter (CPU, no GPU) accepts any object with ``data_ptr()`` and ``dtype`` and copies
device tensors to the host through torch's storage protocol; :class:`HostTensor` implements
that protocol as identities on a NumPy buffer, so kernels read and write it in place and torch
is never imported. On a GPU the cubin the CI gates inspected is loaded by CuPy and launched
as a raw kernel (no Triton runtime, no host compiler): Triton 3.9's ABI is the non-constexpr
arguments in signature order, then two ``u64`` scratch pointers (0 when the metadata's
scratch sizes are 0), a block of ``32 * num_warps`` threads and ``shared`` bytes of dynamic
shared memory.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from kernels.build.triton_build import (
    TritonBinary,
    check_binary,
    compile_kernel,
    interpreted,
    interpreting,
    require_triton,
)
from kernels.build.triton_source import TritonKernel
from kernels.errors import KernelError
from kernels.plan.lower import KernelPlan
from kernels.render.triton import render_triton
from kernels.run.binding import OUTPUT_FILL, bind_extents, produced_tensors, tensor_shape

ALIGNMENT = 16  # the aligned binary needs every runtime extent to be a multiple of this
_SCALAR = {"i32": np.int32, "fp32": np.float32}


class HostTensor:
    """A NumPy array seen by Triton's interpreter as a CPU tensor (read and written in place)."""

    def __init__(self, array: np.ndarray) -> None:
        self.array = array
        self.dtype = array.dtype

    def data_ptr(self) -> int:
        """Return the address of the first element."""
        return int(self.array.ctypes.data)

    def untyped_storage(self) -> HostTensor:
        """Return the storage (host memory: itself)."""
        return self

    def cpu(self) -> HostTensor:
        """Return the host copy (itself)."""
        return self

    def new_empty(self, *_args: object, **_kwargs: object) -> HostTensor:
        """Return a host tensor to view the storage through (itself)."""
        return self

    def set_(self, *_args: object) -> HostTensor:
        """View a storage (already this one)."""
        return self

    def storage_offset(self) -> int:
        """Return the offset into the storage (0)."""
        return 0

    def size(self) -> tuple[int, ...]:
        """Return the shape."""
        return tuple(self.array.shape)

    def stride(self) -> tuple[int, ...]:
        """Return the strides in elements."""
        return tuple(s // self.array.itemsize for s in self.array.strides)

    def copy_(self, _other: object) -> HostTensor:
        """Copy back to the device (host memory already holds the result)."""
        return self


def _dtype(plan: KernelPlan) -> Any:
    return np.float16 if plan.tiling.input_dtype == "float16" else np.float32


def run_triton_interpreter(
    plan: KernelPlan,
    inputs: Mapping[str, np.ndarray],
    extents: Mapping[str, int] | None = None,
    mutate_dots: bool = False,
) -> dict[str, np.ndarray]:
    """Run the plan's Triton kernels in Triton's interpreter; outputs start NaN."""
    require_triton()
    bound = bind_extents(plan, inputs, extents)
    source = render_triton(plan, mutate_dots)
    tensors: dict[str, np.ndarray] = {
        name: np.ascontiguousarray(array, dtype=_dtype(plan)) for name, array in inputs.items()
    }
    for name in produced_tensors(plan):
        tensors[name] = np.full(tensor_shape(plan, name, bound), OUTPUT_FILL, np.float32)
    for kernel in source.kernels:
        function = interpreted(source, kernel)
        args: list[Any] = [
            HostTensor(tensors[p.name]) if p.is_pointer else int(bound[p.name])
            for p in kernel.params
        ]
        with np.errstate(all="ignore"), interpreting():
            function[kernel.grid(bound)](
                *args, **dict(kernel.constexprs), **kernel.specialization(bound)
            )
    return {t.name: tensors[t.name] for t in plan.cascade.outputs}


class CubinKernel:
    """A Triton AOT cubin loaded by CuPy and launched as a raw kernel."""

    binary: TritonBinary
    kernel: TritonKernel

    def __init__(self, binary: TritonBinary, kernel: TritonKernel) -> None:
        from kernels.run.cupy_launch import require_cupy

        cupy = require_cupy()
        if binary.scratch_bytes:
            raise KernelError.single(
                "K710", f"'{kernel.name}' needs {binary.scratch_bytes} B of Triton scratch"
            )
        self.binary = binary
        self.kernel = kernel
        self.module = cupy.cuda.function.Module()
        self.module.load(binary.cubin_path.read_bytes())
        self.function = self.module.get_function(binary.function)
        if binary.shared_bytes > 48 * 1024:
            driver = cupy.cuda.driver
            driver.funcSetAttribute(
                self.function.ptr,
                driver.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                binary.shared_bytes,
            )

    def __call__(self, tensors: Mapping[str, Any], extents: Mapping[str, int]) -> None:
        """Launch on the current CuPy stream."""
        args: list[Any] = []
        for param in self.kernel.params:
            if param.is_pointer:
                args.append(tensors[param.name])
            else:
                args.append(_SCALAR[param.kind](extents[param.name]))
        args += [np.uint64(0), np.uint64(0)]  # global and profile scratch (unused)
        grid = self.kernel.grid(dict(extents))
        self.function(
            (grid[0], grid[1], 1),
            (32 * self.binary.num_warps, 1, 1),
            tuple(args),
            shared_mem=self.binary.shared_bytes,
        )


def load_triton_on_device(
    plan: KernelPlan,
    extents: Mapping[str, int],
    num_warps: int = 0,
    num_stages: int = 3,
) -> list[CubinKernel]:
    """Compile (cached) for the current device and load every kernel; gate each binary."""
    from kernels.run.cupy_launch import device_target

    require_triton()
    target = device_target()
    target = "sm_90a" if target == "sm_90" else target
    source = render_triton(plan)
    aligned = all(v % ALIGNMENT == 0 for k, v in extents.items() if k in plan.runtime_extents())
    loaded = []
    for kernel in source.kernels:
        even = kernel.specialization(dict(extents))["EVEN"]
        warps = num_warps or kernel.warps
        binary = compile_kernel(source, kernel, target, warps, num_stages, aligned, even)
        check_binary(binary, kernel.dots)
        loaded.append(CubinKernel(binary, kernel))
    return loaded


def _device_tensors(
    plan: KernelPlan, inputs: Mapping[str, Any], bound: Mapping[str, int], fill: float | None
) -> dict[str, Any]:
    """Put the inputs on the GPU in the plan's dtype and allocate every tensor it writes.

    The written tensors start at ``fill`` (NaN, so an unwritten element fails a comparison),
    or uninitialised with ``None`` (timing).
    """
    from kernels.run.cupy_launch import require_cupy

    cupy = require_cupy()
    tensors: dict[str, Any] = {
        name: cupy.ascontiguousarray(cupy.asarray(array), dtype=_dtype(plan))
        for name, array in inputs.items()
    }
    for name in produced_tensors(plan):
        shape = tensor_shape(plan, name, bound)
        if fill is None:
            tensors[name] = cupy.empty(shape, dtype=cupy.float32)
        else:
            tensors[name] = cupy.full(shape, fill, dtype=cupy.float32)
    return tensors


def run_triton_cupy(
    plan: KernelPlan,
    inputs: Mapping[str, Any],
    extents: Mapping[str, int] | None = None,
    num_warps: int = 0,
    num_stages: int = 3,
) -> dict[str, Any]:
    """Run the plan's Triton kernels on the GPU; inputs and outputs are CuPy arrays."""
    bound = bind_extents(plan, inputs, extents)
    tensors = _device_tensors(plan, inputs, bound, math.nan)
    for kernel in load_triton_on_device(plan, bound, num_warps, num_stages):
        kernel(tensors, bound)
    return {t.name: tensors[t.name] for t in plan.cascade.outputs}


def run_triton_cupy_host(
    plan: KernelPlan, inputs: Mapping[str, np.ndarray], extents: Mapping[str, int] | None = None
) -> dict[str, np.ndarray]:
    """Run on the GPU from host arrays and return host arrays (the CLI's ``triton-gpu``)."""
    from kernels.run.cupy_launch import require_cupy

    cupy = require_cupy()
    outputs = run_triton_cupy(plan, inputs, extents)
    cupy.cuda.Device().synchronize()
    return {name: cupy.asnumpy(array) for name, array in outputs.items()}


def time_triton_cupy(
    plan: KernelPlan,
    inputs: Mapping[str, Any],
    extents: Mapping[str, int] | None = None,
    repeats: int = 20,
    num_warps: int = 0,
    num_stages: int = 3,
) -> Any:
    """Time the plan's Triton kernels with CUDA events (inputs already on the device)."""
    from kernels.run.timing import time_cuda

    bound = bind_extents(plan, inputs, extents)
    tensors = _device_tensors(plan, inputs, bound, None)
    kernels = load_triton_on_device(plan, bound, num_warps, num_stages)

    def launch() -> None:
        for kernel in kernels:
            kernel(tensors, bound)

    return time_cuda(launch, 5, repeats)


def triton_version() -> str:
    """Return the installed Triton version."""
    return str(require_triton().__version__)
