"""Kernel time models: predict a plan's run time on a GPU spec or a measured CPU.

On a GPU: the SIMT and the Triton kernels; on a CPU: the shim build and the NumPy twin.
"""

from kernels.model.predict import estimate_kernel_time

__all__ = ["estimate_kernel_time"]
