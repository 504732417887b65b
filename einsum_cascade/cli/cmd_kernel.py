"""Kernel commands: ``kernel gen``, ``kernel check``, ``kernel run`` and ``kernel bench``."""

from __future__ import annotations

import sys
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
from einsum_cascade.cli.options import (
    DEFAULT_TILING,
    BackendOpt,
    CompilerOpt,
    TargetOpt,
    TilingOptions,
    extents_option,
    tiling_options,
)
from mappers.units import SHAPE

kernel_app = typer.Typer(
    help="Generate CUDA kernels and NumPy twins from a cascade; compile, run and time them.",
    no_args_is_help=True,
)
app.add_typer(kernel_app, name="kernel")

CascadeArg = Annotated[str, typer.Argument(help="A library name (attention/1pass) or a file.")]
ShapeOpt = Annotated[str, typer.Option("--shape", help="Runtime extents, e.g. M=1000,P=777,W=64.")]
GridOpt = Annotated[
    str, typer.Option("--grid", help="Batch/head ranks mapped to the grid's y, e.g. G,R.")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _plan(name: str, options: TilingOptions) -> Any:
    from einsum_cascade.sources import load_cascade
    from kernels.plan.lower import plan_kernels
    from kernels.plan.tiling import Tiling

    sequence, parallel = options.sequence, options.parallel
    tiles = extents_option(options.tile, "--tile", SHAPE)
    unknown = set(tiles) - {f"{sequence}0", f"{parallel}0"}
    if unknown:
        raise typer.BadParameter(
            f"unknown tile {', '.join(sorted(unknown))}; use {sequence}0 and {parallel}0",
            param_hint="--tile",
        )
    tiling = Tiling(
        parallel_rank=parallel,
        sequence_rank=sequence,
        tile=tiles.get(f"{sequence}0", 32),
        threads_per_block=tiles.get(f"{parallel}0", 64),
        static_extents=tuple(sorted(extents_option(options.extent, "--extent").items())),
        tile_placement=options.placement,
        unroll=options.unroll,
        input_dtype=options.dtype,
        grid_ranks=tuple(r.strip() for r in options.grid.split(",") if r.strip()),
    )
    return plan_kernels(load_cascade(name), tiling)


@kernel_app.command("gen")
@user_errors
@tiling_options
def gen(
    name: CascadeArg,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write here instead of stdout.")
    ] = None,
    twin: Annotated[bool, typer.Option("--twin", help="Render the NumPy twin instead.")] = False,
    tiling: TilingOptions = DEFAULT_TILING,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing -o file.")] = False,
) -> None:
    """Render the CUDA source (or the NumPy twin) of a cascade's kernel plan."""
    from kernels.render.cuda import render_cuda
    from kernels.render.twin import render_twin

    refuse_overwrite(output, force=force)
    plan = _plan(name, tiling)
    text = render_twin(plan) if twin else render_cuda(plan).text
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")


@kernel_app.command("check")
@user_errors
@tiling_options
def check(
    name: CascadeArg,
    target: TargetOpt = "sm_80,sm_90",
    compiler: CompilerOpt = "nvrtc",
    tiling: TilingOptions = DEFAULT_TILING,
    as_json: JsonOpt = False,
) -> None:
    """Compile for each target, report registers, shared memory and spills, and gate them."""
    from kernels.build.compile import check_resources, compile_source
    from kernels.render.cuda import render_cuda

    plan = _plan(name, tiling)
    source = render_cuda(plan)
    rows: list[dict[str, Any]] = []
    for each in [a.strip() for a in target.split(",") if a.strip()]:
        compiled = compile_source(source, each, compiler)
        check_resources(compiled)
        for item in compiled.resources:
            rows.append(
                {
                    "target": each,
                    "compiler": compiler,
                    "kernel": item.name,
                    "registers": item.registers,
                    "shared_bytes": item.shared_bytes,
                    "stack_bytes": item.stack_bytes,
                    "spill_bytes": item.spill_store_bytes + item.spill_load_bytes,
                }
            )
    if as_json:
        print_json(rows)
        return
    table = Table("target", "kernel", "registers", "shared bytes", "stack bytes", "spill bytes")
    for row in rows:
        table.add_row(
            row["target"],
            row["kernel"],
            str(row["registers"]),
            str(row["shared_bytes"]),
            str(row["stack_bytes"]),
            str(row["spill_bytes"]),
        )
    stdout_console().print(table)


def _inputs(plan: Any, shape: dict[str, int], seed: int) -> tuple[dict[str, Any], dict[str, int]]:
    import numpy as np

    extents = {**dict(plan.tiling.static_extents), **shape}
    rng = np.random.default_rng(seed)
    arrays = {}
    for tensor in plan.cascade.inputs:
        missing = [r for r in tensor.ranks if r not in extents]
        if missing:
            raise fail(f"give the extent of {', '.join(missing)} with --shape")
        size = tuple(extents[r] for r in tensor.ranks)
        arrays[tensor.name] = rng.standard_normal(size).astype(np.float32)
    return arrays, shape


@kernel_app.command("run")
@user_errors
@tiling_options
def run(
    name: CascadeArg,
    backend: BackendOpt = "numpy",
    shape: ShapeOpt = "M=100,P=77",
    seed: Annotated[int, typer.Option("--seed", help="Seed of the random inputs.")] = 0,
    tolerance: Annotated[float, typer.Option("--tolerance", help="Max abs error.")] = 1e-5,
    tiling: TilingOptions = DEFAULT_TILING,
    as_json: JsonOpt = False,
) -> None:
    """Run the kernel on a backend and compare with the interpreter (float64); exit 1 if off."""
    from kernels.run.execute import get_backend
    from kernels.run.validate import compare, reference

    plan = _plan(name, tiling)
    arrays, extents = _inputs(plan, extents_option(shape), seed)
    outputs = get_backend(backend).run(
        plan, arrays, {k: v for k, v in extents.items() if k not in _input_ranks(plan)}
    )
    result = compare(outputs, reference(plan, arrays, extents))
    ok = result.nan_count == 0 and result.max_abs_error <= tolerance
    record = {
        "cascade": plan.cascade.name,
        "backend": backend,
        "shape": extents,
        "max_abs_error": result.max_abs_error,
        "max_rel_error": result.max_rel_error,
        "nan_count": result.nan_count,
        "tolerance": tolerance,
        "ok": ok,
    }
    if as_json:
        print_json(record)
    else:
        stdout_console().print(
            f"{plan.cascade.name} on {backend} {extents}: max abs error "
            f"{result.max_abs_error:.3g} (tolerance {tolerance:g}), NaN {result.nan_count}: "
            f"{'ok' if ok else 'MISMATCH'}",
            markup=False,
        )
    if not ok:
        raise typer.Exit(1)


def _input_ranks(plan: Any) -> set[str]:
    return {r for t in plan.cascade.inputs for r in t.ranks}


@kernel_app.command("bench")
@user_errors
@tiling_options
def bench(
    name: CascadeArg,
    backend: BackendOpt = "numpy",
    shape: ShapeOpt = "M=4096,P=4096",
    repeats: Annotated[int, typer.Option("--repeats", help="Timed runs (>= 20 on cupy).")] = 5,
    tiling: TilingOptions = DEFAULT_TILING,
    as_json: JsonOpt = False,
) -> None:
    """Time the kernel on a backend; print the shape and the device with the median."""
    plan = _plan(name, tiling)
    arrays, extents = _inputs(plan, extents_option(shape), 0)
    runtime = {k: v for k, v in extents.items() if k not in _input_ranks(plan)}
    timing, device = _time(plan, backend, arrays, runtime, repeats)
    record = {
        "cascade": plan.cascade.name,
        "backend": backend,
        "device": device,
        "shape": {**dict(plan.tiling.static_extents), **extents},
        "median_ms": timing.median_ms,
        "min_ms": timing.min_ms,
        "max_ms": timing.max_ms,
        "repeats": timing.repeats,
        "warmup": timing.warmup,
    }
    if as_json:
        print_json(record)
        return
    stdout_console().print(
        f"{plan.cascade.name} on {backend} ({device}), shape {record['shape']}: median "
        f"{timing.median_ms:.3f} ms over {timing.repeats} runs (min {timing.min_ms:.3f})",
        markup=False,
    )


def _time(plan: Any, backend: str, arrays: Any, extents: Any, repeats: int) -> tuple[Any, str]:
    from kernels.run.execute import time_plan

    return time_plan(plan, backend, arrays, extents, repeats)
