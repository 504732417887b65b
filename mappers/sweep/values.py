"""Numbers, ranges and constraints as written in sweep specs and on the command line.

Numbers accept binary suffixes (``1K`` = 1024, ``256K``, ``1M`` = 2**20, ``16MiB``) and
exponents (``940e6``). Ranges are inclusive: ``1K..1M x4`` is geometric (1K, 4K, ... 1M),
``16..64 +16`` arithmetic, ``1..4`` steps by one. Constraints read ``NAME OP NUMBER`` with
OP one of ``<= < >= > ==``.
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

_SUFFIXES = {
    "": 1,
    "K": 2**10,
    "M": 2**20,
    "G": 2**30,
    "T": 2**40,
    "KI": 2**10,
    "MI": 2**20,
    "GI": 2**30,
    "TI": 2**40,
    "KIB": 2**10,
    "MIB": 2**20,
    "GIB": 2**30,
    "TIB": 2**40,
    "B": 1,
}
_NUMBER = re.compile(r"^\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*([A-Za-z]*)\s*$")
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


def parse_number(text: str, span: SourceSpan | None = None) -> int | float:
    """Parse ``text`` as a number with an optional binary suffix.

    Args:
        text: such as ``"64"``, ``"940e6"``, ``"256K"`` or ``"16MiB"``.
        span: where the text came from, for the error.

    Returns:
        An ``int`` when the value is integral and written without a decimal point or
        exponent (or with a suffix), else a ``float``.

    Raises:
        SweepError: SW110 when the text is not a number.

    Example:
        >>> parse_number("256K"), parse_number("940e6"), parse_number("16MiB")
        (262144, 940000000.0, 16777216)
    """
    match = _NUMBER.match(text)
    suffix = match.group(2).upper() if match else ""
    if match is None or suffix not in _SUFFIXES:
        raise SweepError.single(
            "SW110",
            f"'{text}' is not a number",
            span,
            "write a number such as 64, 940e6, 256K (= 262144) or 16MiB",
        )
    digits = match.group(1)
    scale = _SUFFIXES[suffix]
    if re.fullmatch(r"[+-]?\d+", digits):
        return int(digits) * scale
    value = float(digits) * scale
    return int(value) if suffix and value.is_integer() else value


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
    start = parse_number(match.group("start"), span)
    stop = parse_number(match.group("stop"), span)
    step_text = (match.group("step") or "+1").replace(" ", "")
    kind, amount = step_text[0], parse_number(step_text[1:], span)
    if kind in "x*":
        if amount <= 1 or start <= 0:
            raise _range_error(text, span, "a geometric range needs FACTOR > 1 and START > 0")
        count = int(np.floor(np.log(stop / start) / np.log(amount) + 1e-9)) + 1
        _check_count(text, span, count)
        values = [start * amount**i for i in range(max(count, 0))]
    else:
        if amount <= 0:
            raise _range_error(text, span, "an arithmetic range needs STEP > 0")
        count = int(np.floor((stop - start) / amount + 1e-9)) + 1
        _check_count(text, span, count)
        values = [start + amount * i for i in range(max(count, 0))]
    if not values:
        raise _range_error(text, span, "STOP is smaller than START, so the range is empty")
    if len(values) > _MAX_RANGE_POINTS:
        raise _range_error(text, span, f"the range has more than {_MAX_RANGE_POINTS} values")
    return tuple(values)


def _check_count(text: str, span: SourceSpan | None, count: int) -> None:
    """Refuse a range longer than the limit before any of its values is made."""
    if count > _MAX_RANGE_POINTS:
        raise _range_error(text, span, f"the range has more than {_MAX_RANGE_POINTS} values")


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
    bound = parse_number(match.group("num"), span)
    return Constraint(match.group("name"), match.group("op"), float(bound), span)
