"""A shape-only array module: run a NumPy twin without data and record every array call.

The twin renderer writes code over an array module ``xp``; handing it :data:`ShapeModule`
instead of NumPy runs the same calls on :class:`ShapeArray` objects that carry a shape and
an item size but no data. Each call appends a :class:`TracedOp` (function, elements, bytes,
FLOPs) to the module's log, so the trace is exactly the twin's call sequence at the given
extents, computed in milliseconds and without touching a value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

FLOAT_BYTES = 4
EXP_LIKE = frozenset({"exp", "log", "sqrt", "tanh", "expm1", "power"})


@dataclass(frozen=True, slots=True)
class TracedOp:
    """One array call of a twin run: what it was, how much data it touched.

    ``inside`` names the twin-runtime helper (``rt.settle``...) the call ran in, if any;
    the helper's own call overhead already covers the calls inside it.
    """

    function: str
    elements: int
    bytes_moved: int
    flops: int = 0
    subscripts: str = ""
    shapes: tuple[tuple[int, ...], ...] = ()
    inner: int = 0
    inside: str | None = None


@dataclass(slots=True)
class Recorder:
    """The mutable log of one trace (local to one :func:`trace` call)."""

    ops: list[TracedOp] = field(default_factory=list)
    inside: str | None = None

    def add(self, function: str, elements: int, bytes_moved: int, **extra: Any) -> None:
        """Append one op."""
        self.ops.append(TracedOp(function, elements, bytes_moved, inside=self.inside, **extra))


class ShapeArray:
    """An array with a shape, an item size and the count of elements that back it."""

    __array_priority__ = 100

    def __init__(
        self,
        recorder: Recorder,
        shape: tuple[int, ...],
        itemsize: int,
        stored: int | None = None,
        from_data: bool = True,
    ) -> None:
        """Make an array of ``shape``; ``stored`` is smaller for views and broadcasts.

        ``from_data`` is False for arrays that do not depend on tensor values (``full``,
        ``arange`` and what is computed from those only): a boolean array computed from data
        is a mask whose pattern the branch predictor cannot learn.
        """
        self.recorder = recorder
        self.shape = tuple(int(s) for s in shape)
        self.itemsize = itemsize
        self.stored = math.prod(self.shape) if stored is None else stored
        self.from_data = from_data

    @property
    def ndim(self) -> int:
        """Return the number of dimensions."""
        return len(self.shape)

    @property
    def size(self) -> int:
        """Return the number of elements."""
        return math.prod(self.shape)

    def stored_bytes(self) -> int:
        """Return the bytes that back this array (a broadcast reads its source only)."""
        return self.stored * self.itemsize

    def astype(self, dtype: Any) -> ShapeArray:
        """Copy to another dtype (a full pass over the data)."""
        out = ShapeArray(self.recorder, self.shape, _itemsize(dtype), from_data=self.from_data)
        self.recorder.add("copy", out.size, self.stored_bytes() + out.stored_bytes())
        return out

    def reshape(self, shape: Any) -> ShapeArray:
        """Return a view with another shape."""
        self.recorder.add("reshape", 0, 0)
        return ShapeArray(self.recorder, tuple(shape), self.itemsize, self.stored, self.from_data)

    def __getitem__(self, index: Any) -> ShapeArray:
        """Slice (views only: the twin slices tiles out of global tensors)."""
        items = index if isinstance(index, tuple) else (index,)
        shape = list(self.shape)
        for axis, item in enumerate(items):
            if isinstance(item, slice):
                shape[axis] = len(range(*item.indices(shape[axis])))
        self.recorder.add("getitem", 0, 0)
        return ShapeArray(self.recorder, tuple(shape), self.itemsize, from_data=self.from_data)

    def __setitem__(self, index: Any, value: Any) -> None:
        """Store into this array (a copy of ``value``)."""
        source = value.stored_bytes() if isinstance(value, ShapeArray) else 0
        self.recorder.add("setitem", self.size, source + self.stored_bytes())

    def _binary(self, other: Any, result_bool: bool = False) -> ShapeArray:
        return _elementwise(self.recorder, "ufunc", (self, other), result_bool)

    def __add__(self, other: Any) -> ShapeArray:
        """Elementwise add."""
        return self._binary(other)

    __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __add__
    __truediv__ = __rtruediv__ = __add__

    def __and__(self, other: Any) -> ShapeArray:
        """Elementwise logical and (boolean result)."""
        return self._binary(other, result_bool=True)

    __rand__ = __or__ = __ror__ = __and__
    __gt__ = __lt__ = __ge__ = __le__ = __and__

    def __eq__(self, other: object) -> ShapeArray:  # type: ignore[override]
        """Elementwise comparison (boolean result)."""
        return self._binary(other, result_bool=True)

    __ne__ = __eq__  # type: ignore[assignment]
    __hash__ = None  # type: ignore[assignment]

    def __neg__(self) -> ShapeArray:
        """Elementwise negation."""
        return _elementwise(self.recorder, "ufunc", (self,), False)

    def __invert__(self) -> ShapeArray:
        """Elementwise logical not."""
        return _elementwise(self.recorder, "ufunc", (self,), True)


def _itemsize(dtype: Any) -> int:
    if dtype is bool:
        return 1
    return FLOAT_BYTES


def _from_data(values: tuple[Any, ...]) -> bool:
    return any(isinstance(v, ShapeArray) and v.from_data for v in values)


def _shape_of(value: Any) -> tuple[int, ...]:
    return value.shape if isinstance(value, ShapeArray) else ()


def _broadcast(shapes: list[tuple[int, ...]]) -> tuple[int, ...]:
    rank = max((len(s) for s in shapes), default=0)
    out = [1] * rank
    for shape in shapes:
        padded = (1,) * (rank - len(shape)) + shape
        out = [max(a, b) if 1 in (a, b) else a for a, b in zip(out, padded, strict=True)]
    return tuple(out)


def _elementwise(
    recorder: Recorder, function: str, operands: tuple[Any, ...], result_bool: bool
) -> ShapeArray:
    shape = _broadcast([_shape_of(v) for v in operands])
    itemsize = 1 if result_bool else FLOAT_BYTES
    out = ShapeArray(recorder, shape, itemsize, from_data=_from_data(operands))
    read = sum(v.stored_bytes() for v in operands if isinstance(v, ShapeArray))
    recorder.add(function, out.size, read + out.stored_bytes())
    return out


class ShapeModule:
    """The subset of the NumPy namespace the twin and its runtime call, on ShapeArrays."""

    float32 = "float32"

    def __init__(self, recorder: Recorder) -> None:
        """Record into ``recorder``."""
        self.recorder = recorder

    def _new(self, function: str, shape: Any, dtype: Any) -> ShapeArray:
        shape = tuple(shape) if isinstance(shape, tuple | list) else (int(shape),)
        out = ShapeArray(self.recorder, shape, _itemsize(dtype), from_data=False)
        self.recorder.add(function, out.size, out.stored_bytes())
        return out

    def full(self, shape: Any, value: Any, dtype: Any = None) -> ShapeArray:
        """Return a new filled array."""
        return self._new("full", shape, bool if dtype is bool else dtype)

    def zeros(self, shape: Any, dtype: Any = None) -> ShapeArray:
        """Return a new zero array."""
        return self._new("full", shape, dtype)

    def ones(self, shape: Any, dtype: Any = None) -> ShapeArray:
        """Return a new array of ones."""
        return self._new("full", shape, dtype)

    def arange(self, count: int) -> ShapeArray:
        """Return coordinates 0..count-1."""
        return self._new("full", (count,), None)

    def asarray(self, value: Any) -> ShapeArray:
        """Return ``value`` as an array (no copy for arrays)."""
        self.recorder.add("asarray", 0, 0)
        if isinstance(value, ShapeArray):
            return value
        return ShapeArray(self.recorder, (), 1, from_data=False)

    def array(self, value: Any) -> ShapeArray:
        """Return a materialised copy (a broadcast becomes full size)."""
        out = ShapeArray(self.recorder, value.shape, value.itemsize, from_data=value.from_data)
        self.recorder.add("copy", out.size, value.stored_bytes() + out.stored_bytes())
        return out

    def transpose(self, value: ShapeArray, order: Any) -> ShapeArray:
        """Return a transposed view."""
        self.recorder.add("transpose", 0, 0)
        shape = tuple(value.shape[i] for i in order)
        return ShapeArray(self.recorder, shape, value.itemsize, value.stored, value.from_data)

    def broadcast_to(self, value: Any, shape: Any) -> ShapeArray:
        """Return a broadcast view."""
        self.recorder.add("broadcast_to", 0, 0)
        if not isinstance(value, ShapeArray):
            return ShapeArray(self.recorder, tuple(shape), 1, 1, from_data=False)
        shape = tuple(shape)
        return ShapeArray(self.recorder, shape, value.itemsize, value.stored, value.from_data)

    def where(self, condition: Any, left: Any, right: Any) -> ShapeArray:
        """Select elementwise (``where_data`` when the mask was computed from data)."""
        result_bool = all(
            isinstance(v, bool) or (isinstance(v, ShapeArray) and v.itemsize == 1)
            for v in (left, right)
        )
        data_mask = isinstance(condition, ShapeArray) and condition.from_data
        function = "where_data" if data_mask else "where"
        return _elementwise(self.recorder, function, (condition, left, right), result_bool)

    def maximum(self, left: Any, right: Any) -> ShapeArray:
        """Elementwise maximum."""
        return _elementwise(self.recorder, "ufunc", (left, right), False)

    minimum = maximum

    def exp(self, value: Any) -> ShapeArray:
        """Elementwise exponential (priced at the exp rate)."""
        return _elementwise(self.recorder, "exp", (value,), False)

    log = sqrt = tanh = expm1 = exp

    def abs(self, value: Any) -> ShapeArray:
        """Elementwise absolute value."""
        return _elementwise(self.recorder, "ufunc", (value,), False)

    def power(self, left: Any, right: Any) -> ShapeArray:
        """Elementwise power (priced at the exp rate)."""
        return _elementwise(self.recorder, "exp", (left, right), False)

    def einsum(self, subscripts: str, left: ShapeArray, right: ShapeArray) -> ShapeArray:
        """Contract two operands; FLOPs are 2 per point of the joint iteration space."""
        inputs, output = subscripts.split("->")
        sizes: dict[str, int] = {}
        for letters, operand in zip(inputs.split(","), (left, right), strict=True):
            sizes.update(zip(letters, operand.shape, strict=True))
        out = ShapeArray(
            self.recorder, tuple(sizes[c] for c in output), FLOAT_BYTES, from_data=True
        )
        flops = 2 * math.prod(sizes.values())
        moved = left.stored_bytes() + right.stored_bytes() + out.stored_bytes()
        shapes = (left.shape, right.shape)
        self.recorder.add(
            "einsum", out.size, moved, flops=flops, subscripts=subscripts, shapes=shapes
        )
        return out

    def _reduce(self, value: ShapeArray, axis: Any, result_bool: bool) -> ShapeArray:
        axes = axis if isinstance(axis, tuple) else (axis,)
        axes = tuple(a % value.ndim for a in axes)
        shape = tuple(s for i, s in enumerate(value.shape) if i not in axes)
        itemsize = 1 if result_bool else FLOAT_BYTES
        out = ShapeArray(self.recorder, shape, itemsize, from_data=value.from_data)
        inner = math.prod(value.shape[a] for a in axes)
        moved = value.stored_bytes() + out.stored_bytes()
        self.recorder.add("reduce", value.size, moved, inner=inner)
        return out

    def sum(self, value: ShapeArray, axis: Any = None) -> ShapeArray:
        """Reduce with +."""
        return self._reduce(value, axis, False)

    prod = max = min = sum

    def any(self, value: ShapeArray, axis: Any = None) -> ShapeArray:
        """Reduce with logical or."""
        return self._reduce(value, axis, True)
