"""Kernel time models: predict a plan's run time on a GPU, the CPU shim, or a NumPy twin on a
measured CPU.
"""

from kernels.model.predict import estimate_kernel_time

__all__ = ["estimate_kernel_time"]
