"""Reproduce the FuseMax evaluation: every configuration x workload x sequence length.

Attention runs each configuration's mapping (``mappers/data/reproduce-fusemax.yaml``); the
linear layers of one transformer layer run on each hardware (:mod:`mappers.cost.linear`); end to
end, each configuration's attention is paired with one hardware's linear layers as the
artifact's figures do, and the headline compares FuseMax with FLAT.

The work is done on plain rows (:mod:`mappers.fusemax.rows`): :func:`reproduce_fusemax`
imports neither pandas nor, with its cost models cached, sympy. The functions of one table
(:func:`reproduce_configuration`, :func:`compare`...) return DataFrames, from the same rows.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from einsum_cascade import load_cascade
from mappers.cost.linear import linear_layers_cost
from mappers.cost.model import build_cost_model, evaluate_costs
from mappers.errors import MappingError
from mappers.fusemax.rows import Row, columns_of, from_frame, read_csv, to_frame, write_csv
from mappers.hardware.spec_loader import load_spec
from mappers.mapping.loader import load_mapping
from mappers.mapping.schema import Mapping
from mappers.workloads import FUSEMAX_MODELS, FUSEMAX_SEQS, Workload, format_seq, get_workload
from mappers.yaml_source import Validator, read_yaml

if TYPE_CHECKING:
    import pandas as pd

PLAN = Path(__file__).resolve().parent.parent / "data" / "reproduce-fusemax.yaml"
DEFAULT_ARTIFACT_DIR = Path(__file__).resolve().parent.parent / "data" / "fusemax-artifact"
KEYS = ["model", "seq_len"]
METRICS = (
    ("traffic", "traffic_bytes"),
    ("latency", "latency_s"),
    ("energy", "energy_pj"),
    ("util_2d", "util_pe2d"),
    ("util_1d", "util_pe1d"),
)
LINEAR_METRICS = (("traffic", "traffic_bytes"), ("latency", "latency_s"), ("energy", "energy_pj"))
HEADLINE_CSV = "headline.csv"
END_TO_END_CSV = "end-to-end.csv"


_PLAN_KEYS = (
    "version",
    "configurations",
    "column_names",
    "share_array",
    "linear_layers",
    "end_to_end",
    "headline",
)


@dataclass(frozen=True, slots=True)
class Configuration:
    """One configuration of the evaluation: its name, mapping, accelerator and artifact CSV."""

    name: str
    mapping: str
    arch: str
    csv: str


@dataclass(frozen=True, slots=True)
class LinearConfiguration:
    """The linear layers on one hardware: its name, accelerator spec and artifact CSV name."""

    name: str
    arch: str
    csv: str


def _plan() -> dict[str, Any]:
    """Read the reproduction plan, checked: version, known keys, every entry's fields.

    Read once per modification of the file (a reproduction asks for it a dozen times).

    Raises:
        MappingError: located at the first key or entry that is wrong.
    """
    return _read_plan(PLAN, PLAN.stat().st_mtime_ns)


@functools.lru_cache(maxsize=4)
def _read_plan(path: Path, _modified: int) -> dict[str, Any]:
    root = read_yaml(path, MappingError)
    check = Validator("M")
    top = check.keys(root, _PLAN_KEYS, _PLAN_KEYS, "the reproduction plan")
    check.version(root, (1,))
    for key, fields in (("configurations", Configuration), ("linear_layers", LinearConfiguration)):
        names = fields.__slots__
        for entry in check.sequence(top.get(key), key):
            check.keys(entry, names, names, f"an entry of {key}")
            for name in names:
                check.string(entry.get(name), name)
    check.raise_if_any(MappingError)
    plan: dict[str, Any] = {key: node.plain() for key, node in top.items()}
    return plan


def _entries(plan: dict[str, Any], key: str) -> list[dict[str, str]]:
    entries: list[dict[str, str]] = plan[key]
    return entries


def configurations() -> tuple[Configuration, ...]:
    """Return the attention configurations listed in the reproduction plan."""
    return tuple(Configuration(**entry) for entry in _entries(_plan(), "configurations"))


def linear_configurations() -> tuple[LinearConfiguration, ...]:
    """Return the linear-layer configurations (one per hardware) of the plan."""
    return tuple(LinearConfiguration(**entry) for entry in _entries(_plan(), "linear_layers"))


def reproduce_configuration(
    config: Configuration,
    table: str = "artifact",
    models: tuple[str, ...] = FUSEMAX_MODELS,
    seqs: tuple[str, ...] = FUSEMAX_SEQS,
) -> pd.DataFrame:
    """Return one configuration's rows in the artifact's columns (model, seq_len, traffic...).

    The points that share a mapping (its variants depend on the model and length) are
    costed together, in one vectorised call of one compiled model.
    """
    return to_frame(configuration_rows(config, table, models, seqs))


def configuration_rows(
    config: Configuration,
    table: str = "artifact",
    models: tuple[str, ...] = FUSEMAX_MODELS,
    seqs: tuple[str, ...] = FUSEMAX_SEQS,
) -> list[Row]:
    """Return :func:`reproduce_configuration`'s rows as plain rows."""
    plan = _plan()
    rename, share_array = plan["column_names"], plan["share_array"]
    groups: dict[Mapping, list[Workload]] = {}
    for model in models:
        for seq in seqs:
            workload = get_workload(model, seq)
            mapping = load_mapping(config.mapping, model, workload.seq_len)
            groups.setdefault(mapping, []).append(workload)
    rows: dict[tuple[str, int], Row] = {}
    spec = load_spec(config.arch)
    for mapping, workloads in groups.items():
        cascade = load_cascade(mapping.cascade)
        costs = evaluate_costs(build_cost_model(cascade, spec, mapping, table), _columns(workloads))
        values = costs.row()
        shared = [e for e in costs.einsums if e.array == share_array]
        for i, workload in enumerate(workloads):
            row: Row = {
                "model": workload.name,
                "seq_len": format_seq(workload.seq_len),
            }
            row.update({col: float(values[key][i]) for col, key in METRICS})
            for einsum in shared:
                row[rename.get(einsum.name, einsum.name)] = float(einsum.share[i])
            rows[workload.name, workload.seq_len] = row
    order = [get_workload(model, seq) for model in models for seq in seqs]
    return [rows[w.name, w.seq_len] for w in order]


def _columns(workloads: list[Workload]) -> dict[str, np.ndarray]:
    """Return one column per extent over the workloads, in their order."""
    extents = [w.extents() for w in workloads]
    return {key: np.array([e[key] for e in extents]) for key in extents[0]}


def reproduce_linear(
    config: LinearConfiguration,
    table: str = "artifact",
    models: tuple[str, ...] = FUSEMAX_MODELS,
    seqs: tuple[str, ...] = FUSEMAX_SEQS,
) -> pd.DataFrame:
    """Return the linear layers' rows on one hardware (model, seq_len, traffic, latency, energy)."""
    return to_frame(linear_rows(config, table, models, seqs))


def linear_rows(
    config: LinearConfiguration,
    table: str = "artifact",
    models: tuple[str, ...] = FUSEMAX_MODELS,
    seqs: tuple[str, ...] = FUSEMAX_SEQS,
) -> list[Row]:
    """Return :func:`reproduce_linear`'s rows as plain rows."""
    workloads = [get_workload(model, seq) for model in models for seq in seqs]
    values = linear_layers_cost(load_spec(config.arch), _columns(workloads), table)
    columns = {column: np.asarray(values[key], dtype=float) for column, key in LINEAR_METRICS}
    return [
        {
            "model": w.name,
            "seq_len": format_seq(w.seq_len),
            **{column: float(cells[i]) for column, cells in columns.items()},
        }
        for i, w in enumerate(workloads)
    ]


def _matches(left: list[Row], right: list[Row]) -> list[tuple[Row, Row]]:
    """Return the pairs of rows with equal keys, in the order of ``left`` (an inner join)."""
    by_key: dict[tuple[Any, ...], list[Row]] = {}
    for row in right:
        by_key.setdefault(tuple(row[k] for k in KEYS), []).append(row)
    return [(a, b) for a in left for b in by_key.get(tuple(a[k] for k in KEYS), ())]


def end_to_end(attention: dict[str, pd.DataFrame], linear: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Return attention + paired linear layers per configuration and point.

    Args:
        attention: configuration name -> rows from :func:`reproduce_configuration`.
        linear: linear-configuration name -> rows from :func:`reproduce_linear`.

    Returns:
        Columns ``config, model, seq_len, latency, energy`` (attention plus linear layers).
    """
    rows = end_to_end_rows(
        {k: from_frame(v) for k, v in attention.items()},
        {k: from_frame(v) for k, v in linear.items()},
    )
    return to_frame(rows)


def end_to_end_rows(attention: dict[str, list[Row]], linear: dict[str, list[Row]]) -> list[Row]:
    """Return :func:`end_to_end`'s rows from plain rows."""
    pairing = _plan()["end_to_end"]
    return [
        {
            "config": config,
            **{k: ours[k] for k in KEYS},
            "latency": ours["latency"] + layers["latency"],
            "energy": ours["energy"] + layers["energy"],
        }
        for config, rows in attention.items()
        for ours, layers in _matches(rows, linear[pairing[config]])
    ]


def headline(attention: dict[str, pd.DataFrame], combined: pd.DataFrame) -> pd.DataFrame:
    """Return the headline ratios of the plan's fast configuration over its baseline.

    Speedup is baseline latency / fast latency, energy ratio fast energy / baseline
    energy, each per point, then the arithmetic and geometric means over the points.

    Returns:
        One row per quantity: ``quantity, mean, geomean, points``, plus the plan's
        reference columns (``artifact``, ``paper``).
    """
    rows = headline_rows({k: from_frame(v) for k, v in attention.items()}, from_frame(combined))
    return to_frame(rows)


def headline_rows(attention: dict[str, list[Row]], combined: list[Row]) -> list[Row]:
    """Return :func:`headline`'s rows from plain rows."""
    settings = _plan()["headline"]
    fast, base = settings["fast"], settings["baseline"]
    per_config: dict[str, list[Row]] = {}
    for row in combined:
        per_config.setdefault(row["config"], []).append(row)
    pairs = {
        "attention": (attention[fast], attention[base]),
        "end_to_end": (per_config.get(fast), per_config.get(base)),
    }
    rows = []
    for scope, (quick, slow) in pairs.items():
        if quick is None or slow is None:
            continue
        both = _matches(quick, slow)
        latency = np.array([[b["latency"], a["latency"]] for a, b in both], dtype=float)
        energy = np.array([[a["energy"], b["energy"]] for a, b in both], dtype=float)
        ratios = {
            f"{scope}_speedup": latency[:, 0] / latency[:, 1],
            f"{scope}_energy_ratio": energy[:, 0] / energy[:, 1],
        }
        for quantity, values in ratios.items():
            reference = settings["reference"].get(quantity, {})
            rows.append(
                {
                    "quantity": quantity,
                    "mean": float(values.mean()),
                    "geomean": float(np.exp(np.log(values).mean())),
                    "points": len(values),
                    **reference,
                }
            )
    return rows


def compare(ours: pd.DataFrame, artifact: pd.DataFrame) -> pd.DataFrame:
    """Return the relative error of every shared numeric cell, keyed by model and seq_len."""
    return to_frame(compare_rows(from_frame(ours), from_frame(artifact)))


def compare_rows(ours: list[Row], artifact: list[Row]) -> list[Row]:
    """Return :func:`compare`'s rows from plain rows (a missing or empty cell: NaN)."""
    shared = [c for c in columns_of(artifact) if c not in KEYS and c in columns_of(ours)]
    out = []
    with np.errstate(divide="ignore", invalid="ignore"):
        for theirs, mine in _matches(artifact, ours):
            row = {k: theirs[k] for k in KEYS}
            for column in shared:
                value = np.float64(_cell(mine, column)) / np.float64(_cell(theirs, column))
                row[column] = float(value - 1.0)
            out.append(row)
    return out


def _cell(row: Row, column: str) -> float:
    value = row.get(column)
    return float("nan") if value is None else float(value)


@dataclass(frozen=True, slots=True)
class WorstCell:
    """The cell of one quantity furthest from the artifact, over every compared file."""

    quantity: str
    file: str
    model: str
    seq_len: str
    error: float


@dataclass(frozen=True, slots=True)
class Reproduction:
    """What a reproduction wrote: files, headline, worst cells and the comparison text."""

    out_dir: Path
    files: tuple[Path, ...]
    headline: tuple[Row, ...]
    worst: tuple[WorstCell, ...]
    comparison: str


def worst_cells(errors: dict[str, pd.DataFrame]) -> tuple[WorstCell, ...]:
    """Return, per quantity, the cell with the largest relative error over all files.

    ``errors`` maps a file name to its :func:`compare` frame.
    """
    return worst_rows({file: from_frame(frame) for file, frame in errors.items()})


def worst_rows(errors: dict[str, list[Row]]) -> tuple[WorstCell, ...]:
    """Return :func:`worst_cells` of :func:`compare_rows` tables (a NaN cell never counts)."""
    worst: dict[str, WorstCell] = {}
    for file, rows in errors.items():
        for column in columns_of(rows):
            sizes = [] if column in KEYS else [(abs(_cell(r, column)), r) for r in rows]
            sizes = [(size, r) for size, r in sizes if not math.isnan(size)]
            if not sizes:
                continue
            _, row = max(sizes, key=lambda cell: cell[0])  # the first of equal errors
            cell = WorstCell(
                column, file, str(row["model"]), str(row["seq_len"]), _cell(row, column)
            )
            if column not in worst or abs(cell.error) > abs(worst[column].error):
                worst[column] = cell
    return tuple(worst.values())


def reproduce_fusemax(
    out_dir: Path, artifact_dir: Path | None, table: str = "artifact", *, figures: bool = True
) -> Reproduction:
    """Write every CSV of the evaluation and, when artifact CSVs exist, a comparison.

    Written: one ``attn-*.csv`` per configuration and one ``end2end-*.csv`` per hardware
    (the artifact's file names and columns), ``end-to-end.csv`` (attention plus linear
    layers per configuration), ``headline.csv`` and, with ``artifact_dir``,
    ``comparison.md`` (relative error of every artifact cell, and the headline), and the
    paper's figures as PNG files (see ``mappers.sweep.plots.write_fusemax_figures``) unless
    ``figures`` is False.

    Returns:
        The files written, the headline, the worst cell per quantity and the markdown
        comparison text (empty when no artifact directory was given).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    errors: dict[str, list[Row]] = {}
    sections = ["# FuseMax reproduction: relative error against the artifact", ""]
    attention: dict[str, list[Row]] = {}
    linear: dict[str, list[Row]] = {}
    jobs: list[tuple[str, str, list[Row]]] = []
    for config in configurations():
        attention[config.name] = configuration_rows(config, table)
        jobs.append((config.name, config.csv, attention[config.name]))
    for layers in linear_configurations():
        linear[layers.name] = linear_rows(layers, table)
        jobs.append((f"linear layers, {layers.name}", layers.csv, linear[layers.name]))
    for title, csv, ours in jobs:
        write_csv(ours, out_dir / csv)
        reference = artifact_dir / csv if artifact_dir is not None else None
        if reference is None or not reference.exists():
            continue
        errors[csv] = compare_rows(ours, read_csv(reference))
        sections += [f"## {title} ({csv})", "", _markdown(errors[csv]), ""]
    combined = end_to_end_rows(attention, linear)
    write_csv(combined, out_dir / END_TO_END_CSV)
    summary = headline_rows(attention, combined)
    write_csv(summary, out_dir / HEADLINE_CSV)
    files = [out_dir / csv for _, csv, _ in jobs] + [out_dir / END_TO_END_CSV]
    files.append(out_dir / HEADLINE_CSV)
    if figures:
        files += _write_figures(attention, linear, out_dir)
    sections += ["## headline: FuseMax (binding) over FLAT", "", _headline_markdown(summary), ""]
    text = "\n".join(sections) if artifact_dir is not None else ""
    if artifact_dir is not None:
        (out_dir / "comparison.md").write_text(text, encoding="utf-8")
        files.append(out_dir / "comparison.md")
    return Reproduction(out_dir, tuple(files), tuple(summary), worst_rows(errors), text)


def _write_figures(
    attention: dict[str, list[Row]], linear: dict[str, list[Row]], out_dir: Path
) -> tuple[Path, ...]:
    """Draw the paper's figures: utilisation, speedup and energy, and the PE-size sweep."""
    from mappers.fusemax.tables import attention_rows, pe_sweep_columns
    from mappers.sweep.plots import write_fusemax_figures

    pairing = _plan()["end_to_end"]
    tables = {
        "attention": attention_rows(attention),
        "linear": attention_rows({c: linear[pairing[c]] for c in attention}),
        "pe_sweep": pe_sweep_columns(),
    }
    return write_fusemax_figures(tables, out_dir)


def _markdown(errors: list[Row]) -> str:
    columns = columns_of(errors)
    header = "| " + " | ".join(columns) + " |"
    rule = "|" + "---|" * len(columns)
    lines = [header, rule]
    for row in errors:
        cells = [str(row[c]) if c in KEYS else f"{_cell(row, c):+.4%}" for c in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _headline_markdown(summary: list[Row]) -> str:
    columns = columns_of(summary)
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in summary:
        cells = [_headline_cell(row.get(c)) for c in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _headline_cell(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else "nan" if value is None else str(value)
