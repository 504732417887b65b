"""Bind numeric extents: from keyword values, rank defaults and input array shapes.

NumPy and sympy are imported by the functions that use them: the checker reads only
``MAX_EXTENT`` here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from einsum_cascade.diagnostics import suggest
from einsum_cascade.errors import ShapeError
from einsum_cascade.ir import Cascade, Tensor

if TYPE_CHECKING:
    import numpy as np

MAX_EXTENT = 2**40
"""The largest extent, and the largest number in an index, a cascade may use (about 10^12):
larger values cannot index an array and would overflow the interpreter's int64 coordinates."""


def resolve_extents(cascade: Cascade, given: Mapping[str, int]) -> dict[str, int]:
    """Return every rank's numeric extent from ``given`` free extents and defaults.

    Raises:
        ShapeError: for an unknown rank, a missing free extent, or a non-positive extent.
    """
    import sympy

    for name in given:
        if not cascade.has_rank(name):
            raise ShapeError.single(
                "E401",
                f"'{name}' is not a rank of cascade '{cascade.name}'",
                None,
                suggest(name, [r.name for r in cascade.ranks]),
            )
    extents: dict[str, int] = {}
    for rank in cascade.free_ranks:
        value = given.get(rank.name, rank.default)
        if value is None:
            raise ShapeError.single(
                "E402",
                f"no extent for rank '{rank.name}'",
                None,
                f"pass {rank.name}=... or an input that has rank {rank.name}",
            )
        extents[rank.name] = _positive(rank.name, value)
    substitutions = {sympy.Symbol(k, integer=True, positive=True): v for k, v in extents.items()}
    for rank in cascade.ranks:
        if rank.is_derived:
            expression = cascade.extent(rank.name)
            value = sympy.ceiling(expression.xreplace(substitutions))
            if not (value.is_integer and value.is_finite):
                from einsum_cascade.printer import format_index

                used = {s.name for s in expression.free_symbols}
                at = ", ".join(f"{k}={v}" for k, v in extents.items() if k in used)
                raise ShapeError.single(
                    "E404",
                    f"derived extent {rank.name} = {format_index(expression)} is not a "
                    f"number at {at}",
                    None,
                    "a derived extent must not divide by zero",
                )
            extents[rank.name] = _positive(rank.name, int(value))
            if rank.name in given and given[rank.name] != extents[rank.name]:
                raise ShapeError.single(
                    "E403",
                    f"rank '{rank.name}' is derived as {extents[rank.name]} but "
                    f"{given[rank.name]} was given",
                    None,
                )
    return extents


def _positive(name: str, value: Any) -> int:
    import numpy as np

    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value <= 0:
        raise ShapeError.single("E404", f"extent {name}={value!r} is not a positive integer", None)
    if value > MAX_EXTENT:
        raise ShapeError.single(
            "E404", f"extent {name}={value} is larger than 2^40 = {MAX_EXTENT:,}", None
        )
    return int(value)


def bind_extents(
    cascade: Cascade, arguments: Mapping[str, Any]
) -> tuple[dict[str, np.ndarray[Any, Any]], dict[str, int]]:
    """Split keyword arguments into input arrays and extents, inferring free extents.

    Raises:
        ShapeError: for a missing or unknown input, or shapes that disagree.
    """
    import numpy as np

    inputs: dict[str, Tensor] = {t.name: t for t in cascade.inputs}
    arrays: dict[str, np.ndarray[Any, Any]] = {}
    given: dict[str, int] = {}
    for name, value in arguments.items():
        if name in inputs:
            arrays[name] = np.asarray(value)
        elif cascade.has_rank(name):
            given[name] = value
        else:
            raise ShapeError.single(
                "E401",
                f"'{name}' is neither an input nor a rank of cascade '{cascade.name}'",
                None,
                suggest(name, [*inputs, *(r.name for r in cascade.ranks)]),
            )
    missing = [n for n in inputs if n not in arrays]
    if missing:
        raise ShapeError.single(
            "E405", f"missing input{'s' if len(missing) > 1 else ''}: {', '.join(missing)}", None
        )
    inferred: dict[str, tuple[int, str]] = {}
    for name, array in arrays.items():
        tensor = inputs[name]
        if array.ndim != len(tensor.ranks):
            raise ShapeError.single(
                "E406",
                f"input {name} has {array.ndim} dimensions but ranks [{', '.join(tensor.ranks)}]",
                None,
            )
        for rank_name, size in zip(tensor.ranks, array.shape, strict=True):
            rank = str(rank_name)
            if rank in given and given[rank] != size:
                raise ShapeError.single(
                    "E406",
                    f"input {name} has {rank} = {size} but {rank} = {given[rank]} was given",
                    None,
                )
            if rank in inferred and inferred[rank][0] != size:
                other_size, other = inferred[rank]
                raise ShapeError.single(
                    "E406", f"rank {rank} is {size} in {name} but {other_size} in {other}", None
                )
            inferred[rank] = (size, name)
    free = {r.name for r in cascade.free_ranks}
    for rank, (size, _) in inferred.items():
        if rank in free:
            given.setdefault(rank, size)
    extents = resolve_extents(cascade, given)
    for rank, (size, name) in inferred.items():
        if extents[rank] != size:
            raise ShapeError.single(
                "E406", f"input {name} has {rank} = {size} but {rank} is {extents[rank]}", None
            )
    return arrays, extents
