"""Reproduce the FuseMax evaluation: every configuration x workload x sequence length."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

import einsum_cascade.library as library
from mappers.cost import build_cost_model, evaluate_design_points
from mappers.mapping_loader import load_mapping
from mappers.plots import write_fusemax_figures
from mappers.spec_loader import load_spec
from mappers.sweep_fusemax import attention_table, pe_sweep_table
from mappers.workloads import FUSEMAX_MODELS, FUSEMAX_SEQS, format_seq, get_workload

PLAN = Path(__file__).resolve().parent / "data" / "reproduce-fusemax.yaml"
DEFAULT_ARTIFACT_DIR = Path(__file__).resolve().parent.parent / "tests" / "data" / "fusemax"
METRICS = (
    ("traffic", "traffic_bytes"),
    ("latency", "latency_s"),
    ("energy", "energy_pj"),
    ("util_2d", "util_pe2d"),
    ("util_1d", "util_pe1d"),
)


@dataclass(frozen=True, slots=True)
class Configuration:
    """One configuration of the evaluation: its name, mapping and artifact CSV name."""

    name: str
    mapping: str
    csv: str


def configurations() -> tuple[Configuration, ...]:
    """Return the configurations listed in the reproduction plan."""
    plan = yaml.safe_load(PLAN.read_text(encoding="utf-8"))
    return tuple(Configuration(**entry) for entry in plan["configurations"])


def reproduce_configuration(
    config: Configuration,
    table: str = "artifact",
    models: tuple[str, ...] = FUSEMAX_MODELS,
    seqs: tuple[str, ...] = FUSEMAX_SEQS,
) -> pd.DataFrame:
    """Return one configuration's rows in the artifact's columns (model, seq_len, traffic...)."""
    plan = yaml.safe_load(PLAN.read_text(encoding="utf-8"))
    rename, share_array = plan["column_names"], plan["share_array"]
    rows = []
    for model in models:
        for seq in seqs:
            workload = get_workload(model, seq)
            mapping = load_mapping(config.mapping, model, workload.seq_len)
            cascade = library.load(mapping.cascade)
            spec = load_spec(mapping.spec or "fusemax")
            cost = build_cost_model(cascade, spec, mapping, table)
            values = evaluate_design_points(cost, workload.extents())
            row: dict[str, object] = {"model": model, "seq_len": format_seq(workload.seq_len)}
            row.update({col: float(np.asarray(values[key])) for col, key in METRICS})
            for einsum in cost.symbolic.einsums:
                if einsum.array == share_array:
                    name = rename.get(einsum.name, einsum.name)
                    row[name] = float(np.asarray(values[f"share_{einsum.name}"]))
            rows.append(row)
    return pd.DataFrame(rows)


def compare(ours: pd.DataFrame, artifact: pd.DataFrame) -> pd.DataFrame:
    """Return the relative error of every shared numeric cell, keyed by model and seq_len."""
    keys = ["model", "seq_len"]
    merged = artifact.merge(ours, on=keys, suffixes=("_artifact", ""))
    out = merged[keys].copy()
    for column in artifact.columns:
        if column in keys or column not in ours.columns:
            continue
        out[column] = merged[column] / merged[f"{column}_artifact"] - 1.0
    return out


def reproduce_fusemax(out_dir: Path, artifact_dir: Path | None, table: str = "artifact") -> str:
    """Write one CSV per configuration (and a markdown comparison when artifact CSVs exist).

    Returns:
        The markdown comparison text (empty when no artifact directory was given).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    sections = ["# FuseMax reproduction: relative error against the artifact", ""]
    rows_by_config = {}
    for config in configurations():
        ours = reproduce_configuration(config, table)
        ours.to_csv(out_dir / config.csv, index=False)
        rows_by_config[config.name] = ours
        reference = artifact_dir / config.csv if artifact_dir is not None else None
        if reference is None or not reference.exists():
            continue
        artifact = pd.read_csv(reference).dropna(axis=1, how="all")
        artifact = artifact.loc[:, ~artifact.columns.str.startswith("Unnamed")]
        errors = compare(ours, artifact)
        sections += [f"## {config.name} ({config.csv})", "", _markdown(errors), ""]
    tables = {"attention": attention_table(rows_by_config), "pe_sweep": pe_sweep_table()}
    write_fusemax_figures(tables, out_dir)
    text = "\n".join(sections)
    if artifact_dir is not None:
        (out_dir / "comparison.md").write_text(text, encoding="utf-8")
    return text


def _markdown(errors: pd.DataFrame) -> str:
    header = "| " + " | ".join(errors.columns) + " |"
    rule = "|" + "---|" * len(errors.columns)
    lines = [header, rule]
    for _, row in errors.iterrows():
        cells = [
            str(row[c]) if c in {"model", "seq_len"} else f"{row[c]:+.4%}" for c in errors.columns
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
