"""Running plans: on a backend, timed, and validated against the interpreter.

The backends (:data:`BACKENDS`) are the NumPy twin, the CPU shim, CuPy, Triton's
interpreter and Triton on a GPU.
"""

from kernels.run.backends import BACKENDS, Backend, get_backend, time_plan
from kernels.run.execute import run_cupy, run_shim, run_twin
from kernels.run.validate import compare, reference, run_sanitizer

__all__ = [
    "BACKENDS",
    "Backend",
    "compare",
    "get_backend",
    "reference",
    "run_cupy",
    "run_sanitizer",
    "run_shim",
    "run_twin",
    "time_plan",
]
