"""The one cascade resolver: a library name, a former name (``gemm``) or a file path -> IR.

Every entry point (``check``, ``passes``, ``model``, ``search``, ``sweep``, ``kernel``)
finds cascades here, so a name means the same cascade everywhere.
"""

from __future__ import annotations

from pathlib import Path

import einsum_cascade.library as library
from einsum_cascade.errors import DiagnosticError
from einsum_cascade.frontend import parse_cascade
from einsum_cascade.ir import Cascade

YAML_SUFFIXES = (".yaml", ".yml")
MAX_SOURCE_BYTES = 8 * 1024 * 1024
"""The largest cascade file read (8 MiB; a 10,000-line cascade is about 0.3 MiB). Larger
inputs, and endless ones such as ``/dev/zero``, are refused after reading this much."""


def read_source(file: Path) -> str:
    """Read at most MAX_SOURCE_BYTES of UTF-8 text from ``file``.

    Raises:
        DiagnosticError: when the file is missing, unreadable, not UTF-8 or too large.
    """
    try:
        with file.open("rb") as stream:
            data = stream.read(MAX_SOURCE_BYTES + 1)
    except FileNotFoundError:
        raise DiagnosticError.single("E001", f"no such file: {file}") from None
    except OSError as exc:
        raise DiagnosticError.single("E001", f"cannot read {file}: {exc.strerror}") from None
    if len(data) > MAX_SOURCE_BYTES:
        raise DiagnosticError.single(
            "E001", f"cannot read {file}: larger than {MAX_SOURCE_BYTES // 2**20} MiB"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DiagnosticError.single("E001", f"cannot read {file}: {exc}") from None


def load_path(path: str | Path) -> Cascade:
    """Read a ``.cascade`` file, or a TeAAL-style ``.yaml`` file, and check it.

    Raises:
        DiagnosticError: when the file cannot be read.
        DslSyntaxError, DslError: for mistakes in the file.
    """
    file = Path(path)
    text = read_source(file)
    if file.suffix in YAML_SUFFIXES:
        from einsum_cascade.teaal import parse_teaal_yaml

        return parse_teaal_yaml(text, str(file))
    return parse_cascade(text, str(file))


def load_cascade(name_or_path: str | Path) -> Cascade:
    """Load a library cascade by name (``attention/1pass``, ``gemm``) or a file by path.

    A path that exists wins over a library name; a name with a cascade or YAML suffix is a
    path; anything else is a library name, and the error for an unknown name suggests
    close library names.

    Example:
        >>> load_cascade("gemm").name
        'gemm'
    """
    file = Path(name_or_path)
    if (
        isinstance(name_or_path, Path)
        or file.exists()
        or file.suffix in (".cascade", *YAML_SUFFIXES)
    ):
        return load_path(file)
    return library.load(str(name_or_path))


__all__ = ["MAX_SOURCE_BYTES", "YAML_SUFFIXES", "load_cascade", "load_path", "read_source"]
