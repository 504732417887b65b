"""What a sweep ran: its definition, the text of every file it read, the package and revision.

:func:`describe_sweep` returns this record and the sweep's fingerprint. The fingerprint
hashes the sweep's definition and the *contents* of the files its points read (spec,
mapping, cascade, workload): resuming after one of them was edited is refused, while moving
a file does not matter. The record is written to ``_sweep.json`` and to every Parquet
part's metadata, and ``einsum-cascade sweep info`` prints it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from mappers.provenance import PACKAGE, git_revision, package_version
from mappers.sweep.evaluators import evaluator_info
from mappers.sweep.points import point_groups
from mappers.sweep.spec import SweepSpec

MAX_GROUPS_DESCRIBED = 10_000


def sweep_definition(spec: SweepSpec) -> dict[str, Any]:
    """Return the sweep's definition as JSON-ready data (what decides its points and rows)."""
    return {
        "name": spec.name,
        "evaluator": spec.evaluator,
        "base": dict(spec.base),
        "configs": {name: dict(settings) for name, settings in spec.configs},
        "axes": {a.name: {"kind": a.kind, "values": list(a.values)} for a in spec.axes},
        "zip": [list(group) for group in spec.zips],
        "metrics": list(spec.metrics),
        "constraints": [str(c) for c in spec.constraints],
        "chunk_points": spec.chunk_points,
    }


def describe_sweep(spec: SweepSpec) -> dict[str, Any]:
    """Return the provenance record of ``spec``, with its ``fingerprint``.

    Keys: ``fingerprint``, ``sweep`` (the definition), ``groups`` (per group of settings,
    what the evaluator reads: spec, mapping, workload, cost table, cascade), ``files``
    (path -> sha256 and text of every file read), ``package_version`` and ``git_revision``.

    Raises:
        DiagnosticError: when the evaluator cannot describe a group (an unknown mapping);
            those points would fail the same way.
    """
    describe = evaluator_info(spec.evaluator).describe
    groups: list[dict[str, Any]] = []
    files: dict[str, dict[str, str]] = {}
    if describe is not None:
        for index, group in enumerate(point_groups(spec)):
            if index >= MAX_GROUPS_DESCRIBED:
                break
            try:
                described = dict(describe(group))
            except Exception as exc:
                described = {"settings": dict(group.settings), "error": str(exc)}
            for path, text in dict(described.pop("files", {})).items():
                files[path] = {"sha256": _sha256(text), "text": text}
            groups.append(described)
    definition = sweep_definition(spec)
    contents = sorted(entry["sha256"] for entry in files.values())
    errors = sorted(str(g["error"]) for g in groups if "error" in g)
    fingerprint = _sha256(_canonical({"sweep": definition, "files": contents, "errors": errors}))
    return {
        "fingerprint": fingerprint[:16],
        "sweep": definition,
        "groups": groups,
        "files": files,
        "package_version": package_version(),
        "git_revision": git_revision(),
    }


def _canonical(data: Mapping[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, default=str)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


def provenance_text(record: Mapping[str, Any]) -> str:
    """Render a provenance record for people: the run, then each group, then each file."""
    lines = [
        f"fingerprint   {record.get('fingerprint')}",
        f"package       {PACKAGE} {record.get('package_version')}",
        f"git revision  {record.get('git_revision')}",
        "sweep         " + json.dumps(record.get("sweep", {}), default=str),
    ]
    for index, group in enumerate(record.get("groups", [])):
        lines.append(f"group {index}")
        for key, value in group.items():
            shown = value if isinstance(value, str) else json.dumps(value, default=str)
            lines.append(f"  {key:<12}{shown}")
    for path, entry in record.get("files", {}).items():
        lines.append(f"file {path} (sha256 {entry.get('sha256', '')[:16]})")
        lines.extend("  | " + line for line in str(entry.get("text", "")).splitlines())
    return "\n".join(lines)
