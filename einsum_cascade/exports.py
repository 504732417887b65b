"""Lazy package exports: a package's public names, each imported from its module on first use.

A package that lists ``{name: module}`` gets a module-level ``__getattr__`` and ``__dir__``
(PEP 562) from :func:`lazy_exports`, so that importing the package imports none of the
modules behind its names until one is used (``einsum-cascade --help`` loads no sympy).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(
    package: str, exports: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Return ``(__getattr__, __dir__)`` for ``package``, whose names live in ``exports``.

    A name is imported from its module once and then kept in the package's namespace.

    Example:
        >>> getattr_, dir_ = lazy_exports("einsum_cascade", {"to_text": "einsum_cascade.printer"})
        >>> getattr_("to_text").__module__
        'einsum_cascade.printer'
    """

    def __getattr__(name: str) -> Any:  # noqa: N807  # PEP 562's name
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:  # noqa: N807  # PEP 562's name
        return sorted({*vars(sys.modules[package]), *exports})

    return __getattr__, __dir__
