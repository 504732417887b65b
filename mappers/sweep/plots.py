"""Figures from sweep results: line, bar and scatter plots, Pareto fronts, FuseMax figures.

Matplotlib is imported inside the functions and drives the Agg canvas through
``matplotlib.figure.Figure`` directly, so no global pyplot state or display is involved.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from einsum_cascade.diagnostics import suggest
from mappers.sweep.errors import SweepError
from mappers.sweep.pareto import front_positions, pareto

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

KINDS = ("line", "bar", "scatter")
FUSEMAX_TABLES = ("attention", "linear", "pe_sweep")


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
    filters: tuple[str, ...] = ()
    """The ``COLUMN=VALUE`` filters that selected the rows, shown under the title."""


UNITS = (
    ("_s", "s"),
    ("_pj", "pJ"),
    ("_nj", "nJ"),
    ("_j", "J"),
    ("_um2", "µm²"),
    ("_mm2", "mm²"),
    ("_bytes", "bytes"),
    ("_hz", "Hz"),
    ("_w", "W"),
)
NAMES = {
    "seq": "sequence length (tokens)",
    "util_pe2d": "2D PE-array utilisation (fraction)",
    "util_pe1d": "1D PE-array utilisation (fraction)",
    "traffic_bytes": "DRAM traffic (bytes)",
}
MAX_HUE_GROUPS = 8
"""A numeric hue with more distinct values than this is drawn as a colour scale."""


def axis_label(column: str) -> str:
    """Return an axis label with its unit: ``latency_s`` -> ``latency (s)``.

    Example:
        >>> axis_label("area_um2"), axis_label("L3.size_bytes"), axis_label("workload")
        ('area (µm²)', 'L3.size (bytes)', 'workload')
    """
    if column in NAMES:
        return NAMES[column]
    for suffix, unit in UNITS:
        if column.lower().endswith(suffix) and len(column) > len(suffix):
            return f"{column[: -len(suffix)].replace('_', ' ')} ({unit})"
    return column


def figure_path(path: str | Path) -> Path:
    """Return the file a figure is written to: ``-o fig`` writes ``fig.png``.

    Raises:
        SweepError: SW420 when the suffix names no image format Matplotlib writes.
    """
    out = Path(path)
    if not out.suffix:
        return out.with_name(out.name + ".png")
    formats = _image_formats()
    if out.suffix.lower().lstrip(".") not in formats:
        raise SweepError.single(
            "SW420",
            f"cannot write a figure as '{out.suffix}' ({out})",
            None,
            "image formats: " + ", ".join(sorted(formats)),
        )
    return out


def _image_formats() -> set[str]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    return set(FigureCanvasAgg.get_supported_filetypes())


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
    axes.grid(True, alpha=0.3)
    axes.set_xscale("log" if request.logx and request.kind != "bar" else "linear")
    axes.set_yscale("log" if request.logy else "linear")
    scale = _colour_scale(frame, request)
    groups = _groups(frame, request.hue)
    if request.kind == "bar":
        _draw_bars(axes, groups, request.x, request.y)
    else:
        for index, (label, rows) in enumerate(groups):
            rows = rows.sort_values(request.x)
            colour = scale(rows[request.hue].iloc[0]) if scale else f"C{index % 10}"
            style = "-o" if request.kind == "line" else "o"
            alpha = 0.9 if request.kind == "line" else 0.6
            axes.plot(
                rows[request.x], rows[request.y], style, color=colour, alpha=alpha, ms=4,
                label=None if scale else label,
            )  # fmt: skip
    if request.pareto is not None:
        for index, (label, rows) in enumerate(groups):
            colour = scale(rows[request.hue].iloc[0]) if scale else f"C{index % 10}"
            _draw_front(axes, rows, request, colour if request.hue else "black", label)
    if request.kind != "bar":
        _tick_at_values(axes, frame[request.x])
    axes.set_xlabel(axis_label(request.x))
    axes.set_ylabel(axis_label(request.y))
    _set_title(axes, request)
    if scale is not None:
        _colour_bar(figure, axes, frame, request)
    elif request.hue is not None or request.pareto is not None:
        axes.legend(title=request.hue, fontsize=9, loc="upper left", bbox_to_anchor=(1.01, 1))
    figure.tight_layout()
    return figure


def _set_title(axes: Axes, request: PlotRequest) -> None:
    lines = [request.title] if request.title else []
    if request.filters:
        lines.append("where " + ", ".join(request.filters))
    if lines:
        axes.set_title("\n".join(lines), fontsize=10)


def _colour_scale(frame: pd.DataFrame, request: PlotRequest) -> Any:
    """A colour per value of a numeric hue with many values, else None (a legend)."""
    if request.hue is None or request.kind == "bar":
        return None
    column = frame[request.hue]
    if column.dtype.kind not in "iuf" or column.nunique() <= MAX_HUE_GROUPS:
        return None
    from matplotlib import colormaps
    from matplotlib.colors import LogNorm, Normalize

    low, high = float(column.min()), float(column.max())
    norm = LogNorm(low, high) if low > 0 and high / low >= 100 else Normalize(low, high)
    cmap = colormaps["viridis"]
    return lambda value: cmap(norm(float(value)))


def _colour_bar(figure: Figure, axes: Axes, frame: pd.DataFrame, request: PlotRequest) -> None:
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import LogNorm, Normalize

    assert request.hue is not None
    column = frame[request.hue]
    low, high = float(column.min()), float(column.max())
    norm = LogNorm(low, high) if low > 0 and high / low >= 100 else Normalize(low, high)
    bar = figure.colorbar(ScalarMappable(norm, colormaps["viridis"]), ax=axes)
    bar.set_label(axis_label(request.hue))
    if request.pareto is not None:
        axes.legend(fontsize=9, loc="best")


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
    """Format a category or tick: 1K/64K/1M for multiples of 1024 (sizes, sequence lengths)."""
    if not isinstance(value, int | float | np.number):
        return str(value)
    number = float(value)
    if number.is_integer() and number >= 1024 and number % 1024 == 0:
        return _seq_label(number)
    return f"{int(number)}" if number.is_integer() and abs(number) < 1e6 else f"{number:g}"


def _draw_bars(axes: Axes, groups: list[tuple[str | None, pd.DataFrame]], x: str, y: str) -> None:
    categories = sorted({v for _, rows in groups for v in rows[x]})
    position = {value: index for index, value in enumerate(categories)}
    width = 0.8 / len(groups)
    for slot, (label, rows) in enumerate(groups):
        offsets = np.array([position[v] for v in rows[x]]) - 0.4 + width * (slot + 0.5)
        axes.bar(offsets, rows[y], width=width, label=label)
    axes.set_xticks(range(len(categories)), [_label(c) for c in categories])


def _draw_front(
    axes: Axes, frame: pd.DataFrame, request: PlotRequest, colour: Any, group: str | None
) -> None:
    """Draw the Pareto front of one hue group (of all rows without a hue)."""
    assert request.pareto is not None
    front = pareto(frame, request.pareto)
    x, y = request.x, request.y
    label = "Pareto front" if group is None else None
    if (x, y) == request.pareto or (y, x) == request.pareto:
        front = front.sort_values(x)
        axes.plot(front[x], front[y], "-", color=colour, lw=1.5, label=label, zorder=5)
    axes.plot(front[x], front[y], "o", mfc="none", mec=colour, ms=9, mew=1.5, zorder=6)


def _tick_at_values(axes: Axes, values: pd.Series) -> None:
    """Label a few distinct numeric x values directly instead of crowded log-axis ticks."""
    from matplotlib.ticker import NullFormatter

    distinct = np.unique(values.to_numpy()) if values.dtype.kind in "iuf" else np.array([])
    if 1 < len(distinct) <= 12 and np.all(np.mod(distinct, 1) == 0):
        axes.set_xticks(distinct, [_label(v) for v in distinct])
        axes.xaxis.set_minor_formatter(NullFormatter())


def _new_figure(size: tuple[float, float]) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=size)


def save_figure(figure: Figure, path: str | Path) -> Path:
    """Write ``figure`` to ``path`` (format from the suffix, PNG without one), creating the
    folder; return the file written."""
    out = figure_path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    # Fast PNG compression: the files grow a little, the encoding is several times faster.
    if out.suffix.lower() == ".png":
        figure.savefig(out, dpi=130, pil_kwargs={"compress_level": 1})
    else:
        figure.savefig(out, dpi=130)
    return out


Columns = dict[str, np.ndarray]
"""A table as named columns of equal length: how the FuseMax figures hold their tables."""


def write_fusemax_figures(
    results: str | Path | Mapping[str, Any],
    out_dir: str | Path,
    *,
    baseline: str = "unfused",
) -> tuple[Path, ...]:
    """Write the FuseMax paper's figures from our reproduction numbers.

    ``results`` is a folder holding ``attention``, ``linear`` and ``pe_sweep`` tables (each
    ``.csv`` or ``.parquet``), or a mapping from those names to tables: DataFrames,
    mappings from column names to equally long columns (lists or arrays), or sequences of
    rows (mappings from column names to values). Given no DataFrame and no folder, pandas
    is not imported.

    * ``attention``: ``config, workload, seq, latency_s, energy_pj, util_2d, util_1d``;
    * ``linear`` (the linear layers each configuration is paired with, end to end):
      ``config, workload, seq, latency_s, energy_pj``;
    * ``pe_sweep``: ``workload, pe_dim, latency_s, area_um2``.

    Figures whose table is absent are skipped. Written: ``fusemax-utilisation.png``,
    ``fusemax-{attention,end-to-end}-{speedup,energy}.png`` (relative to ``baseline``) and
    ``fusemax-pe-sweep.png`` (area against latency, log-log, with the Pareto front).

    Returns:
        The paths written, in that order.

    Raises:
        SweepError: SW407 when a table lacks a column or the baseline configuration, or
            its columns differ in length.
    """
    tables = _fusemax_tables(results)
    out = Path(out_dir)
    attention, sweep = tables.get("attention"), tables.get("pe_sweep")
    parts: list[tuple[str, Columns]] = []
    if attention is not None:
        _require(attention, "attention", ("config", "workload", "seq", "latency_s", "energy_pj"))
        _require(attention, "attention", ("util_2d", "util_1d"))
        parts.append(("attention", attention))
        linear = tables.get("linear")
        if linear is not None:
            parts.append(("end-to-end", _end_to_end(attention, linear)))
    # relative to the baseline before any drawing, so a missing baseline is refused here
    relatives = [(name, _relative_to(table, baseline)) for name, table in parts]
    if sweep is not None:
        _require(sweep, "pe_sweep", ("workload", "pe_dim", "latency_s", "area_um2"))
    utilisation = out / "fusemax-utilisation.png"
    relative = [out / f"fusemax-{n}-{m}.png" for n, _ in parts for m in ("speedup", "energy")]
    pe_sweep = out / "fusemax-pe-sweep.png"

    def utilisation_and_sweep() -> None:
        if attention is not None:
            save_figure(_utilisation_figure(attention), utilisation)
        if sweep is not None:
            save_figure(_pe_sweep_figure(sweep), pe_sweep)

    def relative_figures() -> None:
        if attention is not None:
            colours = _colours(_first_seen(attention["config"]))
            for name, label, figure in _relative_figures(relatives, baseline, colours):
                save_figure(figure, out / f"fusemax-{name}-{label}.png")

    _draw_on_two_cores(utilisation_and_sweep, relative_figures)
    written = [utilisation] if attention is not None else []
    written += relative
    return tuple(written + ([pe_sweep] if sweep is not None else []))


def _draw_on_two_cores(first: Callable[[], None], second: Callable[[], None]) -> None:
    """Run ``first`` in a forked child while this process runs ``second``, then wait.

    Matplotlib draws in one thread, and the figures are independent files: with two cores
    the two halves take the time of the longer. Matplotlib is imported before the fork, so
    neither process pays for it twice. Where there is no ``fork`` or one core, or when the
    child fails, ``first`` runs here (so its error, if any, is raised here).
    """
    if not hasattr(os, "fork") or (os.cpu_count() or 1) < 2:
        first()
        second()
        return
    import matplotlib.backends.backend_agg  # loaded once, shared by the fork
    import matplotlib.figure  # noqa: F401

    child = os.fork()
    if child == 0:  # pragma: no cover - the child leaves with os._exit, unseen by coverage
        code = 1
        try:
            first()
            code = 0
        finally:
            os._exit(code)
    try:
        second()
    finally:
        _, status = os.waitpid(child, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        first()


def _fusemax_tables(results: str | Path | Mapping[str, Any]) -> dict[str, Columns]:
    if isinstance(results, Mapping):
        return {k: _columns(v, k) for k, v in results.items() if k in FUSEMAX_TABLES}
    import pandas as pd

    folder = Path(results)
    tables = {}
    for name in FUSEMAX_TABLES:
        for suffix, reader in ((".parquet", pd.read_parquet), (".csv", pd.read_csv)):
            if (folder / f"{name}{suffix}").exists():
                tables[name] = _columns(reader(folder / f"{name}{suffix}"), name)
                break
    if not tables:
        raise SweepError.single(
            "SW407", f"'{folder}' holds none of the tables " + ", ".join(FUSEMAX_TABLES)
        )
    return tables


def _columns(table: Any, name: str) -> Columns:
    """Return a table (a DataFrame, a mapping of columns or a sequence of rows) as columns.

    Raises:
        SweepError: SW407 when the columns differ in length.
    """
    if hasattr(table, "columns") and hasattr(table, "to_numpy"):  # a DataFrame
        columns = {str(c): table[c].to_numpy() for c in table.columns}
    elif isinstance(table, Mapping):
        columns = {str(k): np.atleast_1d(np.asarray(v)) for k, v in table.items()}
    else:
        rows = list(table)
        names = dict.fromkeys(str(key) for row in rows for key in row)
        columns = {k: np.asarray([row.get(k, math.nan) for row in rows]) for k in names}
    lengths = sorted({len(values) for values in columns.values()})
    if len(lengths) > 1:
        raise SweepError.single(
            "SW407", f"the {name} table's columns differ in length ({lengths[0]} to {lengths[-1]})"
        )
    return columns


def _require(table: Columns, name: str, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in table]
    if missing:
        raise SweepError.single("SW407", f"the {name} table lacks column(s) " + ", ".join(missing))


def _first_seen(values: np.ndarray) -> list[Any]:
    """Return the distinct values in order of first appearance (as Python values)."""
    return list(dict.fromkeys(values.tolist()))


def _take(table: Columns, rows: np.ndarray) -> Columns:
    """Return the rows of a table that a mask or a position array selects."""
    return {name: values[rows] for name, values in table.items()}


def _pairs(left: Sequence[tuple[Any, ...]], right: Sequence[tuple[Any, ...]]) -> np.ndarray:
    """Return the (left, right) positions of rows with equal keys, in the left rows' order
    (then the right rows'): an inner join."""
    where: dict[tuple[Any, ...], list[int]] = {}
    for position, key in enumerate(right):
        where.setdefault(key, []).append(position)
    pairs = [(i, j) for i, key in enumerate(left) for j in where.get(key, ())]
    return np.array(pairs, dtype=np.intp).reshape(-1, 2)


def _keys(table: Columns, names: Sequence[str]) -> list[tuple[Any, ...]]:
    return list(zip(*(table[name].tolist() for name in names), strict=True))


def _end_to_end(attention: Columns, linear: Columns) -> Columns:
    _require(linear, "linear", ("config", "workload", "seq", "latency_s", "energy_pj"))
    keys = ("config", "workload", "seq")
    pairs = _pairs(_keys(attention, keys), _keys(linear, keys))
    both = {name: attention[name][pairs[:, 0]] for name in keys}
    for metric in ("latency_s", "energy_pj"):
        own = attention[metric].astype(float)[pairs[:, 0]]
        both[metric] = own + linear[metric].astype(float)[pairs[:, 1]]
    return both


def _relative_to(table: Columns, baseline: str) -> Columns:
    configs = table["config"].tolist()
    if baseline not in configs:
        names = sorted(set(map(str, configs)))
        raise SweepError.single(
            "SW407",
            f"no rows for the baseline configuration '{baseline}'",
            None,
            suggest(baseline, names) or "configurations: " + ", ".join(names),
        )
    keys = _keys(table, ("workload", "seq"))
    base = np.array([i for i, c in enumerate(configs) if c == baseline], dtype=np.intp)
    other = np.array([i for i, c in enumerate(configs) if c != baseline], dtype=np.intp)
    pairs = _pairs([keys[i] for i in other], [keys[i] for i in base])
    own, base = other[pairs[:, 0]], base[pairs[:, 1]]
    relative = _take(table, own)
    latency = table["latency_s"].astype(float)
    energy = table["energy_pj"].astype(float)
    relative["speedup"] = latency[base] / latency[own]
    relative["energy_ratio"] = energy[own] / energy[base]
    return relative


def _seq_label(seq: Any) -> str:
    if not isinstance(seq, int | float | np.number):
        return str(seq)
    value = float(seq)
    for size, suffix in ((2**20, "M"), (2**10, "K")):
        if value >= size and value % size == 0:
            return f"{int(value // size)}{suffix}"
    return f"{seq:g}"


def _grouped_panels(
    workloads: Sequence[Any], rows: int, size: tuple[float, float]
) -> tuple[Figure, list[Axes]]:
    figure = _new_figure(size)
    panels = figure.subplots(rows, len(workloads), squeeze=False, sharey="row")
    for column, workload in enumerate(workloads):
        for row in range(rows):
            # y given: matplotlib then skips measuring the axis to place the title, which
            # it would leave at the top (ticks and labels are below) anyway
            title = str(workload) if row == 0 else ""
            panels[row][column].set_title(title, fontsize=11, y=1.0)
            if column > 0:  # no y label: skip measuring the tick labels to place one
                panels[row][column].yaxis.set_label_coords(0.0, 0.5)
            if rows > 1 and row < rows - 1:  # no x label either
                panels[row][column].xaxis.set_label_coords(0.5, 0.0)
    for row in range(rows):  # a row's panels share its first panel's y locator
        _ticks_in_view(panels[row][0].yaxis)
    return figure, [panels[r][c] for r in range(rows) for c in range(len(workloads))]


def _ticks_in_view(axis: Any) -> None:
    """Have ``axis`` build ticks only inside its view.

    Matplotlib's locators return a tick beyond each end of the view; the axis builds each
    (five artists: a tick costs a few milliseconds) and then leaves it out of the drawing.
    The ticks drawn, and their labels, are the same.
    """
    axis.set_major_locator(_in_view_locator()(axis.get_major_locator()))


@functools.cache
def _in_view_locator() -> Any:
    """Return the class of a locator that keeps another's ticks inside the view."""
    from matplotlib.ticker import Locator

    class InView(Locator):
        def __init__(self, base: Locator) -> None:
            self.base = base
            self.target: Any = None

        def set_axis(self, axis: Any) -> None:
            super().set_axis(axis)
            self.base.set_axis(axis)
            self.target = axis

        def __call__(self) -> Any:
            locs = np.asarray(self.base(), dtype=float)
            transform = self.target.get_transform()
            low, high = sorted(transform.transform(np.asarray(self.target.get_view_interval())))
            with np.errstate(invalid="ignore", divide="ignore"):
                where = transform.transform(locs)
            slack = (high - low) * 1e-6  # wider than matplotlib's own test: a superset
            return locs[(where >= low - slack) & (where <= high + slack)]

        def tick_values(self, vmin: float, vmax: float) -> Any:
            return self.base.tick_values(vmin, vmax)

        def nonsingular(self, v0: float, v1: float) -> tuple[float, float]:
            low, high = self.base.nonsingular(v0, v1)
            return low, high

        def view_limits(self, vmin: float, vmax: float) -> tuple[float, float]:
            low, high = self.base.view_limits(vmin, vmax)
            return low, high

    return InView


def _colours(configs: Sequence[str]) -> dict[str, Any]:
    from matplotlib import colormaps

    palette = colormaps["tab10"]
    return {config: palette(index % 10) for index, config in enumerate(configs)}


def _bars_by_seq(axes: Axes, table: Columns, metric: str, colours: dict[str, Any]) -> list[Patch]:
    """Draw grouped bars, one group per length, and return the legend's handles.

    All bars of a panel are one artist (a polygon collection), not a patch per bar: a
    patch per bar, or a collection per configuration, cost most of a figure's drawing.
    """
    from matplotlib.collections import PolyCollection
    from matplotlib.patches import Patch

    seqs, data = _mean_by_seq(table, metric)
    width = 0.8 / len(data)
    boxes, faces = [], []
    for slot, (config, heights) in enumerate(data.items()):
        lefts = np.arange(len(seqs)) - 0.4 + width * slot
        for x, h in zip(lefts.tolist(), np.asarray(heights, dtype=float).tolist(), strict=True):
            if not math.isnan(h):
                boxes.append(((x, 0.0), (x, h), (x + width, h), (x + width, 0.0)))
                faces.append(colours[config])
    bars = PolyCollection(boxes, facecolors=faces, edgecolors="none")
    bars.sticky_edges.y.append(0.0)  # bars stand on the axis, as ``bar`` has them
    axes.add_collection(bars, autolim=True)
    axes.autoscale_view()
    axes.set_xticks(range(len(seqs)), [_seq_label(s) for s in seqs], fontsize=9)
    axes.grid(True, axis="y", alpha=0.3)
    return [Patch(facecolor=colours[config], label=str(config)) for config in data]


def _mean_by_seq(table: Columns, metric: str) -> tuple[list[Any], dict[Any, np.ndarray]]:
    """Return the sorted lengths and, per configuration (first-seen order), the mean of
    ``metric`` at each: a pivot table (NaN ignored; lengths with no value dropped)."""
    seqs, seq_index = np.unique(table["seq"], return_inverse=True)
    configs = _first_seen(table["config"])
    position = {config: index for index, config in enumerate(configs)}
    config_index = np.array([position[c] for c in table["config"].tolist()], dtype=np.intp)
    values = np.asarray(table[metric], dtype=float)
    known = ~np.isnan(values)
    sums = np.zeros((len(configs), len(seqs)))
    counts = np.zeros((len(configs), len(seqs)))
    np.add.at(sums, (config_index[known], seq_index[known]), values[known])
    np.add.at(counts, (config_index[known], seq_index[known]), 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = sums / counts
    kept = counts.any(axis=0)
    return list(seqs[kept]), {c: means[i][kept] for i, c in enumerate(configs)}


def _utilisation_figure(attention: Columns) -> Figure:
    workloads = _first_seen(attention["workload"])
    count = len(workloads)
    colours = _colours(_first_seen(attention["config"]))
    legend: list[Patch] = []
    figure, panels = _grouped_panels(workloads, 2, (3.2 * count + 1.5, 6.2))
    for index, axes in enumerate(panels):
        workload = workloads[index % count]
        metric = "util_2d" if index < count else "util_1d"
        rows = _take(attention, attention["workload"] == workload)
        handles = _bars_by_seq(axes, rows, metric, colours)
        axes.set_ylim(0, 1.05)
        if index % count == 0:
            axes.set_ylabel(f"{'2D' if metric == 'util_2d' else '1D'} array utilisation")
        if index >= count:
            axes.set_xlabel("sequence length")
        legend = legend or handles
    _figure_legend(figure, panels[0], "Utilisation per configuration and sequence length", legend)
    return figure


def _relative_figures(
    relatives: Sequence[tuple[str, Columns]], baseline: str, colours: dict[str, Any]
) -> Iterator[tuple[str, str, Figure]]:
    """Yield ``(scope, "speedup" or "energy", figure)`` for each scope's table relative to
    ``baseline`` (:func:`_relative_to`): the speedup figure, then the energy figure. Save
    each before asking for the next: scopes over the same workloads share one figure, drawn
    again with its bars, labels, title and legend replaced (its panels and ticks are built
    once)."""
    figure: Figure | None = None
    panels: list[Axes] = []
    shown: list[Any] = []
    for scope, relative in relatives:
        workloads = _first_seen(relative["workload"])
        if figure is None or workloads != shown:
            figure, panels = _grouped_panels(workloads, 1, (3.2 * len(workloads) + 1.5, 3.9))
            shown = workloads
        for metric, label in (("speedup", "speedup"), ("energy_ratio", "energy")):
            legend: list[Patch] = []
            for axes, workload in zip(panels, workloads, strict=True):
                for old in list(axes.collections):  # the bars drawn before
                    old.remove()
                axes.relim()  # the data limits of what stays: the line at 1
                rows = _take(relative, relative["workload"] == workload)
                handles = _bars_by_seq(axes, rows, metric, colours)
                legend = legend or handles
                if metric == "speedup" and not axes.lines:
                    axes.axhline(1.0, color="black", lw=0.8)
                    axes.set_xlabel("sequence length")
            if metric == "speedup":
                panels[0].set_ylabel(f"speedup over {baseline} (×)")
                title = f"{scope.capitalize()}: speedup relative to {baseline}"
                for old_legend in list(figure.legends):
                    old_legend.remove()
                _figure_legend(figure, panels[0], title, legend)
            else:
                panels[0].set_ylabel(f"energy / {baseline} energy")
                title = f"{scope.capitalize()}: energy relative to {baseline}"
                figure.suptitle(title, fontsize=12, y=1 - 0.08 / figure.get_figheight(), va="top")
            yield scope, label, figure


def _figure_legend(figure: Figure, axes: Axes, title: str, handles: Sequence[Patch]) -> None:
    # Title and legend take fixed heights in inches, so short and tall figures look alike.
    height = figure.get_figheight()
    labels = [str(handle.get_label()) for handle in handles]
    figure.suptitle(title, fontsize=12, y=1 - 0.08 / height, va="top")
    legend_top = 1 - 0.36 / height
    figure.legend(handles, labels, loc="upper center", ncol=len(labels), fontsize=9,
                  bbox_to_anchor=(0.5, legend_top), frameon=False)  # fmt: skip
    # Fixed margins in inches instead of tight_layout, which draws the whole figure once
    # more only to measure it.
    width = figure.get_figwidth()
    spec = axes.get_subplotspec()
    rows = spec.get_gridspec().nrows if spec is not None else 1
    figure.subplots_adjust(
        left=0.75 / width,
        right=1 - 0.15 / width,
        bottom=0.6 / height,
        top=1 - 0.95 / height,
        wspace=0.18,
        hspace=0.3 if rows > 1 else 0.2,
    )


_SUPERSCRIPTS = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _decade(value: float, _: Any = None) -> str:
    """Return ``10³`` for a power of ten, else nothing: matplotlib's log labels, in Unicode
    superscripts instead of mathtext (whose parser costs a third of a second to set up)."""
    exponent = round(math.log10(value)) if value > 0 else 0
    if value <= 0 or not math.isclose(value, 10.0**exponent, rel_tol=1e-9):
        return ""
    return "10" + str(exponent).translate(_SUPERSCRIPTS)


def _decade_labels(axes: Axes) -> None:
    """Label the decades of both (log) axes, with no minor ticks: they would carry no
    label, and a log axis builds eight a decade (with their grid lines, a fifth of the
    figures' drawing)."""
    from matplotlib.ticker import FuncFormatter, NullLocator

    for axis in (axes.xaxis, axes.yaxis):
        axis.set_major_formatter(FuncFormatter(_decade))
        axis.set_minor_locator(NullLocator())


def _pe_sweep_figure(sweep: Columns) -> Figure:
    figure = _new_figure((7.5, 5.2))
    axes = figure.add_subplot()
    area = sweep["area_um2"].astype(float) * 1e-8  # cm²
    latency = sweep["latency_s"].astype(float)
    pe_dim = sweep["pe_dim"]
    groups = [
        (workload, np.flatnonzero(sweep["workload"] == workload))
        for workload in _first_seen(sweep["workload"])
    ]
    for workload, rows in groups:
        rows = rows[np.argsort(pe_dim[rows], kind="stable")]
        axes.plot(area[rows], latency[rows], "-o", label=str(workload), ms=5)
    for dim in np.unique(pe_dim):  # the slowest workload at each size carries its label
        rows = np.flatnonzero((pe_dim == dim) & ~np.isnan(latency))
        if len(rows):
            top = rows[np.argmax(latency[rows])]
            axes.annotate(
                f"PE {pe_dim[top]:g}",
                (area[top], latency[top]),
                textcoords="offset points",
                xytext=(0, 9),
                ha="center",
                fontsize=8,
            )
    for index, (_, rows) in enumerate(groups):
        front = rows[front_positions(np.column_stack([area[rows], latency[rows]]))]
        label = "Pareto-optimal (per workload)" if index == 0 else None
        axes.plot(area[front], latency[front], "o", mfc="none", mec="black", ms=10, label=label)
    axes.set_xscale("log")
    axes.set_yscale("log")
    _decade_labels(axes)
    for axis in (axes.xaxis, axes.yaxis):
        _ticks_in_view(axis)
    axes.margins(x=0.06, y=0.12)
    axes.set_xlabel("area (cm², 45 nm)")
    axes.set_ylabel("attention latency (s)")
    # y given: the title is not measured against the axes' ticks (there are none on top)
    axes.set_title("PE-array size sweep (PE N: N x N 2D array, N-wide 1D array)", y=1.0)
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize=9, loc="upper right")  # where "best" puts it, without the search
    width, height = figure.get_size_inches()
    figure.subplots_adjust(
        left=0.85 / width, right=1 - 0.2 / width, bottom=0.6 / height, top=1 - 0.4 / height
    )
    return figure
