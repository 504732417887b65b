"""The ``einsum-cascade`` command line: the composition root of the toolkit.

Each ``cmd_*.py`` module in this package registers its commands on the shared Typer app.
Command modules import ``mappers`` and ``kernels`` lazily, inside the command functions, so
``einsum-cascade --help`` stays fast and works without optional backends.
"""

from __future__ import annotations

import importlib
import pkgutil

from einsum_cascade.cli.app import app


def _register_commands() -> None:
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if module.name.startswith("cmd_"):
            importlib.import_module(f"{__name__}.{module.name}")


def main() -> None:
    """Run the command line."""
    _register_commands()
    app()


__all__ = ["app", "main"]
