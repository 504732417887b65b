"""Commands ``model`` (cost one design point) and ``reproduce fusemax`` (the evaluation)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from einsum_cascade.cli.app import (
    EXIT_USAGE,
    app,
    fail,
    os_errors,
    print_json,
    refuse_output_folder,
    stdout_console,
    user_errors,
)
from einsum_cascade.cli.options import (
    ArchOption,
    CostTableOption,
    ExtentOption,
    SeqOption,
    WorkloadOption,
    extent_options,
)
from einsum_cascade.cli.reproduction import print_reproduction

if TYPE_CHECKING:
    from rich.table import Table

    from mappers.cost.linear import LinearReport
    from mappers.cost.model import CostReport
    from mappers.hardware.spec import ArchSpec
    from mappers.workloads import Workload

reproduce_app = typer.Typer(help="Reproduce published evaluations.", no_args_is_help=True)
app.add_typer(reproduce_app, name="reproduce")


@app.command()
@user_errors
def model(
    arch: ArchOption,
    mapping: str | None = typer.Option(
        None, "--mapping", help="mapping name or YAML path (an attention layer or any cascade)"
    ),
    linear: bool = typer.Option(
        False, "--linear", help="cost the workload's linear layers (GEMMs) too, or only them"
    ),
    linear_plan: str | None = typer.Option(
        None, "--linear-plan", help="linear-layer plan YAML (default: the six FuseMax GEMMs)"
    ),
    workload: WorkloadOption = "BERT",
    seq: SeqOption = None,
    extent: ExtentOption = None,
    table: CostTableOption = "default",
    as_json: bool = typer.Option(False, "--json", help="print the report as JSON"),
    stats: bool = typer.Option(
        False,
        "--stats",
        help="also break the cost down: level x tensor traffic and energy, arrays, and what "
        "bounds each einsum",
    ),
) -> None:
    """Cost a cascade under a mapping, the linear layers, or both, for one workload point.

    With both ``--mapping`` and ``--linear`` the end-to-end total (attention plus linear
    layers, run one after the other) is reported as well.
    """
    from mappers.hardware.spec_loader import load_spec
    from mappers.workloads import point_workload

    if mapping is None and not linear:
        raise fail("give --mapping, --linear or both", EXIT_USAGE)
    extents = extent_options(extent or [])
    shape = point_workload(workload, seq, extents)
    spec = load_spec(arch)
    attention = _attention(spec, mapping, shape, table, extents) if mapping else None
    layers = _linear(spec, shape, table, linear_plan) if linear else None
    if as_json:
        document = _json(attention, layers)
        if stats and attention is not None:
            target = document["attention"] if layers is not None else document
            target["stats"] = attention.stats_dict()
        from mappers.provenance import point_provenance

        document["provenance"] = point_provenance(arch, mapping, shape, table)
        print_json(document)
        return
    console = stdout_console()
    if attention is not None:
        console.print(attention.heading(), markup=False)
        for rendered in attention.tables(heading=False):
            console.print(rendered)
        if stats:
            for rendered in attention.stats_tables():
                console.print(rendered)
    if layers is not None:
        console.print(_linear_table(layers, shape.label()))
    if attention is not None and layers is not None:
        console.print(_end_to_end_table(attention, layers))


def _attention(
    spec: ArchSpec, mapping: str, shape: Workload, table: str, extents: dict[str, int]
) -> CostReport:

    from einsum_cascade.sources import load_cascade
    from mappers.cost.model import estimate_cost
    from mappers.mapping.loader import load_mapping

    mapped = load_mapping(mapping, shape.name, shape.seq_len or None)
    if shape.batch_ranks is not None:
        mapped = mapped.with_batch_ranks(shape.batch_ranks, shape.batch_span)
    return estimate_cost(load_cascade(mapped.cascade), spec, mapped, shape, table, extents)


def _linear(spec: ArchSpec, shape: Workload, table: str, plan: str | None) -> LinearReport:
    from mappers.cost.linear import estimate_linear_cost
    from mappers.cost.linear_plan import load_linear_plan

    return estimate_linear_cost(spec, shape, table, load_linear_plan(plan) if plan else None)


def _json(attention: CostReport | None, layers: LinearReport | None) -> dict[str, Any]:
    if layers is None:
        assert attention is not None
        return attention.to_dict()
    if attention is None:
        return layers.to_dict()
    return {
        "attention": attention.to_dict(),
        "linear": layers.to_dict(),
        "end_to_end": {
            key: getattr(attention, key) + getattr(layers, key)
            for key in ("latency_s", "traffic_bytes", "energy_pj")
        },
    }


def _linear_table(report: LinearReport, label: str) -> Table:
    from rich.table import Table

    title = f"linear layers on {report.spec}: {label}"
    table = Table(title=title)
    columns = ("layer", "mapping", "M", "K", "N", "latency_s", "traffic_bytes", "energy_pj")
    for column in columns:
        table.add_column(column, justify="left" if column in ("layer", "mapping") else "right")
    for layer in report.layers:
        table.add_row(
            layer.name,
            layer.mapping,
            str(layer.rows),
            str(layer.contraction),
            str(layer.columns),
            *(f"{v:.6g}" for v in (layer.latency_s, layer.traffic_bytes, layer.energy_pj)),
        )
    totals = (report.latency_s, report.traffic_bytes, report.energy_pj)
    table.add_row("total", "", "", "", "", *(f"{v:.6g}" for v in totals))
    return table


def _end_to_end_table(attention: CostReport, layers: LinearReport) -> Table:
    from rich.table import Table

    table = Table(title="end to end (attention + linear layers)")
    for column in ("metric", "attention", "linear", "total"):
        table.add_column(column, justify="left" if column == "metric" else "right")
    for key in ("latency_s", "traffic_bytes", "energy_pj"):
        ours, theirs = float(getattr(attention, key)), float(getattr(layers, key))
        table.add_row(key, f"{ours:.6g}", f"{theirs:.6g}", f"{ours + theirs:.6g}")
    return table


@reproduce_app.command("fusemax")
@user_errors
def reproduce_fusemax(
    out: str = typer.Option(..., "--out", help="directory for the CSVs and comparison.md"),
    artifact: str | None = typer.Option(
        None,
        "--artifact",
        help="directory of the artifact's attn-*.csv and end2end-*.csv files (default: "
        "the copies packaged in mappers/data/fusemax-artifact)",
    ),
    table: str = typer.Option("artifact", "--costs", help="cost table: artifact or default"),
    force: bool = typer.Option(False, "--force", help="write into a directory that is not empty"),
    figures: bool = typer.Option(
        True, "--figures/--no-figures", help="draw the paper's figures as PNG files"
    ),
    use_cache: bool = typer.Option(
        True,
        "--cache/--no-cache",
        help="read and write compiled cost models in the user's cache folder",
    ),
) -> None:
    """Reproduce the FuseMax evaluation: attention and end-to-end CSVs, headline, comparison."""
    from mappers.fusemax.reproduce import DEFAULT_ARTIFACT_DIR
    from mappers.fusemax.reproduce import reproduce_fusemax as run

    refuse_output_folder(Path(out), force=force)
    if not use_cache:
        from mappers.cost import cache

        os.environ[cache.DISABLE_ENV] = "1"
    reference = Path(artifact) if artifact is not None else DEFAULT_ARTIFACT_DIR
    with os_errors():
        result = run(Path(out), reference if reference.exists() else None, table, figures=figures)
    print_reproduction(stdout_console(), result)
