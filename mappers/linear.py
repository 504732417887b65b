"""The linear layers of a transformer layer (the end-to-end model): GEMMs costed as data.

The layers, their shapes and the candidate mappings are listed in
``mappers/data/linear-layers.yaml``; each layer is the ``gemm`` cascade with extents
``M`` (rows), ``K`` (contraction) and ``N`` (columns) computed from a workload's extents.
Per layer and point, the first candidate mapping whose tiles fit the buffer is used, and
the layers run one after another.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from mappers.cascades import load_cascade
from mappers.cost import (
    DEFAULT_TABLE,
    CostModel,
    build_cost_model,
    evaluate_design_points,
    tiles_fit,
)
from mappers.mapping_loader import load_mapping
from mappers.spec import ArchSpec

LINEAR_PLAN = Path(__file__).resolve().parent / "data" / "linear-layers.yaml"
TOTALS = ("latency_s", "traffic_bytes", "energy_pj")


@dataclass(frozen=True, slots=True)
class LinearLayer:
    """One GEMM: its name and the workload extents whose products give K and N."""

    name: str
    contraction: tuple[str, ...]
    columns: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class LinearPlan:
    """The GEMMs of one layer, the cascade costing each, and the candidate mappings."""

    cascade: str
    mappings: tuple[str, ...]
    rows: tuple[str, ...]
    layers: tuple[LinearLayer, ...]


def load_linear_plan(path: Path = LINEAR_PLAN) -> LinearPlan:
    """Read a linear-layer plan (the default: the FuseMax evaluation's six GEMMs)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return LinearPlan(
        cascade=data["cascade"],
        mappings=tuple(data["mappings"]),
        rows=tuple(data["rows"]),
        layers=tuple(
            LinearLayer(entry["name"], tuple(entry["K"]), tuple(entry["N"]))
            for entry in data["layers"]
        ),
    )


def linear_layers_cost(
    spec: ArchSpec,
    columns: Mapping[str, np.ndarray | float | int],
    table: str = DEFAULT_TABLE,
    plan: LinearPlan | None = None,
) -> dict[str, np.ndarray]:
    """Cost the linear layers of one transformer layer at many workload points at once.

    Args:
        spec: the architecture the GEMMs run on (its 2D array and buffer).
        columns: one array or scalar per workload extent the plan uses (``B``, ``P``,
            ``D``, ``E``, ``F``, ``H``, ``S`` for the default plan); broadcast together.
        table: the cost table (the GEMM mappings define none, so every table is the
            spec's own costs).
        plan: the layers; default :func:`load_linear_plan`.

    Returns:
        Arrays ``latency_s``, ``traffic_bytes`` and ``energy_pj`` summed over the layers,
        the same three per layer (``latency_s_FFN1``...), and ``mapping_<layer>``: the
        position in ``plan.mappings`` of the mapping each point used.

    Raises:
        MappingError: M401 when no candidate mapping fits a layer at some point.
    """
    plan = plan or load_linear_plan()
    shape = np.broadcast(*[np.asarray(v) for v in columns.values()]).shape
    cols = {k: np.broadcast_to(np.asarray(v, dtype=float), shape) for k, v in columns.items()}
    cascade = load_cascade(plan.cascade)
    models = [build_cost_model(cascade, spec, load_mapping(name), table) for name in plan.mappings]
    rows = math.prod(cols[r] for r in plan.rows)
    out = {key: np.zeros(shape) for key in TOTALS}
    for layer in plan.layers:
        extents = {
            "M": np.broadcast_to(rows, shape),
            "K": np.broadcast_to(math.prod(cols[r] for r in layer.contraction), shape),
            "N": np.broadcast_to(math.prod(cols[r] for r in layer.columns), shape),
        }
        values = _first_fitting(models, extents, shape)
        for key in TOTALS:
            out[f"{key}_{layer.name}"] = values[key]
            out[key] = out[key] + values[key]
        out[f"mapping_{layer.name}"] = values["candidate"]
    return out


def _first_fitting(
    models: list[CostModel], extents: dict[str, np.ndarray], shape: tuple[int, ...]
) -> dict[str, np.ndarray]:
    """Evaluate each point with the first model whose tiles fit; the last one reports misfits."""
    out = {key: np.zeros(shape) for key in TOTALS}
    out["candidate"] = np.full(shape, -1)
    left = np.ones(shape, dtype=bool)
    for position, model in enumerate(models):
        last = position == len(models) - 1
        take = left if last else left & tiles_fit(model, extents)
        if not take.any():
            continue
        values = evaluate_design_points(model, {k: v[take] for k, v in extents.items()})
        for key in TOTALS:
            out[key][take] = values[key]
        out["candidate"][take] = position
        left &= ~take
    return out
