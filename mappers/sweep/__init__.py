"""Design-space sweeps: sweep specs, point expansion, evaluators, executors, crash-safe Parquet
stores, Pareto fronts and plots.
"""

from mappers.sweep.errors import SweepError
from mappers.sweep.evaluators import evaluator_names, get_evaluator, register_evaluator
from mappers.sweep.pareto import pareto
from mappers.sweep.plots import PlotRequest, plot_results, save_figure
from mappers.sweep.run import evaluate_sweep, run_sweep
from mappers.sweep.spec import (
    Axis,
    SweepSpec,
    axis_from_option,
    check_sweep,
    load_sweep,
    sweep_from_text,
    with_options,
)
from mappers.sweep.store import read_results

__all__ = [
    "Axis",
    "PlotRequest",
    "SweepError",
    "SweepSpec",
    "axis_from_option",
    "check_sweep",
    "evaluate_sweep",
    "evaluator_names",
    "get_evaluator",
    "load_sweep",
    "pareto",
    "plot_results",
    "read_results",
    "register_evaluator",
    "run_sweep",
    "save_figure",
    "sweep_from_text",
    "with_options",
]
