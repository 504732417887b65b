"""The cost model: (cascade, spec, mapping, cost table) to latency, utilisation, traffic, energy
and area, symbolic once and vectorised over design points.
"""

from mappers.cost.linear import LinearReport, estimate_linear_cost, linear_layers_cost
from mappers.cost.linear_plan import LinearLayer, linear_plan_from_text, load_linear_plan
from mappers.cost.model import (
    DEFAULT_TABLE,
    CostModel,
    CostReport,
    build_cost_model,
    estimate_cost,
    evaluate_costs,
    evaluate_design_points,
    tiles_fit,
)
from mappers.cost.pipeline import Pipeline
from mappers.cost.report import ArrayCosts, Costs, EinsumCosts, LevelCosts

__all__ = [
    "DEFAULT_TABLE",
    "ArrayCosts",
    "CostModel",
    "CostReport",
    "Costs",
    "EinsumCosts",
    "LevelCosts",
    "LinearLayer",
    "LinearReport",
    "Pipeline",
    "build_cost_model",
    "estimate_cost",
    "estimate_linear_cost",
    "evaluate_costs",
    "evaluate_design_points",
    "linear_layers_cost",
    "linear_plan_from_text",
    "load_linear_plan",
    "tiles_fit",
]
