"""What a result was computed from: the package version, the git revision of the code, and
for one design point the spec, mapping, workload, cost table and cascade text.

Sweep outputs record the same for every group of points (:mod:`mappers.sweep.provenance`).
"""

from __future__ import annotations

import functools
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

from mappers.workloads import Workload

PACKAGE = "einsum-cascade"


@functools.cache
def package_version() -> str:
    """Return the installed package's version, or ``unknown``."""
    try:
        return metadata.version(PACKAGE)
    except metadata.PackageNotFoundError:
        return "unknown"


@functools.cache
def git_revision() -> str:
    """Return the git revision of the code that runs (``-dirty`` if edited), or ``unknown``."""
    here = Path(__file__).resolve().parent
    try:
        done = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--abbrev=40"],
            cwd=here,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return done.stdout.strip() if done.returncode == 0 and done.stdout.strip() else "unknown"


def point_provenance(
    arch: str, mapping: str | None, workload: Workload, table: str
) -> dict[str, Any]:
    """Return what one modelled point was computed from, with each file's text."""
    from einsum_cascade import load_cascade, to_text
    from mappers.hardware.spec_loader import spec_path
    from mappers.mapping.loader import load_mapping, mapping_path

    arch_file = spec_path(arch)
    record: dict[str, Any] = {
        "arch": {"name": arch, "file": str(arch_file), "text": _read(arch_file)},
        "workload": {
            "name": workload.name,
            "extents": workload.extents(),
            "batch_ranks": workload.batch_ranks,
            "file": workload.source,
            "text": _read(Path(workload.source)) if workload.source else None,
        },
        "table": table,
    }
    if mapping is not None:
        mapping_file = mapping_path(mapping)
        loaded = load_mapping(mapping, workload.name, workload.seq_len or None)
        record["mapping"] = {
            "name": loaded.name,
            "file": str(mapping_file),
            "text": _read(mapping_file),
        }
        record["cascade"] = {"name": loaded.cascade, "text": to_text(load_cascade(loaded.cascade))}
    record["package_version"] = package_version()
    record["git_revision"] = git_revision()
    return record


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="surrogateescape")
