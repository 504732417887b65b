"""Load a cascade from a path or a library name, with located errors for bad files."""

from __future__ import annotations

from pathlib import Path

from einsum_cascade import library
from einsum_cascade.errors import DiagnosticError
from einsum_cascade.ir import Cascade

YAML_SUFFIXES = (".yaml", ".yml")


def load_path(path: str | Path) -> Cascade:
    """Read a ``.cascade`` file, or a TeAAL-style ``.yaml`` file, and check it.

    Raises:
        DiagnosticError: when the file cannot be read.
        DslSyntaxError, DslError: for mistakes in the file.
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DiagnosticError.single("E001", f"no such file: {file}") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise DiagnosticError.single("E001", f"cannot read {file}: {reason}") from None
    if file.suffix in YAML_SUFFIXES:
        return Cascade.from_yaml(text, str(file))
    return Cascade.from_text(text, str(file))


def load_cascade(name_or_path: str) -> Cascade:
    """Load a library cascade by name (``attention/1pass``) or a file by path.

    A path that exists wins over a library name; otherwise library names are tried, and
    the error for an unknown name suggests close library names.
    """
    file = Path(name_or_path)
    if file.exists() or file.suffix in (".cascade", *YAML_SUFFIXES):
        return load_path(file)
    return library.load(name_or_path)
