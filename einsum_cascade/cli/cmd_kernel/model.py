"""``kernel model``: predict a kernel plan's time on a GPU spec and name what bounds it."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

import typer

from einsum_cascade.cli.app import fail, print_json, stdout_console, user_errors
from einsum_cascade.cli.cmd_kernel.plan import (
    CascadeArg,
    JsonOpt,
    RendererOpt,
    ShapeOpt,
    WorkloadOpt,
    choose_renderer,
    extent_text,
    plan_at_extents,
)
from einsum_cascade.cli.options import (
    DEFAULT_TILING,
    TilingOptions,
    tiling_options_with,
)

MODEL_TILING = dataclasses.replace(DEFAULT_TILING, dtype="float16")


@user_errors
@tiling_options_with(MODEL_TILING)
def model(
    name: CascadeArg,
    machine: Annotated[
        str, typer.Option("--machine", help="A GPU spec: h100, a100 or a YAML file.")
    ] = "h100",
    renderer: RendererOpt = "triton",
    shape: ShapeOpt = "",
    tiling: TilingOptions = MODEL_TILING,
    workload: WorkloadOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Predict a kernel's time on a GPU spec and name what bounds it.

    ``--renderer triton`` models the tensor-core kernels (compiled for the machine's arch
    when Triton is installed, so the issue-slot bound reads the SASS loop body); ``cuda``
    models the SIMT baseline. FLOP/s counts the executed dot (or multiply-add) FLOPs.
    Without --workload, --extent defaults to E=64,F=64 and --shape to M=4096,P=4096.
    """
    from kernels.model.predict import estimate_kernel_time
    from mappers.hardware.machine import GpuSpec
    from mappers.hardware.machine_loader import load_machine

    spec = load_machine(machine)
    if not isinstance(spec, GpuSpec):
        raise fail(f"'{machine}' is not a GPU spec; kernel model predicts GPU kernels")
    chosen = choose_renderer(renderer)
    if chosen == "twin":
        raise fail("kernel model predicts the cuda or triton renderer's kernels", 2)
    if not tiling.tile.strip() and chosen == "triton":
        tile = f"{tiling.sequence}0=64,{tiling.parallel}0=128"
        tiling = dataclasses.replace(tiling, tile=tile)
    plan, extents = plan_at_extents(name, tiling, shape, workload, {"M": 4096, "P": 4096})
    if chosen == "triton":
        record = _model_triton(plan, spec, extents)
    else:
        estimate = estimate_kernel_time(plan, spec, extents, "cupy")
        bounds = dict(estimate.breakdown_s)
        limiter = max(bounds, key=lambda k: bounds[k]).removesuffix("_s")
        record = {"total_s": estimate.total_s, "bounds_s": bounds, "limiter": limiter}
    record = {"cascade": plan.cascade.name, "machine": spec.name, "renderer": chosen,
              "shape": extents, "static": dict(plan.tiling.static_extents),
              **record}  # fmt: skip
    if as_json:
        print_json(record)
        return
    flops = record.get("tflops")
    rate = f", {flops:.0f} TFLOP/s of dots" if flops is not None else ""
    parts = ", ".join(
        f"{k.removesuffix('_s')} {v * 1e3:.3g} ms" for k, v in record["bounds_s"].items()
    )
    stdout_console().print(
        f"{plan.cascade.name} ({chosen}) on {spec.name}, "
        f"{extent_text({**record['static'], **extents})}: "
        f"{record['total_s'] * 1e3:.3f} ms{rate}; bound: {record['limiter']} [{parts}]",
        markup=False,
    )
    if "occupancy" in record:
        stdout_console().print(
            f"occupancy {record['occupancy']}; instruction mix from {record['instructions']}",
            markup=False,
        )


def _model_triton(plan: Any, spec: Any, extents: dict[str, int]) -> dict[str, Any]:
    from kernels.model.gpu_tensor import predict_tensor
    from kernels.model.predict import require_extents, triton_resources

    require_extents(plan, extents)
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
