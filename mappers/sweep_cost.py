"""The ``cost`` sweep evaluator: the accelerator cost model, vectorised over design points.

Settings (base, configs or text axes): ``mapping`` (built-in name or path, required),
``spec`` and ``cascade`` (override the mapping's), ``workload`` (a built-in model giving
B, H, E, F, D, S) and ``table`` (the cost table). Numeric axes: ``seq`` (sets M and P),
extents by rank name (``B``, ``H``, ``E``...), and spec parameters by dotted path:
``clock_hz``, ``<array>.shape``, ``<array>.register_words_per_pe``, ``<level>.size_bytes``,
``<level>.bandwidth_bytes_per_s`` and the other numeric fields of arrays and levels.

Points sharing spec parameters (and the mapping variant their sequence length selects)
share one compiled model (sympy built once, cached), evaluated on all of them in one call.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from einsum_cascade import Cascade, library
from einsum_cascade.diagnostics import suggest
from mappers.cost import DEFAULT_TABLE, build_cost_model, evaluate_design_points
from mappers.mapping import Mapping as CostMapping
from mappers.mapping_loader import load_mapping
from mappers.spec import ArchSpec
from mappers.spec_loader import load_spec
from mappers.sweep_errors import SweepError
from mappers.sweep_points import PointGroup
from mappers.workloads import get_workload

SEQ = "seq"
_SPEC_FIELDS = ("clock_hz", "word_bytes")


def evaluate_cost(group: PointGroup, columns: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Cost every point of ``group``: one model per distinct spec, all points vectorised.

    Returns:
        The cost model's metrics (``latency_s``, ``energy_pj``, ``traffic_bytes``,
        ``util_<array>``...) plus ``area_um2``, one value per point.

    Raises:
        SweepError: SW306 without a mapping setting, SW307 for an axis that is neither an
            extent nor a spec parameter; the cost model's own errors pass through.
    """
    mapping_name = group.get("mapping")
    if mapping_name is None:
        raise SweepError.single(
            "SW306",
            "the cost evaluator needs a 'mapping' setting",
            None,
            "add 'mapping: fusemax-binding' (or a path) under base or a config",
        )
    count = len(next(iter(columns.values()))) if columns else 1
    workload = group.get("workload")
    fixed = dict(get_workload(workload, 1024).extents()) if workload else {}
    extents: dict[str, np.ndarray] = {k: np.full(count, v) for k, v in fixed.items()}
    parameters: dict[str, np.ndarray] = {}
    for name, values in columns.items():
        if name == SEQ:
            extents["M"] = extents["P"] = values
        elif name.isupper() or (name[:1].isupper() and name[1:].isdigit()):
            extents[name] = values
        else:
            parameters[name] = values
    mapping_keys, mappings = _mappings(group, mapping_name, columns.get(SEQ), count)
    flat = [v.reshape(count, -1) for v in parameters.values()]
    keys = np.column_stack([mapping_keys, *flat]) if count else np.zeros((0, 1 + len(flat)))
    unique, inverse = np.unique(keys, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    out: dict[str, np.ndarray] = {}
    for index, row in enumerate(unique if count else np.zeros((1, keys.shape[1]))):
        mapping = mappings[int(row[0])]
        spec = _with_parameters(_spec(group, mapping), parameters, row[1:])
        model = build_cost_model(
            _cascade(group, mapping), spec, mapping, group.get("table") or DEFAULT_TABLE
        )
        chosen = inverse == index if count else np.zeros(0, dtype=bool)
        metrics = evaluate_design_points(model, {k: v[chosen] for k, v in extents.items()})
        metrics["area_um2"] = np.full(int(chosen.sum()), spec.area_um2)
        for name, values in metrics.items():
            target = out.setdefault(name, np.full(count, np.nan))
            target[chosen] = values
    return out


def _mappings(
    group: PointGroup, name: str, seq: np.ndarray | None, count: int
) -> tuple[np.ndarray, list[CostMapping]]:
    workload = group.get("workload")
    path = _resolve(group, name)
    if seq is None:
        return np.zeros(count), [_load_mapping(path, workload, None)]
    values, inverse = np.unique(seq, return_inverse=True)
    per_value = [_load_mapping(path, workload, int(v)) for v in values]
    distinct = list(dict.fromkeys(per_value))
    index = np.array([distinct.index(m) for m in per_value], dtype=float)
    return index[inverse.reshape(-1)], distinct


def _resolve(group: PointGroup, name: str) -> str:
    candidate = Path(group.base_dir) / name
    return str(candidate) if candidate.exists() else name


@functools.lru_cache(maxsize=256)
def _load_mapping(path: str, workload: str | None, seq: int | None) -> CostMapping:
    return load_mapping(path, workload, seq)


@functools.lru_cache(maxsize=64)
def _load_spec(name: str) -> ArchSpec:
    return load_spec(name)


@functools.lru_cache(maxsize=64)
def _load_cascade(name: str) -> Cascade:
    return library.load(name) if library.exists(name) else Cascade.from_file(name)


def _spec(group: PointGroup, mapping: CostMapping) -> ArchSpec:
    name = group.get("spec") or mapping.spec
    if name is None:
        raise SweepError.single("SW306", f"mapping '{mapping.name}' names no spec; set 'spec'")
    return _load_spec(_resolve(group, name))


def _cascade(group: PointGroup, mapping: CostMapping) -> Cascade:
    return _load_cascade(_resolve(group, group.get("cascade") or mapping.cascade))


def _with_parameters(
    spec: ArchSpec, parameters: Mapping[str, np.ndarray], row: np.ndarray
) -> ArchSpec:
    offset = 0
    for name, values in parameters.items():
        width = int(np.prod(values.shape[1:], dtype=int))
        value = row[offset : offset + width]
        offset += width
        spec = _set_parameter(spec, name, value)
    return spec


def _set_parameter(spec: ArchSpec, name: str, value: np.ndarray) -> ArchSpec:
    target: Any
    if name in _SPEC_FIELDS:
        return dataclasses.replace(spec, **{name: _like(getattr(spec, name), value)})
    owner, _, field = name.partition(".")
    parts = {a.name: a for a in spec.arrays} | {level.name: level for level in spec.levels}
    target = parts.get(owner)
    numeric = _numeric_fields(target) if target is not None else ()
    if target is None or field not in numeric:
        valid = sorted(
            {*_SPEC_FIELDS, *(f"{p}.{f}" for p, o in parts.items() for f in _numeric_fields(o))}
        )
        raise SweepError.single(
            "SW307",
            f"axis '{name}' is neither an extent, 'seq' nor a parameter of spec '{spec.name}'",
            None,
            suggest(name, valid) or "spec parameters: " + ", ".join(valid),
        )
    updated = dataclasses.replace(target, **{field: _like(getattr(target, field), value)})
    return (
        spec.replace_array(updated)
        if owner in {a.name for a in spec.arrays}
        else spec.replace_level(updated)
    )


def _numeric_fields(part: Any) -> tuple[str, ...]:
    names = []
    for item in dataclasses.fields(part):
        current = getattr(part, item.name)
        scalar = isinstance(current, int | float) and not isinstance(current, bool)
        vector = isinstance(current, tuple) and all(isinstance(v, int | float) for v in current)
        if scalar or (vector and current):
            names.append(item.name)
    return tuple(names)


def _like(current: Any, value: np.ndarray) -> Any:
    if isinstance(current, tuple):
        return tuple(type(c)(v) for c, v in zip(current, value, strict=False))
    return type(current)(value[0]) if current is not None else float(value[0])
