"""Canonical sympy symbols for extents (upper case) and index variables (lower case).

sympy is imported when a symbol is first made: the checker uses the name functions only.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sympy


@functools.cache
def extent_symbol(rank: str) -> sympy.Symbol:
    """Return the positive-integer symbol standing for the extent of ``rank``."""
    import sympy

    return sympy.Symbol(rank, integer=True, positive=True)


@functools.cache
def index_symbol(variable: str) -> sympy.Symbol:
    """Return the non-negative-integer symbol of an index variable such as ``m1``."""
    import sympy

    return sympy.Symbol(variable, integer=True, nonnegative=True)


def rank_of_variable(variable: str) -> str:
    """Return the rank an index variable ranges over (``m1`` ranges over ``M1``)."""
    return variable.upper()


def variable_of_rank(rank: str) -> str:
    """Return the index variable of a rank (``M1`` -> ``m1``)."""
    return rank.lower()


def is_index_symbol(symbol: sympy.Basic) -> bool:
    """Tell whether a symbol is an index variable (its name is lower case)."""
    import sympy

    return isinstance(symbol, sympy.Symbol) and symbol.name == symbol.name.lower()


@functools.lru_cache(maxsize=4096)
def index_variables(expr: sympy.Expr) -> tuple[str, ...]:
    """Return the index variables of an index expression, sorted by name (memoized: the
    mapper asks for the same indices many times)."""
    return tuple(sorted(s.name for s in expr.free_symbols if is_index_symbol(s)))


def extent_names(expr: sympy.Expr) -> tuple[str, ...]:
    """Return the extents an expression mentions, sorted by name."""
    return tuple(sorted(s.name for s in expr.free_symbols if not is_index_symbol(s)))
