"""Filtered iteration spaces counted per block: what a mapping that skips tiles computes and moves.

A filter (``where m <= p``, a window, a prefix scan) leaves some points of an einsum's
iteration space absent. Hardware does not skip single points: it runs (or skips) whole
blocks of them, the tiles and folds of its mapping. Each index variable of the space is cut
into *blocks*: DRAM-loop tiles of ``tile`` points (a ragged last one), each cut into pieces
of ``chunk`` points from its start (a ragged last piece per tile). A block combination is
*charged* when it holds at least one present point, and it then counts either its volume
(every point of it, present or not) or 1, per variable: a :class:`FilteredCount` is the sum
over charged combinations of the product of those weights. With blocks of one point and
volume weights it is the exact number of present points; with one block spanning a
variable, that variable cannot be skipped.

Filters are unions of conjunctions of linear comparisons of the index variables whose
coefficients are integer combinations of extents. A single comparison per conjunction
(causal: ``m <= p``) is counted exactly. Several are exact when they agree on which end of
every other variable's block helps them (``m <= p and m < S``: both want ``m`` small), or
when they bound one linear form from both sides (a window: ``p - W < m <= p``) whose terms
over a block combination take every integer between their extremes: so for a split rank
``m = M0 * m1 + m0`` when the ``m0`` blocks span the partition or the ``m1`` blocks are one
value each (the library's mappings and the search's). Otherwise a block may be charged
although no present point lies in it (an overestimate, never an underestimate). It is
evaluated numerically, one distinct point at a time, with the blocks of the variable that
has most of them counted in closed form per combination of the others' blocks.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy

# A linear atom ``sum(coefficient * variable) + constant <= 0``; a conjunction of atoms; a
# disjunction of conjunctions. Coefficients and constants are expressions of extents.
Atom = tuple[tuple[sympy.Expr, ...], sympy.Expr]
Conjunction = tuple[Atom, ...]

_MAX_CELLS = 1 << 21  # combinations of the outer variables' blocks evaluated at once
_MAX_DISJUNCTS = 6  # inclusion-exclusion over 2^6 - 1 subsets at most


class FilterError(ValueError):
    """A filter the block counter cannot count: the message says why."""


@dataclass(frozen=True, slots=True)
class Axis:
    """One index variable of a filtered space: its extent and how it is cut into blocks.

    ``tile`` and ``chunk`` are the block structure (``chunk`` pieces inside ``tile``-sized
    DRAM tiles); ``counted`` makes each charged block weigh 1 instead of its size.
    """

    variable: str
    extent: sympy.Expr
    tile: sympy.Expr
    chunk: sympy.Expr
    counted: bool = False

    @staticmethod
    def whole(variable: str, extent: sympy.Expr, counted: bool = True) -> Axis:
        """Return an axis of one block spanning the extent (the variable is not skipped)."""
        return Axis(variable, extent, extent, extent, counted)

    @staticmethod
    def points(variable: str, extent: sympy.Expr) -> Axis:
        """Return an axis of one-point blocks weighing 1 each: exact present points."""
        return Axis(variable, extent, sympy.Integer(1), sympy.Integer(1), False)


class FilteredCount(sympy.Function):  # type: ignore[misc]  # sympy is untyped
    """``FilteredCount(disjunction, axes)``: the block count described in the module doc.

    ``disjunction`` is a Tuple of conjunctions, each a Tuple of atoms ``Tuple(Tuple(c...),
    b)`` meaning ``sum(c_i x_i) + b <= 0`` over the axes' variables in order; ``axes`` is a
    Tuple of ``Tuple(extent, tile, chunk, counted)``. It stays unevaluated symbolically and
    prints as a call of :func:`filtered_count` in the NumPy code of the cost model.
    """

    @classmethod
    def eval(cls, *args: Any) -> None:
        return None

    def _numpycode(self, printer: Any) -> str:
        disjunction, axes = self.args

        def tuple_text(items: Sequence[Any]) -> str:
            return "(" + "".join(f"{item}, " for item in items) + ")"

        def expr_text(expr: Any) -> str:
            return str(printer._print(expr))

        conjunctions = []
        for conjunction in disjunction:
            atoms = []
            for coefficients, constant in conjunction:
                atoms.append(
                    tuple_text(
                        [tuple_text([expr_text(c) for c in coefficients]), expr_text(constant)]
                    )
                )
            conjunctions.append(tuple_text(atoms))
        axes_text = tuple_text([tuple_text([expr_text(v) for v in axis]) for axis in axes])
        return f"filtered_count({tuple_text(conjunctions)}, {axes_text})"


def linear_atoms(condition: sympy.Basic, variables: Sequence[str]) -> tuple[Conjunction, ...]:
    """Return a presence condition as a disjunction of conjunctions of ``<= 0`` atoms.

    Raises:
        FilterError: the condition is not linear in the variables with integer-valued
            coefficients (a product of two index variables, a function of one).
    """
    return _linear_atoms(condition, tuple(variables))


@functools.lru_cache(maxsize=1024)
def _linear_atoms(condition: sympy.Basic, variables: tuple[str, ...]) -> tuple[Conjunction, ...]:
    symbols = [sympy.Symbol(v, integer=True, nonnegative=True) for v in variables]
    by_name = {s.name: s for s in symbols}
    condition = condition.xreplace(
        {s: by_name[s.name] for s in condition.free_symbols if s.name in by_name}
    )
    unknown = sorted(
        s.name for s in condition.free_symbols if s.name == s.name.lower() and s.name not in by_name
    )
    if unknown:
        raise FilterError(f"the filter names {', '.join(unknown)}, outside the iteration space")
    condition = condition.replace(
        lambda e: isinstance(e, sympy.Ne), lambda e: sympy.Or(e.lhs < e.rhs, e.lhs > e.rhs)
    )
    dnf = sympy.to_dnf(condition, simplify=False)
    if dnf is sympy.true:
        return ((),)
    if dnf is sympy.false:
        return ()
    terms = dnf.args if isinstance(dnf, sympy.Or) else (dnf,)
    if len(terms) > _MAX_DISJUNCTS:
        raise FilterError(f"the filter is a union of {len(terms)} parts; at most 6 are counted")
    out = []
    for term in terms:
        parts = term.args if isinstance(term, sympy.And) else (term,)
        atoms: list[Atom] = []
        for part in parts:
            atoms.extend(_atoms(part, symbols))
        out.append(tuple(atoms))
    return tuple(out)


def _atoms(relation: sympy.Basic, symbols: list[sympy.Symbol]) -> list[Atom]:
    if isinstance(relation, sympy.Not):
        relation = relation.args[0].negated if isinstance(relation.args[0], sympy.Rel) else None
    if not isinstance(relation, sympy.Rel) or isinstance(relation, sympy.Ne):
        raise FilterError(f"'{relation}' is no comparison of index expressions")
    difference = sympy.expand(relation.lhs - relation.rhs)
    try:
        poly = sympy.Poly(difference, *symbols)
    except sympy.PolynomialError as error:
        raise FilterError(f"'{relation}' is not linear in the index variables") from error
    if poly.total_degree() > 1:
        raise FilterError(f"'{relation}' is not linear in the index variables")
    coefficients = tuple(sympy.sympify(poly.coeff_monomial(s)) for s in symbols)
    constant = sympy.sympify(poly.coeff_monomial(1))
    scale = sympy.ilcm(
        1, *(sympy.fraction(v)[1] for v in (*coefficients, constant) if v.is_Rational)
    )
    coefficients, constant = tuple(c * scale for c in coefficients), constant * scale
    for value in (*coefficients, constant):
        if not _integer_valued(value):
            raise FilterError(
                f"'{relation}' has a coefficient, {value}, that is no integer combination of "
                "extents"
            )
    negated = tuple(-c for c in coefficients)
    if isinstance(relation, sympy.Le):  # lhs - rhs <= 0
        return [(coefficients, constant)]
    if isinstance(relation, sympy.Lt):  # lhs - rhs + 1 <= 0 over the integers
        return [(coefficients, constant + 1)]
    if isinstance(relation, sympy.Ge):
        return [(negated, -constant)]
    if isinstance(relation, sympy.Gt):
        return [(negated, -constant + 1)]
    return [(coefficients, constant), (negated, -constant)]  # Eq


def _integer_valued(value: sympy.Expr) -> bool:
    """Tell whether an expression of extents is an integer for all integer extents."""
    if value.is_Integer:
        return True
    if value.is_Rational:
        return False
    try:
        poly = sympy.Poly(value, *sorted(value.free_symbols, key=lambda x: x.name))
    except sympy.PolynomialError:
        return False
    return all(c.is_Integer for c in poly.coeffs())


def filtered_points(condition: sympy.Basic, axes: Sequence[Axis]) -> sympy.Expr:
    """Return the :class:`FilteredCount` of a presence condition over blocked axes.

    Raises:
        FilterError: see :func:`linear_atoms`.
    """
    disjunction = linear_atoms(condition, [a.variable for a in axes])
    args = sympy.Tuple(
        *(
            sympy.Tuple(*(sympy.Tuple(sympy.Tuple(*c), b) for c, b in conjunction))
            for conjunction in disjunction
        )
    )
    specs = sympy.Tuple(
        *(sympy.Tuple(a.extent, a.tile, a.chunk, sympy.Integer(int(a.counted))) for a in axes)
    )
    return FilteredCount(args, specs)


def closed_counts(expr: sympy.Expr) -> sympy.Expr:
    """Replace every indicator sum of an op count (:func:`einsum_cascade.count_ops`) by the
    :class:`FilteredCount` of its present points, so the count can be compiled to NumPy.

    Raises:
        FilterError: see :func:`linear_atoms`.
    """
    replaced: dict[sympy.Basic, sympy.Expr] = {}
    for total in sympy.sympify(expr).atoms(sympy.Sum):
        indicator = total.function
        piecewise = isinstance(indicator, sympy.Piecewise)
        condition = indicator.args[0].cond if piecewise else sympy.true
        axes = [Axis.points(str(v), sympy.sympify(high) + 1) for v, _, high in total.limits]
        replaced[total] = filtered_points(condition, axes)
    return sympy.sympify(expr).xreplace(replaced)


# ------------------------------------------------------------------ numeric evaluation


def filtered_count(disjunction: Any, axes: Any) -> Any:
    """Evaluate a :class:`FilteredCount` at many points: NumPy code calls this.

    Arguments are the printed structure with a number or an array (one value per point)
    in place of each expression; the result is a float array of the broadcast shape. Each
    distinct point is counted once (and remembered: searches and sweeps repeat points).
    """
    shape: list[int] = [len(c) for c in disjunction]
    flat: list[Any] = []
    for conjunction in disjunction:
        for coefficients, constant in conjunction:
            shape.append(len(coefficients))
            flat.extend(coefficients)
            flat.append(constant)
    for axis in axes:
        flat.extend(axis)
    layout = (len(disjunction), tuple(shape), len(axes))
    arrays = [np.asarray(v, dtype=float) for v in flat]
    key = (layout, *((a.shape, a.tobytes()) for a in arrays))
    known = _RECENT.get(key)
    if known is None:
        known = _RECENT[key] = np.asarray(_count_points(layout, arrays), dtype=float)
        known.flags.writeable = False  # shared by every caller with these columns
        if len(_RECENT) > _MAX_RECENT:
            del _RECENT[next(iter(_RECENT))]
    return known


_RECENT: dict[tuple[Any, ...], np.ndarray] = {}  # searches evaluate the same columns often
_MAX_RECENT = 4096


def _count_points(layout: tuple[int, tuple[int, ...], int], arrays: list[np.ndarray]) -> Any:
    """Count every distinct point of broadcast argument columns; scatter back."""
    out_shape = np.broadcast_shapes(*(a.shape for a in arrays))
    row = [round(float(a.reshape(-1)[0])) if a.size == 1 else 0 for a in arrays]
    varying = [i for i, a in enumerate(arrays) if a.size != 1]
    if not varying:
        return np.full(out_shape, _count_row(layout, tuple(row)))
    if not math.prod(out_shape):
        return np.zeros(out_shape)
    table = np.stack(
        [np.rint(np.broadcast_to(arrays[i], out_shape)).reshape(-1) for i in varying], axis=1
    ).astype(np.int64)
    rows, inverse = _distinct(table)
    values = np.empty(len(rows))
    for index, distinct in enumerate(rows.tolist()):
        for i, value in zip(varying, distinct, strict=True):
            row[i] = value
        values[index] = _count_row(layout, tuple(row))
    return values[inverse.reshape(-1)].reshape(out_shape)


def _distinct(table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (the distinct rows of an integer table, each row's index among them)."""
    if table.shape[1] == 1:
        values, inverse = np.unique(table[:, 0], return_inverse=True)
        return values[:, None], inverse
    order = np.lexsort(table.T[::-1])
    ordered = table[order]
    change = np.any(ordered[1:] != ordered[:-1], axis=1)
    first = np.concatenate(([True], change))
    inverse = np.empty(len(table), dtype=np.int64)
    inverse[order] = np.cumsum(first) - 1
    return ordered[first], inverse


@functools.lru_cache(maxsize=1 << 16)
def _count_row(layout: tuple[int, tuple[int, ...], int], row: tuple[int, ...]) -> float:
    """Rebuild one point's numbers from its flat row and count it."""
    n_conjunctions, sizes, n_axes = layout
    values = iter(row)
    atoms_per = sizes[:n_conjunctions]
    widths = iter(sizes[n_conjunctions:])
    conjunctions = []
    for n_atoms in atoms_per:
        atoms = []
        for _ in range(n_atoms):
            width = next(widths)
            c = tuple(next(values) for _ in range(width))
            atoms.append((c, next(values)))
        conjunctions.append(tuple(atoms))
    specs = [(next(values), next(values), next(values), next(values)) for _ in range(n_axes)]
    return float(count_blocks(conjunctions, specs))


def block_edges(extent: int, tile: int, chunk: int) -> np.ndarray:
    """Return the block edges of an axis: ``edges[j] <= x < edges[j + 1]`` is block ``j``."""
    if extent <= 0:
        return np.zeros(1, dtype=np.int64)
    tile = max(1, min(tile, extent))
    chunk = max(1, min(chunk, tile))
    starts = np.arange(0, extent, tile, dtype=np.int64)
    offsets = np.arange(0, tile, chunk, dtype=np.int64)
    edges = (starts[:, None] + offsets[None, :]).reshape(-1)
    return np.append(edges[edges < extent], np.int64(extent))


def count_blocks(
    disjunction: Sequence[Sequence[tuple[Sequence[int], int]]],
    specs: Sequence[tuple[int, int, int, int]],
) -> int:
    """Return the weighted count of charged block combinations at one point (see module doc).

    ``specs`` holds ``(extent, tile, chunk, counted)`` per axis.
    """
    edges = [block_edges(n, t, d) for n, t, d, _ in specs]
    counted = [bool(c) for *_, c in specs]
    if any(len(e) < 2 for e in edges) or not disjunction:
        return 0
    totals = [len(e) - 1 if c else int(e[-1]) for e, c in zip(edges, counted, strict=True)]
    used = sorted(
        {i for conj in disjunction for coefs, _ in conj for i, c in enumerate(coefs) if c != 0}
    )
    factor = 1
    for i, total in enumerate(totals):
        if i not in used:
            factor *= total
    if not used:  # the condition holds everywhere or nowhere
        holds = any(all(b <= 0 for _, b in conj) for conj in disjunction)
        return factor if holds else 0
    inner = max(used, key=lambda i: len(edges[i]))
    outer = [i for i in used if i != inner]
    sizes = [len(edges[i]) - 1 for i in outer]
    cells = int(np.prod(sizes)) if outer else 1
    step = max(1, _MAX_CELLS)
    count = 0
    for start in range(0, cells, step):
        index = np.arange(start, min(cells, start + step), dtype=np.int64)
        blocks = np.unravel_index(index, sizes) if outer else ()
        low = {i: edges[i][j] for i, j in zip(outer, blocks, strict=True)}
        high = {i: edges[i][j + 1] - 1 for i, j in zip(outer, blocks, strict=True)}
        weight = np.ones(len(index), dtype=np.int64)
        for i in outer:
            if not counted[i]:
                weight = weight * (high[i] - low[i] + 1)
        inner_weight = _inner_weight(disjunction, edges[inner], counted[inner], inner, low, high)
        count += int(np.sum(weight * inner_weight))
    return count * factor


def _inner_weight(
    disjunction: Sequence[Sequence[tuple[Sequence[int], int]]],
    edges: np.ndarray,
    counted: bool,
    inner: int,
    low: dict[int, np.ndarray],
    high: dict[int, np.ndarray],
) -> np.ndarray:
    """Return per outer cell the weight of the inner blocks some conjunction charges."""
    cells = len(next(iter(low.values()))) if low else 1
    extent = int(edges[-1])
    ranges = []
    for conjunction in disjunction:
        lower = np.zeros(cells, dtype=np.int64)
        upper = np.full(cells, extent - 1, dtype=np.int64)
        ok = np.ones(cells, dtype=bool)
        for coefficients, constant in conjunction:
            rest = np.full(cells, constant, dtype=np.int64)  # least value over the outer box
            for i, (lo, hi) in ((i, (low[i], high[i])) for i in low):
                c = coefficients[i]
                if c:
                    rest = rest + np.minimum(c * lo, c * hi)
            a = coefficients[inner]
            if a > 0:  # a * x <= -rest
                upper = np.minimum(upper, np.floor_divide(-rest, a))
            elif a < 0:  # x >= rest / -a
                lower = np.maximum(lower, -np.floor_divide(-rest, -a))
            else:
                ok &= rest <= 0
        ok &= lower <= upper
        first = np.searchsorted(edges, np.clip(lower, 0, extent - 1), side="right") - 1
        last = np.searchsorted(edges, np.clip(upper, 0, extent - 1), side="right") - 1
        ranges.append((first, last, ok))
    total = np.zeros(cells, dtype=np.int64)
    for size in range(1, len(ranges) + 1):
        sign = 1 if size % 2 else -1
        for subset in itertools.combinations(ranges, size):
            first = np.max([r[0] for r in subset], axis=0)
            last = np.min([r[1] for r in subset], axis=0)
            ok = np.logical_and.reduce([r[2] for r in subset]) & (first <= last)
            if counted:
                weight = last - first + 1
            else:
                weight = edges[np.minimum(last + 1, len(edges) - 1)] - edges[first]
            total += sign * np.where(ok, weight, 0)
    return total
