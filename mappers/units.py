"""Parse quantities written in specs: sizes such as ``16MiB`` and numbers such as ``940e6``."""

from __future__ import annotations

import re

_SIZE = re.compile(r"^\s*(-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)\s*([KMGT]i?B|B)?\s*$")
_FACTORS = {
    None: 1,
    "B": 1,
    "KiB": 2**10,
    "MiB": 2**20,
    "GiB": 2**30,
    "TiB": 2**40,
    "KB": 10**3,
    "MB": 10**6,
    "GB": 10**9,
    "TB": 10**12,
}


def parse_size_bytes(value: object) -> float | None:
    """Return a byte count from ``16MiB``, ``4KiB``, ``512`` or ``400GiB``; None if invalid.

    Example:
        >>> parse_size_bytes("16MiB")
        16777216.0
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if not isinstance(value, str):
        return None
    match = _SIZE.match(value)
    if match is None:
        return None
    return float(match.group(1)) * _FACTORS[match.group(2)]


def parse_number(value: object) -> float | None:
    """Return a float from a YAML scalar (``940e6`` arrives as a string); None if invalid.

    Example:
        >>> parse_number("940e6")
        940000000.0
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None
