"""Located diagnostics: source spans, diagnostic records, caret rendering, did-you-mean."""

from __future__ import annotations

import difflib
import enum
from collections.abc import Iterable
from dataclasses import dataclass, field

STRING_FILE = "<string>"


class Severity(enum.Enum):
    """How bad a diagnostic is."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class SourceSpan:
    """A 1-based, end-inclusive region of a source text.

    ``source`` holds the whole text so the span can render its own line; it is excluded
    from equality and hashing so two spans compare by position only.
    """

    file: str
    line: int
    col: int
    end_line: int
    end_col: int
    source: str | None = field(default=None, compare=False, hash=False, repr=False)

    @classmethod
    def point(cls, file: str, line: int, col: int, source: str | None = None) -> SourceSpan:
        """Return a one-character span."""
        return cls(file, line, col, line, col, source)

    def location(self) -> str:
        """Return ``file:line:col``."""
        return f"{self.file}:{self.line}:{self.col}"

    def source_line(self) -> str | None:
        """Return the text of the span's first line, if the source is known."""
        if self.source is None:
            return None
        lines = self.source.splitlines()
        if 1 <= self.line <= len(lines):
            return lines[self.line - 1]
        return None


@dataclass(frozen=True, slots=True)
class Note:
    """A secondary message, optionally pointing at another place."""

    message: str
    span: SourceSpan | None = None


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One user-facing problem with its location and optional hint and notes."""

    severity: Severity
    code: str
    message: str
    span: SourceSpan | None
    hint: str | None = None
    notes: tuple[Note, ...] = ()

    def render(self) -> str:
        """Render as compiler-style text with the source line and a caret."""
        where = f"{self.span.location()}: " if self.span is not None else ""
        out = [f"{where}{self.severity.value}[{self.code}]: {self.message}"]
        out.extend(_render_excerpt(self.span))
        for note in self.notes:
            prefix = f"{note.span.location()}: " if note.span is not None else ""
            out.append(f"  note: {prefix}{note.message}")
        if self.hint:
            out.append(f"  hint: {self.hint}")
        return "\n".join(out)


def _render_excerpt(span: SourceSpan | None) -> list[str]:
    if span is None:
        return []
    text = span.source_line()
    if text is None:
        return []
    number = str(span.line)
    gutter = " " * max(4, len(number) + 1)
    last = span.end_col if span.end_line == span.line else len(text)
    width = max(1, last - span.col + 1)
    caret = " " * (span.col - 1) + "^" * width
    return [f"{number.rjust(len(gutter))} | {text}", f"{gutter} | {caret}"]


def render_all(diagnostics: Iterable[Diagnostic]) -> str:
    """Render several diagnostics separated by blank lines."""
    return "\n\n".join(d.render() for d in diagnostics)


def suggest(name: str, candidates: Iterable[str]) -> str | None:
    """Return a did-you-mean hint for ``name`` among ``candidates``, or None."""
    pool = sorted(set(candidates))
    matches = difflib.get_close_matches(name, pool, n=3, cutoff=0.6)
    if not matches:
        lowered = {c.lower(): c for c in pool}
        if name.lower() in lowered:
            matches = [lowered[name.lower()]]
    if not matches:
        return None
    quoted = " or ".join(f"'{m}'" for m in matches)
    return f"did you mean {quoted}?"


def sort_key(diagnostic: Diagnostic) -> tuple[str, int, int, str]:
    """Order diagnostics by file and position."""
    span = diagnostic.span
    if span is None:
        return ("", 0, 0, diagnostic.code)
    return (span.file, span.line, span.col, diagnostic.code)
