"""Design-space sweeps: sweep specs, point expansion, evaluators, executors, crash-safe Parquet
stores, Pareto fronts and plots.

Names are imported on first use, so that running a sweep loads neither pandas nor
Matplotlib (only ``pareto``, the plots and reading results as a frame need pandas).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from einsum_cascade.exports import lazy_exports

if TYPE_CHECKING:
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

_EXPORTS = {
    "SweepError": "mappers.sweep.errors",
    "evaluator_names": "mappers.sweep.evaluators",
    "get_evaluator": "mappers.sweep.evaluators",
    "register_evaluator": "mappers.sweep.evaluators",
    "pareto": "mappers.sweep.pareto",
    "PlotRequest": "mappers.sweep.plots",
    "plot_results": "mappers.sweep.plots",
    "save_figure": "mappers.sweep.plots",
    "evaluate_sweep": "mappers.sweep.run",
    "run_sweep": "mappers.sweep.run",
    "Axis": "mappers.sweep.spec",
    "SweepSpec": "mappers.sweep.spec",
    "axis_from_option": "mappers.sweep.spec",
    "check_sweep": "mappers.sweep.spec",
    "load_sweep": "mappers.sweep.spec",
    "sweep_from_text": "mappers.sweep.spec",
    "with_options": "mappers.sweep.spec",
    "read_results": "mappers.sweep.store",
}


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
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
