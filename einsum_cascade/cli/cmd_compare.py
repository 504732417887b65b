"""Modelled vs measured: ``calibrate`` measures the host, ``compare`` sweeps kernels."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from einsum_cascade.cli.app import (
    app,
    fail,
    print_json,
    refuse_overwrite,
    stdout_console,
    user_errors,
)
from einsum_cascade.cli.options import MAX_REPEATS, BackendOpt, MachineOpt


@app.command("calibrate")
@user_errors
def calibrate(
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Write the CPU spec YAML here (default: NAME.yaml in the user's machine "
            "folder, $EINSUM_CASCADE_HOME/machines, where --machine NAME finds it).",
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
    quick: Annotated[bool, typer.Option("--quick", help="A few seconds (for tests).")] = False,
    name: Annotated[str, typer.Option("--name", help="Name written into the spec.")] = "host",
    cascade: Annotated[
        list[str] | None,
        typer.Option("--cascade", help="Cascades whose contractions to measure (repeatable)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary.")] = False,
) -> None:
    """Measure this host (1 thread and all cores, and the CUDA shim) and write a CPU spec."""
    from kernels.measure.calibrate import DEFAULT_CASCADES, CalibrationSettings, calibrate_host
    from mappers.hardware import cpu_spec_to_yaml, user_machine_dir

    if out is None:
        out = user_machine_dir() / f"{name}.yaml"
    if out.exists() and not force:
        raise fail(f"{out} exists; pass --force to overwrite it")
    cascades = tuple(cascade) if cascade else DEFAULT_CASCADES
    settings = (
        CalibrationSettings.quick_settings(cascades)
        if quick
        else CalibrationSettings(cascades=cascades)
    )
    spec = calibrate_host(settings, name)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(cpu_spec_to_yaml(spec), encoding="utf-8")
    summary: list[dict[str, Any]] = [
        {
            "threads": p.threads,
            "exp_per_s": p.exp_per_s,
            "einsum_gflops": [round(r.flops_per_s / 1e9, 2) for r in p.einsum],
            "matmul_gflops": [round(r.flops_per_s / 1e9, 2) for r in p.matmul],
            "bandwidth_gb_per_s": {
                lv.name: round(lv.bandwidth_bytes_per_s / 1e9, 1) for lv in p.levels
            },
            "ufunc_call_us": round(p.overhead_s("ufunc") * 1e6, 3),
        }
        for p in spec.profiles
    ]
    shim = spec.shim
    shim_summary = (
        {
            "block_ms": round(shim.block_s * 1e3, 3),
            "barrier_us": round(shim.barrier_s * 1e6, 2),
            "accumulate_ns": round(shim.accumulate_s * 1e9, 3),
        }
        if shim is not None
        else None
    )
    if as_json:
        print_json({"out": str(out), "profiles": summary, "shim": shim_summary})
        return
    table = Table("threads", "exp Gelem/s", "einsum GFLOP/s", "matmul GFLOP/s", "GB/s per level")
    for row in summary:
        table.add_row(
            str(row["threads"]),
            f"{row['exp_per_s'] / 1e9:.2f}",
            f"{min(row['einsum_gflops']):g}-{max(row['einsum_gflops']):g}",
            f"{min(row['matmul_gflops']):g}-{max(row['matmul_gflops']):g}",
            ", ".join(f"{k} {v:g}" for k, v in row["bandwidth_gb_per_s"].items()),
        )
    console = stdout_console()
    console.print(table)
    if shim_summary is not None:
        console.print(
            f"shim (64-thread block): {shim_summary['block_ms']} ms to start a block, "
            f"{shim_summary['barrier_us']} us a barrier, "
            f"{shim_summary['accumulate_ns']} ns a thread-point of a reduction",
            markup=False,
        )
    console.print(f"wrote {out}", markup=False)


@app.command("compare")
@user_errors
def compare(
    cascade: Annotated[
        list[str], typer.Option("--cascade", help="Library name or file (repeatable).")
    ],
    backend: BackendOpt = "numpy",
    sizes: Annotated[
        str, typer.Option("--sizes", help="Sweep, e.g. 'M=512,1024;P=256;E=64,128;M0=32,64'.")
    ] = "M=512,1024,2048;P=256,1024;E=64,128;M0=32,64",
    machine: MachineOpt = None,
    threads: Annotated[
        int, typer.Option("--threads", help="CPU threads while timing.", min=1, max=4096)
    ] = 1,
    repeats: Annotated[
        int, typer.Option("--repeats", help="Best of this many runs.", min=1, max=MAX_REPEATS)
    ] = 5,
    out: Annotated[Path, typer.Option("--out", help="Results .csv or .parquet.")] = Path(
        "compare.csv"
    ),
    plot: Annotated[Path | None, typer.Option("--plot", help="Error plot PNG.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite existing --out / --plot files.")
    ] = False,
) -> None:
    """Run kernels over a shape sweep, model each point, and report the error distribution."""
    from kernels.measure.compare import parse_sizes, summarize, sweep_points
    from kernels.measure.compare_report import plot_errors, run_comparison, write_results
    from kernels.run.backends import get_backend
    from mappers.hardware.machine_loader import load_machine

    refuse_overwrite(out, plot, force=force)
    on_device = get_backend(backend).device
    if on_device:
        from kernels.measure.compare import require_gpu

        require_gpu()
    spec = load_machine(machine or ("h100" if on_device else "host"))
    grid = parse_sizes(sizes)
    points = [p for name in cascade for p in sweep_points(name, grid)]
    rows = run_comparison(points, spec, backend, threads, repeats)
    summary = summarize(rows)
    write_results(rows, out)
    if plot is not None:
        plot_errors(rows, summary, plot)
    if as_json:
        print_json({"summary": _plain(summary), "rows": len(rows), "out": str(out)})
        return
    _print_rows(rows, summary, out, plot)


def _plain(summary: object) -> dict[str, float]:
    from dataclasses import asdict, is_dataclass

    assert is_dataclass(summary) and not isinstance(summary, type)
    return asdict(summary)


def _print_rows(rows: list[Any], summary: object, out: Path, plot: Path | None) -> None:
    table = Table("cascade", "M", "P", "E", "M0", "measured ms", "modelled ms", "error %")
    for row in rows:
        table.add_row(
            row.cascade,
            str(row.sequence),
            str(row.queries),
            str(row.head_dim),
            str(row.tile),
            f"{row.measured_s * 1e3:.3f}",
            f"{row.modelled_s * 1e3:.3f}",
            f"{100 * row.relative_error:+.1f}",
        )
    console = stdout_console()
    console.print(table)
    plain = _plain(summary)
    console.print(
        f"{plain['points']} points: median |error| "
        f"{100 * plain['median_abs_relative_error']:.1f} %, "
        f"worst {100 * plain['worst_abs_relative_error']:.1f} %, Spearman {plain['spearman']:.3f}",
        markup=False,
    )
    console.print(f"wrote {out}" + (f" and {plot}" if plot else ""), markup=False)
