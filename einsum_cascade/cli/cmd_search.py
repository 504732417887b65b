"""The ``search`` command: search the mappings of a cascade on a spec for one workload point."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from einsum_cascade.cli.app import (
    app,
    print_json,
    refuse_overwrite,
    stderr_console,
    stdout_console,
    user_errors,
)
from einsum_cascade.cli.options import extent_options

if TYPE_CHECKING:
    from mappers.search.engine import SearchResult


@app.command()
@user_errors
def search(
    arch: str = typer.Option(..., "--arch", help="spec name (fusemax, flat) or YAML path"),
    cascade: str = typer.Option(
        ..., "--cascade", help="cascade name (attention/3pass) or .cascade path"
    ),
    workload: str = typer.Option(
        "BERT",
        "--workload",
        help="BERT, TrXL, T5, XLM, a workload YAML file, or none (only --extent)",
    ),
    seq: str | None = typer.Option(
        None, "--seq", help="sequence length M = P: 65536, 64K, 1M (built-ins: default 64K)"
    ),
    extent: Annotated[
        list[str] | None,
        typer.Option("--extent", help="extra or replaced extent of the point, NAME=VALUE (K=768)"),
    ] = None,
    template: str | None = typer.Option(
        None,
        "--template",
        help="mapping whose schedule, DRAM loop order and cost tables the search keeps "
        "(default: overlapped schedule, tile loops over the ranks every einsum keeps)",
    ),
    objective: str = typer.Option(
        "latency", "--objective", help="latency (then energy), energy (then latency) or edp"
    ),
    table: str = typer.Option("default", "--costs", help="cost table: default or artifact"),
    keep: int = typer.Option(5, "--keep", min=1, help="how many best mappings to list"),
    min_tile: int = typer.Option(16, "--min-tile", min=1, help="smallest tile tried"),
    out: Annotated[
        Path | None,
        typer.Option("--out", help="write the best mapping as mapping YAML (model reads it)"),
    ] = None,
    force: bool = typer.Option(False, "--force", help="overwrite --out if it exists"),
    as_json: bool = typer.Option(False, "--json", help="print the result as JSON"),
) -> None:
    """Search bindings, spatial spreads, tiles and placements; list the best mappings."""
    from dataclasses import replace

    from einsum_cascade.sources import load_cascade
    from mappers.hardware.spec_loader import load_spec
    from mappers.mapping.loader import load_mapping
    from mappers.mapping.writer import mapping_yaml
    from mappers.search.engine import search_mappings, template_for
    from mappers.workloads import point_workload

    refuse_overwrite(out, force=force)
    shape = point_workload(workload, seq, extent_options(extent or []))
    spec = load_spec(arch)
    graph = load_cascade(cascade)
    base = (
        load_mapping(template, shape.name, shape.seq_len or None)
        if template is not None
        else template_for(graph, spec)
    )
    base = replace(
        base,
        name=f"{base.name}-{shape.name}-{shape.slug()}",
        cascade=cascade,
        spec=spec.name,
        batch_ranks=shape.batch_ranks if shape.batch_ranks is not None else base.batch_ranks,
    )
    (result,) = search_mappings(
        graph,
        spec,
        shape.extents(),
        template=base,
        table=table,
        objective=objective,
        keep=keep,
        smallest_tile=min_tile,
    )
    if not result.best:
        stderr_console().print("error: no legal mapping fits this spec", markup=False)
        raise typer.Exit(1)
    if out is not None:
        best = result.best[0]
        header = (
            f"Found by: einsum-cascade search --arch {arch} --cascade {cascade} "
            f"--workload {workload}{f' --seq {seq}' if seq else ''} "
            + "".join(f"--extent {item} " for item in extent or [])
            + f"--objective {objective} --costs {table}\n"
            f"extents: {shape.label()}\n"
            f"latency_s {best.latency_s:.6g}, energy_pj {best.energy_pj:.6g}, "
            f"traffic_bytes {best.traffic_bytes:.6g}"
        )
        out.write_text(mapping_yaml(best.mapping, header), encoding="utf-8")
    if as_json:
        print_json(_json(result, out))
        return
    _print(result, f"{cascade} on {spec.name}: {shape.label()}")
    if out is not None:
        stdout_console().print(f"wrote {out}")


def _json(result: SearchResult, out: Path | None) -> dict[str, Any]:
    from dataclasses import asdict

    from mappers.mapping.writer import mapping_document

    return {
        "objective": result.objective,
        "point": dict(result.point),
        "counts": asdict(result.counts),
        "best": [
            {
                "latency_s": found.latency_s,
                "energy_pj": found.energy_pj,
                "traffic_bytes": found.traffic_bytes,
                "summary": found.summary,
                "mapping": mapping_document(found.mapping),
            }
            for found in result.best
        ],
        "written": str(out) if out is not None else None,
    }


def _print(result: SearchResult, title: str) -> None:
    from rich.table import Table
    from rich.text import Text

    table = Table(title=f"best mappings ({result.objective}): {title}")
    for column in ("#", "latency_s", "energy_pj", "traffic_bytes", "choices"):
        table.add_column(column, justify="left" if column == "choices" else "right")
    for rank, found in enumerate(result.best, start=1):
        table.add_row(
            str(rank),
            f"{found.latency_s:.6g}",
            f"{found.energy_pj:.6g}",
            f"{found.traffic_bytes:.6g}",
            Text(found.summary),
        )
    console = stdout_console()
    console.print(table)
    counts = result.counts
    console.print(
        f"candidates: {counts.generated} generated, {counts.illegal} illegal, "
        f"{counts.dominated} dominated, {counts.bounded} cut by the compute bound, "
        f"{counts.evaluated} evaluated; {counts.models_built} cost models built",
        markup=False,
    )
