"""Accelerator models: architecture specs, mappings, workloads and the cost model.

Public entry points: :func:`load_spec`, :func:`load_mapping`, :func:`get_workload`,
:func:`estimate_cost`, :func:`evaluate_design_points`, :func:`estimate_linear_cost`,
:func:`linear_layers_cost` and :func:`reproduce_fusemax`. How the model reproduces the
FuseMax artifact, and how its headline moves under consistent costs: ``docs/model.md``.
Imports are lazy so that ``import mappers`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "ArchSpec": "mappers.spec",
    "ComputeArray": "mappers.spec",
    "Level": "mappers.spec",
    "OpCost": "mappers.spec",
    "load_spec": "mappers.spec_loader",
    "spec_from_text": "mappers.spec_loader",
    "Mapping": "mappers.mapping",
    "load_mapping": "mappers.mapping_loader",
    "mapping_from_text": "mappers.mapping_loader",
    "Workload": "mappers.workloads",
    "get_workload": "mappers.workloads",
    "parse_seq": "mappers.workloads",
    "CostModel": "mappers.cost",
    "CostReport": "mappers.cost",
    "build_cost_model": "mappers.cost",
    "estimate_cost": "mappers.cost",
    "evaluate_design_points": "mappers.cost",
    "LinearReport": "mappers.linear",
    "estimate_linear_cost": "mappers.linear",
    "linear_layers_cost": "mappers.linear",
    "load_linear_plan": "mappers.linear_plan",
    "tiles_fit": "mappers.cost",
    "import_timeloop_arch": "mappers.timeloop_import",
    "timeloop_documents": "mappers.timeloop_export",
    "write_timeloop": "mappers.timeloop_export",
    "reproduce_fusemax": "mappers.reproduce",
    "SpecError": "mappers.errors",
    "MappingError": "mappers.errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    """Import public names on first use."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'mappers' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
