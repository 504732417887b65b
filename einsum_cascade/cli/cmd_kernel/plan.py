"""The kernel plan every kernel subcommand starts from: tiling options, extents, workload.

Also shared by the subcommands: the cascade argument, the renderer choice, ``--shape``,
``--workload`` and ``--json``.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

import typer

from einsum_cascade.cli.app import fail
from einsum_cascade.cli.options import DEFAULT_EXTENT, TilingOptions, extents_option
from mappers.units import SHAPE

CascadeArg = Annotated[str, typer.Argument(help="A library name (attention/1pass) or a file.")]
RendererOpt = Annotated[
    str, typer.Option("--renderer", help="cuda (SIMT), twin (NumPy) or triton (tensor cores).")
]
RENDERERS = ("cuda", "twin", "triton")
ShapeOpt = Annotated[str, typer.Option("--shape", help="Runtime extents, e.g. M=1000,P=777,W=64.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def choose_renderer(renderer: str) -> str:
    """Return ``renderer`` if it is one of :data:`RENDERERS`; a usage error (exit 2) if not."""
    if renderer not in RENDERERS:
        raise fail(f"unknown renderer '{renderer}'; valid renderers: {', '.join(RENDERERS)}", 2)
    return renderer


def plan_kernel(name: str, options: TilingOptions, default_extent: str = DEFAULT_EXTENT) -> Any:
    """Plan the kernels of cascade ``name`` under the tiling options of the command line."""
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
            sorted(extents_option(options.extent or default_extent, "--extent").items())
        ),
        tile_placement=options.placement,
        unroll=options.unroll,
        input_dtype=options.dtype,
        grid_ranks=tuple(r.strip() for r in options.grid.split(",") if r.strip()),
    )
    return plan_kernels(load_cascade(name), tiling)


WorkloadOpt = Annotated[
    str | None,
    typer.Option(
        "--workload",
        help="Extents from a workload (a YAML file, BERT... at 64K, or none): the sequence "
        "and parallel ranks at run time, the other input ranks static; --extent and --shape "
        "override them.",
    ),
]


def workload_extents(
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


def extent_text(extents: dict[str, int]) -> str:
    """Return extents as ``--extent`` text: ``E=64,F=64``."""
    return ",".join(f"{k}={v}" for k, v in extents.items())


def plan_at_extents(
    name: str,
    tiling: TilingOptions,
    shape: str,
    workload: str | None,
    default_shape: dict[str, int],
) -> tuple[Any, dict[str, int]]:
    """Plan the kernel at the extents of --extent, --shape and --workload.

    A workload gives the static extents --extent leaves out and the runtime extents --shape
    leaves out, and no default applies (``--workload none``: only --extent and --shape).
    Returns (plan, runtime extents); ``default_shape`` and E=64,F=64 without a workload.
    """
    static, runtime = workload_extents(name, workload, tiling.sequence, tiling.parallel)
    if not tiling.extent:
        tiling = dataclasses.replace(tiling, extent=extent_text(static))
    sizes = {**runtime, **extents_option(shape)} if shape or workload else default_shape
    return plan_kernel(name, tiling, DEFAULT_EXTENT if workload is None else ""), sizes
