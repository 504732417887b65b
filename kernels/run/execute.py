"""Run and time a kernel plan on the NumPy twin, the CPU shim build, or CuPy on a GPU.

The backends (these and Triton's) are named in one registry, :mod:`kernels.run.backends`.
(The CUDA compiler, NVRTC or nvcc, is a separate choice: :mod:`kernels.build.compile`.)
"""

from __future__ import annotations

import functools
import math
import platform
from collections.abc import Mapping
from typing import Any

import numpy as np

from einsum_cascade.symbols import rank_of_variable
from kernels.build.source import KernelSource
from kernels.errors import KernelError
from kernels.plan.lower import KernelPlan, KernelSpec
from kernels.render.cuda import render_cuda
from kernels.render.twin import render_twin
from kernels.run.binding import OUTPUT_FILL, bind_extents, produced_tensors, tensor_shape


def _rounded(plan: KernelPlan, array: np.ndarray) -> np.ndarray:
    dtype = np.float16 if plan.tiling.input_dtype == "float16" else np.float32
    return np.ascontiguousarray(array, dtype=dtype)


@functools.cache
def _twin_module(plan: KernelPlan) -> dict[str, Any]:
    namespace: dict[str, Any] = {}
    exec(compile(render_twin(plan), f"<twin {plan.cascade.name}>", "exec"), namespace)
    return namespace


def run_twin(
    plan: KernelPlan,
    inputs: Mapping[str, np.ndarray],
    extents: Mapping[str, int] | None = None,
    xp: Any = np,
) -> dict[str, Any]:
    """Run the NumPy twin of ``plan``; return every tensor it writes (outputs and workspace)."""
    bound = bind_extents(plan, inputs, extents)
    tensors: dict[str, Any] = {
        name: xp.asarray(_rounded(plan, array).astype(np.float32)) for name, array in inputs.items()
    }
    for name in produced_tensors(plan):
        tensors[name] = xp.full(tensor_shape(plan, name, bound), OUTPUT_FILL, dtype=xp.float32)
    namespace = _twin_module(plan)
    with np.errstate(all="ignore"):
        for kernel in plan.kernels:
            namespace[kernel.name](xp, tensors, bound)
    return {t.name: tensors[t.name] for t in plan.cascade.outputs}


def launch_shape(
    plan: KernelPlan, kernel: KernelSpec, extents: Mapping[str, int]
) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """Return (grid, block) of one kernel launch."""
    block = plan.tiling.threads_per_block
    rows = extents[rank_of_variable(kernel.parallel)]
    blocks_y = math.prod(extents[rank] for rank in plan.tiling.grid_ranks)
    return (max(1, math.ceil(rows / block)), blocks_y, 1), (block, 1, 1)


def kernel_arguments(
    plan: KernelPlan,
    source: KernelSource,
    index: int,
    tensors: Mapping[str, Any],
    extents: Mapping[str, int],
) -> dict[str, Any]:
    """Return the named arguments of kernel ``index``: tensors and runtime extents."""
    signature = source.kernels[index]
    values: dict[str, Any] = {}
    for param in signature.params:
        values[param.name] = tensors[param.name] if param.is_pointer else extents[param.name]
    return values


def poisoned(array: np.ndarray, padding: int, fill: float = float("nan")) -> np.ndarray:
    """Return a flat copy of ``array`` followed by ``padding`` poisoned elements."""
    flat = np.ascontiguousarray(array).reshape(-1)
    return np.concatenate([flat, np.full(padding, fill, dtype=flat.dtype)])


def run_shim(
    plan: KernelPlan,
    inputs: Mapping[str, np.ndarray],
    extents: Mapping[str, int] | None = None,
    padding: int = 0,
) -> dict[str, np.ndarray]:
    """Build the generated CUDA source against the CPU shim and run it.

    With ``padding`` > 0, every input buffer is followed by that many NaN elements and
    every output buffer starts NaN and is followed by a sentinel tail: a stray read turns
    an output into NaN, and a stray write changes the tail (a KernelError).
    """
    from kernels.build.shim import build_shared_library

    bound = bind_extents(plan, inputs, extents)
    source = render_cuda(plan)
    library = build_shared_library(source)
    tensors: dict[str, np.ndarray] = {
        name: poisoned(_rounded(plan, array), padding) for name, array in inputs.items()
    }
    sentinel = np.float32(-12345.0)
    for name in produced_tensors(plan):
        size = math.prod(tensor_shape(plan, name, bound))
        tensors[name] = np.concatenate(
            [np.full(size, OUTPUT_FILL, np.float32), np.full(padding, sentinel, np.float32)]
        )
    for index, kernel in enumerate(plan.kernels):
        grid, block = launch_shape(plan, kernel, bound)
        library.launch(
            kernel.name, grid, block, kernel_arguments(plan, source, index, tensors, bound)
        )
    outputs: dict[str, np.ndarray] = {}
    for tensor in plan.cascade.outputs:
        shape = tensor_shape(plan, tensor.name, bound)
        data = tensors[tensor.name]
        size = math.prod(shape)
        if padding and not np.all(data[size:] == sentinel):
            raise KernelError.single("K505", f"the kernel wrote past the end of '{tensor.name}'")
        outputs[tensor.name] = data[:size].reshape(shape)
    return outputs


def run_cupy(
    plan: KernelPlan,
    inputs: Mapping[str, np.ndarray],
    extents: Mapping[str, int] | None = None,
    target: str | None = None,
    compiler: str = "nvrtc",
) -> dict[str, np.ndarray]:
    """Compile (cached), load the cubin with CuPy and run on the GPU; return host arrays."""
    from kernels.run.cupy_launch import require_cupy

    cupy = require_cupy()
    _, functions = load_on_device(plan, target, compiler)
    bound = bind_extents(plan, inputs, extents)
    source = render_cuda(plan)
    tensors: dict[str, Any] = {
        name: cupy.asarray(_rounded(plan, array)) for name, array in inputs.items()
    }
    for name in produced_tensors(plan):
        tensors[name] = cupy.full(tensor_shape(plan, name, bound), OUTPUT_FILL, dtype=cupy.float32)
    launch_all(plan, source, functions, tensors, bound)
    cupy.cuda.Device().synchronize()
    return {t.name: cupy.asnumpy(tensors[t.name]) for t in plan.cascade.outputs}


def load_on_device(plan: KernelPlan, target: str | None, compiler: str) -> tuple[Any, list[Any]]:
    """Compile the plan's source for the device (cached) and load every kernel function."""
    from kernels.build.compile import compile_source
    from kernels.run.cupy_launch import device_target, load_function

    source = render_cuda(plan)
    compiled = compile_source(source, target or device_target(), compiler)
    return compiled, [load_function(str(compiled.cubin_path), k.name) for k in source.kernels]


def launch_all(
    plan: KernelPlan,
    source: KernelSource,
    functions: list[Any],
    tensors: Mapping[str, Any],
    extents: Mapping[str, int],
) -> None:
    """Launch every kernel of the plan in order on the current stream."""
    from kernels.run.cupy_launch import launch

    for index, kernel in enumerate(plan.kernels):
        grid, block = launch_shape(plan, kernel, extents)
        values = kernel_arguments(plan, source, index, tensors, extents)
        launch(functions[index], source.kernels[index], grid, block, values)


def _host(what: str) -> str:
    return f"CPU {platform.processor() or platform.machine()} ({what})"


def time_twin(
    plan: KernelPlan, inputs: Mapping[str, np.ndarray], extents: Any, repeats: int
) -> tuple[Any, str]:
    from kernels.run.timing import time_host

    timing = time_host(lambda: run_twin(plan, inputs, extents), repeats=repeats)
    return timing, _host("numpy twin")


def time_shim(
    plan: KernelPlan, inputs: Mapping[str, np.ndarray], extents: Any, repeats: int
) -> tuple[Any, str]:
    """Time the shim launches only: the library built and the buffers allocated beforehand.

    Like the cupy timing (launches on resident data), this leaves out rendering the source,
    the build-cache lookup and copying the inputs, which ``run_shim`` does on every call.
    """
    from kernels.build.shim import build_shared_library
    from kernels.run.timing import time_host

    bound = bind_extents(plan, inputs, extents)
    source = render_cuda(plan)
    library = build_shared_library(source)
    tensors = {k: np.ascontiguousarray(v, np.float32).reshape(-1) for k, v in inputs.items()}
    for kernel in plan.kernels:
        for param in kernel.params:
            if param not in tensors:
                size = math.prod(bound[r] for r in plan.cascade.tensor(param).ranks)
                tensors[param] = np.zeros(size, np.float32)
    launches = [
        (kernel.name, *launch_shape(plan, kernel, bound),
         kernel_arguments(plan, source, index, tensors, bound))
        for index, kernel in enumerate(plan.kernels)
    ]  # fmt: skip

    def run() -> None:
        for name, grid, block, arguments in launches:
            library.launch(name, grid, block, arguments)

    return time_host(run, warmup=1, repeats=repeats), _host("CUDA source on the shim")


def time_cupy(
    plan: KernelPlan, inputs: Mapping[str, np.ndarray], extents: Any, repeats: int
) -> tuple[Any, str]:
    from kernels.run.cupy_launch import require_cupy
    from kernels.run.timing import time_cuda

    cupy = require_cupy()
    bound = bind_extents(plan, inputs, extents)
    _, functions = load_on_device(plan, None, "nvrtc")
    tensors: dict[str, Any] = {k: cupy.asarray(_rounded(plan, v)) for k, v in inputs.items()}
    for name in produced_tensors(plan):
        tensors[name] = cupy.empty(tensor_shape(plan, name, bound), dtype=cupy.float32)
    source = render_cuda(plan)
    timing = time_cuda(lambda: launch_all(plan, source, functions, tensors, bound), 5, repeats)
    return timing, str(cupy.cuda.runtime.getDeviceProperties(0)["name"].decode())
