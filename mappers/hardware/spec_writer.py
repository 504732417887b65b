"""Accelerator spec -> spec YAML that :func:`load_spec` reads back to an equal spec.

Numbers are written with ``repr`` so that every float survives the round trip exactly; an
imported Timeloop architecture saved this way is a spec file ``--arch`` accepts.
"""

from __future__ import annotations

from typing import Any

from einsum_cascade.yaml_source import dump_yaml
from mappers.hardware.spec import (
    ArchSpec,
    ComputeArray,
    Level,
    Link,
    LinkCost,
    OpCost,
    RegisterCost,
)

SPEC_VERSION = 1


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() and abs(value) < 2**53 else float(value)


def _level(level: Level) -> dict[str, Any]:
    out: dict[str, Any] = {"name": level.name}
    if level.size_bytes is not None:
        out["size_bytes"] = _number(level.size_bytes)
    if level.bandwidth_bytes_per_s is not None:
        out["bandwidth_bytes_per_s"] = _number(level.bandwidth_bytes_per_s)
    out["access_bits"] = level.access_bits
    out["read_energy_pj"] = _number(level.read_energy_pj)
    out["write_energy_pj"] = _number(level.write_energy_pj)
    if level.area_um2:
        out["area_um2"] = _number(level.area_um2)
    if level.area_um2_per_byte:
        out["area_um2_per_byte"] = _number(level.area_um2_per_byte)
    return out


def _op(cost: OpCost) -> dict[str, Any]:
    if cost.lower_to:
        return {"lower_to": {target: _number(count) for target, count in cost.lower_to}}
    return {"cycles": _number(cost.cycles), "energy_pj": _number(cost.energy_pj)}


def _array(array: ComputeArray) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": array.name,
        "shape": list(array.shape),
        "dims": list(array.dims),
        "fill_drain": array.fill_drain,
    }
    if array.register_words_per_pe:
        out["register_words_per_pe"] = array.register_words_per_pe
    out["register_read_energy_pj"] = _number(array.register_read_energy_pj)
    out["register_write_energy_pj"] = _number(array.register_write_energy_pj)
    if array.area_um2_per_pe:
        out["area_um2_per_pe"] = _number(array.area_um2_per_pe)
    out["ops"] = {name: _op(cost) for name, cost in array.ops}
    return out


def _link(link: Link) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": link.name, "from": link.source, "to": link.target}
    entry["energy_pj_per_word"] = _number(link.energy_pj_per_word)
    if link.bandwidth_words_per_cycle is not None:
        entry["bandwidth_words_per_cycle"] = _number(link.bandwidth_words_per_cycle)
    return entry


def _cost_key(cost: RegisterCost | LinkCost) -> str:
    return cost.link if isinstance(cost, LinkCost) else cost.array


def _cost_entry(cost: RegisterCost | LinkCost) -> dict[str, Any]:
    if isinstance(cost, LinkCost):
        return {"energy_pj_per_word": _number(cost.energy_pj_per_word)}
    return {
        key: _number(value)
        for key, value in (
            ("register_read_energy_pj", cost.read_energy_pj),
            ("register_write_energy_pj", cost.write_energy_pj),
        )
        if value is not None
    }


def spec_document(spec: ArchSpec) -> dict[str, Any]:
    """Return the spec as the plain mapping a spec file holds."""
    document: dict[str, Any] = {
        "version": SPEC_VERSION,
        "name": spec.name,
        "description": spec.description,
        "clock_hz": _number(spec.clock_hz),
        "word_bytes": spec.word_bytes,
        "levels": [_level(level) for level in spec.levels],
        "arrays": [_array(array) for array in spec.arrays],
    }
    if spec.links:
        document["links"] = [_link(link) for link in spec.links]
    tables = {
        table: {_cost_key(cost): _cost_entry(cost) for cost in entries}
        for table, entries in spec.cost_tables
        if entries
    }
    if tables:
        document["cost_tables"] = tables
    return document


def spec_to_yaml(spec: ArchSpec) -> str:
    """Return spec YAML text for ``spec``; ``spec_from_text`` of it gives an equal spec.

    Example:
        >>> from mappers.hardware.spec_loader import load_spec, spec_from_text
        >>> spec = load_spec("fusemax")
        >>> spec_from_text(spec_to_yaml(spec)) == spec
        True
    """
    header = f"# {spec.name}: written by einsum-cascade\n"
    return header + dump_yaml(spec_document(spec), sort_keys=False)


__all__ = ["spec_document", "spec_to_yaml"]
