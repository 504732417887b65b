"""The NumPy reference interpreter: the executable semantics of a cascade.

Every tensor is held as values plus a presence mask. An iteration point removed by a
filter, or whose operand coordinate falls outside that operand's extent, is absent: it
contributes to no reduction, and an element no present point reaches is absent and holds
the tensor's empty value. Einsums that touch an iterative rank run inside one loop over
it (see ``einsum_cascade.graph.schedule``).
"""

from __future__ import annotations

import functools
import math
import string
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy

from einsum_cascade.errors import ShapeError
from einsum_cascade.extents import bind_extents
from einsum_cascade.functions import lookup
from einsum_cascade.graph import Loop, schedule
from einsum_cascade.ir import (
    Binary,
    Call,
    Cascade,
    Compare,
    Coordinate,
    Einsum,
    Expr,
    ExtentRef,
    Filter,
    Literal,
    Not,
    ReduceOp,
    Tensor,
    TensorKind,
    TensorRef,
    Unary,
    expression_variables,
)
from einsum_cascade.symbols import index_symbol, rank_of_variable

Array = np.ndarray[Any, Any]


@dataclass(frozen=True)
class Evaluation:
    """Every tensor of an evaluated cascade: values (empty where absent) and presence."""

    values: dict[str, Array]
    present: dict[str, Array]
    extents: dict[str, int]

    def outputs(self, cascade: Cascade) -> dict[str, Array]:
        """Return the output tensors by name."""
        return {t.name: self.values[t.name] for t in cascade.outputs}


def evaluate(cascade: Cascade, **arrays_and_extents: Any) -> dict[str, Array]:
    """Evaluate ``cascade`` and return its outputs.

    Args:
        cascade: The cascade.
        **arrays_and_extents: One array per input tensor (by name) and, optionally,
            extents by rank name (``M0=64``); free extents are inferred from the inputs.

    Returns:
        The output arrays by name; absent elements hold the tensor's empty value.

    Raises:
        ShapeError: when inputs are missing, extra, or of inconsistent shapes.

    Example:
        >>> import numpy as np
        >>> from einsum_cascade import parse_cascade
        >>> c = parse_cascade("rank K\\ninput A[K], B[K]\\nY[] = A[k] * B[k]")
        >>> float(evaluate(c, A=np.ones(3), B=np.arange(3.0))["Y"])
        3.0
    """
    return interpret(cascade, **arrays_and_extents).outputs(cascade)


def interpret(cascade: Cascade, **arrays_and_extents: Any) -> Evaluation:
    """Evaluate ``cascade`` and return every tensor with its presence mask."""
    inputs, extents = bind_extents(cascade, arrays_and_extents)
    for name, array in inputs.items():
        if array.dtype.kind not in "biufc":
            raise ShapeError.single(
                "E407",
                f"input {name} holds {array.dtype} values, not numbers",
                None,
                "pass numeric arrays (bool, integer, float or complex)",
            )
    dtype = np.result_type(np.float32, *(a.dtype for a in inputs.values()))
    state = _State(cascade, extents, dtype)
    for name, array in inputs.items():
        state.values[name] = array.astype(dtype, copy=False)
        state.present[name] = np.ones(array.shape, dtype=bool)
    with np.errstate(all="ignore"):
        for tensor in cascade.tensors:
            if tensor.kind is not TensorKind.INPUT:
                state.allocate(tensor)
        for step in schedule(cascade):
            if isinstance(step, Loop):
                state.run_loop(step)
            else:
                state.run(step, {})
    return Evaluation(state.values, state.present, extents)


@functools.cache
def _numeric(expr: sympy.Expr) -> Any:
    symbols = sorted(expr.free_symbols, key=lambda s: s.name)
    function = sympy.lambdify(symbols, expr, "numpy")
    return tuple(s.name for s in symbols), function


class _State:
    def __init__(self, cascade: Cascade, extents: dict[str, int], dtype: Any) -> None:
        self.cascade = cascade
        self.extents = extents
        self.dtype = dtype
        self.values: dict[str, Array] = {}
        self.present: dict[str, Array] = {}
        self.everything: frozenset[str] = frozenset()

    # ---- storage

    def shape(self, tensor: Tensor) -> tuple[int, ...]:
        return tuple(
            self.extents[r] + (1 if r == tensor.iterative_rank else 0) for r in tensor.ranks
        )

    def allocate(self, tensor: Tensor) -> None:
        shape = self.shape(tensor)
        try:
            self.values[tensor.name] = np.full(shape, tensor.empty, dtype=self.dtype)
            self.present[tensor.name] = np.zeros(shape, dtype=bool)
        except (ValueError, MemoryError) as exc:
            raise ShapeError.single(
                "E408",
                f"tensor {tensor.name} of shape {shape} cannot be allocated: {exc}",
                None,
                "evaluate at smaller extents",
            ) from None
        init = self.cascade.init(tensor.name)
        if init is None:
            return
        variables = tuple(v for i, v in enumerate(init.variables) if i != init.iterative_position)
        self.everything = frozenset(variables)
        value, present = self.expression(init.value, self.axes(variables, {}))
        value = np.broadcast_to(value, tuple(self.extents[rank_of_variable(v)] for v in variables))
        present = np.broadcast_to(present, value.shape) & (value != tensor.empty)
        index = [slice(None)] * len(tensor.ranks)
        index[init.iterative_position] = 0  # type: ignore[call-overload]
        self.values[tensor.name][tuple(index)] = np.where(present, value, tensor.empty)
        self.present[tensor.name][tuple(index)] = present

    # ---- coordinates

    def axes(self, variables: tuple[str, ...], fixed: dict[str, int]) -> dict[str, Any]:
        """Map each variable to a broadcastable coordinate array (scalars when fixed)."""
        free = [v for v in variables if v not in fixed]
        coords: dict[str, Any] = dict(fixed)
        for axis, variable in enumerate(free):
            shape = [1] * len(free)
            shape[axis] = self.extents[rank_of_variable(variable)]
            coords[variable] = np.arange(shape[axis]).reshape(shape)
        return coords

    def index_value(self, expr: sympy.Expr, coords: dict[str, Any]) -> Any:
        names, function = _numeric(expr)
        args = [coords[n] if n in coords else self.extents[n] for n in names]
        return np.asarray(function(*args))

    # ---- expressions: (values, presence)

    def expression(self, expr: Expr, coords: dict[str, Any]) -> tuple[Any, Any]:
        if isinstance(expr, TensorRef):
            return self.gather(expr, coords)
        if isinstance(expr, Literal):
            return np.asarray(expr.value, dtype=self.dtype), np.True_
        if isinstance(expr, ExtentRef):
            return np.asarray(self.extents[expr.rank], dtype=self.dtype), np.True_
        if isinstance(expr, Coordinate):
            return np.asarray(coords[expr.variable], dtype=self.dtype), np.True_
        if isinstance(expr, Unary):
            value, present = self.expression(expr.operand, coords)
            return -value, present
        if isinstance(expr, Binary):
            return self.binary(expr, coords)
        return self.call(expr, coords)

    def binary(self, expr: Binary, coords: dict[str, Any]) -> tuple[Any, Any]:
        left, left_present = self.expression(expr.left, coords)
        right, right_present = self.expression(expr.right, coords)
        if expr.op in "*/":
            value = left * right if expr.op == "*" else left / right
            return value, left_present & right_present
        left = np.where(left_present, left, 0)
        right = np.where(right_present, right, 0)
        value = left + right if expr.op == "+" else left - right
        return value, self.union(((expr.left, left_present), (expr.right, right_present)))

    def union(self, parts: tuple[tuple[Expr, Any], ...]) -> Any:
        """Presence of a union (``+ - max min``): a broadcast operand cannot make a point.

        An operand that covers every index variable of the iteration space decides where
        the point is present; when none does, any present operand does.
        """
        full = [present for expr, present in parts if _variables(expr) >= self.everything]
        chosen = full or [present for _, present in parts]
        return functools.reduce(np.logical_or, chosen)

    def call(self, expr: Call, coords: dict[str, Any]) -> tuple[Any, Any]:
        function = lookup(expr.function)
        assert function is not None, expr.function
        results = [self.expression(arg, coords) for arg in expr.args]
        if function.union_identity is not None:
            args = [np.where(p, v, function.union_identity) for v, p in results]
            present = self.union(tuple(zip(expr.args, (p for _, p in results), strict=True)))
        else:
            args = [v for v, _ in results]
            present = functools.reduce(np.logical_and, [p for _, p in results])
        return np.asarray(function.implementation(*args)), present

    def gather(self, ref: TensorRef, coords: dict[str, Any]) -> tuple[Any, Any]:
        values, stored = self.values[ref.tensor], self.present[ref.tensor]
        if not ref.indices:
            return values[()], stored[()]
        index = []
        in_range: Any = np.True_
        for position, expr in enumerate(ref.indices):
            coordinate = self.index_value(expr, coords).astype(np.int64)
            size = values.shape[position]
            in_range = in_range & (coordinate >= 0) & (coordinate < size)
            index.append(np.clip(coordinate, 0, size - 1))
        key = tuple(np.broadcast_arrays(*index)) if len(index) > 1 else (index[0],)
        return values[key], stored[key] & in_range

    def condition(self, condition: Filter, coords: dict[str, Any]) -> Any:
        if isinstance(condition, Compare):
            left = self.index_value(condition.left, coords)
            right = self.index_value(condition.right, coords)
            return {
                "<": np.less,
                "<=": np.less_equal,
                ">": np.greater,
                ">=": np.greater_equal,
                "==": np.equal,
                "!=": np.not_equal,
            }[condition.op](left, right)
        if isinstance(condition, Not):
            return ~self.condition(condition.operand, coords)
        parts = [self.condition(c, coords) for c in condition.operands]
        combine = np.logical_and if condition.op == "and" else np.logical_or
        return functools.reduce(combine, parts)

    # ---- einsums

    def run_loop(self, loop: Loop) -> None:
        extent = self.extents[rank_of_variable(loop.variable)]
        for step in range(extent):
            for einsum in loop.einsums:
                self.run(einsum, {loop.variable: step})

    def run(self, einsum: Einsum, fixed: dict[str, int]) -> None:
        variables = einsum.variables
        free = tuple(v for v in variables if v not in fixed)
        kept = [v for v in free if v not in einsum.reduced_variables]
        fast = self.contraction(einsum, fixed, free, kept)
        if fast is not None:
            self.store(einsum, *fast, kept, fixed)
            return
        coords = self.axes(variables, fixed)
        value, present = self.point_values(einsum, coords, free)
        reduced = tuple(i for i, v in enumerate(free) if v in einsum.reduced_variables)
        if reduced:
            value, present = _reduce(einsum.reduce_op, value, present, reduced)
        self.store(einsum, value, present, kept, fixed)

    def contraction(
        self, einsum: Einsum, fixed: dict[str, int], free: tuple[str, ...], kept: list[str]
    ) -> tuple[Any, Any] | None:
        """Evaluate a sum of products of plainly indexed tensors with numpy.einsum.

        Returns None when the einsum is not such a contraction. Absent operand elements
        are zero in the values and false in the masks, so a point with an absent operand
        adds nothing, as the general path defines; a filter is one more mask operand. An
        infinite or NaN operand value also goes to the general path: times a zero mask it
        would give NaN where the point is absent and adds nothing.
        """
        if einsum.reduce_op is not ReduceOp.SUM or not einsum.reduced_variables:
            return None
        factors = _product_factors(einsum.expression)
        if factors is None or not any(isinstance(f, TensorRef) for f in factors):
            return None
        letters = dict(zip(free, einsum_letters(len(free)), strict=True))
        values: list[Any] = []
        masks: list[Any] = []
        subscripts: list[str] = []
        scale = 1.0
        for factor in factors:
            if isinstance(factor, Literal):
                if not math.isfinite(factor.value):
                    return None  # inf * (a + b) is not inf * a + inf * b: general path
                scale *= factor.value
                continue
            assert isinstance(factor, TensorRef)
            picked = self.plain_slice(factor, fixed, letters)
            if picked is None:
                return None
            value, present, subscript = picked
            value = np.where(present, value, 0)
            if not np.isfinite(value).all():
                return None  # inf * 0 (an absent point or a filtered one) is nan: general path
            values.append(value)
            masks.append(present.astype(self.dtype))
            subscripts.append(subscript)
        if einsum.condition is not None:
            names = tuple(v for v in free if v in _condition_variables(einsum))
            coords = self.axes(names, fixed)
            window = np.broadcast_to(
                self.condition(einsum.condition, coords),
                tuple(self.extents[rank_of_variable(v)] for v in names),
            )
            values.append(window.astype(self.dtype))
            masks.append(window.astype(self.dtype))
            subscripts.append("".join(letters[v] for v in names))
        output = "".join(letters[v] for v in kept)
        if not set(output) <= set("".join(subscripts)):
            return None  # a left-hand variable no operand carries: broadcast, general path
        spec = ",".join(subscripts) + "->" + output
        value = scale * np.einsum(spec, *values, optimize=True)
        counts = np.einsum(spec, *masks, optimize=True)
        return value, counts > 0

    def plain_slice(
        self, ref: TensorRef, fixed: dict[str, int], letters: dict[str, str]
    ) -> tuple[Any, Any, str] | None:
        """Select a tensor at plain indices (``x``, a fixed ``x + c``, a constant)."""
        values, stored = self.values[ref.tensor], self.present[ref.tensor]
        key: list[Any] = []
        subscript = ""
        for position, expr in enumerate(ref.indices):
            names = [s.name for s in expr.free_symbols if s.name == s.name.lower()]
            size = values.shape[position]
            if not names:
                coordinate = int(self.index_value(expr, {}))
            elif len(names) == 1 and (expr - index_symbol(names[0])).is_Integer:
                offset = int(expr - index_symbol(names[0]))
                if names[0] not in fixed:
                    if offset != 0 or size != self.extents[rank_of_variable(names[0])]:
                        return None
                    key.append(slice(None))
                    subscript += letters[names[0]]
                    continue
                coordinate = fixed[names[0]] + offset
            else:
                return None
            if not 0 <= coordinate < size:
                return None
            key.append(coordinate)
        return values[tuple(key)], stored[tuple(key)], subscript

    def point_values(
        self, einsum: Einsum, coords: dict[str, Any], free: tuple[str, ...]
    ) -> tuple[Any, Any]:
        shape = tuple(self.extents[rank_of_variable(v)] for v in free)
        self.everything = frozenset(einsum.variables)
        value, present = self.expression(einsum.expression, coords)
        if einsum.condition is not None:
            present = present & self.condition(einsum.condition, coords)
        return np.broadcast_to(value, shape), np.broadcast_to(present, shape)

    def store(
        self, einsum: Einsum, value: Any, present: Any, kept: list[str], fixed: dict[str, int]
    ) -> None:
        tensor = self.cascade.tensor(einsum.name)
        index: list[Any] = []
        order: list[int] = []
        for expr in einsum.output.indices:
            (symbol,) = expr.free_symbols
            variable = symbol.name
            offset = 1 if expr == index_symbol(variable) + 1 else 0
            if variable in fixed:
                index.append(fixed[variable] + offset)
            else:
                size = self.extents[rank_of_variable(variable)]
                index.append(slice(offset, offset + size))
                order.append(kept.index(variable))
        value = np.transpose(value, order) if order else value
        present = np.transpose(present, order) if order else present
        key = tuple(index)
        self.values[tensor.name][key] = np.where(present, value, tensor.empty)
        self.present[tensor.name][key] = present


def _reduce(op: ReduceOp, value: Any, present: Any, axes: tuple[int, ...]) -> tuple[Any, Any]:
    masked = np.where(present, value, op.identity)
    reducer: Any = {
        ReduceOp.SUM: np.sum,
        ReduceOp.PRODUCT: np.prod,
        ReduceOp.MAX: np.max,
        ReduceOp.MIN: np.min,
    }[op]
    return reducer(masked, axis=axes), np.any(present, axis=axes)


_variables = functools.cache(expression_variables)


def _product_factors(expr: Expr) -> list[Expr] | None:
    """Return the factors of a pure product of tensor references and literals."""
    if isinstance(expr, TensorRef | Literal):
        return [expr]
    if isinstance(expr, Binary) and expr.op == "*":
        left, right = _product_factors(expr.left), _product_factors(expr.right)
        if left is None or right is None:
            return None
        return left + right
    return None


def _condition_variables(einsum: Einsum) -> set[str]:
    from einsum_cascade.ir import filter_variables

    assert einsum.condition is not None
    return set(filter_variables(einsum.condition))


def einsum_letters(count: int) -> str:
    """Return ``count`` distinct subscript letters for numpy.einsum."""
    return string.ascii_letters[:count]
