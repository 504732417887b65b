"""Errors raised for mistakes in architecture specs, mappings and workloads."""

from __future__ import annotations

from einsum_cascade.errors import DiagnosticError


class SpecError(DiagnosticError):
    """An architecture spec is malformed or inconsistent."""


class MappingError(DiagnosticError):
    """A mapping does not fit its cascade, its spec or its buffers."""


class WorkloadError(DiagnosticError):
    """A workload name or sequence length is not known."""
