"""The error raised for mistakes in sweep specs, sweep options and results files."""

from __future__ import annotations

from einsum_cascade.errors import DiagnosticError


class SweepError(DiagnosticError):
    """A sweep spec, a sweep option or a results file is not usable as given.

    Codes: ``SW1xx`` for the sweep spec text, ``SW2xx`` for outputs and resuming,
    ``SW3xx`` for evaluators and metrics, ``SW4xx`` for plots and Pareto fronts.
    """
