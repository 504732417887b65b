"""Building rendered source: NVRTC and nvcc compile gates, the CPU shim build, and the content-
addressed cache.
"""

from kernels.build.compile import (
    ARCHS,
    CompiledKernel,
    FunctionResources,
    check_resources,
    compile_source,
)
from kernels.build.shim import build_shared_library, run_sanitized
from kernels.build.source import KernelParam, KernelSignature, KernelSource

__all__ = [
    "ARCHS",
    "CompiledKernel",
    "FunctionResources",
    "KernelParam",
    "KernelSignature",
    "KernelSource",
    "build_shared_library",
    "check_resources",
    "compile_source",
    "run_sanitized",
]
