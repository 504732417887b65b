"""Timeloop v4 architecture YAML (``!Container``/``!Component`` nodes) -> :class:`ArchSpec`.

A Timeloop architecture gives structure: clock, word size, storage levels and their sizes,
spatial containers and per-PE registers. It has no energies (Accelergy's job) and knows one
compute unit, so per-action energies, op tables and areas come from a ``base`` spec, matched
by level name and by array name (below), so that an export of any spec imports back to it
and the FuseMax artifact's files to arrays that mappings written for the built-in specs name.

Which components become what:

* class ``DRAM``: the backing level (bandwidth from ``shared_bandwidth`` words per cycle,
  else from ``base``);
* a ``*SRAM*`` class outside the spatial containers: an on-chip level;
* containers with ``spatial: {meshX, meshY}``: one array, ``meshY`` rows by ``meshX`` cols,
  the base spec's array the first container is named after (``<array>_<dim>``, as export
  names them), else ``pe1d``/``pe2d`` by its number of dimensions, else the base's only array
  with that many dimensions;
* storage inside the spatial containers: the PE registers (``depth``, summed over a
  ``!Parallel`` group);
* other storage outside the arrays (the artifact's ``reg_file_1d``) is not modelled as a
  level and is listed in the spec's description; the base spec's links between arrays the
  file has are kept (the FuseMax specs model ``reg_file_1d`` as their 2D-1D link).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from einsum_cascade.diagnostics import SourceSpan
from mappers.errors import SpecError
from mappers.hardware.spec import ArchSpec, ComputeArray, Level, RegisterCost
from mappers.yaml_source import Node, read_yaml

_TAGS = ("!Container", "!Component", "!Parallel", "!Hierarchical", "!Nothing")


@dataclass(frozen=True, slots=True)
class _Node:
    kind: str
    fields: dict[str, Any]
    span: SourceSpan
    value_spans: dict[str, SourceSpan] = field(default_factory=dict)  # attributes, spatial


def _value(node: Node) -> Any:
    """Return plain data where each tagged mapping is a located ``_Node``."""
    if node.tag is not None and not isinstance(node.value, dict):
        raise SpecError.single("S302", f"a {node.tag} node must be a mapping", node.span)
    if isinstance(node.value, dict):
        fields = {key: _value(child) for key, child in node.value.items()}
        if node.tag is not None:
            spans = {
                key: child.span
                for group in ("attributes", "spatial")
                if isinstance(getattr(node.value.get(group), "value", None), dict)
                for key, child in node.value[group].value.items()
            }
            return _Node(node.tag.lstrip("!"), fields, node.span, spans)
        return fields
    if isinstance(node.value, list):
        return [_value(child) for child in node.value]
    return node.value


def _attributes(node: _Node) -> dict[str, Any]:
    attributes = node.fields.get("attributes")
    return attributes if isinstance(attributes, dict) else {}


def _parse(path: Path) -> tuple[list[_Node], str]:
    root = read_yaml(path, SpecError, _TAGS)  # size, depth, aliases and tags bounded there
    data = _value(root)
    architecture = data.get("architecture") if isinstance(data, dict) else None
    nodes = architecture.get("nodes") if isinstance(architecture, dict) else None
    if not isinstance(nodes, list):
        raise SpecError.single(
            "S301",
            f"{path}: no 'architecture: nodes:' list",
            None,
            "a Timeloop v4 architecture starts with 'architecture:' then 'nodes:'",
        )
    return _flatten(nodes), str(root.span.source)


def is_architecture_file(path: str | Path) -> bool:
    """Return whether ``path`` holds an ``architecture:`` document rather than a Timeloop
    problem or mapping (a folder an export wrote holds all three).

    A file that cannot be read or parsed counts as one, so that importing it reports why.
    """
    try:
        root = read_yaml(path, SpecError, _TAGS)
    except SpecError:
        return True
    return not isinstance(root.value, dict) or "architecture" in root.value


def _flatten(nodes: list[Any]) -> list[_Node]:
    flat: list[_Node] = []
    for node in nodes:
        if isinstance(node, _Node) and node.kind in {"Parallel", "Hierarchical"}:
            inner = _flatten(node.fields.get("nodes", []))
            if node.kind == "Parallel":
                flat.append(_Node("Parallel", {"nodes": inner}, node.span))
            else:
                flat.extend(inner)
        elif isinstance(node, _Node):
            flat.append(node)
    return flat


def _number(node: _Node, key: str, value: Any = None) -> float:
    """A positive, finite attribute (or ``value``) of a component; whole and below 2^53."""
    value = _attributes(node).get(key) if value is None else value
    if (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and 0 < value < 2**53
    ):
        return float(value)
    raise SpecError.single(
        "S302",
        f"component '{node.fields.get('name')}' needs a positive number '{key}'"
        + ("" if value is None else f", not {value!r}"),
        node.value_spans.get(key, node.span),
    )


def _storage(node: _Node) -> bool:
    cls = str(node.fields.get("class", ""))
    return "DRAM" in cls or "SRAM" in cls or cls in {"storage", "regfile", "smartbuffer_RF"}


@dataclass
class _Parsed:
    clock_hz: float | None = None
    word_bytes: int | None = None
    levels: list[tuple[Level, _Node]] | None = None
    arrays: list[tuple[ComputeArray, _Node]] | None = None
    ignored: list[str] | None = None


def _read_one(path: Path, parsed: _Parsed, base: ArchSpec, bandwidth: float | None) -> None:
    nodes, _ = _parse(path)
    mesh: dict[str, int] = {}
    registers = 0
    first_spatial: _Node | None = None
    for node in nodes:
        fields = node.fields
        if node.kind == "Container":
            seconds = _attributes(node).get("global_cycle_seconds")
            if seconds is not None:
                clock = 1.0 / _number(node, "global_cycle_seconds")
                if parsed.clock_hz is not None and abs(clock / parsed.clock_hz - 1) > 1e-9:
                    raise SpecError.single(
                        "S303", f"{path}: clock differs from the other files", node.span
                    )
                parsed.clock_hz = clock
            spatial = fields.get("spatial") or {}
            if not isinstance(spatial, dict):
                raise SpecError.single("S302", "'spatial' must map meshX/meshY to sizes", node.span)
            for axis, size in spatial.items():
                count = _number(node, str(axis), size)
                if not count.is_integer():
                    at = node.value_spans.get(str(axis), node.span)
                    raise SpecError.single("S302", f"{axis} must be a whole number", at)
                mesh[str(axis)] = mesh.get(str(axis), 1) * int(count)
                first_spatial = first_spatial or node
            continue
        members = fields["nodes"] if node.kind == "Parallel" else [node]
        for member in members:
            if not _storage(member):
                continue
            if mesh:
                registers += int(_number(member, "depth"))
                continue
            name = str(member.fields.get("name"))
            cls = str(member.fields.get("class", ""))
            if "DRAM" not in cls and "SRAM" not in cls:
                assert parsed.ignored is not None
                parsed.ignored.append(name)
                continue
            bits = _number(member, "datawidth")
            if bits % 8:
                at = member.value_spans.get("datawidth", member.span)
                raise SpecError.single("S302", "datawidth must be whole bytes", at)
            parsed.word_bytes = int(bits) // 8
            level = _level(member, name, cls, base, bandwidth, parsed)
            assert parsed.levels is not None
            _merge_level(parsed.levels, level, member)
    if not mesh:
        return
    unknown = sorted(set(mesh) - {"meshX", "meshY"})
    if unknown:
        where = first_spatial.span if first_spatial else None
        message = f"{path}: unknown spatial axis '{unknown[0]}' (meshX, meshY)"
        raise SpecError.single("S302", message, where)
    shape = tuple(mesh[a] for a in ("meshY", "meshX") if a in mesh)
    dims = tuple(d for a, d in (("meshY", "rows"), ("meshX", "cols")) if a in mesh)
    assert parsed.arrays is not None and first_spatial is not None
    array_name = _array_name(str(first_spatial.fields.get("name", "")), len(shape), base)
    if array_name is None:
        raise SpecError.single(
            "S304",
            f"{path}: the base spec '{base.name}' has no {len(shape)}D array to take ops from",
            first_spatial.span,
            f"name the spatial container <array>_<dim> after one of the base spec's arrays "
            f"({', '.join(a.name for a in base.arrays)}), or pass a base spec with a "
            f"pe{len(shape)}d array",
        )
    name = array_name
    array = replace(base.array(name), shape=shape, dims=dims, register_words_per_pe=registers)
    if any(a.name == name for a, _ in parsed.arrays):
        raise SpecError.single("S305", f"{path}: a second {name} array", first_spatial.span)
    parsed.arrays.append((array, first_spatial))


def _array_name(container: str, rank_count: int, base: ArchSpec) -> str | None:
    """Return the base spec's array a file's spatial array stands for, or None.

    In order: the array the first spatial container is named after (``tensor_cols`` ->
    ``tensor``, as export names them), the array named by its dimension count (``pe2d``, as
    in the FuseMax artifact), the only array of the base with as many dimensions.
    """
    same = [a.name for a in base.arrays if len(a.shape) == rank_count]
    for name in sorted(same, key=len, reverse=True):
        if container.startswith(f"{name}_"):
            return name
    if f"pe{rank_count}d" in same:
        return f"pe{rank_count}d"
    return same[0] if len(same) == 1 else None


def _level(
    node: _Node, name: str, cls: str, base: ArchSpec, bandwidth: float | None, parsed: _Parsed
) -> Level:
    try:
        template = base.level(name)
    except KeyError:
        raise SpecError.single(
            "S306",
            f"level '{name}' has no energies in the base spec '{base.name}'",
            node.span,
            "name the level as in the base spec, or pass a base spec that has it",
        ) from None
    width = int(_number(node, "width"))
    if "DRAM" in cls:
        shared = _attributes(node).get("shared_bandwidth")
        words = _number(node, "shared_bandwidth") if shared is not None else None
        per_s = (
            bandwidth
            or (
                words * parsed.word_bytes * parsed.clock_hz
                if words and parsed.word_bytes and parsed.clock_hz
                else None
            )
            or template.bandwidth_bytes_per_s
        )
        return replace(template, size_bytes=None, bandwidth_bytes_per_s=per_s, access_bits=width)
    size = _number(node, "depth") * width / 8
    return replace(template, size_bytes=size, access_bits=width)


def _merge_level(levels: list[tuple[Level, _Node]], level: Level, node: _Node) -> None:
    for old, _ in levels:
        if old.name == level.name:
            if old.size_bytes != level.size_bytes:
                raise SpecError.single(
                    "S307", f"level '{level.name}' has different sizes in the files", node.span
                )
            return
    levels.append((level, node))


def import_timeloop_arch(
    paths: list[str | Path] | str | Path,
    base: ArchSpec,
    name: str | None = None,
    bandwidth_bytes_per_s: float | None = None,
) -> ArchSpec:
    """Build a spec from Timeloop v4 architecture files (one per array, sharing levels).

    Args:
        paths: the files, e.g. the artifact's ``arch-2d.yaml`` and ``arch-1d.yaml``.
        base: the spec to take per-action energies, op tables and areas from.
        name: the new spec's name (default: the first file's stem).
        bandwidth_bytes_per_s: DRAM bandwidth; default the file's ``shared_bandwidth`` or
            the base spec's.

    Raises:
        SpecError: invalid YAML, no node list, a level or array the base spec lacks, or
            files that disagree on the clock or a level's size.
    """
    files = [Path(p) for p in (paths if isinstance(paths, list) else [paths])]
    parsed = _Parsed(levels=[], arrays=[], ignored=[])
    for path in files:
        _read_one(path, parsed, base, bandwidth_bytes_per_s)
    assert parsed.levels is not None and parsed.arrays is not None
    levels = [lv for lv, _ in parsed.levels]
    if not levels or levels[0].bandwidth_bytes_per_s is None or not parsed.arrays:
        raise SpecError.single(
            "S308",
            f"{files[0]}: needs a DRAM component first, an SRAM level and a spatial array",
            None,
        )
    ignored = f"; not modelled: {', '.join(parsed.ignored)}" if parsed.ignored else ""
    names = {a.name for a, _ in parsed.arrays}
    links = tuple(k for k in base.links if k.source in names and k.target in names)
    kept = {k.name for k in links}
    tables = tuple(
        (
            table,
            tuple(
                e
                for e in entries
                if (e.array in names if isinstance(e, RegisterCost) else e.link in kept)
            ),
        )
        for table, entries in base.cost_tables
    )
    return ArchSpec(
        name=name or files[0].stem,
        clock_hz=parsed.clock_hz or base.clock_hz,
        word_bytes=parsed.word_bytes or base.word_bytes,
        levels=tuple(levels),
        arrays=tuple(a for a, _ in parsed.arrays),
        cost_tables=tables,
        links=links,
        description=f"imported from Timeloop: {', '.join(p.name for p in files)}{ignored}",
        source_file=str(files[0]),
    )
