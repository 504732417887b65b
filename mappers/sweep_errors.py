"""The error raised for mistakes in sweep specs, sweep options and results files."""

from __future__ import annotations

from typing import Self

from einsum_cascade.diagnostics import Diagnostic, Severity, SourceSpan
from einsum_cascade.errors import DiagnosticError


class SweepError(DiagnosticError):
    """A sweep spec, a sweep option or a results file is not usable as given.

    Codes: ``SW1xx`` for the sweep spec text, ``SW2xx`` for outputs and resuming,
    ``SW3xx`` for evaluators and metrics, ``SW4xx`` for plots and Pareto fronts.
    """

    @classmethod
    def single(
        cls,
        code: str,
        message: str,
        span: SourceSpan | None = None,
        hint: str | None = None,
    ) -> Self:
        """Build a SweepError holding one error-severity diagnostic."""
        return cls([Diagnostic(Severity.ERROR, code, message, span, hint)])
