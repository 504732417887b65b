"""Array helpers the rendered NumPy twin calls: axis alignment and masked reductions.

Every function takes the array module ``xp`` (numpy, or cupy on a GPU) as its first argument.
"""

from __future__ import annotations

from typing import Any

IDENTITY = {"+": 0.0, "*": 1.0, "max": -float("inf"), "min": float("inf")}


def align(xp: Any, array: Any, source: tuple[str, ...], target: tuple[str, ...]) -> Any:
    """Transpose ``array`` (axes named ``source``) so it broadcasts against ``target``."""
    if isinstance(array, bool) or not hasattr(array, "ndim") or array.ndim == 0:
        return array
    order = sorted(range(len(source)), key=lambda i: target.index(source[i]))
    moved = xp.transpose(array, order) if order != list(range(len(source))) else array
    shape = [1] * len(target)
    for axis in order:
        shape[target.index(source[axis])] = array.shape[axis]
    return moved.reshape(shape)


def settle(
    xp: Any, array: Any, source: tuple[str, ...], target: tuple[str, ...], sizes: dict[str, int]
) -> Any:
    """Align ``array`` to ``target`` and broadcast it to the full target shape (a copy)."""
    shape = tuple(sizes[name] for name in target)
    if isinstance(array, bool):
        return xp.full(shape, array, dtype=bool)
    aligned = align(xp, xp.asarray(array), source, target) if source else xp.asarray(array)
    return xp.array(xp.broadcast_to(aligned, shape))


def combine(xp: Any, op: str, left: Any, right: Any) -> Any:
    """Combine two arrays with a reduce operator."""
    if op == "+":
        return left + right
    if op == "*":
        return left * right
    return xp.maximum(left, right) if op == "max" else xp.minimum(left, right)


def reduce(
    xp: Any, op: str, value: Any, present: Any, shape: tuple[int, ...], axes: tuple[int, ...]
) -> tuple[Any, Any]:
    """Reduce ``value`` over ``axes`` counting only present points; return (value, present)."""
    value = xp.broadcast_to(value, shape)
    present = xp.broadcast_to(xp.asarray(present), shape)
    masked = xp.where(present, value, IDENTITY[op])
    reducer = {"+": xp.sum, "*": xp.prod, "max": xp.max, "min": xp.min}[op]
    return reducer(masked, axis=axes), xp.any(present, axis=axes)


def contract(
    xp: Any, subscripts: str, left: Any, left_ok: Any, right: Any, right_ok: Any
) -> tuple[Any, Any]:
    """Sum-of-products over absent-aware operands with ``xp.einsum``; return (value, present)."""
    left_value = left if left_ok is True else xp.where(left_ok, left, 0.0)
    right_value = right if right_ok is True else xp.where(right_ok, right, 0.0)
    value = xp.einsum(subscripts, left_value, right_value)
    if left_ok is True and right_ok is True:
        return value, True
    left_mask = (
        xp.ones(left.shape, dtype=xp.float32) if left_ok is True else left_ok.astype(xp.float32)
    )
    right_mask = (
        xp.ones(right.shape, dtype=xp.float32) if right_ok is True else right_ok.astype(xp.float32)
    )
    return value, xp.einsum(subscripts, left_mask, right_mask) > 0
