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
from einsum_cascade.cli.options import MAX_REPEATS, extents_option
from mappers.units import SHAPE

kernel_app = typer.Typer(
    help="Generate CUDA kernels and NumPy twins from a cascade; compile, run and time them.",
    no_args_is_help=True,
)
app.add_typer(kernel_app, name="kernel")

CascadeArg = Annotated[str, typer.Argument(help="A library name (attention/1pass) or a file.")]
TileOpt = Annotated[
    str,
    typer.Option(
        "--tile",
        help="Tile sizes: <sequence>0 (default 32) and <parallel>0 (rows per block, default 64), "
        "e.g. M0=64,P0=128.",
    ),
]
RendererOpt = Annotated[
    str, typer.Option("--renderer", help="cuda (SIMT), twin (NumPy) or triton (tensor cores).")
]
WarpsOpt = Annotated[
    int,
    typer.Option(
        "--warps", help="Triton warps per program (0: 4, or 8 with masks/d>=128).", min=0, max=32
    ),
]
StagesOpt = Annotated[int, typer.Option("--stages", help="Triton pipeline stages.", min=1, max=16)]
RENDERERS = ("cuda", "twin", "triton")
MAX_TILE = 2**31 - 1
ExtentOpt = Annotated[str, typer.Option("--extent", help="Static extents, e.g. E=64,F=64.")]
DtypeOpt = Annotated[str, typer.Option("--dtype", help="Input dtype: float32 or float16.")]
UnrollOpt = Annotated[
    int, typer.Option("--unroll", help="Unroll factor of in-tile loops.", min=1, max=2**31 - 1)
]
ParallelOpt = Annotated[str, typer.Option("--parallel", help="One thread per index of this rank.")]
SequenceOpt = Annotated[str, typer.Option("--sequence", help="The rank walked tile by tile.")]
PlacementOpt = Annotated[
    str, typer.Option("--placement", help="In-tile tensors in 'shared' or 'register' memory.")
]
ShapeOpt = Annotated[str, typer.Option("--shape", help="Runtime extents, e.g. M=1000,P=777,W=64.")]
GridOpt = Annotated[
    str, typer.Option("--grid", help="Batch/head ranks mapped to the grid's y, e.g. G,R.")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
WorkloadOpt = Annotated[
    str | None,
    typer.Option(
        "--workload",
        help="Extents from a workload (a YAML file, BERT... at 64K, or none): the sequence "
        "and parallel ranks at run time, the other input ranks static; --extent and --shape "
        "override them.",
    ),
]


def _workload_extents(
    name: str, workload: str | None, sequence: str, parallel: str
) -> tuple[dict[str, int], dict[str, int]]:
    """Return (static, runtime) extents of a workload for the cascade's ranks."""
    if workload is None:
        return {}, {}
    from einsum_cascade.sources import load_cascade
    from mappers.workloads import point_workload

    cascade = load_cascade(name)
    known = {rank.name for rank in cascade.ranks}
    inputs = {r for tensor in cascade.inputs for r in tensor.ranks}
    extents = {k: v for k, v in point_workload(workload, None, {}).extents().items() if k in known}
    static = {k: v for k, v in extents.items() if k in inputs and k not in (sequence, parallel)}
    return static, {k: v for k, v in extents.items() if k not in static}


def _extent_text(extents: dict[str, int]) -> str:
    return ",".join(f"{k}={v}" for k, v in extents.items())


def _plan(
    name: str,
    tile: str,
    extent: str,
    dtype: str,
    unroll: int,
    parallel: str,
    sequence: str,
    placement: str,
    grid: str = "",
) -> Any:
    from einsum_cascade.sources import load_cascade
    from kernels.plan.lower import plan_kernels
    from kernels.plan.tiling import Tiling

    tiles = extents_option(tile, "--tile", SHAPE) if tile.strip() else {}
    unknown = set(tiles) - {f"{sequence}0", f"{parallel}0"}
    if unknown:
        raise typer.BadParameter(
            f"unknown tile {', '.join(sorted(unknown))}: the sequence rank is {sequence} "
            f"and the parallel rank {parallel}, so the tiles are {sequence}0 and {parallel}0",
            param_hint="--tile",
        )
    for key, value in tiles.items():
        if not 1 <= value <= MAX_TILE:
            raise typer.BadParameter(
                f"tile {key}={value} is outside 1..{MAX_TILE} (kernel indices are 32-bit)",
                param_hint="--tile",
            )
    tiling = Tiling(
        parallel_rank=parallel,
        sequence_rank=sequence,
        tile=tiles.get(f"{sequence}0", 32),
        threads_per_block=tiles.get(f"{parallel}0", 64),
        static_extents=tuple(sorted(extents_option(extent, "--extent").items())),
        tile_placement=placement,
        unroll=unroll,
        input_dtype=dtype,
        grid_ranks=tuple(r.strip() for r in grid.split(",") if r.strip()),
    )
    return plan_kernels(load_cascade(name), tiling)


@kernel_app.command("gen")
@user_errors
def gen(
    name: CascadeArg,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write here instead of stdout.")
    ] = None,
    twin: Annotated[bool, typer.Option("--twin", help="Render the NumPy twin instead.")] = False,
    renderer: RendererOpt = "cuda",
    tile: TileOpt = "",
    extent: ExtentOpt = "E=64,F=64",
    dtype: DtypeOpt = "float32",
    unroll: UnrollOpt = 1,
    parallel: ParallelOpt = "P",
    sequence: SequenceOpt = "M",
    placement: PlacementOpt = "shared",
    grid: GridOpt = "",
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing -o file.")] = False,
) -> None:
    """Render the CUDA source, the NumPy twin or the Triton module of a cascade's kernel plan."""
    from kernels.render.cuda import render_cuda
    from kernels.render.triton import render_triton
    from kernels.render.twin import render_twin

    chosen = "twin" if twin else _renderer(renderer)
    _check_output(output)
    refuse_overwrite(output, force=force)
    plan = _plan(name, tile, extent, dtype, unroll, parallel, sequence, placement, grid)
    if chosen == "twin":
        text = render_twin(plan)
    elif chosen == "triton":
        text = render_triton(plan).text
    else:
        text = render_cuda(plan).text
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise fail(f"cannot write {output}: {exc.strerror or exc}") from None


def _renderer(renderer: str) -> str:
    if renderer not in RENDERERS:
        raise fail(f"unknown renderer '{renderer}'; valid renderers: {', '.join(RENDERERS)}", 2)
    return renderer


def _check_output(output: Path | None) -> None:
    """Refuse an output path that is a directory or whose folder does not exist."""
    if output is None:
        return
    if output.is_dir():
        raise fail(f"{output} is a directory; give a file name, e.g. {output / 'kernel.cu'}")
    if not output.parent.is_dir():
        raise fail(f"the folder {output.parent} does not exist; create it first")


@kernel_app.command("check")
@user_errors
def check(
    name: CascadeArg,
    arch: Annotated[
        str,
        typer.Option(
            "--arch",
            "--target",
            help="Comma-separated archs (cuda: sm_80,sm_90; triton: sm_80,sm_90a).",
        ),
    ] = "",
    backend: Annotated[str, typer.Option("--backend", help="nvcc or nvrtc.")] = "nvrtc",
    renderer: RendererOpt = "cuda",
    warps: WarpsOpt = 0,
    stages: StagesOpt = 3,
    tile: TileOpt = "",
    extent: ExtentOpt = "E=64,F=64",
    dtype: DtypeOpt = "float32",
    unroll: UnrollOpt = 1,
    parallel: ParallelOpt = "P",
    sequence: SequenceOpt = "M",
    placement: PlacementOpt = "shared",
    grid: GridOpt = "",
    as_json: JsonOpt = False,
) -> None:
    """Compile for each arch, report registers, shared memory and spills, and gate them.

    With ``--renderer triton`` the kernels are compiled ahead of time by Triton (no GPU) and
    the SASS is read: tensor-core instructions (HGMMA on sm_90a, HMMA on sm_80), LDSM,
    cp.async (LDGSTS), MUFU, registers, shared memory and spills (LDL/STL).
    """
    from kernels.build.compile import check_resources, compile_source
    from kernels.render.cuda import render_cuda

    plan = _plan(name, tile, extent, dtype, unroll, parallel, sequence, placement, grid)
    if _renderer(renderer) == "triton":
        _check_triton(plan, arch or "sm_80,sm_90a", warps, stages, as_json)
        return
    if renderer != "cuda":
        raise fail("kernel check compiles the cuda or triton renderer's output", 2)
    source = render_cuda(plan)
    rows: list[dict[str, Any]] = []
    for target in [a.strip() for a in (arch or "sm_80,sm_90").split(",") if a.strip()]:
        compiled = compile_source(source, target, backend)
        check_resources(compiled)
        for item in compiled.resources:
            rows.append(
                {
                    "arch": target,
                    "backend": backend,
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
    table = Table("arch", "kernel", "registers", "shared bytes", "stack bytes", "spill bytes")
    for row in rows:
        table.add_row(
            row["arch"],
            row["kernel"],
            str(row["registers"]),
            str(row["shared_bytes"]),
            str(row["stack_bytes"]),
            str(row["spill_bytes"]),
        )
    stdout_console().print(table)


def _check_triton(plan: Any, arch: str, warps: int, stages: int, as_json: bool) -> None:
    from kernels.build.triton_build import check_binary, compile_kernel
    from kernels.errors import KernelError
    from kernels.render.triton import render_triton

    source = render_triton(plan)
    rows: list[dict[str, Any]] = []
    failures: list[KernelError] = []
    for target in [a.strip() for a in arch.split(",") if a.strip()]:
        for kernel in source.kernels:
            binary = compile_kernel(source, kernel, target, warps or kernel.warps, stages)
            try:
                check_binary(binary, kernel.dots)
                gate = "ok"
            except KernelError as error:
                failures.append(error)
                gate = error.diagnostics[0].code
            rows.append(
                {
                    "arch": target,
                    "kernel": kernel.name,
                    "dots": kernel.dots,
                    "HGMMA": binary.count("HGMMA"),
                    "HMMA": binary.count("HMMA"),
                    "LDSM": binary.count("LDSM"),
                    "LDGSTS": binary.count("LDGSTS"),
                    "MUFU": binary.count("MUFU"),
                    "registers": binary.registers,
                    "shared_bytes": binary.shared_bytes,
                    "spill_ldl_stl": binary.count("LDL") + binary.count("STL"),
                    "stack_bytes": binary.stack_bytes,
                    "warps": binary.num_warps,
                    "stages": binary.num_stages,
                    "gate": gate,
                }
            )
    if as_json:
        print_json(rows)
    else:
        columns = ("arch", "kernel", "dots", "HGMMA", "HMMA", "LDSM", "LDGSTS", "MUFU")
        more = ("registers", "shared_bytes", "spill_ldl_stl", "stack_bytes", "gate")
        table = Table(*columns, *more)
        for row in rows:
            table.add_row(*(str(row[c]) for c in (*columns, *more)))
        stdout_console().print(table)
    if failures:
        raise failures[0]


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


RUN_BACKENDS = ("numpy", "shim", "cupy", "triton", "triton-gpu")


def _runner(backend: str) -> Any:
    from kernels.run.execute import run_cupy, run_shim, run_twin

    if backend not in RUN_BACKENDS:
        raise fail(f"unknown backend '{backend}'; valid backends: {', '.join(RUN_BACKENDS)}", 2)
    if backend == "triton":
        from kernels.run.triton_launch import run_triton_interpreter

        return run_triton_interpreter
    if backend == "triton-gpu":
        from kernels.run.triton_launch import run_triton_cupy_host

        return run_triton_cupy_host
    return {"numpy": run_twin, "shim": run_shim, "cupy": run_cupy}[backend]


def _tolerance_kind(backend: str) -> str:
    return backend if backend.startswith("triton") else "simt"


@kernel_app.command("run")
@user_errors
def run(
    name: CascadeArg,
    backend: Annotated[
        str,
        typer.Option(
            "--backend",
            help="numpy (twin), shim, cupy (CUDA SIMT on a GPU), triton (Triton's interpreter) "
            "or triton-gpu.",
        ),
    ] = "numpy",
    shape: ShapeOpt = "",
    seed: Annotated[int, typer.Option("--seed", help="Seed of the random inputs.", min=0)] = 0,
    tolerance: Annotated[
        float | None,
        typer.Option(
            "--tolerance",
            help="Absolute part of the tolerance |got - want| <= atol + rtol * |want| "
            "(default per backend and dtype: 1e-5 for fp32 SIMT).",
        ),
    ] = None,
    rtol: Annotated[
        float | None,
        typer.Option("--rtol", help="Relative part of the tolerance (default 1e-4 for fp32)."),
    ] = None,
    tile: TileOpt = "",
    extent: ExtentOpt = "",
    dtype: DtypeOpt = "float32",
    unroll: UnrollOpt = 1,
    parallel: ParallelOpt = "P",
    sequence: SequenceOpt = "M",
    placement: PlacementOpt = "shared",
    grid: GridOpt = "",
    workload: WorkloadOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Run the kernel on a backend and compare with the interpreter (float64); exit 1 if off.

    Without --workload, --extent defaults to E=64,F=64 and --shape to M=100,P=77.
    """
    from kernels.run.validate import compare, reference, within
    from kernels.run.validate import tolerance as tolerance_of

    static, runtime = _workload_extents(name, workload, sequence, parallel)
    extent = extent or _extent_text(static) or "E=64,F=64"
    sizes = {**runtime, **extents_option(shape)} if shape or workload else {"M": 100, "P": 77}
    plan = _plan(name, tile, extent, dtype, unroll, parallel, sequence, placement, grid)
    arrays, extents = _inputs(plan, sizes, seed)
    outputs = _runner(backend)(
        plan, arrays, {k: v for k, v in extents.items() if k not in _input_ranks(plan)}
    )
    expected = reference(plan, arrays, extents)
    result = compare(outputs, expected)
    default_rtol, default_atol = tolerance_of(_tolerance_kind(backend), plan.tiling.input_dtype)
    atol = default_atol if tolerance is None else tolerance
    relative = default_rtol if rtol is None else rtol
    ok = result.nan_count == 0 and within(outputs, expected, relative, atol)
    record = {
        "cascade": plan.cascade.name,
        "backend": backend,
        "shape": extents,
        "max_abs_error": result.max_abs_error,
        "max_rel_error": result.max_rel_error,
        "nan_count": result.nan_count,
        "tolerance": atol,
        "rtol": relative,
        "ok": ok,
    }
    if as_json:
        print_json(record)
    else:
        stdout_console().print(
            f"{plan.cascade.name} on {backend} {extents}: max abs error "
            f"{result.max_abs_error:.3g} (tolerance {atol:g} + {relative:g} * |want|), NaN "
            f"{result.nan_count}: "
            f"{'ok' if ok else 'MISMATCH'}",
            markup=False,
        )
    if not ok:
        raise typer.Exit(1)


def _input_ranks(plan: Any) -> set[str]:
    return {r for t in plan.cascade.inputs for r in t.ranks}


@kernel_app.command("bench")
@user_errors
def bench(
    name: CascadeArg,
    backend: Annotated[str, typer.Option("--backend", help="numpy, shim or cupy.")] = "numpy",
    shape: ShapeOpt = "",
    repeats: Annotated[
        int, typer.Option("--repeats", help="Timed runs (>= 20 on cupy).", min=1, max=MAX_REPEATS)
    ] = 5,
    tile: TileOpt = "",
    extent: ExtentOpt = "",
    dtype: DtypeOpt = "float32",
    unroll: UnrollOpt = 1,
    parallel: ParallelOpt = "P",
    sequence: SequenceOpt = "M",
    placement: PlacementOpt = "shared",
    grid: GridOpt = "",
    workload: WorkloadOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Time the kernel on a backend; print the shape and the device with the median.

    Without --workload, --extent defaults to E=64,F=64 and --shape to M=4096,P=4096.
    """
    static, runtime = _workload_extents(name, workload, sequence, parallel)
    extent = extent or _extent_text(static) or "E=64,F=64"
    sizes = {**runtime, **extents_option(shape)} if shape or workload else {"M": 4096, "P": 4096}
    plan = _plan(name, tile, extent, dtype, unroll, parallel, sequence, placement, grid)
    arrays, extents = _inputs(plan, sizes, 0)
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

    _runner(backend)  # a usage error for an unknown backend
    return time_plan(plan, backend, arrays, extents, repeats)


@kernel_app.command("model")
@user_errors
def model(
    name: CascadeArg,
    machine: Annotated[
        str, typer.Option("--machine", help="A GPU spec: h100, a100 or a YAML file.")
    ] = "h100",
    renderer: RendererOpt = "triton",
    shape: ShapeOpt = "M=4096,P=4096",
    tile: TileOpt = "",
    extent: ExtentOpt = "E=64,F=64",
    dtype: DtypeOpt = "float16",
    unroll: UnrollOpt = 1,
    parallel: ParallelOpt = "P",
    sequence: SequenceOpt = "M",
    placement: PlacementOpt = "shared",
    grid: GridOpt = "",
    as_json: JsonOpt = False,
) -> None:
    """Predict a kernel's time on a GPU spec and name what bounds it.

    ``--renderer triton`` models the tensor-core kernels (compiled for the machine's arch
    when Triton is installed, so the issue-slot bound reads the SASS loop body); ``cuda``
    models the SIMT baseline. FLOP/s counts the executed dot (or multiply-add) FLOPs.
    """
    from kernels.model.predict import estimate_kernel_time
    from mappers.hardware.machine import GpuSpec
    from mappers.hardware.machine_loader import load_machine

    spec = load_machine(machine)
    if not isinstance(spec, GpuSpec):
        raise fail(f"'{machine}' is not a GPU spec; kernel model predicts GPU kernels")
    chosen = _renderer(renderer)
    if chosen == "twin":
        raise fail("kernel model predicts the cuda or triton renderer's kernels", 2)
    if not tile.strip() and chosen == "triton":
        tile = f"{sequence}0=64,{parallel}0=128"
    plan = _plan(name, tile, extent, dtype, unroll, parallel, sequence, placement, grid)
    extents = extents_option(shape)
    if chosen == "triton":
        record = _model_triton(plan, spec, extents)
    else:
        estimate = estimate_kernel_time(plan, spec, extents, "cupy")
        bounds = dict(estimate.breakdown_s)
        limiter = max(bounds, key=lambda k: bounds[k]).removesuffix("_s")
        record = {"total_s": estimate.total_s, "bounds_s": bounds, "limiter": limiter}
    record = {"cascade": plan.cascade.name, "machine": spec.name, "renderer": chosen,
              "shape": extents, **record}  # fmt: skip
    if as_json:
        print_json(record)
        return
    flops = record.get("tflops")
    rate = f", {flops:.0f} TFLOP/s of dots" if flops is not None else ""
    parts = ", ".join(
        f"{k.removesuffix('_s')} {v * 1e3:.3g} ms" for k, v in record["bounds_s"].items()
    )
    stdout_console().print(
        f"{plan.cascade.name} ({chosen}) on {spec.name}, {extents}: "
        f"{record['total_s'] * 1e3:.3f} ms{rate}; bound: {record['limiter']} [{parts}]",
        markup=False,
    )
    if "occupancy" in record:
        stdout_console().print(
            f"occupancy {record['occupancy']}; instruction mix from {record['instructions']}",
            markup=False,
        )


def _model_triton(plan: Any, spec: Any, extents: dict[str, int]) -> dict[str, Any]:
    from kernels.errors import KernelError
    from kernels.model.gpu_tensor import predict_tensor
    from kernels.model.predict import triton_resources

    missing = [r for r in plan.runtime_extents() if r not in extents]
    if missing:
        raise KernelError.single("K602", f"the model needs the extent of {', '.join(missing)}")
    prediction = predict_tensor(plan, spec, extents, triton_resources(plan, spec))  # type: ignore[arg-type]
    return {
        "total_s": prediction.total_s,
        "tflops": prediction.flops_per_s / 1e12,
        "bounds_s": dict(prediction.bounds),
        "limiter": prediction.limiter,
        "occupancy": {
            name: f"{fit.blocks_per_sm} programs/SM ({fit.limiter})"
            for name, fit in prediction.occupancy
        },
        "instructions": prediction.instruction_source,
    }
