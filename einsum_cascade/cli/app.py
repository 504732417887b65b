"""The consoles, output helpers and error boundary every command runs inside (and the app)."""

from __future__ import annotations

import contextlib
import functools
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import typer
import typer.core
from rich.console import Console
from rich.table import Table
from rich.text import Text

from einsum_cascade.cli.lazy import app as app  # created with its lazy root group
from einsum_cascade.errors import CascadeError


def _flag_type_label(
    original: Callable[[typer.core.TyperOption, Any], str | None],
) -> Callable[[typer.core.TyperOption, Any], str | None]:
    """Wrap Typer's type label so that a flag, which takes no value, shows none."""

    @functools.wraps(original)
    def label(option: typer.core.TyperOption, ctx: Any) -> str | None:
        return None if option.is_flag else original(option, ctx)

    return label


# Typer labels every option with its Python type; `--json <bool>` reads as if the flag
# took a value. Done once, here, for every command.
typer.core.TyperOption.display_type_rich = _flag_type_label(  # type: ignore[method-assign,assignment]
    typer.core.TyperOption.display_type_rich
)


def package_version() -> str:
    """Return the installed package's version (``unknown`` when run from a bare checkout)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("einsum-cascade")
    except PackageNotFoundError:
        return "unknown"


def _print_version(value: bool) -> None:
    if value:
        sys.stdout.write(f"einsum-cascade {package_version()}\n")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(
        False,
        "--version",
        callback=_print_version,
        is_eager=True,
        help="Print the version and exit.",
    ),
) -> None:
    """Extended-Einsum cascades: check, count passes, model accelerators, generate kernels."""


def plural(count: int, noun: str, plural_form: str | None = None) -> str:
    """Return ``"1 einsum"`` or ``"3 einsums"``."""
    return f"{count} {noun if count == 1 else plural_form or noun + 's'}"


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


def refuse_output_file(path: Path | None, *, force: bool) -> None:
    """Exit 1 unless ``path`` can be written as one file, before any work is done.

    A folder is never a file name; the file's folder must exist; an existing file needs
    ``--force``.
    """
    if path is None:
        return
    if path.is_dir():
        raise fail(f"{path} is a folder; give a file name, e.g. {path / 'out.yaml'}")
    if not path.parent.is_dir():
        raise fail(f"cannot write {path}: the folder {path.parent} does not exist")
    refuse_overwrite(path, force=force)


def refuse_output_folder(path: Path, *, force: bool) -> None:
    """Exit 1 unless ``path`` can be the folder an output is written into.

    A file (or a link to one) is never replaced, with or without ``--force``; a folder that
    holds anything needs ``--force``.
    """
    if path.exists() and not path.is_dir():
        raise fail(f"{path} is a file; --out names a folder (nothing was written)")
    refuse_overwrite(path, force=force)


@contextlib.contextmanager
def os_errors() -> Iterator[None]:
    """Turn an OS error while writing (read-only, disk full, missing folder) into exit 1.

    The message names the path and the reason; nothing of the traceback is shown.
    """
    try:
        yield
    except OSError as exc:
        where = f" {exc.filename}" if exc.filename else ""
        reason = exc.strerror or str(exc)
        raise fail(f"cannot write{where}: {reason}") from None


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


PLAIN_TABLE_ROWS = 500
"""Past this many rows a table is printed as plain aligned columns: Rich lays a table out in
time that grows with every cell, which made a 10,000-einsum report take longer than the
analysis."""


def print_table(
    console: Console,
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    title: str | None = None,
    right: Sequence[str] = (),
) -> None:
    """Print ``rows`` under ``headers``: a Rich table, or plain columns when very long.

    Cells are plain text, never Rich markup (an index like ``[m, p]`` stays as written).
    """
    if len(rows) <= PLAIN_TABLE_ROWS:
        table = Table(title=Text(title) if title else None, title_justify="left")
        for header in headers:
            table.add_column(header, justify="right" if header in right else "left")
        for row in rows:
            table.add_row(*(Text(cell) for cell in row))
        console.print(table)
        return
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    lines = [title] if title else []
    for row in (headers, ["-" * w for w in widths], *rows):
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    sys.stdout.write("\n".join(lines) + "\n")


def print_json(data: Any) -> None:
    """Write ``data`` as indented JSON to standard output."""
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")
