"""The root Typer app, whose group imports a command's module only when that command runs.

The root group lists the commands of :mod:`einsum_cascade.cli.commands` with their
one-line help and resolves a name by importing its ``cmd_*`` module, which registers the
command on the shared app. ``--help`` therefore imports no command module, and a command
imports only its own module (and what that module imports).
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

import typer.core
import typer.main

from einsum_cascade.cli.commands import COMMANDS, entry

PACKAGE = "einsum_cascade.cli"


def import_command_modules() -> None:
    """Import every ``cmd_*`` module of the CLI package, registering all commands."""
    package = importlib.import_module(PACKAGE)
    for module in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if module.name.startswith("cmd_"):
            importlib.import_module(f"{PACKAGE}.{module.name}")


class LazyGroup(typer.core.TyperGroup):
    """The root group: commands come from the table and are built on first use.

    Contexts, formatters and commands are typed ``Any``: Typer vendors its own click.
    """

    _listing = False

    def list_commands(self, ctx: Any) -> list[str]:
        names = [e.name for e in COMMANDS]
        return names + [n for n in self.commands if n not in names]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        known = entry(cmd_name)
        if self._listing and known is not None:
            return typer.core.TyperCommand(known.name, help=known.help, short_help=known.help)
        if known is not None:
            importlib.import_module(f"{PACKAGE}.{known.module}")
        command = self._built(cmd_name)
        if command is None:  # a command the table does not list yet: load every module
            import_command_modules()
            command = self._built(cmd_name)
        if command is not None:
            self.commands[cmd_name] = command
        return command

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False

    @staticmethod
    def _built(name: str) -> Any:
        group = typer.main.get_group(app)
        return group.commands.get(name)


app = typer.Typer(
    name="einsum-cascade",
    cls=LazyGroup,
    help="Extended-Einsum cascades: check, count passes, model accelerators, generate kernels.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
