"""Commands ``model`` (cost one design point) and ``reproduce fusemax`` (the evaluation)."""

from __future__ import annotations

from pathlib import Path

import typer

from einsum_cascade.cli.app import app, print_json, stdout_console, user_errors

reproduce_app = typer.Typer(help="Reproduce published evaluations.", no_args_is_help=True)
app.add_typer(reproduce_app, name="reproduce")


@app.command()
@user_errors
def model(
    arch: str = typer.Option(..., "--arch", help="spec name (fusemax, flat) or YAML path"),
    mapping: str = typer.Option(..., "--mapping", help="mapping name or YAML path"),
    workload: str = typer.Option("BERT", "--workload", help="BERT, TrXL, T5 or XLM"),
    seq: str = typer.Option("64K", "--seq", help="sequence length: 65536, 64K, 1M"),
    table: str = typer.Option("default", "--costs", help="cost table: default or artifact"),
    as_json: bool = typer.Option(False, "--json", help="print the report as JSON"),
) -> None:
    """Cost a cascade on an architecture under a mapping for one workload."""
    from mappers.cascades import load_cascade
    from mappers.cost import estimate_cost
    from mappers.mapping_loader import load_mapping
    from mappers.spec_loader import load_spec
    from mappers.workloads import get_workload

    shape = get_workload(workload, seq)
    spec = load_spec(arch)
    mapped = load_mapping(mapping, shape.name, shape.seq_len)
    report = estimate_cost(load_cascade(mapped.cascade), spec, mapped, shape, table)
    if as_json:
        print_json(report.to_dict())
        return
    from rich.table import Table

    metrics = dict(report.metrics)
    title = f"{report.mapping} on {report.spec}: {report.workload} seq {report.seq_len}"
    summary = Table(title=title)
    summary.add_column("metric")
    summary.add_column("value", justify="right")
    for key, value in metrics.items():
        if not key.startswith(("cycles_", "share_")):
            summary.add_row(key, f"{value:.6g}")
    summary.add_row("area_um2", f"{report.area_um2:.6g}")
    per_einsum = Table(title="per einsum")
    for column in ("einsum", "array", "cycles", "share of array"):
        per_einsum.add_column(column, justify="right" if column != "einsum" else "left")
    for name, array in report.einsum_arrays:
        per_einsum.add_row(
            name, array, f"{metrics[f'cycles_{name}']:.6g}", f"{metrics[f'share_{name}']:.4f}"
        )
    console = stdout_console()
    console.print(summary)
    console.print(per_einsum)


@reproduce_app.command("fusemax")
@user_errors
def reproduce_fusemax(
    out: str = typer.Option(..., "--out", help="directory for the CSVs and comparison.md"),
    artifact: str | None = typer.Option(
        None,
        "--artifact",
        help="directory of the artifact's attn-*.csv and end2end-*.csv files (default: "
        "the copies under tests/data/fusemax)",
    ),
    table: str = typer.Option("artifact", "--costs", help="cost table: artifact or default"),
) -> None:
    """Reproduce the FuseMax evaluation: attention and end-to-end CSVs, headline, comparison."""
    from mappers.reproduce import DEFAULT_ARTIFACT_DIR
    from mappers.reproduce import reproduce_fusemax as run

    reference = Path(artifact) if artifact is not None else DEFAULT_ARTIFACT_DIR
    run(Path(out), reference if reference.exists() else None, table)
    stdout_console().print(f"wrote {out}")
