"""Numbers, ranges and constraints as written in sweep specs and on the command line.

Numbers are read with the one quantity grammar of :mod:`mappers.units` (``1K`` = 1024,
``1M`` = 2**20, ``16MiB``, ``16MB`` = 16e6, ``940MHz``, ``940e6``). Ranges are inclusive:
``1K..1M x4`` is geometric (1K, 4K, ... 1M), ``16..64 +16`` arithmetic, ``1..4`` steps by
one. Constraints read ``NAME OP NUMBER`` with OP one of ``<= < >= > ==``.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from einsum_cascade.diagnostics import SourceSpan
from mappers.sweep.errors import SweepError
from mappers.units import NUMBER, Kind, QuantityError, parse_quantity

_RANGE = re.compile(
    r"^\s*(?P<start>[^.\s][^\s]*?)\s*\.\.\s*(?P<stop>[^\s]+)\s*(?P<step>[x+*]\s*\S+)?\s*$"
)
_CONSTRAINT = re.compile(
    r"^\s*(?P<name>[A-Za-z_][\w.\[\]]*)\s*(?P<op><=|>=|==|<|>)\s*(?P<num>\S+)\s*$"
)
_MAX_RANGE_POINTS = 1_000_000

COMPARISONS: dict[str, Callable[[Any, Any], Any]] = {
    "<=": operator.le,
    "<": operator.lt,
    ">=": operator.ge,
    ">": operator.gt,
    "==": operator.eq,
}


def sweep_number(text: str, span: SourceSpan | None = None, kind: Kind = NUMBER) -> int | float:
    """Read ``text`` with the one quantity grammar (:mod:`mappers.units`) as a ``kind``.

    Raises:
        SweepError: SW110 when the text is not a number, SW115 when it is out of the
            kind's range (a negative batch, a clock of 0...).

    Example:
        >>> sweep_number("256K"), sweep_number("940e6"), sweep_number("16MiB")
        (262144, 940000000.0, 16777216)
    """
    try:
        return parse_quantity(text, kind)
    except QuantityError as exc:
        code = "SW115" if exc.out_of_range else "SW110"
        raise SweepError.single(code, f"value {exc.message}", span, exc.hint) from None


def check_values(values: np.ndarray, kind: Kind, what: str, span: SourceSpan | None = None) -> None:
    """Check numbers already expanded (a range) against ``kind``, all at once.

    Raises:
        SweepError: SW115 at ``span`` for the first value out of range.
    """
    bad = ~np.isfinite(values) | (values > kind.high) | (values < kind.low)
    if not kind.low_inclusive:
        bad |= values == kind.low
    if kind.integer:
        bad |= np.mod(values, 1) != 0
    if bad.any():
        first = values[np.flatnonzero(bad)[0]]
        raise SweepError.single(
            "SW115", f"{what} has the value {first:g}, out of range", span, kind.describe()
        )


def is_range(text: str) -> bool:
    """Return whether ``text`` is written as a range (contains ``..``)."""
    return ".." in text


def parse_range(text: str, span: SourceSpan | None = None) -> tuple[int | float, ...]:
    """Expand an inclusive range such as ``1K..1M x4`` or ``16..64 +16``.

    Raises:
        SweepError: SW111 when the range is malformed, empty or too long.

    Example:
        >>> parse_range("1K..16K x4")
        (1024, 4096, 16384)
        >>> parse_range("16..64 +16")
        (16, 32, 48, 64)
    """
    match = _RANGE.match(text)
    if match is None:
        raise _range_error(text, span, "expected START..STOP, START..STOP xFACTOR or +STEP")
    start = sweep_number(match.group("start"), span)
    stop = sweep_number(match.group("stop"), span)
    step_text = (match.group("step") or "+1").replace(" ", "")
    kind, amount = step_text[0], sweep_number(step_text[1:], span)
    if kind in "x*":
        if amount <= 1 or start <= 0:
            raise _range_error(text, span, "a geometric range needs FACTOR > 1 and START > 0")
        count = int(np.floor(np.log(stop / start) / np.log(amount) + 1e-9)) + 1 if stop > 0 else 0
    else:
        if amount <= 0:
            raise _range_error(text, span, "an arithmetic range needs STEP > 0")
        count = int(np.floor((stop - start) / amount + 1e-9)) + 1
    if count > _MAX_RANGE_POINTS:
        raise _range_error(text, span, f"the range has more than {_MAX_RANGE_POINTS} values")
    if count <= 0:
        raise _range_error(text, span, "STOP is smaller than START, so the range is empty")
    if kind in "x*":
        values = [start * amount**i for i in range(count)]
    else:
        values = [start + amount * i for i in range(count)]
    return tuple(values)


def _range_error(text: str, span: SourceSpan | None, why: str) -> SweepError:
    return SweepError.single("SW111", f"'{text}' is not a valid range: {why}", span)


@dataclass(frozen=True, slots=True)
class Constraint:
    """A bound on one column of the points or results table, such as ``area_um2 <= 5e9``."""

    column: str
    op: str
    bound: float
    span: SourceSpan | None = None

    def mask(self, values: np.ndarray) -> np.ndarray:
        """Return a boolean array: which ``values`` satisfy the constraint."""
        return np.asarray(COMPARISONS[self.op](values, self.bound), dtype=bool)

    def __str__(self) -> str:
        """Return the constraint as written."""
        return f"{self.column} {self.op} {self.bound:g}"


def parse_constraint(text: str, span: SourceSpan | None = None) -> Constraint:
    """Parse ``NAME OP NUMBER``, for example ``area_um2 <= 5e9``.

    Raises:
        SweepError: SW112 when the text is not a constraint.

    Example:
        >>> str(parse_constraint("area_um2<=5e9"))
        'area_um2 <= 5e+09'
    """
    match = _CONSTRAINT.match(text)
    if match is None:
        raise SweepError.single(
            "SW112",
            f"'{text}' is not a constraint",
            span,
            "write NAME OP NUMBER with OP one of <=, <, >=, >, ==, e.g. 'area_um2 <= 5e9'",
        )
    bound = sweep_number(match.group("num"), span)
    return Constraint(match.group("name"), match.group("op"), float(bound), span)
