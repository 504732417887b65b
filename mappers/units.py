"""The one quantity grammar and its physical ranges, used by every entry point.

Specs, mappings, workloads, sweep axes, CLI options and the calibration benchmark all read
numbers here, so a text means the same value wherever it is written:

* ``NUMBER`` is a decimal with an optional exponent: ``64``, ``0.5``, ``940e6``. ``nan``,
  ``inf`` and values that overflow (``1e999``) are not numbers.
* a bare suffix multiplies by a power of two: ``K``/``k``/``Ki`` = 2**10, ``M``/``Mi`` =
  2**20, ``G``/``Gi`` = 2**30, ``T``/``Ti`` = 2**40 (``1K`` = 1024, ``16M`` = 16,777,216),
  as sequence lengths and sweep axes always counted;
* bytes: ``B``; ``KiB MiB GiB TiB`` binary (``16MiB`` = 16,777,216); ``KB MB GB TB``
  decimal (``16MB`` = 16,000,000);
* bandwidths: a byte unit then ``/s`` (``400GiB/s``, ``900GB/s``, ``64B/s``);
* frequencies: ``Hz kHz MHz GHz THz``, decimal (``940MHz`` = 940e6).

Each field has a :class:`Kind` that says which units it takes and its physical range: a
count takes no unit (``16MB`` is not a sequence length), a size takes bytes or a bare
suffix, a bandwidth takes bytes, bytes per second or a bare suffix, a frequency takes hertz
or a plain number (``940M`` is refused there: write ``940MHz`` or ``940e6``). Every value
is finite; counts and shapes are whole numbers.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

_NUMBER = re.compile(
    r"^\s*(?P<digits>[+-]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9][0-9_]*)(?:[eE][+-]?[0-9]+)?)"
    r"\s*(?P<unit>[A-Za-z]*(?:/s)?)\s*$"
)
_BARE = {"": 1, "K": 2**10, "k": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}
_BARE.update({"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40})
_BYTES = {"B": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}
_BYTES.update({"KB": 10**3, "kB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12})
_HERTZ = {"Hz": 1, "kHz": 10**3, "KHz": 10**3, "MHz": 10**6, "GHz": 10**9, "THz": 10**12}

NONE, BYTES, BYTES_PER_S, HERTZ = "", "B", "B/s", "Hz"
_UNITS: dict[str, tuple[int, str]] = {
    **{unit: (scale, NONE) for unit, scale in _BARE.items()},
    **{unit: (scale, BYTES) for unit, scale in _BYTES.items()},
    **{f"{unit}/s": (scale, BYTES_PER_S) for unit, scale in _BYTES.items()},
    **{unit: (scale, HERTZ) for unit, scale in _HERTZ.items()},
}
FORMS = "a number such as 64, 940e6, 1K (= 1024), 16MiB, 16MB, 400GiB/s or 940MHz"


class QuantityError(ValueError):
    """A text that is not a quantity of the kind asked for; callers locate it.

    ``message`` reads after the field's name: ``clock_hz`` + `` must be greater than 0,
    found '-1'``.
    """

    def __init__(self, message: str, hint: str | None = None, *, in_range: bool = False) -> None:
        """Keep the message, an optional hint, and whether the text was a number at all."""
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.out_of_range = in_range


@dataclass(frozen=True, slots=True)
class Quantity:
    """A parsed quantity: its value and the dimension its unit gave (``""`` for none)."""

    value: int | float
    dimension: str


@dataclass(frozen=True, slots=True)
class Kind:
    """What a field holds: the dimensions it accepts and its physical range."""

    name: str
    dimensions: tuple[str, ...]
    low: float
    high: float
    low_inclusive: bool = True
    integer: bool = False
    bare_suffix: bool = True  # whether 1K, 16M (powers of two) are accepted

    def describe(self) -> str:
        """Return the range as text: ``a whole number from 1 to 2147483648``."""
        what = "a whole number" if self.integer else "a number"
        if self.low_inclusive:
            return f"{what} from {_shown(self.low)} to {_shown(self.high)}"
        return f"{what} above {_shown(self.low)} and at most {_shown(self.high)}"


def _shown(bound: float) -> str:
    """Return a bound as text: ``2^40`` for a large power of two, else the number."""
    exponent = math.log2(bound) if bound > 0 else 0.0
    if bound >= 2**16 and exponent.is_integer():
        return f"2^{int(exponent)}"
    return str(int(bound)) if float(bound).is_integer() and abs(bound) < 2**53 else f"{bound:g}"


COUNT = Kind("count", (NONE,), 1, 2**40, integer=True)
SHAPE = Kind("dimension", (NONE,), 1, 2**31 - 1, integer=True)  # a C int: tiles, PE counts
WHOLE = Kind("whole number", (NONE,), 0, 2**31 - 1, integer=True)
SIZE = Kind("size in bytes", (NONE, BYTES), 0, 2**60, low_inclusive=False)
BANDWIDTH = Kind("bandwidth", (NONE, BYTES, BYTES_PER_S), 1, 1e18)  # 1 B/s: no overflow
FREQUENCY = Kind("frequency", (NONE, HERTZ), 1, 1e13, bare_suffix=False)
ENERGY = Kind("energy in pJ", (NONE,), 0, 1e15)
AREA = Kind("area in um2", (NONE,), 0, 1e15)
CYCLES = Kind("cycle count", (NONE,), 0, 1e9)
POSITIVE = Kind("positive number", (NONE,), 1e-30, 1e30)  # ratios stay below 1e60
NONNEGATIVE = Kind("non-negative number", (NONE,), 0, 1e30)
FRACTION = Kind("fraction", (NONE,), 0, 1, bare_suffix=False)
NUMBER = Kind("number", (NONE, BYTES, BYTES_PER_S, HERTZ), -1e300, 1e300)


def read_quantity(text: object) -> Quantity:
    """Read ``text`` with the grammar of the module docstring (no range check).

    Raises:
        QuantityError: the text is not a finite number with a known unit.

    Example:
        >>> read_quantity("16MiB"), read_quantity("940MHz").value
        (Quantity(value=16777216, dimension='B'), 940000000)
    """
    if isinstance(text, bool) or not isinstance(text, str | int | float):
        raise QuantityError(f"must be a number, found '{text}'", f"write {FORMS}")
    if isinstance(text, int):
        return Quantity(text, NONE)
    if isinstance(text, float):
        return Quantity(_finite(text, str(text)), NONE)
    match = _NUMBER.match(text)
    unit = match.group("unit") if match else ""
    if match is None or unit not in _UNITS:
        hint = f"write {FORMS}"
        if match is not None and unit.upper() in {u.upper() for u in _UNITS}:
            hint = "units are case-sensitive: " + hint
        raise QuantityError(f"must be a number, found '{text}'", hint)
    scale, dimension = _UNITS[unit]
    digits = match.group("digits").replace("_", "")
    if re.fullmatch(r"[+-]?[0-9]+", digits):
        return Quantity(int(digits) * scale, dimension)
    value = _finite(float(digits) * scale, text)
    exact = unit and value.is_integer() and abs(value) < 2**63
    return Quantity(int(value) if exact else value, dimension)


def _finite(value: float, text: str) -> float:
    if not math.isfinite(value):
        raise QuantityError(f"must be a finite number, found '{text}'", f"write {FORMS}")
    return value


def parse_quantity(text: object, kind: Kind = NUMBER) -> int | float:
    """Read ``text`` as a ``kind`` and check its unit and range.

    Returns:
        An ``int`` for whole-number kinds and integral texts, else a ``float``.

    Raises:
        QuantityError: not a number, a unit of another dimension, a bare suffix where it
            is ambiguous, a fraction where a whole number is needed, or out of range.

    Example:
        >>> parse_quantity("1K", COUNT), parse_quantity("16MB", SIZE)
        (1024, 16000000)
        >>> parse_quantity("940MHz", FREQUENCY)
        940000000
    """
    quantity = read_quantity(text)
    unit = _unit_of(text)
    if quantity.dimension not in kind.dimensions:
        units = {BYTES: "bytes", BYTES_PER_S: "bytes per second", HERTZ: "hertz", NONE: "none"}
        allowed = ", ".join(units[d] for d in kind.dimensions)
        raise QuantityError(
            f"must be a {kind.name}, found '{text}' (in {units[quantity.dimension]})",
            f"a {kind.name} takes units: {allowed}",
        )
    if unit in _BARE and unit and not kind.bare_suffix:
        raise QuantityError(
            f"must not use the binary suffix '{unit}' (a {kind.name}), found '{text}'",
            "write the unit out (940MHz) or the exponent (940e6)",
        )
    return check_value(quantity.value, kind, str(text))


def check_value(value: int | float, kind: Kind, text: str | None = None) -> int | float:
    """Check a number already read (a YAML int, a CLI int) against ``kind``'s range.

    Raises:
        QuantityError: not finite, not whole where it must be, or out of range.
    """
    shown = text if text is not None else f"{value:g}"
    if isinstance(value, float) and not math.isfinite(value):
        raise QuantityError(f"must be a finite number, found '{shown}'", f"write {FORMS}")
    if kind.integer:
        if isinstance(value, float) and not value.is_integer():
            raise QuantityError(
                f"must be a whole number, found {shown}", kind.describe(), in_range=True
            )
        value = int(value)
    if value < kind.low or (not kind.low_inclusive and value == kind.low):
        relation = "at least" if kind.low_inclusive else "greater than"
        raise QuantityError(
            f"must be {relation} {_shown(kind.low)}, found {shown}",
            kind.describe(),
            in_range=True,
        )
    if value > kind.high:
        raise QuantityError(
            f"must be at most {_shown(kind.high)}, found {shown}",
            kind.describe(),
            in_range=True,
        )
    return value


def _unit_of(text: object) -> str:
    if not isinstance(text, str):
        return ""
    match = _NUMBER.match(text)
    return match.group("unit") if match else ""


_FIELD_KINDS: tuple[tuple[str, Kind], ...] = (
    ("clock_hz", FREQUENCY),
    ("bandwidth_bytes_per_s", BANDWIDTH),
    ("size_bytes", SIZE),
    ("budget_bytes", SIZE),
    ("shape", SHAPE),
    ("register_words_per_pe", WHOLE),
    ("access_bits", SHAPE),
    ("word_bytes", SHAPE),
    ("energy_pj", ENERGY),
    ("energy_pj_per_word", ENERGY),
    ("bandwidth_words_per_cycle", POSITIVE),
    ("area_um2", AREA),
    ("area_um2_per_pe", AREA),
    ("cycles", CYCLES),
    ("seq", COUNT),
)


def field_kind(name: str) -> Kind:
    """Return the kind of a field named as in a spec or a sweep axis (``L3.size_bytes``).

    Upper-case names (``B``, ``M0``) are extents (counts); an unknown name is a plain number.

    Example:
        >>> field_kind("pe2d.shape").name, field_kind("clock_hz").name, field_kind("B").name
        ('dimension', 'frequency', 'count')
    """
    last = name.rsplit(".", 1)[-1]
    for suffix, kind in _FIELD_KINDS:
        if last == suffix or last.endswith(f"_{suffix}"):
            return kind
    if last[:1].isupper():
        return COUNT
    return NUMBER


def format_count(value: int) -> str:
    """Return the short binary form (``1K``, ``1M``) of a count, or the plain number.

    Example:
        >>> format_count(1024), format_count(3 * 2**20), format_count(1000)
        ('1K', '3M', '1000')
    """
    for suffix, factor in (("M", 2**20), ("K", 2**10)):
        if value and value % factor == 0:
            return f"{value // factor}{suffix}"
    return str(value)
