"""Accelerator models: specs, mappings, workloads, the cost model, search, sweeps and FuseMax.

Public entry points: :func:`load_spec`, :func:`load_mapping`, :func:`get_workload`,
:func:`estimate_cost`, :func:`evaluate_design_points`, :func:`estimate_linear_cost`,
:func:`linear_layers_cost` and :func:`reproduce_fusemax`. How the model reproduces the
FuseMax artifact, and how its headline moves under consistent costs: ``docs/model.md``.
Imports are lazy so that ``import mappers`` stays cheap.
"""

from __future__ import annotations

from einsum_cascade.exports import lazy_exports

_EXPORTS = {
    "ArchSpec": "mappers.hardware",
    "ComputeArray": "mappers.hardware",
    "Level": "mappers.hardware",
    "OpCost": "mappers.hardware",
    "load_spec": "mappers.hardware",
    "spec_from_text": "mappers.hardware",
    "Mapping": "mappers.mapping",
    "load_mapping": "mappers.mapping",
    "mapping_from_text": "mappers.mapping",
    "Workload": "mappers.workloads",
    "get_workload": "mappers.workloads",
    "parse_seq": "mappers.workloads",
    "CostModel": "mappers.cost",
    "CostReport": "mappers.cost",
    "build_cost_model": "mappers.cost",
    "estimate_cost": "mappers.cost",
    "evaluate_costs": "mappers.cost",
    "evaluate_design_points": "mappers.cost",
    "Costs": "mappers.cost",
    "LinearReport": "mappers.cost",
    "estimate_linear_cost": "mappers.cost",
    "linear_layers_cost": "mappers.cost",
    "load_linear_plan": "mappers.cost",
    "tiles_fit": "mappers.cost",
    "import_timeloop_arch": "mappers.timeloop",
    "timeloop_documents": "mappers.timeloop",
    "write_timeloop": "mappers.timeloop",
    "reproduce_fusemax": "mappers.fusemax",
    "SpecError": "mappers.errors",
    "MappingError": "mappers.errors",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
