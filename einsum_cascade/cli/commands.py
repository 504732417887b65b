"""The command table: each top-level command, the module that defines it and its one-line help.

``einsum-cascade --help`` lists the commands from this table without importing their
modules; a command's module is imported only when that command runs. A test keeps the
table equal to what the modules register.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CommandEntry:
    """One top-level command: its name, its ``cmd_*`` module and its one-line help."""

    name: str
    module: str
    help: str


COMMANDS: tuple[CommandEntry, ...] = (
    CommandEntry(
        "calibrate",
        "cmd_compare",
        "Measure this host (1 thread and all cores, and the CUDA shim) and write a CPU spec.",
    ),
    CommandEntry(
        "compare",
        "cmd_compare",
        "Run kernels over a shape sweep, model each point, and report the error distribution.",
    ),
    CommandEntry(
        "check",
        "cmd_language",
        "Parse and check a cascade; print a one-line summary (warnings on stderr).",
    ),
    CommandEntry(
        "show", "cmd_language", "Show a cascade: its einsums and tensors, or DOT / text / YAML."
    ),
    CommandEntry(
        "counts",
        "cmd_language",
        "Count primitive operations per einsum, symbolically or for a given shape.",
    ),
    CommandEntry("list", "cmd_language", "List the built-in cascade library."),
    CommandEntry(
        "model",
        "cmd_model",
        "Cost a cascade under a mapping, the linear layers, or both, for one workload point.",
    ),
    CommandEntry(
        "passes",
        "cmd_passes",
        "Count the passes a cascade must make over a rank, per einsum and per tensor.",
    ),
    CommandEntry(
        "taxonomy",
        "cmd_passes",
        "Print pass class, extra compute and buffer bound for each attention cascade.",
    ),
    CommandEntry(
        "search",
        "cmd_search",
        "Search partition sizes, bindings, spreads, loop orders, tiles, schedules and placements.",
    ),
    CommandEntry(
        "sweep",
        "cmd_sweep",
        "Evaluate every point of a design-space sweep and append the rows to --out.",
    ),
    CommandEntry(
        "plot",
        "cmd_sweep",
        "Draw sweep results as a line, bar or scatter plot, optionally with a Pareto front.",
    ),
    CommandEntry(
        "kernel",
        "cmd_kernel",
        "Generate CUDA kernels and NumPy twins from a cascade; compile, run, time and model them.",
    ),
    CommandEntry("reproduce", "cmd_model", "Reproduce published evaluations."),
    CommandEntry(
        "timeloop",
        "cmd_timeloop",
        "Timeloop v4 interchange: export a spec or one mapped einsum, import architecture files.",
    ),
)


def entry(name: str) -> CommandEntry | None:
    """Return the table's entry for a command name, or None."""
    return next((e for e in COMMANDS if e.name == name), None)
