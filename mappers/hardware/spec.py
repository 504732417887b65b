"""Frozen architecture spec: storage levels, compute arrays and their per-op costs."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from einsum_cascade.diagnostics import SourceSpan


@dataclass(frozen=True, slots=True)
class OpCost:
    """What one operation costs on one PE of an array.

    Either a primitive (``cycles`` and ``energy_pj``) or a lowering to other ops of the
    same array (``lower_to``, e.g. ``exp`` -> 6 ``mac``).
    """

    cycles: float = 0.0
    energy_pj: float = 0.0
    lower_to: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True, slots=True)
class Level:
    """A storage level. The outermost (first) level is the backing store with a bandwidth."""

    name: str
    size_bytes: float | None
    bandwidth_bytes_per_s: float | None
    access_bits: int
    read_energy_pj: float  # per access of access_bits
    write_energy_pj: float
    area_um2: float = 0.0  # fixed area (ports, control)
    area_um2_per_byte: float = 0.0  # storage area, times size_bytes

    @property
    def total_area_um2(self) -> float:
        """Return the level's area: fixed plus per byte of capacity."""
        return self.area_um2 + self.area_um2_per_byte * (self.size_bytes or 0.0)


@dataclass(frozen=True, slots=True)
class ComputeArray:
    """A spatial PE array: its shape, named dimensions, registers and op table."""

    name: str
    shape: tuple[int, ...]
    dims: tuple[str, ...]
    ops: tuple[tuple[str, OpCost], ...]
    register_words_per_pe: int = 0
    area_um2_per_pe: float = 0.0
    register_read_energy_pj: float = 0.0  # per word read from a PE's register file
    register_write_energy_pj: float = 0.0  # per word written (an update or a fill)
    fill_drain: bool = False  # systolic: each fold pays its operands' skew, preload and drain

    @property
    def num_pes(self) -> int:
        """Return the number of PEs."""
        return math.prod(self.shape)

    def dim_size(self, dim: str) -> int:
        """Return the size of a named dimension (``rows``, ``cols``)."""
        return self.shape[self.dims.index(dim)]

    def op(self, name: str) -> OpCost | None:
        """Return the cost entry of an op, or None when the array cannot run it."""
        for key, cost in self.ops:
            if key == name:
                return cost
        return None

    def with_op(self, name: str, cost: OpCost) -> ComputeArray:
        """Return a copy with one op entry replaced or added."""
        ops = (*tuple((k, v) for k, v in self.ops if k != name), (name, cost))
        return replace(self, ops=ops)


@dataclass(frozen=True, slots=True)
class Link:
    """A direct path from one array to another: a tensor produced on ``source`` and read on
    ``target`` crosses it without a storage level.

    Each word crossing costs ``energy_pj_per_word`` (the wires and any staging storage the
    link passes through; the word then lands in the reading PEs' registers, which the
    target array charges as a register fill). ``bandwidth_words_per_cycle`` (None: not
    given) turns its words into busy cycles, which the breakdown reports beside the
    arrays'; the schedules assume the link keeps pace (it is no latency term).
    """

    name: str
    source: str
    target: str
    energy_pj_per_word: float = 0.0
    bandwidth_words_per_cycle: float | None = None


@dataclass(frozen=True, slots=True)
class LinkCost:
    """A cost-table entry replacing the energy per word of one link."""

    link: str
    energy_pj_per_word: float


@dataclass(frozen=True, slots=True)
class RegisterCost:
    """A cost-table entry replacing the register-file energies of one array (None: keep)."""

    array: str
    read_energy_pj: float | None = None
    write_energy_pj: float | None = None


@dataclass(frozen=True, slots=True)
class ArchSpec:
    """An accelerator: clock, word size, storage levels (outermost first) and arrays."""

    name: str
    clock_hz: float
    word_bytes: int
    levels: tuple[Level, ...]
    arrays: tuple[ComputeArray, ...]
    description: str = ""
    cost_tables: tuple[tuple[str, tuple[RegisterCost | LinkCost, ...]], ...] = ()
    links: tuple[Link, ...] = ()
    source_file: str = field(default="<string>", compare=False)
    spans: tuple[tuple[str, SourceSpan], ...] = field(default=(), compare=False, repr=False)

    def with_table(self, table: str) -> ArchSpec:
        """Return the spec with its own entries of cost table ``table`` applied (none: as is)."""
        spec = self
        for entry in dict(self.cost_tables).get(table, ()):
            if isinstance(entry, LinkCost):
                link = replace(
                    spec.link_named(entry.link), energy_pj_per_word=entry.energy_pj_per_word
                )
                links = tuple(link if old.name == link.name else old for old in spec.links)
                spec = replace(spec, links=links)
                continue
            array = spec.array(entry.array)
            spec = spec.replace_array(
                replace(
                    array,
                    register_read_energy_pj=array.register_read_energy_pj
                    if entry.read_energy_pj is None
                    else entry.read_energy_pj,
                    register_write_energy_pj=array.register_write_energy_pj
                    if entry.write_energy_pj is None
                    else entry.write_energy_pj,
                )
            )
        return spec

    def level(self, name: str) -> Level:
        """Return the level called ``name``."""
        for level in self.levels:
            if level.name == name:
                return level
        raise KeyError(name)

    def array(self, name: str) -> ComputeArray:
        """Return the array called ``name``."""
        for array in self.arrays:
            if array.name == name:
                return array
        raise KeyError(name)

    def link(self, source: str, target: str) -> Link | None:
        """Return the link from array ``source`` to array ``target``, or None."""
        for link in self.links:
            if link.source == source and link.target == target:
                return link
        return None

    def link_named(self, name: str) -> Link:
        """Return the link called ``name``."""
        for link in self.links:
            if link.name == name:
                return link
        raise KeyError(name)

    @property
    def backing(self) -> Level:
        """Return the outermost level (DRAM)."""
        return self.levels[0]

    @property
    def backing_bandwidth_bytes_per_s(self) -> float:
        """Return the backing level's bandwidth (every loader requires one)."""
        bandwidth = self.backing.bandwidth_bytes_per_s
        assert bandwidth is not None, "spec loaders reject a backing level without bandwidth"
        return bandwidth

    def span_of(self, path: str) -> SourceSpan | None:
        """Return the source span recorded for a dotted path such as ``levels.L3.size_bytes``."""
        return dict(self.spans).get(path)

    @property
    def area_um2(self) -> float:
        """Return the total area: arrays' PEs plus levels (fixed and per byte)."""
        arrays = sum(a.area_um2_per_pe * a.num_pes for a in self.arrays)
        return arrays + sum(level.total_area_um2 for level in self.levels)

    def replace_level(self, level: Level) -> ArchSpec:
        """Return a copy with the level of the same name replaced."""
        levels = tuple(level if old.name == level.name else old for old in self.levels)
        return replace(self, levels=levels)

    def replace_array(self, array: ComputeArray) -> ArchSpec:
        """Return a copy with the array of the same name replaced."""
        arrays = tuple(array if old.name == array.name else old for old in self.arrays)
        return replace(self, arrays=arrays)


def lower_op(array: ComputeArray, op: str, _depth: int = 0) -> dict[str, float] | None:
    """Return the primitive ops (with multiplicities) one ``op`` becomes on ``array``.

    Returns None when the array has no entry for ``op`` (or for an op it lowers to).
    """
    cost = array.op(op)
    if cost is None or _depth > 8:
        return None
    if not cost.lower_to:
        return {op: 1.0}
    total: dict[str, float] = {}
    for part, factor in cost.lower_to:
        lowered = lower_op(array, part, _depth + 1)
        if lowered is None:
            return None
        for name, count in lowered.items():
            total[name] = total.get(name, 0.0) + factor * count
    return total


def op_cycles_and_energy(array: ComputeArray, op: str) -> tuple[float, float] | None:
    """Return (cycles, energy_pj) of one ``op`` on one PE after lowering, or None."""
    lowered = lower_op(array, op)
    if lowered is None:
        return None
    cycles = energy = 0.0
    for name, count in lowered.items():
        cost = array.op(name)
        assert cost is not None
        cycles += count * cost.cycles
        energy += count * cost.energy_pj
    return cycles, energy
