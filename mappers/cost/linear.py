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

import numpy as np

from einsum_cascade import load_cascade
from mappers.cost.linear_plan import (
    LINEAR_PLAN,
    LinearLayer,
    LinearPlan,
    check_plan_extents,
    load_linear_plan,
)
from mappers.cost.model import (
    DEFAULT_TABLE,
    CostModel,
    build_cost_model,
    evaluate_design_points,
    tiles_fit,
)
from mappers.hardware.spec import ArchSpec
from mappers.mapping.loader import load_mapping
from mappers.workloads import Workload

TOTALS = ("latency_s", "traffic_bytes", "energy_pj")


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
    check_plan_extents(plan, columns)
    shape = np.broadcast(*[np.asarray(v) for v in columns.values()]).shape
    cols = {k: np.broadcast_to(np.asarray(v, dtype=float), shape) for k, v in columns.items()}
    cascade = load_cascade(plan.cascade)
    models = [build_cost_model(cascade, spec, load_mapping(name), table) for name in plan.mappings]
    out = {key: np.zeros(shape) for key in TOTALS}
    for layer in plan.layers:
        extents = gemm_extents(plan, layer, cols)
        values = _first_fitting(models, extents, shape)
        for key in TOTALS:
            out[f"{key}_{layer.name}"] = values[key]
            out[key] = out[key] + values[key]
        out[f"mapping_{layer.name}"] = values["candidate"]
    return out


def gemm_extents(
    plan: LinearPlan, layer: LinearLayer, columns: Mapping[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Return one layer's GEMM extents ``M`` (rows), ``K`` and ``N`` from workload extents."""
    shape = np.broadcast(*[np.asarray(v) for v in columns.values()]).shape

    def product(names: tuple[str, ...]) -> np.ndarray:
        return np.broadcast_to(math.prod((columns[n] for n in names), start=1.0), shape)

    return {"M": product(plan.rows), "K": product(layer.contraction), "N": product(layer.columns)}


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


@dataclass(frozen=True, slots=True)
class LayerCost:
    """One linear layer at one point: its GEMM extents, the mapping used and its cost."""

    name: str
    mapping: str
    rows: int
    contraction: int
    columns: int
    latency_s: float
    traffic_bytes: float
    energy_pj: float


@dataclass(frozen=True, slots=True)
class LinearReport:
    """The linear layers of one transformer layer at one workload point; layers run in turn."""

    spec: str
    table: str
    workload: str
    seq_len: int
    layers: tuple[LayerCost, ...]

    @property
    def latency_s(self) -> float:
        """Return the summed latency of the layers."""
        return sum(layer.latency_s for layer in self.layers)

    @property
    def traffic_bytes(self) -> float:
        """Return the summed DRAM traffic of the layers."""
        return sum(layer.traffic_bytes for layer in self.layers)

    @property
    def energy_pj(self) -> float:
        """Return the summed energy of the layers."""
        return sum(layer.energy_pj for layer in self.layers)

    def to_dict(self) -> dict[str, object]:
        """Return a JSON-ready dictionary: totals, then one entry per layer."""
        return {
            "spec": self.spec,
            "table": self.table,
            "workload": self.workload,
            "seq_len": self.seq_len,
            "latency_s": self.latency_s,
            "traffic_bytes": self.traffic_bytes,
            "energy_pj": self.energy_pj,
            "layers": [
                {key: getattr(layer, key) for key in LayerCost.__dataclass_fields__}
                for layer in self.layers
            ],
        }


def estimate_linear_cost(
    spec: ArchSpec,
    workload: Workload,
    table: str = DEFAULT_TABLE,
    plan: LinearPlan | None = None,
) -> LinearReport:
    """Cost the linear layers of one workload point; see :func:`linear_layers_cost`.

    Raises:
        MappingError: M403 the plan uses an extent the workload lacks; M401 no mapping fits.
    """
    plan = plan or load_linear_plan()
    point = workload.extents()
    values = linear_layers_cost(spec, point, table, plan)
    columns = {k: np.asarray(float(v)) for k, v in point.items()}
    layers = []
    for layer in plan.layers:
        extents = {k: int(v) for k, v in gemm_extents(plan, layer, columns).items()}
        layers.append(
            LayerCost(
                name=layer.name,
                mapping=plan.mappings[int(values[f"mapping_{layer.name}"])],
                rows=extents["M"],
                contraction=extents["K"],
                columns=extents["N"],
                latency_s=float(values[f"latency_s_{layer.name}"]),
                traffic_bytes=float(values[f"traffic_bytes_{layer.name}"]),
                energy_pj=float(values[f"energy_pj_{layer.name}"]),
            )
        )
    return LinearReport(spec.name, table, workload.name, workload.seq_len, tuple(layers))


__all__ = [
    "LINEAR_PLAN",
    "LayerCost",
    "LinearLayer",
    "LinearPlan",
    "LinearReport",
    "estimate_linear_cost",
    "gemm_extents",
    "linear_layers_cost",
    "load_linear_plan",
]
