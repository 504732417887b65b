"""Errors of the kernels package: a plan, build or launch that cannot be done."""

from __future__ import annotations

from einsum_cascade.errors import DiagnosticError


class KernelError(DiagnosticError):
    """A cascade or tiling cannot be lowered, compiled or run as a kernel."""


class DeviceUnavailableError(DiagnosticError):
    """A GPU backend was asked for but CuPy or a CUDA device is missing."""
