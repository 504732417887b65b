"""Timeloop commands: ``timeloop export`` writes a spec's architecture as Timeloop v4 YAML,
``timeloop import`` reads Timeloop v4 architecture files back into a spec file.

An export holds one architecture file per array (``arch-1-pe2d.yaml``, ``arch-2-pe1d.yaml``),
sharing the storage levels, as the FuseMax artifact's files do; importing every file of an
export gives back the spec it came from.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from einsum_cascade.cli.app import (
    app,
    fail,
    os_errors,
    refuse_output_folder,
    refuse_overwrite,
    stdout_console,
    user_errors,
)

timeloop_app = typer.Typer(
    help="Timeloop v4 interchange: export a spec's architecture, import architecture files.",
    no_args_is_help=True,
)
app.add_typer(timeloop_app, name="timeloop")

ForceOpt = Annotated[bool, typer.Option("--force", help="Replace existing output files.")]


@timeloop_app.command("export")
@user_errors
def export(
    arch: Annotated[str, typer.Option("--arch", help="Accelerator spec: a name or a file.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the YAML files.")],
    force: ForceOpt = False,
) -> None:
    """Write one Timeloop v4 architecture file per array of a spec."""
    from mappers.hardware.spec_loader import load_spec
    from mappers.timeloop.writer import architecture_document, write_timeloop

    spec = load_spec(arch)
    refuse_output_folder(out, force=force)
    documents = {
        f"arch-{index}-{array.name}": architecture_document(spec, array)
        for index, array in enumerate(spec.arrays, start=1)
    }
    with os_errors():
        paths = write_timeloop(documents, out)
    stdout_console().print(
        f"wrote {', '.join(str(p) for p in paths)}: {spec.name}'s levels and "
        f"{len(spec.arrays)} array{'s' if len(spec.arrays) != 1 else ''}; energies, op tables "
        "and areas are not part of Timeloop's architecture (import takes them from --base)",
        markup=False,
    )


@timeloop_app.command("import")
@user_errors
def import_(
    files: Annotated[
        list[Path], typer.Argument(help="Timeloop v4 architecture files, or a folder of them.")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="The spec file to write (.yaml).")],
    base: Annotated[
        str,
        typer.Option(
            "--base", help="Spec that gives energies, op tables and areas, matched by name."
        ),
    ] = "fusemax",
    name: Annotated[str | None, typer.Option("--name", help="The new spec's name.")] = None,
    force: ForceOpt = False,
) -> None:
    """Build a spec from Timeloop v4 architecture files and save it for ``--arch``."""
    from mappers.hardware.spec_loader import load_spec
    from mappers.hardware.spec_writer import spec_to_yaml
    from mappers.timeloop.reader import import_timeloop_arch

    paths: list[str | Path] = []
    for path in files:
        if path.is_dir():
            paths += sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml"))
        else:
            paths.append(path)
    if not paths:
        raise fail(f"no .yaml files in {', '.join(map(str, files))}")
    if out.suffix not in (".yaml", ".yml"):
        raise fail(f"--out {out} must name a .yaml spec file")
    if out.is_dir():
        raise fail(f"--out {out} is a folder; name the spec file to write")
    refuse_overwrite(out, force=force)
    spec = import_timeloop_arch(paths, load_spec(base), name=name or out.stem)
    with os_errors():
        out.write_text(spec_to_yaml(spec), encoding="utf-8")
    arrays = ", ".join(f"{a.name} {'x'.join(map(str, a.shape))}" for a in spec.arrays)
    stdout_console().print(
        f"wrote {out}: {spec.name}, levels {', '.join(lv.name for lv in spec.levels)}, "
        f"arrays {arrays}; use it with --arch {out}",
        markup=False,
    )
