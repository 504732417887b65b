"""The ``search`` command: search the mappings of a cascade on a spec for one workload point."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from einsum_cascade.cli.app import (
    app,
    os_errors,
    print_json,
    refuse_output_file,
    stderr_console,
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

if TYPE_CHECKING:
    from einsum_cascade.ir import Cascade
    from mappers.hardware.spec import ArchSpec
    from mappers.mapping.schema import Mapping
    from mappers.search.candidates import SearchCounts
    from mappers.search.engine import SearchResult


@app.command()
@user_errors
def search(
    arch: ArchOption,
    cascade: str = typer.Option(
        ..., "--cascade", help="cascade name (attention/3pass) or .cascade path"
    ),
    workload: WorkloadOption = "BERT",
    seq: SeqOption = None,
    extent: ExtentOption = None,
    template: str | None = typer.Option(
        None,
        "--template",
        help="mapping whose schedule, DRAM loop order and cost tables the search keeps "
        "(default: overlapped schedule, tile loops over the ranks every einsum keeps)",
    ),
    objective: str = typer.Option(
        "latency", "--objective", help="latency (then energy), energy (then latency) or edp"
    ),
    table: CostTableOption = "default",
    keep: int = typer.Option(
        # a larger --keep leaves the bounds nothing to prune: 1000 already searches 15x longer
        5,
        "--keep",
        min=1,
        max=1000,
        help="how many best mappings to list",
    ),
    min_tile: int = typer.Option(
        16, "--min-tile", min=1, max=2**31 - 1, help="smallest tile (and partition size) tried"
    ),
    budget: float | None = typer.Option(
        None,
        "--budget",
        min=0.0,
        help="stop after SECONDS with the best mapping found so far (default: exhaustive)",
    ),
    out: Annotated[
        Path | None,
        typer.Option("--out", help="write the best mapping as mapping YAML (model reads it)"),
    ] = None,
    force: bool = typer.Option(False, "--force", help="overwrite --out if it exists"),
    as_json: bool = typer.Option(False, "--json", help="print the result as JSON"),
) -> None:
    """Search partition sizes, bindings, spreads, loop orders, tiles, schedules and placements."""
    from mappers.search.engine import search_mappings

    refuse_output_file(out, force=force)
    graph, spec, base, point, label = _inputs(arch, cascade, workload, seq, extent, template)
    with _progress(as_json) as report:
        (result,) = search_mappings(
            graph,
            spec,
            point,
            template=base,
            search_order_and_schedule=template is None,
            table=table,
            objective=objective,
            keep=keep,
            smallest_tile=min_tile,
            budget_s=budget,
            progress=report,
        )
    if not result.best:
        _no_mapping(graph, spec, point, min_tile)
    if out is not None:
        command = (
            f"einsum-cascade search --arch {arch} --cascade {cascade} "
            f"--workload {workload}{f' --seq {seq}' if seq else ''} "
            + "".join(f"--extent {item} " for item in extent or [])
            + f"--objective {objective} --costs {table}"
        )
        _write(result, out, command, label)
    if as_json:
        print_json(_json(result, out))
        return
    _print(result, f"{cascade} on {spec.name}: {label}")
    if out is not None:
        stdout_console().print(f"wrote {out}")


def _inputs(
    arch: str,
    cascade: str,
    workload: str,
    seq: str | None,
    extent: list[str] | None,
    template: str | None,
) -> tuple[Cascade, ArchSpec, Mapping, dict[str, int], str]:
    """Return the cascade, spec, template, workload point and its label of a search."""
    from dataclasses import replace

    from einsum_cascade.sources import load_cascade
    from mappers.cost.symbolic import check_batch_ranks
    from mappers.hardware.spec_loader import load_spec
    from mappers.mapping.loader import load_mapping
    from mappers.search.engine import template_for
    from mappers.workloads import point_workload

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
    if shape.batch_ranks is not None:
        check_batch_ranks(graph, base.with_batch_ranks(shape.batch_ranks, shape.batch_span))
    declared = {r.name for r in graph.ranks if r.default is not None}
    point = {k: v for k, v in shape.extents().items() if k not in declared}
    point.update(extent_options(extent or []))
    return graph, spec, base, point, shape.label()


def _no_mapping(graph: Cascade, spec: ArchSpec, point: dict[str, int], min_tile: int) -> None:
    """Print why no legal mapping was found, and exit 1."""
    from mappers.search.explain import why_no_mapping

    reasons = why_no_mapping(graph, spec, point, min_tile)
    lines = ["error: no legal mapping fits this spec", *(f"  {r}" for r in reasons)]
    if not reasons:
        lines.append("  every candidate overflowed a buffer or was pruned; try --min-tile 1")
    stderr_console().print("\n".join(lines), markup=False)
    raise typer.Exit(1)


def _write(result: SearchResult, out: Path, command: str, label: str) -> None:
    """Write the best mapping as mapping YAML, headed by the command that found it."""
    from mappers.mapping.writer import mapping_yaml

    best = result.best[0]
    header = (
        f"Found by: {command}\n"
        f"extents: {label}\n"
        f"latency_s {best.latency_s:.6g}, energy_pj {best.energy_pj:.6g}, "
        f"traffic_bytes {best.traffic_bytes:.6g}"
    )
    with os_errors():
        out.write_text(mapping_yaml(best.mapping, header), encoding="utf-8")


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
        f"structures: {counts.structures:.4g} generated, {counts.structures_illegal:.4g} illegal, "
        f"{counts.structures_dominated:.4g} dominated, {counts.structures_bounded:.4g} cut by "
        f"bounds, {counts.structures_costed} costed, {counts.structures_unexplored:.4g} unexplored",
        markup=False,
    )
    console.print(
        f"candidates of the costed structures: {counts.generated:.4g} generated, "
        f"{counts.illegal:.4g} illegal, {counts.dominated:.4g} dominated, "
        f"{counts.bounded:.4g} cut by bounds, {counts.evaluated} evaluated; "
        f"{counts.models_built} cost models built in {counts.seconds:.1f} s",
        markup=False,
    )
    console.print(
        "the search was exhaustive"
        if counts.exhaustive
        else "the budget ran out: this is the best found, not necessarily the best",
        markup=False,
    )


@contextlib.contextmanager
def _progress(quiet: bool) -> Iterator[Callable[[SearchCounts, tuple[float, ...]], None] | None]:
    """Show a live bar on stderr: structures and candidates generated, pruned, costed, best."""
    if quiet:
        yield None
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=stderr_console(),
        transient=True,
    ) as bar:
        task = bar.add_task("searching", total=None)

        def report(counts: SearchCounts, best: tuple[float, ...]) -> None:
            done = counts.structures_illegal + counts.structures_dominated
            done += counts.structures_bounded + counts.structures_costed
            pruned = counts.illegal + counts.dominated + counts.bounded
            fastest = min(best, default=float("inf"))
            shown = f"{fastest:.6g} s" if fastest < float("inf") else "none yet"
            bar.update(
                task,
                description=(
                    f"structures {done:.3g}/{counts.structures:.3g} ({counts.structures_costed} "
                    f"costed) | candidates {counts.generated:.3g} generated, {pruned:.3g} "
                    f"pruned, {counts.evaluated} costed | {counts.models_built} models | "
                    f"best {shown}"
                ),
            )

        yield report
