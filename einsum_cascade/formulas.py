"""Index and extent formulas: how the resolver combined numbers and names, sympy on demand.

A formula is the tree of operations the resolver applied (``m1 * M0 + m0``,
``ceil(M / M0)``). The checker asks it what it needs, which index variables it uses,
whether it is affine, whether it is ``x + 1``, from the expanded polynomial, without
importing sympy. Consumers get the sympy expression (:attr:`Formula.expr`), built on
first use by the same sympy operations the resolver used to apply eagerly, so every
expression, printed form and comparison is what it was.

The polynomial answers only when it gives sympy's answer for certain: integer numbers,
names, ``+ - *`` and division by a non-zero number, and, for the names an index uses,
only when expanding cancels none of them. Anything else (``sqrt``, a float, division
by a name) asks sympy.
"""

from __future__ import annotations

import functools
import math
import operator
import zlib
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import sympy

# A tree is a tuple: ("int", n) an index number, ("num", x) a rank-extent number,
# ("extent", "M0") / ("index", "m0") a symbol, ("+" | "-" | "*" | "/", a, b),
# ("neg", a), ("call", name, (args...)) a rank-extent function, ("sympy", expr) a sympy
# expression given as such.
Tree = tuple[Any, ...]
Monomial = tuple[tuple[str, int], ...]
Polynomial = dict[Monomial, Fraction]

_ARITHMETIC: dict[str, Any] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
}
_KEEPING = ("ceil", "floor", "sqrt")  # one argument; the result keeps its every name


@dataclass(frozen=True, slots=True, eq=False)
class Formula:
    """An index or extent formula; equality is that of its sympy expression, and equal
    expressions hash alike (by their value at one point, without sympy when it can)."""

    tree: Tree
    _expr: Any = field(default=None, repr=False)

    @staticmethod
    def of(value: Formula | sympy.Expr) -> Formula:
        """Return ``value`` as a formula (a sympy expression is wrapped as it is)."""
        return value if isinstance(value, Formula) else Formula(("sympy", value))

    @property
    def expr(self) -> sympy.Expr:
        """Return the sympy expression (built once, by the resolver's own operations)."""
        if self._expr is None:
            object.__setattr__(self, "_expr", _build(self.tree))
        return self._expr

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Formula):
            return NotImplemented
        return self.tree == other.tree or bool(self.expr == other.expr)

    def __hash__(self) -> int:
        # The value at one integer point: equal expressions are equal functions, so they
        # hash alike, and a formula of integers, names, + - * /, ceil, floor, min and max
        # hashes without sympy.
        code = _hash(self.tree)
        return code if code is not None else _sympy_hash(self.expr)

    def __str__(self) -> str:
        return str(self.expr)

    def variables(self) -> tuple[str, ...]:
        """Return the index variables the expression uses, sorted (as sympy has them)."""
        return _variables(self.tree)

    def is_affine(self) -> bool:
        """Tell whether the formula is affine in its index variables (lower-case names)."""
        return _is_affine(self.tree)

    def is_number(self) -> bool:
        """Tell whether the sympy expression has no free symbol (sympy's ``is_number``)."""
        names = _exact_names(self.tree)
        if names is None:
            return bool(self.expr.is_number)
        return not names

    def number(self) -> Fraction | None:
        """Return the exact value of a number formula when it is rational; None otherwise."""
        poly = _polynomial(self.tree)
        if poly is None or any(monomial for monomial in poly):
            return None
        return poly.get((), Fraction(0))

    def same_as(self, other: Formula) -> bool:
        """Tell whether the two sympy expressions are equal, building neither when possible."""
        if self.tree == other.tree:
            return True
        mine, theirs = _polynomial(self.tree), _polynomial(other.tree)
        if mine is not None and theirs is not None and _linear(self.tree) and _linear(other.tree):
            # sums of numbers times names: sympy keeps them collected, as the polynomial
            return mine == theirs
        return bool(self.expr == other.expr)


def index_number(value: int) -> Formula:
    """Return the formula of a whole number in an index."""
    return Formula(("int", value))


def extent(name: str) -> Formula:
    """Return the formula of the extent ``name``."""
    return Formula(("extent", name))


def index(name: str) -> Formula:
    """Return the formula of the index variable ``name``."""
    return Formula(("index", name))


def rank_number(value: float) -> Formula:
    """Return the formula of a number in a rank extent (sympy reads it with ``nsimplify``)."""
    return Formula(("num", value))


def combine(op: str, left: Formula, right: Formula) -> Formula:
    """Return ``left op right`` for ``op`` one of ``+ - * /``."""
    assert op in _ARITHMETIC
    return Formula((op, left.tree, right.tree))


def negate(operand: Formula) -> Formula:
    """Return ``-operand``."""
    return Formula(("neg", operand.tree))


def call(name: str, args: tuple[Formula, ...]) -> Formula:
    """Return a rank-extent function call: ``ceil``, ``floor``, ``min``, ``max``, ``sqrt``."""
    return Formula(("call", name, tuple(a.tree for a in args)))


def plus(left: Formula, offset: int) -> Formula:
    """Return ``left + offset`` (the resolver's ``x + 1``)."""
    return combine("+", left, index_number(offset))


# ------------------------------------------------------------------ sympy


@functools.lru_cache(maxsize=8192)
def _build(tree: Tree) -> sympy.Expr:
    import sympy

    from einsum_cascade.symbols import extent_symbol, index_symbol

    kind = tree[0]
    if kind == "int":
        return sympy.Integer(tree[1])
    if kind == "num":
        return sympy.nsimplify(tree[1])
    if kind == "extent":
        return extent_symbol(tree[1])
    if kind == "index":
        return index_symbol(tree[1])
    if kind == "neg":
        return -_build(tree[1])
    if kind == "call":
        functions = {
            "ceil": sympy.ceiling,
            "floor": sympy.floor,
            "min": sympy.Min,
            "max": sympy.Max,
            "sqrt": sympy.sqrt,
        }
        return sympy.sympify(functions[tree[1]](*(_build(a) for a in tree[2])))
    if kind == "sympy":
        return tree[1]
    result: sympy.Expr = _ARITHMETIC[kind](_build(tree[1]), _build(tree[2]))
    return result


# ------------------------------------------------------------------ hashing

_UNDEFINED = 0x5EED  # the hash of a formula undefined at the hashing point
_IRRATIONAL = 0x1EED  # the hash of a formula irrational there


def _point(name: str) -> int:
    """Return the value a name takes where formulas are hashed: a positive integer of its own."""
    return 1_000_003 + zlib.crc32(name.encode()) % 999_983


_EXACT_CALLS: dict[str, Any] = {
    "ceil": lambda x: Fraction(math.ceil(x)),
    "floor": lambda x: Fraction(math.floor(x)),
    "min": min,
    "max": max,
}


@functools.lru_cache(maxsize=8192)
def _hash(tree: Tree) -> int | None:
    """The hash of the tree's exact value at the hashing point, or None: ask sympy."""
    try:
        value = _value(tree)
    except ZeroDivisionError:
        return _UNDEFINED
    return None if value is None else _hash_fraction(value)


def _hash_fraction(value: Fraction) -> int:
    return hash((value.numerator, value.denominator))  # cheaper than hashing a Fraction


@functools.lru_cache(maxsize=8192)
def _value(tree: Tree) -> Fraction | None:
    """The exact value at the hashing point, or None when only sympy can tell it.

    Raises:
        ZeroDivisionError: a divisor is zero there.
    """
    kind = tree[0]
    if kind == "int":
        return Fraction(tree[1])
    if kind == "num":
        number = tree[1]
        return Fraction(int(number)) if isinstance(number, int) or number.is_integer() else None
    if kind in ("extent", "index"):
        return Fraction(_point(tree[1]))
    if kind == "neg":
        inner = _value(tree[1])
        return None if inner is None else -inner
    if kind == "call":
        args = [_value(a) for a in tree[2]]
        if tree[1] not in _EXACT_CALLS or any(a is None for a in args):
            return None  # sqrt: irrational in general
        result: Fraction = _EXACT_CALLS[tree[1]](*args)
        return result
    if kind not in _ARITHMETIC:
        return None  # a sympy expression
    left, right = _value(tree[1]), _value(tree[2])
    if left is None or right is None:
        return None
    value: Fraction = _ARITHMETIC[kind](left, right)
    return value


def _sympy_hash(expr: sympy.Expr) -> int:
    """Hash a sympy expression as :func:`_value` would its tree: by its value at the point."""
    number = expr.subs({s: _point(s.name) for s in expr.free_symbols})
    if number.is_Rational:
        return _hash_fraction(Fraction(int(number.p), int(number.q)))
    return _IRRATIONAL if number.is_finite else _UNDEFINED


# ------------------------------------------------------------- polynomial


def _multiply(a: Polynomial, b: Polynomial) -> Polynomial:
    out: Polynomial = {}
    for ma, ca in a.items():
        for mb, cb in b.items():
            powers = dict(ma)
            for name, power in mb:
                powers[name] = powers.get(name, 0) + power
            key = tuple(sorted(powers.items()))
            out[key] = out.get(key, Fraction(0)) + ca * cb
    return {k: v for k, v in out.items() if v}


def _add(a: Polynomial, b: Polynomial, sign: int) -> Polynomial:
    out = dict(a)
    for monomial, coefficient in b.items():
        out[monomial] = out.get(monomial, Fraction(0)) + sign * coefficient
    return {k: v for k, v in out.items() if v}


@functools.lru_cache(maxsize=8192)
def _polynomial(tree: Tree) -> Polynomial | None:
    """The expanded polynomial with rational coefficients, or None when it is not one."""
    kind = tree[0]
    if kind == "int":
        return {(): Fraction(tree[1])} if tree[1] else {}
    if kind == "num":
        value = tree[1]
        if not (isinstance(value, int) or value.is_integer()):
            return None  # nsimplify reads floats its own way
        return {(): Fraction(int(value))} if value else {}
    if kind in ("extent", "index"):
        return {((tree[1], 1),): Fraction(1)}
    if kind == "neg":
        inner = _polynomial(tree[1])
        return None if inner is None else {k: -v for k, v in inner.items()}
    if kind not in _ARITHMETIC:
        return None
    left, right = _polynomial(tree[1]), _polynomial(tree[2])
    if left is None or right is None:
        return None
    if kind == "+":
        return _add(left, right, 1)
    if kind == "-":
        return _add(left, right, -1)
    if kind == "*":
        return _multiply(left, right)
    if set(right) != {()}:
        return None  # division by a name, or by zero
    return {k: v / right[()] for k, v in left.items()}


@functools.lru_cache(maxsize=8192)
def _names(tree: Tree) -> frozenset[str]:
    """Every extent and index name the tree mentions."""
    kind = tree[0]
    if kind in ("extent", "index"):
        return frozenset((tree[1],))
    if kind in ("int", "num"):
        return frozenset()
    if kind == "neg":
        return _names(tree[1])
    if kind == "call":
        return frozenset().union(*(_names(a) for a in tree[2]))
    if kind == "sympy":
        return frozenset(s.name for s in tree[1].free_symbols)
    return _names(tree[1]) | _names(tree[2])


def _linear(tree: Tree) -> bool:
    """Whether every product and quotient in the tree has a number on one side."""
    kind = tree[0]
    if kind in ("int", "num", "extent", "index"):
        return True
    if kind == "neg":
        return _linear(tree[1])
    if kind in ("*", "/"):
        constant = not _names(tree[1]) or not _names(tree[2])
        return constant and _linear(tree[1]) and _linear(tree[2])
    if kind in ("+", "-"):
        return _linear(tree[1]) and _linear(tree[2])
    return False


@functools.lru_cache(maxsize=8192)
def _exact_names(tree: Tree) -> frozenset[str] | None:
    """The names sympy's expression keeps, when the polynomial tells them for certain.

    Expanding can only drop names, and sympy keeps at least the expanded ones: when the
    expanded polynomial still has every name of the tree, sympy has exactly those. A
    ``ceil``, ``floor`` or ``sqrt`` has the names of its argument.
    """
    if tree[0] == "call" and tree[1] in _KEEPING and len(tree[2]) == 1:
        return _exact_names(tree[2][0])
    if tree[0] == "/":
        # a / b with no name in common, a not zero and b not a number: the quotient
        # depends on every name of both, so sympy keeps them all
        numerator, denominator = _polynomial(tree[1]), _polynomial(tree[2])
        if numerator and denominator and set(denominator) != {()}:
            a, b = _exact_names(tree[1]), _exact_names(tree[2])
            if a is not None and b is not None and not a & b:
                return a | b
    poly = _polynomial(tree)
    if poly is None:
        return None
    kept = frozenset(name for monomial in poly for name, _ in monomial)
    return kept if kept == _names(tree) else None


def _is_index_name(name: str) -> bool:
    return name == name.lower()


@functools.lru_cache(maxsize=8192)
def _variables(tree: Tree) -> tuple[str, ...]:
    names = _exact_names(tree)
    if names is None:
        from einsum_cascade.symbols import index_variables

        return index_variables(_build(tree))
    return tuple(sorted(n for n in names if _is_index_name(n)))


@functools.lru_cache(maxsize=8192)
def _is_affine(tree: Tree) -> bool:
    if tree[0] in ("int", "extent", "index"):
        return True
    poly = _polynomial(tree)
    if poly is None:
        return _sympy_affine(_build(tree))
    degrees = [sum(p for n, p in monomial if _is_index_name(n)) for monomial in poly]
    return max(degrees, default=0) <= 1


def _sympy_affine(value: sympy.Expr) -> bool:
    import sympy

    if value.is_Symbol or value.is_Number:
        return True
    variables = [s for s in value.free_symbols if s.name == s.name.lower()]
    if not variables:
        return True
    try:
        return bool(sympy.Poly(value, *variables).total_degree() <= 1)
    except sympy.PolynomialError:
        return False


__all__ = [
    "Formula",
    "Tree",
    "call",
    "combine",
    "extent",
    "index",
    "index_number",
    "negate",
    "plus",
    "rank_number",
]
