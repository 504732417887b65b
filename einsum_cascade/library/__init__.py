"""The built-in cascade library: ``.cascade`` files addressed as ``group/name``.

Groups: ``attention`` (the FuseMax cascades), ``variants`` (other attention algorithms),
``pedagogy`` (the paper's small examples) and ``linear`` (linear layers).

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
from einsum_cascade.frontend import parse_cascade
from einsum_cascade.ir import Cascade

_SUFFIX = ".cascade"

# Former names that mappings still use: the short name -> the library name.
ALIASES = {"gemm": "linear/gemm"}


def _root() -> Path:
    return Path(str(resources.files(__name__)))


def names(groups: tuple[str, ...] = ()) -> tuple[str, ...]:
    """Return every library cascade name (``group/name``), sorted; only ``groups`` if given."""
    root = _root()
    found = (p.relative_to(root).with_suffix("").as_posix() for p in root.rglob(f"*{_SUFFIX}"))
    return tuple(sorted(n for n in found if not groups or n.split("/", 1)[0] in groups))


def path(name: str) -> Path:
    """Return the file of library cascade ``name``.

    Raises:
        LibraryError: when no such cascade exists (with a did-you-mean hint).
    """
    name = ALIASES.get(name, name)
    candidate = _root() / f"{name}{_SUFFIX}"
    if name.startswith("/") or ".." in name or not candidate.is_file():
        available = names()
        hint = suggest(name, available) or f"available: {', '.join(available)}"
        raise LibraryError.single("E501", f"no library cascade named '{name}'", None, hint)
    return candidate


def exists(name: str) -> bool:
    """Tell whether ``name`` is a library cascade (or the former name of one)."""
    return ALIASES.get(name, name) in names()


@functools.cache
def load(name: str) -> Cascade:
    """Parse and check library cascade ``name`` (cached: the IR is immutable)."""
    file = path(name)
    return parse_cascade(file.read_text(encoding="utf-8"), f"{ALIASES.get(name, name)}{_SUFFIX}")


__all__ = ["ALIASES", "exists", "load", "names", "path"]
