"""The ``passes`` and ``taxonomy`` commands: pass reports and the attention taxonomy."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from einsum_cascade.cli.app import app, print_json, print_table, stdout_console, user_errors

if TYPE_CHECKING:
    from rich.console import Console

    from einsum_cascade.passes import PassReport
    from einsum_cascade.taxonomy import TaxonomyRow


def _print_report_tables(console: Console, report: PassReport) -> None:
    einsums = [
        (name, "-" if number is None else str(number)) for name, number in report.einsum_passes
    ]
    print_table(console, ("einsum", "pass"), einsums, "pass of every einsum", right=("pass",))
    tensors = [
        (f.tensor, ", ".join(str(p) for p in f.passes), f.describe()) for f in report.footprints
    ]
    print_table(
        console,
        ("tensor", "read in passes", "live footprint"),
        tensors,
        f"tensors read over {report.rank}",
    )


@app.command()
@user_errors
def passes(
    cascade: Annotated[str, typer.Argument(help="Library name (attention/1pass) or a file.")],
    rank: Annotated[str, typer.Option("--rank", "-r", help="Rank to count passes over.")],
    same_sequence: Annotated[
        list[str] | None,
        typer.Option(
            "--same-sequence",
            help="Another rank indexing the same sequence (repeatable): count X-passes.",
        ),
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Count the passes a cascade must make over a rank, per einsum and per tensor."""
    from einsum_cascade.passes import count_passes
    from einsum_cascade.sources import load_cascade

    report = count_passes(load_cascade(cascade), rank, same_sequence=tuple(same_sequence or ()))
    if json_output:
        print_json(report.to_dict())
        return
    console = stdout_console()
    noun = "pass" if report.num_passes == 1 else "passes"
    console.print(
        f"[bold]{report.cascade}[/bold]: {report.num_passes} {noun} over {report.rank}"
        + (f" (levels {', '.join(report.levels)})" if report.levels else "")
    )
    _print_report_tables(console, report)
    if report.barriers:
        pairs = ", ".join(f"{closed} -> {consumer}" for closed, consumer in report.barriers)
        console.print(f"barriers: {pairs}", markup=False)


def _taxonomy_table(rows: tuple[TaxonomyRow, ...]) -> Table:
    table = Table(title="attention cascades: passes over the key sequence", title_justify="left")
    for header in ("cascade", "class", "rank", "levels", "X", "buffer bound", "extra ops"):
        table.add_column(header)
    table.add_column("algorithms (Table I)")
    for row in rows:
        levels = ", ".join(f"{name} {count}" for name, count in row.level_passes) or "-"
        table.add_row(
            row.cascade,
            str(row.pass_class),
            row.rank,
            levels,
            "-" if row.sequence_passes is None else str(row.sequence_passes),
            row.buffer_bound,
            row.extra_ops_text,
            ", ".join(row.algorithms) or "-",
        )
    return table


@app.command()
@user_errors
def taxonomy(
    json_output: Annotated[bool, typer.Option("--json", help="Print the rows as JSON.")] = False,
) -> None:
    """Print pass class, extra compute and buffer bound for each attention cascade."""
    from einsum_cascade.taxonomy import classify_library

    rows = classify_library()
    if json_output:
        print_json([row.to_dict() for row in rows])
        return
    stdout_console().print(_taxonomy_table(rows))
