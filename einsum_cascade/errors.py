"""The error hierarchy: every user mistake is a CascadeError carrying diagnostics."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Self

from einsum_cascade.diagnostics import Diagnostic, Severity, SourceSpan, render_all, sort_key


class CascadeError(Exception):
    """Root of every error the toolkit raises for a user mistake."""


class DiagnosticError(CascadeError):
    """An error carrying one or more located diagnostics, rendered by ``str``."""

    def __init__(self, diagnostics: Iterable[Diagnostic]) -> None:
        """Keep the diagnostics sorted by position."""
        self.diagnostics: tuple[Diagnostic, ...] = tuple(sorted(diagnostics, key=sort_key))
        super().__init__(render_all(self.diagnostics))

    def __reduce__(self) -> tuple[type[Self], tuple[tuple[Diagnostic, ...]]]:
        """Pickle by diagnostics (not the rendered text), so errors cross process pools."""
        return (type(self), (self.diagnostics,))

    @classmethod
    def single(
        cls,
        code: str,
        message: str,
        span: SourceSpan | None = None,
        hint: str | None = None,
    ) -> Self:
        """Build an error of this class holding one error-severity diagnostic."""
        return cls([Diagnostic(Severity.ERROR, code, message, span, hint)])

    @property
    def codes(self) -> tuple[str, ...]:
        """Return the codes of the diagnostics, in order."""
        return tuple(d.code for d in self.diagnostics)


class DslSyntaxError(DiagnosticError):
    """The cascade text does not follow the grammar."""


class DslError(DiagnosticError):
    """The cascade text parses but is not a valid cascade."""


class ShapeError(DiagnosticError):
    """Extents or array shapes given to an analysis or the interpreter do not fit."""


class FunctionRegistryError(CascadeError):
    """A function registration is invalid (bad name, arity or duplicate)."""


class LibraryError(DiagnosticError):
    """A library cascade name does not exist."""
