"""Building rendered source: NVRTC and nvcc compile gates, the CPU shim build, and the content-
addressed cache.
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
