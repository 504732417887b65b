"""Numeric spec parameters as symbols of the compiled cost model and as columns of points.

Every number of a spec that a sweep may vary (``clock_hz``, ``word_bytes``, each level's
``size_bytes``, ``bandwidth_bytes_per_s``, ``access_bits``, energies and area, each array's
shape, register energies and area) is a *parameter*: the compiled model reads it as a
column, so points that differ only in these numbers are evaluated in one vectorised call.
A vector field is split per dimension: ``pe2d.shape`` gives ``pe2d.shape.rows`` and
``pe2d.shape.cols``. A link's energy per word and bandwidth are parameters by its name
(``pe2d_pe1d.energy_pj_per_word``). Array dimensions and register energies enter the
symbolic forms as symbols (:func:`parameter_symbol`); the other parameters are used numerically.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from einsum_cascade.diagnostics import suggest
from mappers.errors import MappingError
from mappers.hardware.spec import ArchSpec, ComputeArray, Level, Link, LinkCost
from mappers.mapping.schema import DimRef, Quantity

if TYPE_CHECKING:
    import sympy

Column = NDArray[np.float64]
SPEC_FIELDS = ("clock_hz", "word_bytes")


def dim_parameter(array: str, dim: str) -> str:
    """Return the parameter name of one dimension of an array's shape (``pe2d.shape.rows``)."""
    return f"{array}.shape.{dim}"


def parameter_symbol(name: str) -> sympy.Symbol:
    """Return the symbol of a parameter: a positive integer for a shape dimension."""
    import sympy

    if ".shape." in name:
        return sympy.Symbol(name, positive=True, integer=True)
    return sympy.Symbol(name, real=True, nonnegative=True)


def dim_symbol(array: ComputeArray, dim: str) -> sympy.Symbol:
    """Return the symbol standing for the size of one named dimension of an array."""
    return parameter_symbol(dim_parameter(array.name, dim))


def _numeric(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _part_fields(part: ComputeArray | Level | Link) -> dict[str, float]:
    values: dict[str, float] = {}
    for item in dataclasses.fields(part):
        current = getattr(part, item.name)
        if _numeric(current):
            values[f"{part.name}.{item.name}"] = float(current)
        elif isinstance(part, ComputeArray) and item.name == "shape":
            for dim, size in zip(part.dims, part.shape, strict=True):
                values[dim_parameter(part.name, dim)] = float(size)
    return values


def parameter_defaults(spec: ArchSpec) -> dict[str, float]:
    """Return every scalar parameter of the spec by name, vector fields split per dimension."""
    return dict(_defaults(spec))


@functools.lru_cache(maxsize=256)
def _defaults(spec: ArchSpec) -> tuple[tuple[str, float], ...]:
    # Memoized: every evaluation of a compiled model reads the defaults of its spec.
    values = {name: float(getattr(spec, name)) for name in SPEC_FIELDS}
    for level in spec.levels:
        values.update(_part_fields(level))
    for array in spec.arrays:
        values.update(_part_fields(array))
    for link in spec.links:
        values.update(_part_fields(link))
    return tuple(values.items())


def vector_parameters(spec: ArchSpec) -> dict[str, tuple[str, ...]]:
    """Return each vector parameter with the scalar parameters it splits into."""
    return {f"{a.name}.shape": tuple(dim_parameter(a.name, d) for d in a.dims) for a in spec.arrays}


def parameter_names(spec: ArchSpec) -> tuple[str, ...]:
    """Return the names a point may set: scalar parameters and whole vectors, sorted."""
    return tuple(sorted({*parameter_defaults(spec), *vector_parameters(spec)}))


def is_parameter(spec: ArchSpec, name: str) -> bool:
    """Return True when ``name`` is a parameter (scalar or vector) of ``spec``."""
    return name in parameter_defaults(spec) or name in vector_parameters(spec)


def table_overrides(spec: ArchSpec, table: str) -> dict[str, float]:
    """Return the parameters a spec's cost table fixes whatever a point sets (registers,
    link energies)."""
    fixed: dict[str, float] = {}
    for entry in dict(spec.cost_tables).get(table, ()):
        if isinstance(entry, LinkCost):
            fixed[f"{entry.link}.energy_pj_per_word"] = entry.energy_pj_per_word
            continue
        if entry.read_energy_pj is not None:
            fixed[f"{entry.array}.register_read_energy_pj"] = entry.read_energy_pj
        if entry.write_energy_pj is not None:
            fixed[f"{entry.array}.register_write_energy_pj"] = entry.write_energy_pj
    return fixed


def split_columns(
    spec: ArchSpec, columns: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split point columns into (extents, parameters); vectors become one column per dimension.

    A vector parameter is given as an array whose last axis runs over the dimensions.

    Raises:
        MappingError: M404 for a dotted name that is no parameter of the spec, or a vector
            with the wrong number of dimensions.
    """
    scalars, vectors = parameter_defaults(spec), vector_parameters(spec)
    extents: dict[str, Any] = {}
    parameters: dict[str, Any] = {}
    for name, values in columns.items():
        if name in scalars:
            parameters[name] = values
        elif name in vectors:
            array = np.asarray(values, dtype=float)
            parts = vectors[name]
            if array.ndim == 0 or array.shape[-1] != len(parts):
                raise MappingError.single(
                    "M404",
                    f"parameter '{name}' needs {len(parts)} values per point "
                    f"({', '.join(p.rsplit('.', 1)[1] for p in parts)}), got array of shape "
                    f"{array.shape}",
                    spec.span_of(f"arrays.{name.split('.')[0]}.shape"),
                )
            for index, part in enumerate(parts):
                parameters[part] = array[..., index]
        elif "." in name:
            raise MappingError.single(
                "M404",
                f"'{name}' is no parameter of spec '{spec.name}'",
                None,
                suggest(name, parameter_names(spec))
                or "parameters: " + ", ".join(parameter_names(spec)),
            )
        else:
            extents[name] = values
    return extents, parameters


def parameter_columns(
    spec: ArchSpec, table: str, given: Mapping[str, Any], shape: tuple[int, ...]
) -> dict[str, Column]:
    """Return every parameter as a column of ``shape``: given, else the spec's value.

    The spec's cost table is applied last, as it is to a spec with the given values.
    """
    values: dict[str, Any] = {**parameter_defaults(spec), **given, **table_overrides(spec, table)}
    return {k: broadcast_column(v, shape) for k, v in values.items()}


def broadcast_column(value: Any, shape: tuple[int, ...]) -> Column:
    """Return ``value`` as a read-only float array of ``shape``, without copying.

    The same as ``np.broadcast_to(np.asarray(value, dtype=float), shape)``, several times
    faster for the scalars most columns are (models are evaluated thousands of times).
    """
    array = np.asarray(value, dtype=float)
    if array.ndim == 0:
        out = np.ndarray(shape, dtype=float, buffer=array.reshape(1), strides=(0,) * len(shape))
        out.flags.writeable = False
        return out
    return np.broadcast_to(array, shape)


def quantity_column(columns: Mapping[str, Any], value: Quantity) -> Any:
    """Return what a mapping quantity stands for per point (an array dimension or a number)."""
    if isinstance(value, DimRef):
        return columns[dim_parameter(value.array, value.dim)]
    return float(value)


def num_pes(array: ComputeArray, columns: Mapping[str, Any]) -> Any:
    """Return the PE count of an array per point (the product of its dimension columns)."""
    total: Any = 1.0
    for dim in array.dims:
        total = total * columns[dim_parameter(array.name, dim)]
    return total


def area_parts_um2(spec: ArchSpec, columns: Mapping[str, Any]) -> dict[str, Any]:
    """Return the area per point of every array's PEs and every level, by name.

    A level's area is its fixed ``area_um2`` plus ``area_um2_per_byte`` times its size.
    """
    parts: dict[str, Any] = {}
    for array in spec.arrays:
        parts[array.name] = columns[f"{array.name}.area_um2_per_pe"] * num_pes(array, columns)
    for level in spec.levels:
        size = columns.get(f"{level.name}.size_bytes", 0.0)
        per_byte = columns[f"{level.name}.area_um2_per_byte"]
        parts[level.name] = columns[f"{level.name}.area_um2"] + per_byte * size
    return parts


def area_um2(spec: ArchSpec, columns: Mapping[str, Any]) -> Any:
    """Return the area per point: every array's PEs plus every level."""
    total: Any = 0.0
    for part in area_parts_um2(spec, columns).values():
        total = total + part
    return total


def symbol_values(spec: ArchSpec, table: str) -> dict[sympy.Symbol, float]:
    """Return the value of every parameter symbol at the spec's own numbers (table applied)."""
    values = {**parameter_defaults(spec), **table_overrides(spec, table)}
    return {parameter_symbol(k): v for k, v in values.items()}
