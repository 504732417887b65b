"""Reproduce the FuseMax evaluation: every configuration x workload x sequence length.

Attention runs each configuration's mapping (``mappers/data/reproduce-fusemax.yaml``); the
linear layers of one transformer layer run on each hardware (:mod:`mappers.cost.linear`); end to
end, each configuration's attention is paired with one hardware's linear layers as the
artifact's figures do, and the headline compares FuseMax with FLAT.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from einsum_cascade import load_cascade
from mappers.cost.linear import linear_layers_cost
from mappers.cost.model import build_cost_model, evaluate_costs
from mappers.errors import MappingError
from mappers.hardware.spec_loader import load_spec
from mappers.mapping.loader import load_mapping
from mappers.mapping.schema import Mapping
from mappers.workloads import FUSEMAX_MODELS, FUSEMAX_SEQS, Workload, format_seq, get_workload
from mappers.yaml_source import Validator, read_yaml

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

    Raises:
        MappingError: located at the first key or entry that is wrong.
    """
    root = read_yaml(PLAN, MappingError)
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
    plan = _plan()
    rename, share_array = plan["column_names"], plan["share_array"]
    groups: dict[Mapping, list[Workload]] = {}
    for model in models:
        for seq in seqs:
            workload = get_workload(model, seq)
            mapping = load_mapping(config.mapping, model, workload.seq_len)
            groups.setdefault(mapping, []).append(workload)
    rows: dict[tuple[str, int], dict[str, object]] = {}
    for mapping, workloads in groups.items():
        cascade = load_cascade(mapping.cascade)
        spec = load_spec(config.arch)
        costs = evaluate_costs(build_cost_model(cascade, spec, mapping, table), _columns(workloads))
        values = costs.row()
        shared = [e for e in costs.einsums if e.array == share_array]
        for i, workload in enumerate(workloads):
            row: dict[str, object] = {
                "model": workload.name,
                "seq_len": format_seq(workload.seq_len),
            }
            row.update({col: float(values[key][i]) for col, key in METRICS})
            for einsum in shared:
                row[rename.get(einsum.name, einsum.name)] = float(einsum.share[i])
            rows[workload.name, workload.seq_len] = row
    order = [get_workload(model, seq) for model in models for seq in seqs]
    return pd.DataFrame([rows[w.name, w.seq_len] for w in order])


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
    workloads = [get_workload(model, seq) for model in models for seq in seqs]
    values = linear_layers_cost(load_spec(config.arch), _columns(workloads), table)
    frame = pd.DataFrame(
        {
            "model": [w.name for w in workloads],
            "seq_len": [format_seq(w.seq_len) for w in workloads],
        }
    )
    for column, key in LINEAR_METRICS:
        frame[column] = values[key]
    return frame


def end_to_end(attention: dict[str, pd.DataFrame], linear: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Return attention + paired linear layers per configuration and point.

    Args:
        attention: configuration name -> rows from :func:`reproduce_configuration`.
        linear: linear-configuration name -> rows from :func:`reproduce_linear`.

    Returns:
        Columns ``config, model, seq_len, latency, energy`` (attention plus linear layers).
    """
    pairing = _plan()["end_to_end"]
    frames = []
    for config, rows in attention.items():
        layers = linear[pairing[config]]
        both = rows[[*KEYS, "latency", "energy"]].merge(layers, on=KEYS, suffixes=("", "_lin"))
        frame = both[KEYS].copy()
        frame.insert(0, "config", config)
        frame["latency"] = both["latency"] + both["latency_lin"]
        frame["energy"] = both["energy"] + both["energy_lin"]
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def headline(attention: dict[str, pd.DataFrame], combined: pd.DataFrame) -> pd.DataFrame:
    """Return the headline ratios of the plan's fast configuration over its baseline.

    Speedup is baseline latency / fast latency, energy ratio fast energy / baseline
    energy, each per point, then the arithmetic and geometric means over the points.

    Returns:
        One row per quantity: ``quantity, mean, geomean, points``, plus the plan's
        reference columns (``artifact``, ``paper``).
    """
    settings = _plan()["headline"]
    fast, base = settings["fast"], settings["baseline"]
    per_config = {
        c: combined[combined["config"] == c].drop(columns="config") for c in set(combined["config"])
    }
    pairs = {
        "attention": (attention[fast], attention[base]),
        "end_to_end": (per_config.get(fast), per_config.get(base)),
    }
    rows = []
    for scope, (quick, slow) in pairs.items():
        if quick is None or slow is None:
            continue
        both = quick.merge(slow, on=KEYS, suffixes=("_fast", "_base"))
        ratios = {
            f"{scope}_speedup": both["latency_base"] / both["latency_fast"],
            f"{scope}_energy_ratio": both["energy_fast"] / both["energy_base"],
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
    return pd.DataFrame(rows)


def compare(ours: pd.DataFrame, artifact: pd.DataFrame) -> pd.DataFrame:
    """Return the relative error of every shared numeric cell, keyed by model and seq_len."""
    merged = artifact.merge(ours, on=KEYS, suffixes=("_artifact", ""))
    out = merged[KEYS].copy()
    for column in artifact.columns:
        if column in KEYS or column not in ours.columns:
            continue
        out[column] = merged[column] / merged[f"{column}_artifact"] - 1.0
    return out


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
    headline: pd.DataFrame
    worst: tuple[WorstCell, ...]
    comparison: str


def worst_cells(errors: dict[str, pd.DataFrame]) -> tuple[WorstCell, ...]:
    """Return, per quantity, the cell with the largest relative error over all files.

    ``errors`` maps a file name to its :func:`compare` frame.
    """
    worst: dict[str, WorstCell] = {}
    for file, frame in errors.items():
        for column in frame.columns:
            if column in KEYS or frame[column].isna().all():
                continue
            row = frame.loc[frame[column].abs().idxmax()]
            cell = WorstCell(
                column, file, str(row["model"]), str(row["seq_len"]), float(row[column])
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
    errors: dict[str, pd.DataFrame] = {}
    sections = ["# FuseMax reproduction: relative error against the artifact", ""]
    attention: dict[str, pd.DataFrame] = {}
    linear: dict[str, pd.DataFrame] = {}
    jobs: list[tuple[str, str, pd.DataFrame]] = []
    for config in configurations():
        attention[config.name] = reproduce_configuration(config, table)
        jobs.append((config.name, config.csv, attention[config.name]))
    for layers in linear_configurations():
        linear[layers.name] = reproduce_linear(layers, table)
        jobs.append((f"linear layers, {layers.name}", layers.csv, linear[layers.name]))
    for title, csv, ours in jobs:
        ours.to_csv(out_dir / csv, index=False)
        reference = artifact_dir / csv if artifact_dir is not None else None
        if reference is None or not reference.exists():
            continue
        artifact = pd.read_csv(reference).dropna(axis=1, how="all")
        artifact = artifact.loc[:, ~artifact.columns.str.startswith("Unnamed")]
        errors[csv] = compare(ours, artifact)
        sections += [f"## {title} ({csv})", "", _markdown(errors[csv]), ""]
    combined = end_to_end(attention, linear)
    combined.to_csv(out_dir / END_TO_END_CSV, index=False)
    summary = headline(attention, combined)
    summary.to_csv(out_dir / HEADLINE_CSV, index=False)
    files = [out_dir / csv for _, csv, _ in jobs] + [out_dir / END_TO_END_CSV]
    files.append(out_dir / HEADLINE_CSV)
    if figures:
        files += _write_figures(attention, linear, out_dir)
    sections += ["## headline: FuseMax (binding) over FLAT", "", _headline_markdown(summary), ""]
    text = "\n".join(sections) if artifact_dir is not None else ""
    if artifact_dir is not None:
        (out_dir / "comparison.md").write_text(text, encoding="utf-8")
        files.append(out_dir / "comparison.md")
    return Reproduction(out_dir, tuple(files), summary, worst_cells(errors), text)


def _write_figures(
    attention: dict[str, pd.DataFrame], linear: dict[str, pd.DataFrame], out_dir: Path
) -> tuple[Path, ...]:
    """Draw the paper's figures: utilisation, speedup and energy, and the PE-size sweep."""
    from mappers.fusemax.tables import attention_table, pe_sweep_table
    from mappers.sweep.plots import write_fusemax_figures

    pairing = _plan()["end_to_end"]
    tables = {
        "attention": attention_table(attention),
        "linear": attention_table({c: linear[pairing[c]] for c in attention}),
        "pe_sweep": pe_sweep_table(),
    }
    return write_fusemax_figures(tables, out_dir)


def _markdown(errors: pd.DataFrame) -> str:
    header = "| " + " | ".join(errors.columns) + " |"
    rule = "|" + "---|" * len(errors.columns)
    lines = [header, rule]
    for _, row in errors.iterrows():
        cells = [str(row[c]) if c in KEYS else f"{row[c]:+.4%}" for c in errors.columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _headline_markdown(summary: pd.DataFrame) -> str:
    columns = list(summary.columns)
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for _, row in summary.iterrows():
        cells = [f"{row[c]:.4g}" if isinstance(row[c], float) else str(row[c]) for c in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
