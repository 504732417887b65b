"""Kernel co-design: cascades lowered to plans, rendered, built, run, modelled and measured.

``plan`` lowers a cascade and a tiling to a kernel plan; ``render`` writes it as CUDA, a
NumPy twin or Triton; ``build`` compiles it (NVRTC, nvcc, Triton, the CPU shim); ``run``
runs and times it on a backend; ``model`` predicts its time; ``measure`` compares the two.

Typical use::

    from einsum_cascade import library
    from kernels import Tiling, plan_kernels, render_cuda, render_triton, run_twin

    plan = plan_kernels(library.load("attention/1pass"), Tiling(tile=32))
    source = render_cuda(plan)            # CUDA C++ with extern "C" kernels
    module = render_triton(plan)          # Triton tensor-core kernels (a .py module)
    outputs = run_twin(plan, {"Q": q, "K": k, "V": v})

CuPy is imported only inside ``kernels.run.cupy_launch`` and ``kernels.run.timing`` functions.
"""

from kernels.build import (
    CompiledKernel,
    FunctionResources,
    KernelSource,
    check_resources,
    compile_source,
)
from kernels.errors import DeviceUnavailableError, KernelError
from kernels.plan import KernelPlan, Tiling, plan_kernels
from kernels.render.cuda import render_cuda
from kernels.render.triton import render_triton
from kernels.render.twin import render_twin
from kernels.run import run_cupy, run_shim, run_twin, time_plan

__all__ = [
    "CompiledKernel",
    "DeviceUnavailableError",
    "FunctionResources",
    "KernelError",
    "KernelPlan",
    "KernelSource",
    "Tiling",
    "check_resources",
    "compile_source",
    "plan_kernels",
    "render_cuda",
    "render_triton",
    "render_twin",
    "run_cupy",
    "run_shim",
    "run_twin",
    "time_plan",
]
