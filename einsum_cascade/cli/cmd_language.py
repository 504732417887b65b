"""Language commands: ``check``, ``show``, ``counts`` and ``list``."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from einsum_cascade.cli.app import (
    app,
    plural,
    print_json,
    print_table,
    stdout_console,
    user_errors,
)
from einsum_cascade.cli.options import extents_option

CascadeArg = Annotated[str, typer.Argument(help="A library name (attention/1pass) or a file.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _load(name: str) -> Any:
    from einsum_cascade.sources import load_cascade

    return load_cascade(name)


def _print_warnings(cascade: Any) -> None:
    for warning in cascade.warnings:
        sys.stderr.write(warning.render() + "\n")


def _summary(cascade: Any) -> dict[str, Any]:
    from einsum_cascade.graph import iterative_variables

    return {
        "name": cascade.name,
        "description": cascade.description,
        "file": cascade.source_file,
        "ranks": {
            r.name: (str(r.expression) if r.is_derived else r.default) for r in cascade.ranks
        },
        "inputs": {t.name: list(t.ranks) for t in cascade.inputs},
        "outputs": {t.name: list(t.ranks) for t in cascade.outputs},
        "num_tensors": len(cascade.tensors),
        "num_einsums": len(cascade.einsums),
        "iterative_ranks": [v.upper() for v in iterative_variables(cascade)],
        "warnings": [w.render() for w in cascade.warnings],
    }


@app.command()
@user_errors
def check(cascade: CascadeArg, json: JsonOpt = False) -> None:
    """Parse and check a cascade; print a one-line summary (warnings on stderr)."""
    from einsum_cascade.graph import iterative_variables

    loaded = _load(cascade)
    if json:
        print_json(_summary(loaded))
        return
    _print_warnings(loaded)
    # the line names the ranks only: their sympy extents (JSON) are not built
    iterative = [v.upper() for v in iterative_variables(loaded)]
    extra = f", iterative over {', '.join(iterative)}" if iterative else ""
    ranks = " ".join(r.name for r in loaded.ranks)
    stdout_console().print(
        f"ok: {loaded.name}: {plural(len(loaded.einsums), 'einsum')}, "
        f"{plural(len(loaded.tensors), 'tensor')}, ranks {ranks}{extra}",
        markup=False,
    )


@app.command()
@user_errors
def show(
    cascade: CascadeArg,
    dot: Annotated[bool, typer.Option("--dot", help="Print Graphviz DOT.")] = False,
    text: Annotated[bool, typer.Option("--text", help="Print canonical cascade text.")] = False,
    yaml: Annotated[bool, typer.Option("--yaml", help="Print TeAAL-style YAML.")] = False,
    json: JsonOpt = False,
) -> None:
    """Show a cascade: its einsums and tensors, or DOT / text / YAML."""
    from einsum_cascade.printer import format_einsum, format_filter, to_dot, to_text
    from einsum_cascade.teaal import to_yaml

    loaded = _load(cascade)
    if dot or text or yaml:
        out = to_dot(loaded) if dot else to_text(loaded) if text else to_yaml(loaded)
        sys.stdout.write(out)
        return
    if json:
        data = _summary(loaded)
        data["einsums"] = [format_einsum(e) for e in loaded.einsums]
        print_json(data)
        return
    console = stdout_console()
    console.print(Text.assemble((loaded.name, "bold"), f"  {loaded.description}"))
    einsums = []
    for einsum in loaded.einsums:
        reduced = ", ".join(v.upper() for v in einsum.reduced_variables)
        einsums.append(
            (
                einsum.name,
                " ".join(einsum.ranks),
                f"{reduced} ({einsum.reduce_op.value})" if reduced else "",
                format_filter(einsum.condition) if einsum.condition is not None else "",
                format_einsum(einsum),
            )
        )
    print_table(console, ("einsum", "iteration ranks", "reduces", "filter", "equation"), einsums)
    tensors = [
        (t.name, t.kind.value, ", ".join(t.ranks), str(t.empty), t.iterative_rank or "")
        for t in loaded.tensors
    ]
    print_table(console, ("tensor", "kind", "ranks", "empty", "iterative"), tensors)
    _print_warnings(loaded)


@app.command()
@user_errors
def counts(
    cascade: CascadeArg,
    shape: Annotated[
        str | None, typer.Option(help="Extents to substitute, e.g. E=64,F=64,M=1K,P=1K.")
    ] = None,
    json: JsonOpt = False,
) -> None:
    """Count primitive operations per einsum, symbolically or for a given shape."""
    from einsum_cascade.shapes import count_ops, evaluate_counts

    loaded = _load(cascade)
    extents = extents_option(shape)
    per_einsum: dict[str, dict[str, Any]]
    if extents:
        per_einsum = dict(evaluate_counts(loaded, extents))
    else:
        per_einsum = {k: {op: str(n) for op, n in v.items()} for k, v in count_ops(loaded).items()}
    ops = sorted({op for v in per_einsum.values() for op in v})
    totals: dict[str, Any] = {}
    if extents:
        totals = {op: sum(int(v.get(op, 0)) for v in per_einsum.values()) for op in ops}
    if json:
        print_json(
            {"cascade": loaded.name, "shape": extents, "per_einsum": per_einsum, "totals": totals}
        )
        return
    title = f"{loaded.name}" + (f" at {shape}" if shape else " (symbolic)")
    table = Table("einsum", *ops, title=Text(title))
    for name, row in per_einsum.items():
        table.add_row(Text(name), *(Text(_fmt(row.get(op, ""))) for op in ops))
    if totals:
        table.add_section()
        table.add_row("total", *(_fmt(totals[op]) for op in ops))
    stdout_console().print(table)


def _fmt(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


@app.command("list")
@user_errors
def list_cascades(json: JsonOpt = False) -> None:
    """List the built-in cascade library."""
    from einsum_cascade import library

    rows = [(name, library.load(name).description) for name in library.names()]
    if json:
        print_json([{"name": n, "description": d} for n, d in rows])
        return
    table = Table("name", "description")
    for name, description in rows:
        table.add_row(Text(name), Text(description))
    stdout_console().print(table)
