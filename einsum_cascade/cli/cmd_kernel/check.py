"""``kernel check``: compile a kernel plan for GPU targets and gate its resources.

CUDA source is compiled with NVRTC or nvcc; Triton kernels ahead of time, reading the SASS.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from einsum_cascade.cli.app import fail, print_json, stdout_console, user_errors
from einsum_cascade.cli.cmd_kernel.plan import (
    CascadeArg,
    JsonOpt,
    RendererOpt,
    choose_renderer,
    plan_kernel,
)
from einsum_cascade.cli.options import (
    DEFAULT_TILING,
    CompilerOpt,
    TargetOpt,
    TilingOptions,
    retired_flag,
    tiling_options,
)

WarpsOpt = Annotated[
    int,
    typer.Option(
        "--warps", help="Triton warps per program (0: 4, or 8 with masks/d>=128).", min=0, max=32
    ),
]
StagesOpt = Annotated[int, typer.Option("--stages", help="Triton pipeline stages.", min=1, max=16)]
_RETIRED = {"hidden": True, "is_eager": True}
OldArchOpt = Annotated[
    str | None,
    typer.Option(
        "--arch",
        callback=retired_flag("--arch", "--target", "names an accelerator spec, not a GPU target"),
        **_RETIRED,
    ),
]
OldBackendOpt = Annotated[
    str | None,
    typer.Option(
        "--backend",
        callback=retired_flag(
            "--backend", "--compiler", "names where a kernel runs, not its compiler"
        ),
        **_RETIRED,
    ),
]


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
    old_arch: OldArchOpt = None,
    old_backend: OldBackendOpt = None,
) -> None:
    """Compile for each target, report registers, shared memory and spills, and gate them.

    With ``--renderer triton`` the kernels are compiled ahead of time by Triton (no GPU) and
    the SASS is read: tensor-core instructions (HGMMA on sm_90a, HMMA on sm_80), LDSM,
    cp.async (LDGSTS), MUFU, registers, shared memory and spills (LDL/STL).
    """
    from kernels.build.compile import check_resources, compile_source
    from kernels.render.cuda import render_cuda

    plan = plan_kernel(name, tiling)
    if choose_renderer(renderer) == "triton":
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
