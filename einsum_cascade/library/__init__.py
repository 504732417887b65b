"""The built-in cascade library: ``.cascade`` files addressed as ``group/name``.

Example:
    >>> from einsum_cascade import library
    >>> library.load("attention/1pass").name
    'attention_1pass'
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path

from einsum_cascade.diagnostics import suggest
from einsum_cascade.errors import LibraryError
from einsum_cascade.ir import Cascade

_SUFFIX = ".cascade"


def _root() -> Path:
    return Path(str(resources.files(__name__)))


def names() -> tuple[str, ...]:
    """Return every library cascade name (``group/name``), sorted."""
    root = _root()
    found = (p.relative_to(root).with_suffix("").as_posix() for p in root.rglob(f"*{_SUFFIX}"))
    return tuple(sorted(found))


def path(name: str) -> Path:
    """Return the file of library cascade ``name``.

    Raises:
        LibraryError: when no such cascade exists (with a did-you-mean hint).
    """
    candidate = _root() / f"{name}{_SUFFIX}"
    if name.startswith("/") or ".." in name or not candidate.is_file():
        available = names()
        hint = suggest(name, available) or f"available: {', '.join(available)}"
        raise LibraryError.single("E501", f"no library cascade named '{name}'", None, hint)
    return candidate


def exists(name: str) -> bool:
    """Tell whether ``name`` is a library cascade."""
    return name in names()


@functools.cache
def load(name: str) -> Cascade:
    """Parse and check library cascade ``name`` (cached: the IR is immutable)."""
    file = path(name)
    return Cascade.from_text(file.read_text(encoding="utf-8"), f"{name}{_SUFFIX}")


__all__ = ["exists", "load", "names", "path"]
