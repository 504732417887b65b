"""Building rendered source: CUDA and Triton compile gates, the CPU shim, and the build cache.

CUDA is compiled by a registered compiler (:data:`COMPILERS`: NVRTC or nvcc) for a target
such as ``sm_90``; builds are kept in a content-addressed cache.
"""

from kernels.build.compile import (
    COMPILERS,
    TARGETS,
    CompiledKernel,
    Compiler,
    FunctionResources,
    check_resources,
    compile_source,
    get_compiler,
)
from kernels.build.shim import build_shared_library, run_sanitized
from kernels.build.source import KernelParam, KernelSignature, KernelSource

__all__ = [
    "COMPILERS",
    "TARGETS",
    "CompiledKernel",
    "Compiler",
    "FunctionResources",
    "KernelParam",
    "KernelSignature",
    "KernelSource",
    "build_shared_library",
    "check_resources",
    "compile_source",
    "get_compiler",
    "run_sanitized",
]
