"""Tables for the FuseMax figures: the PE-size sweep, and artifact-style rows as figure tables.

:func:`mappers.sweep.plots.write_fusemax_figures` reads tables in one schema; these helpers build
them from the cost model (the PE sweep runs through the sweep engine) and from rows in the
artifact's CSV columns (``model, seq_len, latency, energy, util_2d, util_1d``), which is
what ``reproduce fusemax`` writes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from mappers.sweep.run import evaluate_sweep
from mappers.sweep.spec import Axis, SweepSpec, check_sweep
from mappers.sweep.values import parse_number

PE_DIMS = (16, 32, 64, 128, 256, 512)
# The artifact's global-buffer sizes for E = 128 (its E = 64 sizes doubled): every
# workload's tile fits, and latency does not depend on the size (artifact note section 6).
L3_BYTES = (32 * 2**10, 64 * 2**10, 128 * 2**10, 256 * 2**10, 512 * 2**10, 2 * 2**20)
FUSEMAX_WORKLOADS = ("BERT", "TrXL", "T5", "XLM")
_ARTIFACT_COLUMNS = {
    "model": "workload",
    "seq_len": "seq",
    "latency": "latency_s",
    "energy": "energy_pj",
    "traffic": "traffic_bytes",
}


def pe_sweep_table(
    pe_dims: Sequence[int] = PE_DIMS,
    workloads: Sequence[str] = FUSEMAX_WORKLOADS,
    seq: int = 256 * 1024,
    mapping: str = "fusemax-binding",
    l3_bytes: Sequence[int] = L3_BYTES,
) -> pd.DataFrame:
    """Sweep the size of both FuseMax arrays (``pe_dim`` x ``pe_dim`` and ``pe_dim``).

    The global buffer grows with the array: ``l3_bytes[i]`` goes with ``pe_dims[i]``.

    Returns:
        Columns ``workload, pe_dim, seq, latency_s, energy_pj, traffic_bytes, area_um2``.
    """
    spec = SweepSpec(
        name="fusemax-pe-size",
        evaluator="cost",
        base=(("mapping", mapping),),
        axes=(
            Axis("workload", tuple(workloads), "text"),
            Axis("seq", (seq,), "number"),
            Axis("pe2d.shape", tuple((d, d) for d in pe_dims), "vector"),
            Axis("pe1d.shape", tuple((d,) for d in pe_dims), "vector"),
            Axis("L3.size_bytes", tuple(l3_bytes), "number"),
        ),
        zips=(("pe2d.shape", "pe1d.shape", "L3.size_bytes"),),
        metrics=("latency_s", "energy_pj", "traffic_bytes", "area_um2"),
    )
    check_sweep(spec)
    frame = evaluate_sweep(spec)
    frame["pe_dim"] = frame["pe1d.shape[0]"]
    columns = ["workload", "pe_dim", "seq", "latency_s", "energy_pj", "traffic_bytes", "area_um2"]
    return frame[columns]


def attention_table(rows_by_config: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Stack per-configuration rows in the artifact's columns into the figures' schema.

    Args:
        rows_by_config: configuration name -> rows with ``model, seq_len, latency, energy``
            (and ``util_2d, util_1d``, ``traffic`` when present); ``seq_len`` may be ``1K``.

    Returns:
        Columns ``config, workload, seq, latency_s, energy_pj`` plus the optional ones.
    """
    frames = []
    for config, rows in rows_by_config.items():
        frame = rows.rename(columns=_ARTIFACT_COLUMNS)
        frame["seq"] = [parse_number(str(value)) for value in frame["seq"]]
        frame.insert(0, "config", config)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)
