"""Kernel commands: ``kernel gen``, ``kernel check``, ``kernel run`` and ``kernel bench``."""

from __future__ import annotations

import dataclasses
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
    DEFAULT_EXTENT,
    DEFAULT_TILING,
    BackendOpt,
    CompilerOpt,
    TargetOpt,
    TilingOptions,
    extents_option,
    tiling_options,
    tiling_options_with,
)
from mappers.units import SHAPE

MODEL_TILING = dataclasses.replace(DEFAULT_TILING, dtype="float16")

kernel_app = typer.Typer(
    help="Generate CUDA kernels and NumPy twins from a cascade; compile, run and time them.",
    no_args_is_help=True,
)
app.add_typer(kernel_app, name="kernel")

CascadeArg = Annotated[str, typer.Argument(help="A library name (attention/1pass) or a file.")]
RendererOpt = Annotated[
    str, typer.Option("--renderer", help="cuda (SIMT), twin (NumPy) or triton (tensor cores).")
]
WarpsOpt = Annotated[
    int, typer.Option("--warps", help="Triton warps per program (0: 4, or 8 with masks/d>=128).")
]
StagesOpt = Annotated[int, typer.Option("--stages", help="Triton pipeline stages.")]
RENDERERS = ("cuda", "twin", "triton")
ShapeOpt = Annotated[str, typer.Option("--shape", help="Runtime extents, e.g. M=1000,P=777,W=64.")]
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


def _plan(name: str, options: TilingOptions) -> Any:
    from einsum_cascade.sources import load_cascade
    from kernels.plan.lower import plan_kernels
    from kernels.plan.tiling import Tiling

    sequence, parallel = options.sequence, options.parallel
    tiles = extents_option(options.tile, "--tile", SHAPE) if options.tile.strip() else {}
    unknown = set(tiles) - {f"{sequence}0", f"{parallel}0"}
    if unknown:
        raise typer.BadParameter(
            f"unknown tile {', '.join(sorted(unknown))}: the sequence rank is {sequence} "
            f"and the parallel rank {parallel}, so the tiles are {sequence}0 and {parallel}0",
            param_hint="--tile",
        )
    tiling = Tiling(
        parallel_rank=parallel,
        sequence_rank=sequence,
        tile=tiles.get(f"{sequence}0", 32),
        threads_per_block=tiles.get(f"{parallel}0", 64),
        static_extents=tuple(
            sorted(extents_option(options.extent or DEFAULT_EXTENT, "--extent").items())
        ),
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
    renderer: RendererOpt = "cuda",
    tiling: TilingOptions = DEFAULT_TILING,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing -o file.")] = False,
) -> None:
    """Render the CUDA source, the NumPy twin or the Triton module of a cascade's kernel plan."""
    from kernels.render.cuda import render_cuda
    from kernels.render.triton import render_triton
    from kernels.render.twin import render_twin

    chosen = "twin" if twin else _renderer(renderer)
    _check_output(output)
    refuse_overwrite(output, force=force)
    plan = _plan(name, tiling)
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
@tiling_options
def check(
    name: CascadeArg,
    target: TargetOpt = "",
    compiler: CompilerOpt = "nvrtc",
    renderer: RendererOpt = "cuda",
    warps: WarpsOpt = 0,
    stages: StagesOpt = 3,
    tiling: TilingOptions = DEFAULT_TILING,
    as_json: JsonOpt = False,
) -> None:
    """Compile for each target, report registers, shared memory and spills, and gate them.

    With ``--renderer triton`` the kernels are compiled ahead of time by Triton (no GPU) and
    the SASS is read: tensor-core instructions (HGMMA on sm_90a, HMMA on sm_80), LDSM,
    cp.async (LDGSTS), MUFU, registers, shared memory and spills (LDL/STL).
    """
    from kernels.build.compile import check_resources, compile_source
    from kernels.render.cuda import render_cuda

    plan = _plan(name, tiling)
    if _renderer(renderer) == "triton":
        _check_triton(plan, target or "sm_80,sm_90a", warps, stages, as_json)
        return
    if renderer != "cuda":
        raise fail("kernel check compiles the cuda or triton renderer's output", 2)
    source = render_cuda(plan)
    rows: list[dict[str, Any]] = []
    for each in [a.strip() for a in (target or "sm_80,sm_90").split(",") if a.strip()]:
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


def _check_triton(plan: Any, targets: str, warps: int, stages: int, as_json: bool) -> None:
    from kernels.build.triton_build import check_binary, compile_kernel
    from kernels.errors import KernelError
    from kernels.render.triton import render_triton

    source = render_triton(plan)
    rows: list[dict[str, Any]] = []
    failures: list[KernelError] = []
    for target in [a.strip() for a in targets.split(",") if a.strip()]:
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
                    "target": target,
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
        columns = ("target", "kernel", "dots", "HGMMA", "HMMA", "LDSM", "LDGSTS", "MUFU")
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


def _sized(
    name: str,
    tiling: TilingOptions,
    shape: str,
    workload: str | None,
    default_shape: dict[str, int],
    seed: int,
) -> tuple[Any, dict[str, Any], dict[str, int]]:
    """Plan the kernel and draw its inputs at the extents of --extent, --shape and --workload.

    Returns (plan, input arrays, runtime extents given); the defaults apply without a workload.
    """
    static, runtime = _workload_extents(name, workload, tiling.sequence, tiling.parallel)
    if not tiling.extent:
        tiling = dataclasses.replace(tiling, extent=_extent_text(static))
    sizes = {**runtime, **extents_option(shape)} if shape or workload else default_shape
    plan = _plan(name, tiling)
    arrays, extents = _inputs(plan, sizes, seed)
    return plan, arrays, extents


def _tolerance_kind(backend: str) -> str:
    return backend if backend.startswith("triton") else "simt"


@kernel_app.command("run")
@user_errors
@tiling_options
def run(
    name: CascadeArg,
    backend: BackendOpt = "numpy",
    shape: ShapeOpt = "",
    seed: Annotated[int, typer.Option("--seed", help="Seed of the random inputs.")] = 0,
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
    tiling: TilingOptions = DEFAULT_TILING,
    workload: WorkloadOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Run the kernel on a backend and compare with the interpreter (float64); exit 1 if off.

    Without --workload, --extent defaults to E=64,F=64 and --shape to M=100,P=77.
    """
    from kernels.run.backends import get_backend
    from kernels.run.validate import compare, reference, within
    from kernels.run.validate import tolerance as tolerance_of

    plan, arrays, extents = _sized(name, tiling, shape, workload, {"M": 100, "P": 77}, seed)
    outputs = get_backend(backend).run(plan, arrays, _runtime(plan, extents))
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


def _runtime(plan: Any, extents: dict[str, int]) -> dict[str, int]:
    """Return the extents the kernel takes at run time (those of no input rank)."""
    inputs = {r for t in plan.cascade.inputs for r in t.ranks}
    return {k: v for k, v in extents.items() if k not in inputs}


@kernel_app.command("bench")
@user_errors
@tiling_options
def bench(
    name: CascadeArg,
    backend: BackendOpt = "numpy",
    shape: ShapeOpt = "",
    repeats: Annotated[int, typer.Option("--repeats", help="Timed runs (>= 20 on cupy).")] = 5,
    tiling: TilingOptions = DEFAULT_TILING,
    workload: WorkloadOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Time the kernel on a backend; print the shape and the device with the median.

    Without --workload, --extent defaults to E=64,F=64 and --shape to M=4096,P=4096.
    """
    plan, arrays, extents = _sized(name, tiling, shape, workload, {"M": 4096, "P": 4096}, 0)
    timing, device = _time(plan, backend, arrays, _runtime(plan, extents), repeats)
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
    from kernels.run.backends import time_plan

    return time_plan(plan, backend, arrays, extents, repeats)


@kernel_app.command("model")
@user_errors
@tiling_options_with(MODEL_TILING)
def model(
    name: CascadeArg,
    machine: Annotated[
        str, typer.Option("--machine", help="A GPU spec: h100, a100 or a YAML file.")
    ] = "h100",
    renderer: RendererOpt = "triton",
    shape: ShapeOpt = "M=4096,P=4096",
    tiling: TilingOptions = MODEL_TILING,
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
    if not tiling.tile.strip() and chosen == "triton":
        tile = f"{tiling.sequence}0=64,{tiling.parallel}0=128"
        tiling = dataclasses.replace(tiling, tile=tile)
    plan = _plan(name, tiling)
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
