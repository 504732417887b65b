"""``kernel run`` and ``kernel bench``: run a kernel plan on a backend, checked or timed.

The extents come from --extent, --shape or --workload; ``run`` compares the outputs with
the interpreter, ``bench`` times the launches.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from einsum_cascade.cli.app import fail, print_json, stdout_console, user_errors
from einsum_cascade.cli.cmd_kernel.plan import (
    CascadeArg,
    JsonOpt,
    ShapeOpt,
    WorkloadOpt,
    extent_text,
    plan_at_extents,
)
from einsum_cascade.cli.options import (
    DEFAULT_TILING,
    MAX_REPEATS,
    BackendOpt,
    TilingOptions,
    tiling_options,
)


def _inputs(plan: Any, shape: dict[str, int], seed: int) -> tuple[dict[str, Any], dict[str, int]]:
    import numpy as np

    extents = {**dict(plan.tiling.static_extents), **shape}
    rng = np.random.default_rng(seed)
    arrays = {}
    missing = [r for t in plan.cascade.inputs for r in t.ranks if r not in extents]
    if missing:
        raise fail(f"give the extent of {', '.join(dict.fromkeys(missing))} with --shape")
    for tensor in plan.cascade.inputs:
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
    plan, sizes = plan_at_extents(name, tiling, shape, workload, default_shape)
    arrays, extents = _inputs(plan, sizes, seed)
    return plan, arrays, extents


def _tolerance_kind(backend: str) -> str:
    return backend if backend.startswith("triton") else "simt"


@user_errors
@tiling_options
def run(
    name: CascadeArg,
    backend: BackendOpt = "numpy",
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
            f"{plan.cascade.name} on {backend}, "
            f"{extent_text({**dict(plan.tiling.static_extents), **extents})}: max abs error "
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


@user_errors
@tiling_options
def bench(
    name: CascadeArg,
    backend: BackendOpt = "numpy",
    shape: ShapeOpt = "",
    repeats: Annotated[
        int, typer.Option("--repeats", help="Timed runs (>= 20 on cupy).", min=1, max=MAX_REPEATS)
    ] = 5,
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
