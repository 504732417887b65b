"""The ``einsum-cascade`` command line: the composition root of the toolkit.

Each ``cmd_*.py`` module in this package registers its commands on the shared Typer app.
The root group (:mod:`einsum_cascade.cli.lazy`) lists them from a static table
(:mod:`einsum_cascade.cli.commands`) and imports a module only when one of its commands
runs; command modules import ``mappers`` and ``kernels`` inside the command functions. So
``einsum-cascade --help`` imports no analysis library (sympy, networkx, pandas...) and
works without optional backends.
"""

from __future__ import annotations

import typer.main

from einsum_cascade.cli.app import app
from einsum_cascade.cli.lazy import import_command_modules


def _register_commands() -> None:
    """Register every command on ``app`` now (for tests that invoke ``app`` directly)."""
    import_command_modules()


def main() -> None:
    """Run the command line; each command's module is imported when it is resolved."""
    typer.main.get_group(app)()


__all__ = ["app", "main"]
