"""The shared Typer app, consoles and the error boundary every command runs inside."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import typer
from rich.console import Console

from einsum_cascade.cli.lazy import LazyGroup
from einsum_cascade.errors import CascadeError

app = typer.Typer(
    name="einsum-cascade",
    cls=LazyGroup,
    help="Extended-Einsum cascades: check, count passes, model accelerators, generate kernels.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

EXIT_OK = 0
EXIT_USER_ERROR = 1
EXIT_USAGE = 2

P = ParamSpec("P")
R = TypeVar("R")


def stdout_console() -> Console:
    """Return a console on standard output; wide and plain when not a terminal."""
    width = None if sys.stdout.isatty() else 160
    return Console(soft_wrap=True, highlight=False, width=width)


def stderr_console() -> Console:
    """Return a console on standard error."""
    return Console(stderr=True, soft_wrap=True, highlight=False)


def fail(message: str, code: int = EXIT_USER_ERROR) -> typer.Exit:
    """Print ``message`` as an error on stderr and return the Exit to raise."""
    stderr_console().print(f"error: {message}", markup=False)
    return typer.Exit(code)


def refuse_overwrite(*paths: Path | None, force: bool) -> None:
    """Exit 1 when an output path already exists and ``--force`` was not given.

    A directory counts as existing when it holds anything, so that nothing the user had
    is lost or overwritten silently.
    """
    if force:
        return
    for path in paths:
        if path is None or not path.exists():
            continue
        if path.is_dir() and not any(path.iterdir()):
            continue
        what = "is not empty" if path.is_dir() else "exists"
        raise fail(f"{path} {what}; pass --force to overwrite")


def user_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Render CascadeErrors as diagnostics on stderr and exit 1, without a traceback.

    Any other exception is a bug in the toolkit and keeps its traceback.
    """

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except CascadeError as exc:
            sys.stderr.write(str(exc).rstrip("\n") + "\n")
            raise typer.Exit(EXIT_USER_ERROR) from None

    return wrapper


def print_json(data: Any) -> None:
    """Write ``data`` as indented JSON to standard output."""
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")
