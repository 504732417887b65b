"""Figures from sweep results: line, bar and scatter plots, Pareto fronts, FuseMax figures.

Matplotlib is imported inside the functions and drives the Agg canvas through
``matplotlib.figure.Figure`` directly, so no global pyplot state or display is involved.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from einsum_cascade.diagnostics import suggest
from mappers.pareto import pareto
from mappers.sweep_errors import SweepError

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

KINDS = ("line", "bar", "scatter")
_STYLE = {"font.size": 11, "axes.grid": True, "grid.alpha": 0.3, "figure.dpi": 110}


@dataclass(frozen=True, slots=True)
class PlotRequest:
    """What to draw: columns for the axes and colours, the kind of plot, log axes, front."""

    x: str
    y: str
    hue: str | None = None
    kind: str = "line"
    logx: bool = False
    logy: bool = False
    pareto: tuple[str, str] | None = None
    title: str | None = None


def plot_results(frame: pd.DataFrame, request: PlotRequest) -> Figure:
    """Draw ``frame`` as ``request`` says and return the figure (save it with ``savefig``).

    Line and bar plots need one row per (hue, x); rows that repeat one are an error whose
    hint names the columns that still vary, so the user can add ``hue`` or filter.

    Raises:
        SweepError: SW404 for an unknown column or kind, SW405 for repeated (hue, x) rows,
            SW406 for an empty table.
    """
    _check_request(frame, request)
    figure = _new_figure((7.5, 4.8))
    axes = figure.add_subplot()
    groups = _groups(frame, request.hue)
    if request.kind == "bar":
        _draw_bars(axes, groups, request.x, request.y)
    else:
        for label, rows in groups:
            rows = rows.sort_values(request.x)
            style = "-o" if request.kind == "line" else "o"
            alpha = 0.9 if request.kind == "line" else 0.6
            axes.plot(rows[request.x], rows[request.y], style, label=label, alpha=alpha, ms=4)
    if request.pareto is not None:
        _draw_front(axes, frame, request)
    axes.set_xscale("log" if request.logx else "linear")
    axes.set_yscale("log" if request.logy else "linear")
    axes.set_xlabel(request.x)
    axes.set_ylabel(request.y)
    if request.title:
        axes.set_title(request.title)
    if request.hue is not None or request.pareto is not None:
        axes.legend(title=request.hue, fontsize=9)
    figure.tight_layout()
    return figure


def _check_request(frame: pd.DataFrame, request: PlotRequest) -> None:
    if request.kind not in KINDS:
        hint = suggest(request.kind, KINDS) or "valid kinds: " + ", ".join(KINDS)
        raise SweepError.single("SW404", f"unknown plot kind '{request.kind}'", None, hint)
    if frame.empty:
        raise SweepError.single("SW406", "the results table has no rows to plot")
    wanted = [request.x, request.y, *([request.hue] if request.hue else [])]
    wanted += list(request.pareto or ())
    for name in wanted:
        if name not in frame.columns:
            columns = [str(c) for c in frame.columns]
            hint = suggest(name, columns) or "columns: " + ", ".join(columns)
            raise SweepError.single("SW404", f"the results have no column '{name}'", None, hint)
    if request.kind in ("line", "bar"):
        keys = [request.x, *([request.hue] if request.hue else [])]
        if frame.duplicated(keys).any():
            varying = [
                str(c)
                for c in frame.columns
                if c not in (*keys, request.y, "point_id") and frame[c].nunique() > 1
            ]
            raise SweepError.single(
                "SW405",
                f"several rows share each {' and '.join(keys)}, so a {request.kind} plot "
                "would mix them",
                None,
                "use --hue or --where on one of: " + ", ".join(varying[:8]),
            )


def _groups(frame: pd.DataFrame, hue: str | None) -> list[tuple[str | None, pd.DataFrame]]:
    if hue is None:
        return [(None, frame)]
    return [(_label(value), rows) for value, rows in frame.groupby(hue, sort=False)]


def _label(value: Any) -> str:
    return f"{value:g}" if isinstance(value, int | float | np.number) else str(value)


def _draw_bars(axes: Axes, groups: list[tuple[str | None, pd.DataFrame]], x: str, y: str) -> None:
    categories = sorted({v for _, rows in groups for v in rows[x]})
    position = {value: index for index, value in enumerate(categories)}
    width = 0.8 / len(groups)
    for slot, (label, rows) in enumerate(groups):
        offsets = np.array([position[v] for v in rows[x]]) - 0.4 + width * (slot + 0.5)
        axes.bar(offsets, rows[y], width=width, label=label)
    axes.set_xticks(range(len(categories)), [_label(c) for c in categories])


def _draw_front(axes: Axes, frame: pd.DataFrame, request: PlotRequest) -> None:
    assert request.pareto is not None
    front = pareto(frame, request.pareto)
    x, y = request.x, request.y
    if (x, y) == request.pareto or (y, x) == request.pareto:
        front = front.sort_values(x)
        axes.plot(front[x], front[y], "-", color="black", lw=1.5, label="Pareto front", zorder=5)
    axes.plot(front[x], front[y], "o", mfc="none", mec="black", ms=9, mew=1.5, zorder=6)


def _new_figure(size: tuple[float, float]) -> Figure:
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context(_STYLE):
        return Figure(figsize=size, layout=None)


def save_figure(figure: Figure, path: str | Path) -> Path:
    """Write ``figure`` to ``path`` (format from the suffix), creating the folder."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=130)
    return out
