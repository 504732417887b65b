"""Option values shared by several commands, read with the one quantity grammar.

Extents (``--extent M=1K``, ``--shape E=64,M=1K``, ``--tile M0=32``) are counts of
:mod:`mappers.units`: ``1K`` = 1024, ``1M`` = 2**20; a bad value is a usage error that names
the option and the value, never a traceback.
"""

from __future__ import annotations

import typer

from mappers.units import COUNT, Kind, QuantityError, parse_quantity

MAX_REPEATS = 10**6
"""The most timed runs ``--repeats`` asks for: a bound, so that a typo cannot run forever."""


def quantity_option(text: str, flag: str, kind: Kind = COUNT) -> int | float:
    """Read one option value as a quantity of :mod:`mappers.units` (a count by default).

    Raises:
        typer.BadParameter: naming ``flag`` and the value that is wrong.
    """
    try:
        return parse_quantity(text.strip(), kind)
    except QuantityError as exc:
        hint = f" ({exc.hint})" if exc.hint else ""
        raise typer.BadParameter(f"value {exc.message}{hint}", param_hint=flag) from None


def _assignment(item: str, flag: str) -> tuple[str, str]:
    name, equals, value = item.partition("=")
    if not equals or not name.strip().isidentifier():
        raise typer.BadParameter(f"'{item}' is not NAME=VALUE", param_hint=flag)
    return name.strip(), value


def extent_options(items: list[str], flag: str = "--extent") -> dict[str, int]:
    """Parse repeated ``--extent NAME=VALUE`` options (``VALUE`` may be ``64K`` or ``1M``)."""
    out: dict[str, int] = {}
    for item in items:
        name, value = _assignment(item, flag)
        out[name] = int(quantity_option(value, f"{flag} {name}"))
    return out


def extents_option(text: str | None, flag: str = "--shape", kind: Kind = COUNT) -> dict[str, int]:
    """Parse one comma-separated option such as ``E=64,M=1K`` into extents by name."""
    if not text:
        return {}
    return {
        name: int(quantity_option(value, f"{flag} {name}", kind))
        for name, value in (_assignment(item, flag) for item in text.split(","))
    }
