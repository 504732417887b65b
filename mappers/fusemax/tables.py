"""Tables for the FuseMax figures: the PE-size sweep, and artifact-style rows as figure tables.

:func:`mappers.sweep.plots.write_fusemax_figures` reads tables in one schema; these helpers build
them from the cost model (the PE sweep runs through the sweep engine) and from rows in the
artifact's CSV columns (``model, seq_len, latency, energy, util_2d, util_1d``), which is
what ``reproduce fusemax`` writes. Each table comes as a DataFrame (``*_table``) and
without pandas (:func:`pe_sweep_columns`, :func:`attention_rows`), which is how the
reproduction draws its figures.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from mappers.fusemax.rows import Row
from mappers.sweep.run import evaluate_sweep, evaluate_sweep_columns
from mappers.sweep.spec import Axis, SweepSpec, check_sweep, load_sweep
from mappers.workloads import parse_seq

if TYPE_CHECKING:
    import pandas as pd

# The PE-array size sweep (the paper's Fig. 12): its PE sizes, buffer sizes, workloads and
# mapping live in this file only; examples/sweeps/pe-size.yaml links to it.
PE_SIZE_SWEEP = Path(__file__).resolve().parent.parent / "data" / "sweeps" / "pe-size.yaml"
_PE_METRICS = ("latency_s", "energy_pj", "traffic_bytes", "area_um2")
_PE_COLUMNS = ("workload", "pe_dim", "seq", "latency_s", "energy_pj", "traffic_bytes", "area_um2")
_ARTIFACT_COLUMNS = {
    "model": "workload",
    "seq_len": "seq",
    "latency": "latency_s",
    "energy": "energy_pj",
    "traffic": "traffic_bytes",
}


def pe_sweep_table(
    pe_dims: Sequence[int] | None = None,
    workloads: Sequence[str] | None = None,
    seq: int | None = None,
    mapping: str | None = None,
    l3_bytes: Sequence[int] | None = None,
) -> pd.DataFrame:
    """Sweep the size of both FuseMax arrays (``pe_dim`` x ``pe_dim`` and ``pe_dim``).

    Every argument left as None takes its value from :data:`PE_SIZE_SWEEP`; the global
    buffer grows with the array: ``l3_bytes[i]`` goes with ``pe_dims[i]``.

    Returns:
        Columns ``workload, pe_dim, seq, latency_s, energy_pj, traffic_bytes, area_um2``.

    Raises:
        SweepError: SW107 when ``pe_dims`` and ``l3_bytes`` differ in length.
    """
    frame = evaluate_sweep(_pe_sweep_spec(pe_dims, workloads, seq, mapping, l3_bytes))
    frame["pe_dim"] = frame["pe1d.shape[0]"]
    return frame[list(_PE_COLUMNS)]


def pe_sweep_columns(
    pe_dims: Sequence[int] | None = None,
    workloads: Sequence[str] | None = None,
    seq: int | None = None,
    mapping: str | None = None,
    l3_bytes: Sequence[int] | None = None,
) -> dict[str, np.ndarray]:
    """Return :func:`pe_sweep_table`'s columns as NumPy arrays, without pandas.

    Raises:
        SweepError: SW107 when ``pe_dims`` and ``l3_bytes`` differ in length.
    """
    columns = evaluate_sweep_columns(_pe_sweep_spec(pe_dims, workloads, seq, mapping, l3_bytes))
    columns["pe_dim"] = columns["pe1d.shape[0]"]
    return {name: columns[name] for name in _PE_COLUMNS}


def _pe_sweep_spec(
    pe_dims: Sequence[int] | None,
    workloads: Sequence[str] | None,
    seq: int | None,
    mapping: str | None,
    l3_bytes: Sequence[int] | None,
) -> SweepSpec:
    spec = load_sweep(PE_SIZE_SWEEP)
    axes = {axis.name: axis for axis in spec.axes}
    if workloads is not None:
        axes["workload"] = Axis("workload", tuple(workloads), "text")
    if seq is not None:
        axes["seq"] = Axis("seq", (seq,), "number")
    if pe_dims is not None:
        axes["pe2d.shape"] = Axis("pe2d.shape", tuple((d, d) for d in pe_dims), "vector")
        axes["pe1d.shape"] = Axis("pe1d.shape", tuple((d,) for d in pe_dims), "vector")
    if l3_bytes is not None:
        axes["L3.size_bytes"] = Axis("L3.size_bytes", tuple(l3_bytes), "number")
    base = dict(spec.base) | ({"mapping": mapping} if mapping is not None else {})
    spec = replace(spec, axes=tuple(axes.values()), base=tuple(base.items()), metrics=_PE_METRICS)
    check_sweep(spec)
    return spec


def attention_table(rows_by_config: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Stack per-configuration rows in the artifact's columns into the figures' schema.

    Args:
        rows_by_config: configuration name -> rows with ``model, seq_len, latency, energy``
            (and ``util_2d, util_1d``, ``traffic`` when present); ``seq_len`` may be ``1K``.

    Returns:
        Columns ``config, workload, seq, latency_s, energy_pj`` plus the optional ones.
    """
    import pandas as pd

    frames = []
    for config, rows in rows_by_config.items():
        frame = rows.rename(columns=_ARTIFACT_COLUMNS)
        frame["seq"] = [parse_seq(str(value)) for value in frame["seq"]]
        frame.insert(0, "config", config)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def attention_rows(rows_by_config: Mapping[str, Sequence[Row]]) -> list[Row]:
    """Return :func:`attention_table`'s rows from row lists, without pandas.

    Args:
        rows_by_config: configuration name -> rows (column name -> value) in the
            artifact's columns, as :mod:`mappers.fusemax.rows` reads them.

    Returns:
        Rows with ``config, workload, seq, latency_s, energy_pj`` plus the optional columns.
    """
    table = []
    for config, rows in rows_by_config.items():
        for row in rows:
            out: Row = {"config": config}
            for name, value in row.items():
                column = _ARTIFACT_COLUMNS.get(name, name)
                out[column] = parse_seq(str(value)) if column == "seq" else value
            table.append(out)
    return table
