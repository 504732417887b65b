"""Put measured and modelled times side by side: rows, a CSV/Parquet file and an error plot."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from kernels.errors import KernelError
from kernels.measure.compare import CompareRow, ErrorSummary, SweepPoint, measure_points, plan_for
from kernels.model.predict import estimate_kernel_time
from mappers.hardware.machine import MachineSpec


def model_points(
    points: Sequence[SweepPoint],
    machine: MachineSpec,
    backend: str,
    threads: int = 1,
    registers: Mapping[str, int] | None = None,
) -> list[float]:
    """Return the modelled seconds of every point."""
    times = []
    for point in points:
        plan = plan_for(point)
        extents = {"M": point.sequence, "P": point.queries}
        estimate = estimate_kernel_time(plan, machine, extents, backend, threads, registers)
        times.append(estimate.total_s)
    return times


def run_comparison(
    points: Sequence[SweepPoint],
    machine: MachineSpec,
    backend: str,
    threads: int = 1,
    repeats: int = 5,
) -> list[CompareRow]:
    """Model every point first (cheap, fails fast), then measure them; return the rows."""
    modelled = model_points(points, machine, backend, threads)
    measured = measure_points(points, backend, threads, repeats)
    return [
        CompareRow(
            p.cascade, backend, machine.name, p.sequence, p.queries, p.head_dim, p.tile, t, m
        )
        for p, t, m in zip(points, measured, modelled, strict=True)
    ]


# the table `compare` prints names the shape by its ranks; the files use the same names
RANK_COLUMNS = {"sequence": "M", "queries": "P", "head_dim": "E", "tile": "M0"}


def rows_frame(rows: Sequence[CompareRow]) -> Any:
    """Return the rows as a pandas DataFrame with the relative error column.

    The shape columns are named by their ranks (M, P, E, M0), as in the printed table.
    """
    import pandas

    frame = pandas.DataFrame([asdict(r) for r in rows]).rename(columns=RANK_COLUMNS)
    frame["relative_error"] = [r.relative_error for r in rows]
    frame["ratio_measured_over_modelled"] = frame["measured_s"] / frame["modelled_s"]
    return frame


def write_results(rows: Sequence[CompareRow], path: Path) -> Path:
    """Write the rows as CSV (``.csv``) or Parquet (``.parquet``).

    Raises:
        KernelError: another suffix.
    """
    frame = rows_frame(rows)
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)
    elif path.suffix == ".parquet":
        frame.to_parquet(path, index=False)
    else:
        raise KernelError.single(
            "K613", f"results file '{path}' must end in .csv or .parquet", hint="e.g. out.csv"
        )
    return path


def plot_errors(rows: Sequence[CompareRow], summary: ErrorSummary, path: Path) -> Path:
    """Plot modelled vs measured (log-log, one colour per cascade) and the error histogram."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, 4.2), layout="constrained")
    scatter, histogram = figure.subplots(1, 2)
    cascades = sorted({r.cascade for r in rows})
    for cascade in cascades:
        mine = [r for r in rows if r.cascade == cascade]
        scatter.scatter(
            [r.measured_s * 1e3 for r in mine],
            [r.modelled_s * 1e3 for r in mine],
            label=Path(cascade).stem if cascade.endswith(".cascade") else cascade,
            s=18,
        )
    low = min(min(r.measured_s, r.modelled_s) for r in rows) * 1e3 / 1.5
    high = max(max(r.measured_s, r.modelled_s) for r in rows) * 1e3 * 1.5
    scatter.plot([low, high], [low, high], color="grey", linewidth=0.8, label="model = measured")
    scatter.fill_between(
        [low, high], [low * 0.75, high * 0.75], [low * 1.25, high * 1.25], color="grey", alpha=0.12
    )
    scatter.set(
        xscale="log", yscale="log", xlabel="measured (ms)", ylabel="modelled (ms)",
        title=f"{rows[0].backend} on {rows[0].machine}: Spearman {summary.spearman:.3f}",
    )  # fmt: skip
    scatter.legend(fontsize=7, loc="upper left")
    errors = [100 * r.relative_error for r in rows]
    histogram.hist(errors, bins=min(20, max(5, len(rows) // 2)), color="tab:blue", alpha=0.8)
    histogram.axvline(0, color="grey", linewidth=0.8)
    histogram.set(
        xlabel="(modelled - measured) / measured (%)",
        ylabel="points",
        title=(
            f"median |error| {100 * summary.median_abs_relative_error:.1f} %, "
            f"worst {100 * summary.worst_abs_relative_error:.1f} % ({summary.points} points)"
        ),
    )
    figure.savefig(path, dpi=120)
    return path
