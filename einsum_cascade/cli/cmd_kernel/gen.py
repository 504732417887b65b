"""``kernel gen``: render a cascade's kernel plan as CUDA, a NumPy twin or a Triton module."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from einsum_cascade.cli.app import fail, refuse_overwrite, user_errors
from einsum_cascade.cli.cmd_kernel.plan import (
    CascadeArg,
    RendererOpt,
    choose_renderer,
    plan_kernel,
)
from einsum_cascade.cli.options import DEFAULT_TILING, TilingOptions, tiling_options


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

    chosen = "twin" if twin else choose_renderer(renderer)
    _check_output(output)
    refuse_overwrite(output, force=force)
    plan = plan_kernel(name, tiling)
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


def _check_output(output: Path | None) -> None:
    """Refuse an output path that is a directory or whose folder does not exist."""
    if output is None:
        return
    if output.is_dir():
        raise fail(f"{output} is a directory; give a file name, e.g. {output / 'kernel.cu'}")
    if not output.parent.is_dir():
        raise fail(f"the folder {output.parent} does not exist; create it first")
