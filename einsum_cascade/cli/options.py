"""Option values shared by several commands."""

from __future__ import annotations

import typer


def extent_options(items: list[str]) -> dict[str, int]:
    """Parse repeated ``--extent NAME=VALUE`` options (``VALUE`` may be ``64K`` or ``1M``)."""
    from mappers.workloads import parse_seq

    out: dict[str, int] = {}
    for item in items:
        name, equals, value = item.partition("=")
        if not equals or not name.strip().isidentifier():
            raise typer.BadParameter(f"'{item}' is not NAME=VALUE", param_hint="--extent")
        out[name.strip()] = parse_seq(value)
    return out
