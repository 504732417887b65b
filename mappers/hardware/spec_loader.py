"""Architecture spec YAML -> located nodes -> validated :class:`ArchSpec`; located SpecErrors."""

from __future__ import annotations

from pathlib import Path

from einsum_cascade.diagnostics import SourceSpan, suggest
from mappers.errors import SpecError
from mappers.hardware.catalog import SpecKind, resolve_spec, spec_names
from mappers.hardware.spec import (
    ArchSpec,
    ComputeArray,
    Level,
    Link,
    LinkCost,
    OpCost,
    RegisterCost,
)
from mappers.units import (
    AREA,
    BANDWIDTH,
    CYCLES,
    ENERGY,
    FREQUENCY,
    POSITIVE,
    SHAPE,
    SIZE,
    WHOLE,
    Kind,
)
from mappers.yaml_source import Node, Validator, compose, read_text

SUPPORTED_VERSIONS = (1,)

_TOP = (
    "version",
    "name",
    "description",
    "clock_hz",
    "word_bytes",
    "levels",
    "arrays",
    "links",
    "cost_tables",
)
_LEVEL = (
    "name",
    "size_bytes",
    "bandwidth_bytes_per_s",
    "access_bits",
    "read_energy_pj",
    "write_energy_pj",
    "area_um2",
    "area_um2_per_byte",
)
_ARRAY = (
    "name",
    "shape",
    "dims",
    "register_words_per_pe",
    "register_read_energy_pj",
    "register_write_energy_pj",
    "area_um2_per_pe",
    "fill_drain",
    "ops",
)
_LINK = ("name", "from", "to", "energy_pj_per_word", "bandwidth_words_per_cycle")
_LINK_ENERGY = ("energy_pj_per_word",)
_REGISTER_ENERGIES = ("register_read_energy_pj", "register_write_energy_pj")
_OP = ("cycles", "energy_pj", "lower_to")
_DEFAULT_DIMS = {1: ("cols",), 2: ("rows", "cols"), 3: ("planes", "rows", "cols")}


def spec_path(name_or_path: str | Path) -> Path:
    """Resolve an accelerator spec name (``fusemax``) or a path to a spec file."""
    return resolve_spec(name_or_path, SpecKind.ACCELERATOR)


def available_specs() -> tuple[str, ...]:
    """Return the names of the built-in accelerator specs."""
    return spec_names(SpecKind.ACCELERATOR)


def load_spec(name_or_path: str | Path) -> ArchSpec:
    """Load and validate an accelerator spec by built-in name or path.

    Raises:
        SpecError: the file is missing, is a machine spec, is not valid YAML, or breaks
            the schema.
    """
    path = spec_path(name_or_path)
    return spec_from_text(read_text(path, SpecError), str(path))


def spec_from_text(text: str, file: str = "<string>") -> ArchSpec:
    """Validate spec YAML text and build the spec; every problem is reported at once."""
    root = compose(text, file, SpecError)
    kind = root.get("kind")
    if kind is not None and kind.value in ("gpu", "cpu"):
        raise SpecError.single(
            "S105",
            f"this is a machine spec (kind: {kind.value}), not an accelerator spec",
            kind.span,
            "--machine takes machine specs; --arch takes accelerator specs (levels and arrays)",
        )
    check = Validator("S")
    top = check.keys(root, _TOP, ("version", "name", "clock_hz", "levels", "arrays"), "the spec")
    check.version(root, SUPPORTED_VERSIONS)
    spans: list[tuple[str, SourceSpan]] = []
    levels = _levels(check, top.get("levels"), spans)
    arrays = _arrays(check, top.get("arrays"), spans)
    links = _links(check, top.get("links"), levels, arrays, spans)
    word = top.get("word_bytes")
    spec = ArchSpec(
        name=check.string(top.get("name"), "name"),
        clock_hz=check.number(top.get("clock_hz"), "clock_hz", FREQUENCY),
        word_bytes=int(check.number(word, "word_bytes", SHAPE)) if word is not None else 2,
        levels=levels,
        arrays=arrays,
        description=str(top["description"].value) if "description" in top else "",
        cost_tables=_cost_tables(check, top.get("cost_tables"), arrays, links),
        links=links,
        source_file=file,
        spans=tuple(spans),
    )
    check.raise_if_any(SpecError)
    return spec


def _levels(
    check: Validator, node: Node | None, spans: list[tuple[str, SourceSpan]]
) -> tuple[Level, ...]:
    items = check.sequence(node, "levels")
    if node is not None and isinstance(node.value, list) and len(items) < 2:
        check.error(
            107, "a spec needs at least two levels: a backing store and a buffer", node.span
        )
    levels = []
    for position, item in enumerate(items):
        fields = check.keys(item, _LEVEL, ("name",), "a level")
        name = check.string(fields.get("name"), "level name")
        where = f"level '{name}'"
        backing = position == 0
        needed = "bandwidth_bytes_per_s" if backing else "size_bytes"
        if needed not in fields and isinstance(item.value, dict):
            role = "the outermost level" if backing else "an on-chip level"
            check.error(102, f"missing key '{needed}' in {where} ({role})", item.span)
        size = fields.get("size_bytes")
        bandwidth = fields.get("bandwidth_bytes_per_s")
        levels.append(
            Level(
                name=name,
                size_bytes=check.number(size, f"size_bytes of {where}", SIZE) if size else None,
                bandwidth_bytes_per_s=(
                    check.number(bandwidth, f"bandwidth_bytes_per_s of {where}", BANDWIDTH)
                    if bandwidth
                    else None
                ),
                access_bits=int(
                    check.number(fields["access_bits"], f"access_bits of {where}", SHAPE)
                    if "access_bits" in fields
                    else 16
                ),
                read_energy_pj=_energy(check, fields, "read_energy_pj", where),
                write_energy_pj=_energy(check, fields, "write_energy_pj", where),
                area_um2=_energy(check, fields, "area_um2", where, AREA),
                area_um2_per_byte=_energy(check, fields, "area_um2_per_byte", where, AREA),
            )
        )
        if size is not None:
            spans.append((f"levels.{name}.size_bytes", size.span))
        spans.append((f"levels.{name}", item.span))
    return tuple(levels)


def _energy(
    check: Validator, fields: dict[str, Node], key: str, where: str, kind: Kind = ENERGY
) -> float:
    node = fields.get(key)
    return check.number(node, f"{key} of {where}", kind) if node is not None else 0.0


def _arrays(
    check: Validator, node: Node | None, spans: list[tuple[str, SourceSpan]]
) -> tuple[ComputeArray, ...]:
    arrays = []
    for item in check.sequence(node, "arrays"):
        fields = check.keys(item, _ARRAY, ("name", "shape", "ops"), "an array")
        name = check.string(fields.get("name"), "array name")
        where = f"array '{name}'"
        shape = tuple(
            int(check.number(d, f"a dimension of {where}", SHAPE))
            for d in check.sequence(fields.get("shape"), f"shape of {where}")
        )
        dims = tuple(
            check.string(d, "dimension name") for d in check.sequence(fields.get("dims"), "dims")
        ) or _DEFAULT_DIMS.get(len(shape), ())
        if len(dims) != len(shape) and "shape" in fields:
            check.error(
                108,
                f"{where} has {len(shape)} dimensions but {len(dims)} dims names",
                fields["shape"].span,
            )
        ops = _ops(check, fields.get("ops"), where)
        fill_drain = len(shape) >= 2  # a systolic 2D array by default
        if "fill_drain" in fields:
            if isinstance(fields["fill_drain"].value, bool):
                fill_drain = fields["fill_drain"].value
            else:
                check.error(
                    104, f"fill_drain of {where} must be true or false", fields["fill_drain"].span
                )
        registers = fields.get("register_words_per_pe")
        area = fields.get("area_um2_per_pe")
        arrays.append(
            ComputeArray(
                name=name,
                shape=shape,
                dims=dims,
                ops=ops,
                register_words_per_pe=int(
                    check.number(registers, f"register_words_per_pe of {where}", WHOLE)
                )
                if registers
                else 0,
                area_um2_per_pe=check.number(area, f"area_um2_per_pe of {where}", AREA)
                if area
                else 0,
                register_read_energy_pj=_energy(check, fields, "register_read_energy_pj", where),
                register_write_energy_pj=_energy(check, fields, "register_write_energy_pj", where),
                fill_drain=fill_drain,
            )
        )
        spans.append((f"arrays.{name}", item.span))
    return tuple(arrays)


def _ops(check: Validator, node: Node | None, where: str) -> tuple[tuple[str, OpCost], ...]:
    entries = check.mapping(node, f"ops of {where}")
    ops: list[tuple[str, OpCost]] = []
    for op, entry in entries.items():
        fields = check.keys(entry, _OP, (), f"op '{op}' of {where}")
        lower: list[tuple[str, float]] = []
        lower_node = fields.get("lower_to")
        for target, count in check.mapping(lower_node, f"lower_to of op '{op}'").items():
            if target not in entries:
                assert lower_node is not None
                check.error(
                    106,
                    f"op '{op}' of {where} lowers to unknown op '{target}'",
                    lower_node.key_spans[target],
                    suggest(target, entries),
                )
            lower.append((target, check.number(count, f"count of '{target}'", POSITIVE)))
        if lower and ("cycles" in fields or "energy_pj" in fields):
            check.error(
                109, f"op '{op}' of {where} has both lower_to and its own costs", entry.span
            )
        if not lower and "cycles" not in fields and isinstance(entry.value, dict):
            check.error(102, f"missing key 'cycles' in op '{op}' of {where}", entry.span)
        cycles = fields.get("cycles")
        energy = fields.get("energy_pj")
        ops.append(
            (
                op,
                OpCost(
                    cycles=check.number(cycles, f"cycles of op '{op}'", CYCLES) if cycles else 0.0,
                    energy_pj=check.number(energy, f"energy_pj of op '{op}'", ENERGY)
                    if energy
                    else 0.0,
                    lower_to=tuple(lower),
                ),
            )
        )
    _check_lowering_cycles(check, entries, dict(ops), where)
    return tuple(ops)


def _check_lowering_cycles(
    check: Validator, entries: dict[str, Node], ops: dict[str, OpCost], where: str
) -> None:
    """Record an error for each op whose lower_to leads back to itself (the op would be
    silently missing: lowering gives up)."""
    for op in ops:
        path, stack, seen = [op], [(op, iter(ops[op].lower_to))], {op}
        while stack:
            _, rest = stack[-1]
            target = next((t for t, _ in rest), None)
            if target is None:
                stack.pop()
                path.pop()
            elif target == op:
                check.error(
                    111,
                    f"op '{op}' of {where} lowers back to itself: " + " -> ".join((*path, op)),
                    entries[op].span,
                    "lower to ops with their own cycles and energy_pj",
                )
                break
            elif target in ops and target not in seen:
                seen.add(target)
                path.append(target)
                stack.append((target, iter(ops[target].lower_to)))


def _cost_tables(
    check: Validator,
    node: Node | None,
    arrays: tuple[ComputeArray, ...],
    links: tuple[Link, ...] = (),
) -> tuple[tuple[str, tuple[RegisterCost | LinkCost, ...]], ...]:
    """Read ``cost_tables: {table: {array: {register_read_energy_pj: ...}}}``; an entry may
    also name a link: ``{link: {energy_pj_per_word: ...}}``."""
    names = tuple(a.name for a in arrays)
    link_names = tuple(link.name for link in links)
    tables = []
    for table, entries in check.mapping(node, "cost_tables").items():
        costs: list[RegisterCost | LinkCost] = []
        for part, entry in check.mapping(entries, f"cost table '{table}'").items():
            assert entries is not None
            if part in link_names:
                where = f"link '{part}' in cost table '{table}'"
                fields = check.keys(entry, _LINK_ENERGY, _LINK_ENERGY, where)
                costs.append(LinkCost(part, _energy(check, fields, "energy_pj_per_word", where)))
                continue
            if part not in names:
                known = f"arrays: {', '.join(names)}"
                if link_names:
                    known += f"; links: {', '.join(link_names)}"
                check.error(
                    106,
                    f"unknown array '{part}' in cost table '{table}'",
                    entries.key_spans[part],
                    suggest(part, (*names, *link_names)) or known,
                )
                continue
            where = f"array '{part}' in cost table '{table}'"
            fields = check.keys(entry, _REGISTER_ENERGIES, (), where)
            read, write = (fields.get(key) for key in _REGISTER_ENERGIES)
            costs.append(
                RegisterCost(
                    part,
                    _energy(check, fields, "register_read_energy_pj", where) if read else None,
                    _energy(check, fields, "register_write_energy_pj", where) if write else None,
                )
            )
        tables.append((table, tuple(costs)))
    return tuple(tables)


def _links(
    check: Validator,
    node: Node | None,
    levels: tuple[Level, ...],
    arrays: tuple[ComputeArray, ...],
    spans: list[tuple[str, SourceSpan]],
) -> tuple[Link, ...]:
    """Read ``links: [{from: pe2d, to: pe1d, energy_pj_per_word: ...}]``: array to array."""
    names = tuple(a.name for a in arrays)
    taken = {*names, *(level.name for level in levels)}
    links: list[Link] = []
    for item in check.sequence(node, "links"):
        fields = check.keys(item, _LINK, ("from", "to"), "a link")
        ends = []
        for key in ("from", "to"):
            end = check.string(fields.get(key), f"'{key}' of a link")
            if end and end not in names:
                check.error(
                    106,
                    f"a link names array '{end}', which the spec does not have",
                    fields[key].span,
                    suggest(end, names) or f"arrays: {', '.join(names)}",
                )
            ends.append(end)
        source, target = ends
        name = (
            check.string(fields.get("name"), "link name")
            if "name" in fields
            else f"{source}_{target}"
        )
        where = f"link '{name}'"
        if source and source == target:
            check.error(
                110,
                f"{where} goes from array '{source}' to itself",
                item.span,
                "a tensor produced and read on one array stays in its registers: drop the link",
            )
        if name in taken:
            check.error(
                110,
                f"{where}: the name is already taken by a level, an array or another link",
                fields["name"].span if "name" in fields else item.span,
                "give the link a name of its own (name: ...)",
            )
        elif any(link.source == source and link.target == target for link in links):
            check.error(
                110,
                f"{where} repeats the link from '{source}' to '{target}'",
                item.span,
                "declare each direction once",
            )
        taken.add(name)
        bandwidth = fields.get("bandwidth_words_per_cycle")
        links.append(
            Link(
                name=name,
                source=source,
                target=target,
                energy_pj_per_word=_energy(check, fields, "energy_pj_per_word", where),
                bandwidth_words_per_cycle=check.number(
                    bandwidth, f"bandwidth_words_per_cycle of {where}", POSITIVE
                )
                if bandwidth is not None
                else None,
            )
        )
        spans.append((f"links.{name}", item.span))
    return tuple(links)
