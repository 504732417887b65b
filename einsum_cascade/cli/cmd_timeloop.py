"""Timeloop commands: ``timeloop export`` writes a spec's architecture, or one mapped einsum,
as Timeloop v4 YAML; ``timeloop import`` reads Timeloop v4 architecture files back into a spec.

A spec's export holds one architecture file per array (``arch-1-pe2d.yaml``,
``arch-2-pe1d.yaml``), sharing the storage levels, as the FuseMax artifact's files do;
importing every file of an export gives back the spec it came from. With ``--mapping`` and
``--einsum`` the export is what ``timeloop-model`` reads for that einsum at one workload point:
``problem.yaml`` (dimensions and bounds), ``mapping.yaml`` (factors, permutations, keep and
bypass per level) and ``architecture.yaml`` (the levels and the einsum's array); every file
starts with a comment naming the einsum, mapping, spec and extents.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from einsum_cascade.cli.app import (
    EXIT_USAGE,
    app,
    fail,
    os_errors,
    refuse_output_folder,
    refuse_overwrite,
    stdout_console,
    user_errors,
)
from einsum_cascade.cli.options import extent_options

if TYPE_CHECKING:
    from mappers.hardware.spec import ArchSpec

timeloop_app = typer.Typer(
    help="Timeloop v4 interchange: export a spec or one mapped einsum, import architecture files.",
    no_args_is_help=True,
)
app.add_typer(timeloop_app, name="timeloop")

ForceOpt = Annotated[bool, typer.Option("--force", help="Replace existing output files.")]


@timeloop_app.command("export")
@user_errors
def export(
    arch: Annotated[
        str, typer.Option("--arch", help="Accelerator spec: a name (fusemax, flat) or a YAML file.")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the YAML files.")],
    mapping: Annotated[
        str | None,
        typer.Option(
            "--mapping",
            help="Also export one einsum under this mapping (a name or a file): problem, "
            "mapping and the architecture of its array.",
        ),
    ] = None,
    einsum: Annotated[
        str | None, typer.Option("--einsum", help="The einsum to export (with --mapping).")
    ] = None,
    workload: Annotated[
        str | None,
        typer.Option(
            "--workload",
            help="BERT (default), TrXL, T5, XLM, a workload YAML file, or none (only --extent)",
        ),
    ] = None,
    seq: Annotated[
        str | None,
        typer.Option("--seq", help="Sequence length M = P (built-ins: default 64K)."),
    ] = None,
    extent: Annotated[
        list[str] | None,
        typer.Option("--extent", help="Extra or replaced extent, NAME=VALUE (K=768)."),
    ] = None,
    table: Annotated[
        str | None, typer.Option("--costs", help="Cost table: default (if not given) or artifact.")
    ] = None,
    force: ForceOpt = False,
) -> None:
    """Write a spec's architecture as Timeloop v4 files (one per array), or with --mapping and
    --einsum one mapped einsum as Timeloop v4 problem, mapping and architecture files.
    """
    from mappers.hardware.spec_loader import load_spec

    if mapping is None:
        given = {"--einsum": einsum, "--workload": workload, "--seq": seq, "--extent": extent,
                 "--costs": table}  # fmt: skip
        needless = [flag for flag, value in given.items() if value]
        if needless:
            raise fail(
                f"{', '.join(needless)} need{'s' if len(needless) == 1 else ''} --mapping: "
                "without it the export is the spec's architecture alone",
                EXIT_USAGE,
            )
    spec = load_spec(arch)
    if mapping is not None:
        point = (workload or "BERT", seq, extent or [], table or "default")
        _export_einsum(spec, mapping, einsum, *point, out, force)
        return
    from mappers.timeloop.writer import architecture_document, write_timeloop

    refuse_output_folder(out, force=force)
    documents = {
        f"arch-{index}-{array.name}": architecture_document(spec, array)
        for index, array in enumerate(spec.arrays, start=1)
    }
    with os_errors():
        paths = write_timeloop(documents, out, f"{spec.name}: levels and arrays")
    stdout_console().print(
        f"wrote {', '.join(str(p) for p in paths)}: {spec.name}'s levels and "
        f"{len(spec.arrays)} array{'s' if len(spec.arrays) != 1 else ''}; energies, op tables "
        "and areas are not part of Timeloop's architecture (import takes them from --base)",
        markup=False,
    )


def _export_einsum(
    spec: ArchSpec,
    mapping_name: str,
    einsum: str | None,
    workload: str,
    seq: str | None,
    extent: list[str],
    table: str,
    out: Path,
    force: bool,
) -> None:
    """Write ``problem.yaml``, ``mapping.yaml`` and ``architecture.yaml`` of one einsum."""

    from einsum_cascade.sources import load_cascade
    from mappers.mapping.loader import load_mapping
    from mappers.timeloop.writer import exportable_einsums, timeloop_documents, write_timeloop
    from mappers.workloads import point_workload

    shape = point_workload(workload, seq, extent_options(extent))
    mapped = load_mapping(mapping_name, shape.name, shape.seq_len or None)
    if shape.batch_ranks is not None:
        mapped = mapped.with_batch_ranks(shape.batch_ranks, shape.batch_span)
    cascade = load_cascade(mapped.cascade)
    if einsum is None:
        raise fail(
            f"--mapping exports one einsum: give --einsum, one of "
            f"{', '.join(exportable_einsums(cascade, mapped))} (the einsums {mapped.name} "
            "binds to an array)",
            EXIT_USAGE,
        )
    documents = timeloop_documents(cascade, spec, mapped, einsum, shape.extents(), table)
    refuse_output_folder(out, force=force)
    what = f"einsum {einsum} of {cascade.name} under {mapped.name} on {spec.name}"
    comment = f"{what}\nextents: {shape.label()}\nTimeloop v0.4; written by einsum-cascade"
    with os_errors():
        paths = write_timeloop(documents, out, comment)
    instance = documents["problem"]["problem"]["instance"]
    bounds = " ".join(f"{rank}={size}" for rank, size in instance.items())
    stdout_console().print(
        f"wrote {', '.join(str(p) for p in paths)}: {what}, {shape.label()}; "
        f"problem bounds {bounds}",
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
    from mappers.timeloop.reader import import_timeloop_arch, is_architecture_file

    paths: list[str | Path] = []
    for path in files:
        if path.is_dir():  # a folder's problem and mapping files are not architectures
            found = sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml"))
            paths += [p for p in found if is_architecture_file(p)]
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
