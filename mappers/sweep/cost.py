"""The ``cost`` sweep evaluator: the accelerator cost model, vectorised over design points.

Settings (base, configs or text axes): ``mapping`` (built-in name or path, required),
``spec`` and ``cascade`` (override the mapping's), ``workload`` (a built-in model giving
B, H, E, F, D, S) and ``table`` (the cost table). Numeric axes: ``seq`` (sets M and P),
extents by rank name (``B``, ``H``, ``E``...), and spec parameters by dotted path:
``clock_hz``, ``<array>.shape``, ``<array>.register_words_per_pe``, ``<level>.size_bytes``,
``<level>.bandwidth_bytes_per_s`` and the other numeric fields of arrays and levels.

The spec parameters are symbols of the compiled model (:mod:`mappers.cost.parameters`):
points sharing the mapping variant their sequence length selects share one compiled model
(sympy built once, cached), evaluated on all of them in one call whatever their PE shapes,
buffer sizes, clock or bandwidth. The discrete choices that follow from those numbers (the
largest tile that fits a buffer) are made per distinct value inside that call.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from einsum_cascade import Cascade, load_cascade
from einsum_cascade.diagnostics import suggest
from mappers.cost.model import DEFAULT_TABLE, build_cost_model, evaluate_design_points
from mappers.cost.parameters import (
    area_um2,
    is_parameter,
    parameter_columns,
    parameter_names,
    split_columns,
)
from mappers.hardware.spec import ArchSpec
from mappers.hardware.spec_loader import load_spec
from mappers.mapping.loader import load_mapping
from mappers.mapping.schema import Mapping as CostMapping
from mappers.sweep.errors import SweepError
from mappers.sweep.points import PointGroup
from mappers.workloads import get_workload

SEQ = "seq"


def evaluate_cost(group: PointGroup, columns: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Cost every point of ``group``: one model per mapping variant, all points vectorised.

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
    out: dict[str, np.ndarray] = {}
    for index, mapping in enumerate(mappings):
        spec = _spec(group, mapping)
        _check_parameters(spec, parameters)
        model = build_cost_model(
            _cascade(group, mapping), spec, mapping, group.get("table") or DEFAULT_TABLE
        )
        chosen = mapping_keys == index
        if count and not chosen.any():
            continue
        points = {k: v[chosen] for k, v in (extents | parameters).items()}
        metrics = evaluate_design_points(model, points)
        split = split_columns(spec, {k: v for k, v in points.items() if k in parameters})[1]
        params = parameter_columns(spec, model.table, split, (int(chosen.sum()),))
        metrics["area_um2"] = np.asarray(area_um2(spec, params), dtype=float)
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
    return load_cascade(name)


def _spec(group: PointGroup, mapping: CostMapping) -> ArchSpec:
    name = group.get("spec") or mapping.spec
    if name is None:
        raise SweepError.single("SW306", f"mapping '{mapping.name}' names no spec; set 'spec'")
    return _load_spec(_resolve(group, name))


def _cascade(group: PointGroup, mapping: CostMapping) -> Cascade:
    return _load_cascade(_resolve(group, group.get("cascade") or mapping.cascade))


def _check_parameters(spec: ArchSpec, parameters: Mapping[str, np.ndarray]) -> None:
    valid = parameter_names(spec)
    for name in parameters:
        if not is_parameter(spec, name):
            raise SweepError.single(
                "SW307",
                f"axis '{name}' is neither an extent, 'seq' nor a parameter of spec '{spec.name}'",
                None,
                suggest(name, valid) or "spec parameters: " + ", ".join(valid),
            )
