"""Kernels from cascades: plans, CUDA and NumPy-twin renderers, CPU shim, compile checks."""

from kernels.errors import DeviceUnavailableError, KernelError

__all__ = ["DeviceUnavailableError", "KernelError"]
