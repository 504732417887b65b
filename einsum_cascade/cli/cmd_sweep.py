"""The ``sweep`` and ``plot`` commands: run design-space sweeps and draw their results."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from einsum_cascade.cli.app import (
    app,
    os_errors,
    print_json,
    refuse_overwrite,
    stderr_console,
    stdout_console,
    user_errors,
)


@app.command()
@user_errors
def sweep(
    spec_file: Annotated[
        Path | None,
        typer.Argument(
            help="Sweep spec YAML (see examples/sweeps/); or 'info' to print what a sweep "
            "output was run from: sweep info OUT."
        ),
    ] = None,
    results: Annotated[
        Path | None, typer.Argument(help="With 'info': the sweep output (or a Parquet part).")
    ] = None,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Results directory (Parquet parts).")
    ] = Path("sweep.parquet"),
    axis: Annotated[
        list[str] | None, typer.Option(help="Axis NAME=VALUES, e.g. 'seq=1K..1M x4'.")
    ] = None,
    base: Annotated[list[str] | None, typer.Option(help="Base setting KEY=VALUE.")] = None,
    metric: Annotated[list[str] | None, typer.Option(help="Metric to keep (repeatable).")] = None,
    constraint: Annotated[
        list[str] | None, typer.Option(help="Row filter, e.g. 'area_um2 <= 5e9'.")
    ] = None,
    evaluator: Annotated[
        str | None, typer.Option(help="Evaluator name or module:function.")
    ] = None,
    chunk_points: Annotated[
        int | None, typer.Option(help="Points per chunk.", min=1, max=2**31 - 1)
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(help="Local worker processes (default: all cores; 1 = none).", max=4096),
    ] = None,
    scheduler: Annotated[
        str | None, typer.Option(help="Dask scheduler address, e.g. tcp://host:8786.")
    ] = None,
    resume: Annotated[bool, typer.Option(help="Skip the chunks an earlier run finished.")] = False,
    force: Annotated[
        bool, typer.Option(help="Replace an existing sweep output (nothing else).")
    ] = False,
    strict: Annotated[
        bool,
        typer.Option(help="Stop at the first point that fails, instead of an infeasible row."),
    ] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Evaluate every point of a design-space sweep and append the rows to --out.

    A point that cannot be evaluated becomes a row with feasible = false and its reason.
    """
    from mappers.sweep.executors import check_reachable, choose_executor
    from mappers.sweep.run import run_sweep
    from mappers.sweep.spec import SweepSpec, load_sweep, with_options

    if spec_file is not None and str(spec_file) == "info" and not spec_file.is_file():
        _info(results, json_output)
        return
    if results is not None:
        raise typer.BadParameter(f"unexpected argument '{results}'", param_hint="RESULTS")
    if scheduler:
        check_reachable(scheduler)
    spec = load_sweep(spec_file) if spec_file is not None else SweepSpec()
    spec = with_options(
        spec,
        axes=tuple(axis or ()),
        base=tuple(base or ()),
        metrics=tuple(metric or ()),
        constraints=tuple(constraint or ()),
        evaluator=evaluator,
        chunk_points=chunk_points,
    )
    executor = choose_executor(workers, scheduler)
    with _progress_bar(f"sweep {spec.name}") as progress:
        summary = run_sweep(
            spec,
            out,
            executor=executor,
            resume=resume,
            force=force,
            strict=strict,
            progress=progress,
        )
    if json_output:
        print_json({k: getattr(summary, k) for k in summary.__slots__})
    else:
        stdout_console().print(str(summary), markup=False)


def _info(results: Path | None, json_output: bool) -> None:
    """Print the provenance of a sweep output: definition, inputs, version, revision."""
    from mappers.sweep.provenance import provenance_text
    from mappers.sweep.store import read_provenance

    if results is None:
        raise typer.BadParameter("give the sweep output: sweep info OUT", param_hint="RESULTS")
    record = read_provenance(results)
    if json_output:
        print_json(record)
    else:
        stdout_console().print(provenance_text(record), markup=False)


@contextmanager
def _progress_bar(label: str) -> Iterator[Callable[[int, int], None] | None]:
    """Yield a progress callback drawing a rich bar on stderr, or None when not a TTY."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    columns = ("{task.description}", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=stderr_console()) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


@app.command()
@user_errors
def plot(
    results: Annotated[Path, typer.Argument(help="Sweep results: directory, .parquet or .csv.")],
    x: Annotated[str | None, typer.Option("--x", help="Column for the x axis.")] = None,
    y: Annotated[str | None, typer.Option("--y", help="Column for the y axis.")] = None,
    hue: Annotated[str | None, typer.Option(help="Column that colours the series.")] = None,
    kind: Annotated[str, typer.Option(help="line, bar or scatter.")] = "line",
    logx: Annotated[bool, typer.Option("--logx", help="Logarithmic x axis.")] = False,
    logy: Annotated[bool, typer.Option("--logy", help="Logarithmic y axis.")] = False,
    pareto: Annotated[
        str | None,
        typer.Option(help="Mark the Pareto front of two metrics, e.g. area_um2,latency_s."),
    ] = None,
    where: Annotated[
        list[str] | None, typer.Option(help="Keep rows with COLUMN=VALUE (repeatable).")
    ] = None,
    title: Annotated[str | None, typer.Option(help="Figure title.")] = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="Image file to write.")] = Path(
        "sweep.png"
    ),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing image.")] = False,
) -> None:
    """Draw sweep results as a line, bar or scatter plot, optionally with a Pareto front."""
    from mappers.sweep.errors import SweepError
    from mappers.sweep.plots import PlotRequest, figure_path, plot_results, save_figure
    from mappers.sweep.store import read_results

    output = figure_path(output)  # the file matplotlib writes: -o fig is fig.png
    refuse_overwrite(output, force=force)
    frame = read_results(results)
    for condition in where or ():
        frame = _filter(frame, condition, SweepError)
    front = None
    if pareto is not None:
        names = tuple(part.strip() for part in pareto.split(","))
        if len(names) != 2:
            raise SweepError.single("SW408", f"--pareto '{pareto}' must name two metrics: A,B")
        front = (names[0], names[1])
    x_column, y_column = x or (front[0] if front else None), y or (front[1] if front else None)
    if x_column is None or y_column is None:
        raise SweepError.single("SW408", "give --x and --y (or --pareto A,B to plot B against A)")
    request = PlotRequest(
        x_column, y_column, hue, kind, logx, logy, front, title, tuple(where or ())
    )
    with os_errors():
        written = save_figure(plot_results(frame, request), output)
    stdout_console().print(f"wrote {written}", markup=False)


def _filter(frame: Any, condition: str, error: Any) -> Any:
    column, sep, value = condition.partition("=")
    if not sep or column not in frame.columns:
        from einsum_cascade.diagnostics import suggest

        hint = suggest(column, map(str, frame.columns)) if sep else "write COLUMN=VALUE"
        raise error.single(
            "SW409", f"--where '{condition}' names no column of the results", None, hint
        )
    kept = frame[frame[column].astype(str) == value]
    if kept.empty and frame[column].dtype.kind in "if":
        kept = frame[frame[column] == float(value)] if _is_float(value) else kept
    return kept


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
