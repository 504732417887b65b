"""Mapping YAML -> validated :class:`Mapping`, with per-workload variants; located errors."""

from __future__ import annotations

from pathlib import Path

from einsum_cascade.diagnostics import SourceSpan, suggest
from mappers.errors import MappingError
from mappers.mapping.schema import (
    ENDS,
    ENDS_SCHEDULES,
    REGISTERS,
    SCHEDULE_KINDS,
    DimRef,
    Mapping,
    OpOverride,
    Quantity,
    Schedule,
    StageItem,
    Stall,
    TileRule,
)
from mappers.units import COUNT, CYCLES, ENERGY, FRACTION, POSITIVE, SHAPE, SIZE, Kind
from mappers.workloads import parse_seq
from mappers.yaml_source import Node, Validator, compose, read_text

MAPPING_DIR = Path(__file__).resolve().parent.parent / "data" / "mappings"
_TOP = (
    "version", "name", "description", "cascade", "spec", "batch_ranks", "extents", "bind",
    "spatial", "stationary", "loop_order", "tiles", "place", "reads", "writes",
    "spill_fraction", "schedule", "cost_tables", "variants",
)  # fmt: skip
_BODY = _TOP[5:-1]


def mapping_path(name_or_path: str | Path) -> Path:
    """Resolve a built-in mapping name (``fusemax-binding``) or a path."""
    path = Path(name_or_path)
    if path.suffix in {".yaml", ".yml"} or path.exists():
        return path
    return MAPPING_DIR / f"{name_or_path}.yaml"


def available_mappings() -> tuple[str, ...]:
    """Return the names of the built-in mappings."""
    return tuple(sorted(p.stem for p in MAPPING_DIR.glob("*.yaml")))


def load_mapping(
    name_or_path: str | Path, workload: str | None = None, seq: int | str | None = None
) -> Mapping:
    """Load a mapping by name or path, applying the variants that match the workload.

    Raises:
        MappingError: missing file, invalid YAML or a schema violation.
    """
    path = mapping_path(name_or_path)
    if not path.exists():
        raise MappingError.single(
            "M100",
            f"no mapping '{name_or_path}'",
            None,
            suggest(str(name_or_path), available_mappings())
            or f"built-in mappings: {', '.join(available_mappings())}",
        )
    return mapping_from_text(read_text(path, MappingError), str(path), workload, seq)


def mapping_from_text(
    text: str,
    file: str = "<string>",
    workload: str | None = None,
    seq: int | str | None = None,
) -> Mapping:
    """Validate mapping YAML text and build the mapping."""
    root = compose(text, file, MappingError)
    check = Validator("M")
    top = check.keys(root, _TOP, ("version", "name", "cascade", "bind", "schedule"), "the mapping")
    check.version(root, (1,))
    for variant in check.sequence(top.get("variants"), "variants"):
        if _matches(check, variant, workload, seq):
            root = _merge(check, root, variant.value["set"])
    top = check.mapping(root, "the mapping")
    spans: list[tuple[str, SourceSpan]] = []
    for key in ("cascade", "batch_ranks", "place", "spatial", "extents", "tiles", "schedule"):
        if key in top:
            spans.append((key, top[key].span))
    for section in ("place", "spatial", "extents", "tiles"):
        node = top.get(section)
        if node is not None and isinstance(node.value, dict):
            spans.extend((f"{section}.{k}", v.span) for k, v in node.value.items())
    stationary = top.get("stationary")
    if stationary is not None and isinstance(stationary.value, dict):
        spans.extend((f"stationary.{k}", stationary.key_spans[k]) for k in stationary.value)
    mapping = Mapping(
        name=check.string(top.get("name"), "name"),
        cascade=check.string(top.get("cascade"), "cascade"),
        spec=check.string(top.get("spec"), "spec") if "spec" in top else None,
        extents=tuple(
            (rank, _quantity(check, node, COUNT, f"extent {rank}"))
            for rank, node in _items(check, top, "extents")
        ),
        bind=_bind(check, top.get("bind"), spans),
        spatial=tuple(
            (array, _spatial(check, node, array)) for array, node in _items(check, top, "spatial")
        ),
        stationary=tuple(
            (einsum, check.string(tensor, "stationary tensor"))
            for einsum, tensor in _items(check, top, "stationary")
        ),
        loop_order=tuple(
            check.string(n, "rank") for n in check.sequence(top.get("loop_order"), "loop_order")
        ),
        tiles=tuple(_tile(check, rank, node) for rank, node in _items(check, top, "tiles")),
        place=tuple(
            (level, tuple(check.string(t, "tensor") for t in check.sequence(node, level)))
            for level, node in _items(check, top, "place")
        ),
        reads=tuple(
            (einsum, tensor, check.string(source, "source level"))
            for einsum, node in _items(check, top, "reads")
            for tensor, source in check.mapping(node, f"reads of {einsum}").items()
        ),
        writes=tuple(
            (einsum, check.string(level, "target level"))
            for einsum, level in _items(check, top, "writes")
        ),
        spill_fraction=check.number(top.get("spill_fraction"), "spill_fraction", FRACTION),
        schedule=_schedule(check, top.get("schedule")),
        cost_tables=tuple(
            (table, _overrides(check, node)) for table, node in _items(check, top, "cost_tables")
        ),
        batch_ranks=tuple(
            check.string(n, "rank") for n in check.sequence(top.get("batch_ranks"), "batch_ranks")
        )
        if "batch_ranks" in top
        else ("B", "H"),
        description=str(top["description"].value) if "description" in top else "",
        source_file=file,
        spans=tuple(spans),
    )
    if mapping.spill_fraction >= 1:
        check.error(104, "spill_fraction must be below 1", top["spill_fraction"].span)
    check.raise_if_any(MappingError)
    return mapping


def _items(
    check: Validator, top: dict[str, Node], key: str, node: Node | None = None
) -> list[tuple[str, Node]]:
    node = node if node is not None else top.get(key)
    return list(check.mapping(node, key).items())


def _matches(check: Validator, variant: Node, workload: str | None, seq: int | str | None) -> bool:
    fields = check.keys(variant, ("when", "set"), ("when", "set"), "a variant")
    when = check.keys(fields["when"], ("workload", "seq"), (), "when") if "when" in fields else {}
    if workload is not None and "workload" in when:
        names = [str(n.value).lower() for n in check.sequence(when["workload"], "workload")]
        if workload.lower() not in names:
            return False
    if seq is not None and "seq" in when:
        values = [parse_seq(n.value, n.span) for n in check.sequence(when["seq"], "seq")]
        if parse_seq(seq) not in values:
            return False
    return (workload is not None or "workload" not in when) and (
        seq is not None or "seq" not in when
    )


def _merge(check: Validator, base: Node, update: Node) -> Node:
    """Return ``base`` with a variant's ``set`` applied (new nodes: parsed trees are shared)."""
    if not isinstance(update.value, dict) or not isinstance(base.value, dict):
        return base
    values, spans = dict(base.value), dict(base.key_spans)
    for key, value in update.value.items():
        if key not in _BODY:
            check.error(
                101, f"unknown key '{key}' in a variant", update.key_spans[key], suggest(key, _BODY)
            )
            continue
        old = values.get(key)
        if key in {"place", "reads", "writes"} or old is None or not isinstance(old.value, dict):
            values[key] = value
            spans[key] = update.key_spans[key]
        else:
            values[key] = _merge_plain(old, value)
    return Node(values, base.span, spans)


def _merge_plain(base: Node, update: Node) -> Node:
    if not (isinstance(base.value, dict) and isinstance(update.value, dict)):
        return base
    values, spans = dict(base.value), dict(base.key_spans)
    for key, value in update.value.items():
        old = values.get(key)
        if old is not None and isinstance(old.value, dict):
            values[key] = _merge_plain(old, value)
        else:
            values[key] = value
            spans[key] = update.key_spans[key]
    return Node(values, base.span, spans)


def _spatial(check: Validator, node: Node, array: str) -> tuple[tuple[str, str], ...]:
    """Return (dim, variable) pairs; a list gives candidates, the first an einsum has wins."""
    pairs: list[tuple[str, str]] = []
    for dim, value in check.mapping(node, f"spatial.{array}").items():
        items = value.value if isinstance(value.value, list) else [value]
        pairs.extend((dim, check.string(v, "index variable")) for v in items)
    return tuple(pairs)


def _quantity(check: Validator, node: Node, kind: Kind, what: str) -> Quantity:
    if isinstance(node.value, dict):
        fields = check.keys(node, ("array", "dim"), ("array", "dim"), "an array dimension")
        return DimRef(
            check.string(fields.get("array"), "array"), check.string(fields.get("dim"), "dim")
        )
    return check.number(node, what, kind)


def _bind(
    check: Validator, node: Node | None, spans: list[tuple[str, SourceSpan]]
) -> tuple[tuple[str, str], ...]:
    pairs: list[tuple[str, str]] = []
    for array, einsums in check.mapping(node, "bind").items():
        assert node is not None
        spans.append((f"bind.{array}", node.key_spans[array]))
        for einsum in check.sequence(einsums, f"bind.{array}"):
            name = check.string(einsum, "einsum")
            pairs.append((name, array))
            spans.append((f"bind.{array}.{name}", einsum.span))
    return tuple(pairs)


def _tile(check: Validator, rank: str, node: Node) -> TileRule:
    if node.value == "whole":
        return TileRule(rank, whole=True)
    if not isinstance(node.value, dict):
        return TileRule(rank, fixed=int(check.number(node, f"tile of {rank}", SHAPE)))
    if "fit" not in node.value and {"array", "dim"} & set(node.value):
        return TileRule(rank, fixed=_quantity(check, node, SHAPE, f"tile of {rank}"))
    fields = check.keys(
        node,
        ("fit", "step", "budget_bytes", "fraction", "tensors", "divides"),
        ("fit",),
        f"tile of {rank}",
    )
    budget = fields.get("budget_bytes")
    fraction = fields.get("fraction")
    share = check.number(fraction, "fraction", FRACTION) if fraction is not None else 1.0
    if fraction is not None and share == 0:
        check.error(104, f"fraction of the tile of {rank} must be in (0, 1]", fraction.span)
    divides = fields.get("divides")
    if divides is not None and not isinstance(divides.value, bool):
        check.error(104, f"divides of the tile of {rank} must be true or false", divides.span)
    return TileRule(
        rank,
        fit_level=check.string(fields.get("fit"), "fit level"),
        step=_quantity(check, fields["step"], SHAPE, f"step of {rank}") if "step" in fields else 1,
        budget_bytes=check.number(budget, "budget_bytes", SIZE) if budget is not None else None,
        fraction=share,
        tensors=tuple(
            check.string(t, "tensor") for t in check.sequence(fields.get("tensors"), "tensors")
        ),
        divides=divides is not None and divides.value is True,
    )


def _schedule(check: Validator, node: Node | None) -> Schedule:
    if node is None:
        return Schedule("sequential")
    if isinstance(node.value, str):
        if node.value not in SCHEDULE_KINDS:
            check.error(
                106,
                f"unknown schedule '{node.value}'",
                node.span,
                suggest(node.value, SCHEDULE_KINDS),
            )
        return Schedule(node.value)
    fields = check.keys(node, SCHEDULE_KINDS, (), "schedule")
    if len(fields) != 1:
        check.error(103, "schedule must name exactly one kind", node.span)
        return Schedule("sequential")
    kind, groups = next(iter(fields.items()))
    ends: Node | None = None
    if kind in ENDS_SCHEDULES and isinstance(groups.value, dict):
        # the options form: {overlapped: {ends: none}}, {stages: {groups: [...], ends: none}}
        staged = kind == "stages"
        names = ("groups", "ends") if staged else ("ends",)
        options = check.keys(groups, names, ("groups",) if staged else (), kind)
        ends = options.get("ends")
        if "groups" not in options:  # missing for stages: recorded by keys
            return Schedule(kind, ends=_ends(check, ends))
        groups = options["groups"]
    if groups.value is not None and not isinstance(groups.value, list):
        misplaced = isinstance(groups.value, dict) and "ends" in groups.value
        forms = {
            "stages": " or {groups: [...], ends: tile | none}",
            "overlapped": " or {ends: tile | none}",
            "pipelined": " or {ends: tile | none}",
        }
        check.error(
            103,
            f"{kind} must be a list of stages{forms.get(kind, '')}",
            groups.span,
            f"ends applies to {', '.join(ENDS_SCHEDULES[:-1])} and {ENDS_SCHEDULES[-1]}, "
            f"not to {kind}"
            if misplaced
            else None,
        )
        return Schedule(kind)
    return Schedule(
        kind,
        tuple(
            tuple(_stage_item(check, item) for item in check.sequence(group, "stage"))
            for group in check.sequence(groups, kind)
        ),
        _ends(check, ends),
    )


def _ends(check: Validator, node: Node | None) -> str:
    """Return a schedule's ``ends``: ``tile`` (the default) or ``none``."""
    if node is None:
        return ENDS[0]
    if isinstance(node.value, (list, dict)):
        check.error(103, f"ends must be one of: {', '.join(ENDS)}", node.span)
        return ENDS[0]
    ends = node.value if isinstance(node.value, str) else str(node.text)
    if ends not in ENDS:
        check.error(
            106,
            f"unknown ends '{ends}' (the first load and last store of a tiled schedule)",
            node.span,
            suggest(ends, ENDS) or f"one of: {', '.join(ENDS)}",
        )
        return ENDS[0]
    return ends


def _stage_item(check: Validator, node: Node) -> StageItem:
    if isinstance(node.value, dict):
        fields = check.keys(node, ("stall", "times"), ("stall", "times"), "a stall")
        return Stall(
            check.string(fields.get("stall"), "einsum"),
            _quantity(check, fields["times"], POSITIVE, "times") if "times" in fields else 1,
        )
    return check.string(node, "einsum")


def _overrides(check: Validator, node: Node) -> tuple[OpOverride, ...]:
    out = []
    for array, ops in check.mapping(node, "cost table").items():
        for op, entry in check.mapping(ops, f"ops of {array}").items():
            fields = check.keys(entry, ("cycles", "energy_pj"), (), f"override of {op}")
            cycles, energy = fields.get("cycles"), fields.get("energy_pj")
            out.append(
                OpOverride(
                    array,
                    op,
                    check.number(cycles, "cycles", CYCLES) if cycles is not None else None,
                    check.number(energy, "energy_pj", ENERGY) if energy is not None else None,
                )
            )
    return tuple(out)


__all__ = ["REGISTERS", "available_mappings", "load_mapping", "mapping_from_text"]
