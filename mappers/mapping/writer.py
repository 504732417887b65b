"""Write a :class:`Mapping` as mapping YAML that :func:`mappers.load_mapping` reads back."""

from __future__ import annotations

from typing import Any

from einsum_cascade.yaml_source import dump_yaml
from mappers.mapping.schema import (
    ENDS_SCHEDULES,
    DimRef,
    Mapping,
    Quantity,
    Schedule,
    Stall,
    TileRule,
)


def _quantity(value: Quantity) -> Any:
    if isinstance(value, DimRef):
        return {"array": value.array, "dim": value.dim}
    return value


def _tile(rule: TileRule) -> Any:
    if rule.whole:
        return "whole"
    if rule.fixed is not None:
        return _quantity(rule.fixed)
    out: dict[str, Any] = {"fit": rule.fit_level}
    if rule.step != 1:
        out["step"] = _quantity(rule.step)
    if rule.budget_bytes is not None:
        out["budget_bytes"] = rule.budget_bytes
    if rule.fraction != 1.0:
        out["fraction"] = rule.fraction
    if rule.tensors:
        out["tensors"] = list(rule.tensors)
    if rule.divides:
        out["divides"] = True
    return out


def _spatial(pairs: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    out: dict[str, list[str]] = {}
    for dim, variable in pairs:
        out.setdefault(dim, []).append(variable)
    return {dim: values[0] if len(values) == 1 else values for dim, values in out.items()}


def _schedule(mapping: Mapping) -> Any:
    schedule = mapping.schedule
    options = (
        {"ends": schedule.ends}
        if schedule.kind in ENDS_SCHEDULES and schedule.ends != Schedule(schedule.kind).ends
        else {}
    )
    if not schedule.groups:
        return {schedule.kind: options} if options else schedule.kind
    groups = [
        [
            item
            if isinstance(item, str)
            else {"stall": item.einsum, "times": _quantity(item.times)}
            for item in group
            if isinstance(item, str | Stall)
        ]
        for group in schedule.groups
    ]
    return {schedule.kind: {"groups": groups, **options} if options else groups}


def mapping_document(mapping: Mapping) -> dict[str, Any]:
    """Return the mapping as a plain dictionary in the mapping YAML schema."""
    bind: dict[str, list[str]] = {}
    for einsum, array in mapping.bind:
        bind.setdefault(array, []).append(einsum)
    doc: dict[str, Any] = {"version": 1, "name": mapping.name}
    if mapping.description:
        doc["description"] = mapping.description
    doc["cascade"] = mapping.cascade
    if mapping.spec is not None:
        doc["spec"] = mapping.spec
    if mapping.batch_ranks != ("B", "H"):
        doc["batch_ranks"] = list(mapping.batch_ranks)
    if mapping.extents:
        doc["extents"] = {rank: _quantity(q) for rank, q in mapping.extents}
    doc["bind"] = bind
    if mapping.spatial:
        doc["spatial"] = {array: _spatial(pairs) for array, pairs in mapping.spatial}
    if mapping.stationary:
        doc["stationary"] = dict(mapping.stationary)
    if mapping.loop_order:
        doc["loop_order"] = list(mapping.loop_order)
    if mapping.tiles:
        doc["tiles"] = {rule.rank: _tile(rule) for rule in mapping.tiles}
    if mapping.place:
        doc["place"] = {level: list(tensors) for level, tensors in mapping.place}
    reads: dict[str, dict[str, str]] = {}
    for einsum, tensor, source in mapping.reads:
        reads.setdefault(einsum, {})[tensor] = source
    if reads:
        doc["reads"] = reads
    if mapping.writes:
        doc["writes"] = dict(mapping.writes)
    if mapping.spill_fraction:
        doc["spill_fraction"] = mapping.spill_fraction
    doc["schedule"] = _schedule(mapping)
    tables: dict[str, dict[str, dict[str, dict[str, float]]]] = {}
    for table, overrides in mapping.cost_tables:
        entries = tables.setdefault(table, {})
        for override in overrides:
            entry: dict[str, float] = {}
            if override.cycles is not None:
                entry["cycles"] = override.cycles
            if override.energy_pj is not None:
                entry["energy_pj"] = override.energy_pj
            entries.setdefault(override.array, {})[override.op] = entry
    if tables:
        doc["cost_tables"] = tables
    return doc


def mapping_yaml(mapping: Mapping, header: str = "") -> str:
    """Return mapping YAML text (``header`` lines become leading comments).

    Example:
        >>> from mappers.mapping.loader import load_mapping
        >>> flat = load_mapping("flat")
        >>> text = mapping_yaml(flat)
        >>> from mappers.mapping.loader import mapping_from_text
        >>> mapping_from_text(text) == flat
        True
    """
    comments = "".join(f"# {line}\n" if line else "#\n" for line in header.splitlines())
    body = dump_yaml(mapping_document(mapping), sort_keys=False, default_flow_style=None)
    return comments + body


__all__ = ["mapping_document", "mapping_yaml"]
