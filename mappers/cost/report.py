"""Typed cost reports: totals, per einsum, per array and per level, for one point or many.

:class:`Costs` is generic in its values: the cost model fills it with one NumPy column per
quantity (many points, :func:`mappers.cost.model.evaluate_costs`); :class:`CostReport`
holds it with floats (one point). Both convert to a flat row of named metrics
(``latency_s``, ``util_pe2d``, ``cycles_BQK``...), the names sweeps and JSON use; no
caller needs to decode those names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from rich.table import Table

V = TypeVar("V")
W = TypeVar("W")


@dataclass(frozen=True, slots=True)
class EinsumCosts(Generic[V]):
    """One costed einsum: its array, compute cycles and share of the array's PE-cycles."""

    name: str
    array: str
    cycles: V
    share: V  # busy PE-cycles of the einsum over its array's PE-cycles

    def map(self, function: Callable[[V], W]) -> EinsumCosts[W]:
        """Return the same costs with ``function`` applied to every value."""
        return EinsumCosts(self.name, self.array, function(self.cycles), function(self.share))


@dataclass(frozen=True, slots=True)
class ArrayCosts(Generic[V]):
    """One compute array: utilisation, op energy and register-file energy and words."""

    name: str
    util: V
    energy_pj: V
    register_energy_pj: V
    register_words: V

    def map(self, function: Callable[[V], W]) -> ArrayCosts[W]:
        """Return the same costs with ``function`` applied to every value."""
        return ArrayCosts(
            self.name,
            function(self.util),
            function(self.energy_pj),
            function(self.register_energy_pj),
            function(self.register_words),
        )


@dataclass(frozen=True, slots=True)
class LevelCosts(Generic[V]):
    """One storage level: its energy and the words read and written there."""

    name: str
    energy_pj: V
    accesses_words: V

    def map(self, function: Callable[[V], W]) -> LevelCosts[W]:
        """Return the same costs with ``function`` applied to every value."""
        return LevelCosts(self.name, function(self.energy_pj), function(self.accesses_words))


@dataclass(frozen=True, slots=True)
class Costs(Generic[V]):
    """Totals plus per-einsum, per-array and per-level costs, and the tiles chosen."""

    latency_cycles: V
    latency_s: V
    traffic_bytes: V
    energy_pj: V
    einsums: tuple[EinsumCosts[V], ...]
    arrays: tuple[ArrayCosts[V], ...]
    levels: tuple[LevelCosts[V], ...]
    tiles: tuple[tuple[str, V], ...]  # (rank, tile extent) of every tiled DRAM-loop rank

    def einsum(self, name: str) -> EinsumCosts[V]:
        """Return the costs of one einsum by name."""
        return next(e for e in self.einsums if e.name == name)

    def array(self, name: str) -> ArrayCosts[V]:
        """Return the costs of one array by name."""
        return next(a for a in self.arrays if a.name == name)

    def level(self, name: str) -> LevelCosts[V]:
        """Return the costs of one level by name."""
        return next(lv for lv in self.levels if lv.name == name)

    def map(self, function: Callable[[V], W]) -> Costs[W]:
        """Return the same costs with ``function`` applied to every value."""
        return Costs(
            function(self.latency_cycles),
            function(self.latency_s),
            function(self.traffic_bytes),
            function(self.energy_pj),
            tuple(e.map(function) for e in self.einsums),
            tuple(a.map(function) for a in self.arrays),
            tuple(lv.map(function) for lv in self.levels),
            tuple((rank, function(v)) for rank, v in self.tiles),
        )

    def row(self) -> dict[str, V]:
        """Return the flat row of named metrics (the names sweeps select and JSON prints)."""
        out: dict[str, V] = {
            "latency_cycles": self.latency_cycles,
            "latency_s": self.latency_s,
            "traffic_bytes": self.traffic_bytes,
        }
        for array in self.arrays:
            out[f"util_{array.name}"] = array.util
            out[f"energy_{array.name}_pj"] = array.energy_pj
            out[f"energy_{array.name}_registers_pj"] = array.register_energy_pj
            out[f"accesses_{array.name}_registers_words"] = array.register_words
            for einsum in self.einsums:
                if einsum.array == array.name:
                    out[f"share_{einsum.name}"] = einsum.share
        for level in self.levels:
            out[f"energy_{level.name}_pj"] = level.energy_pj
            out[f"accesses_{level.name}_words"] = level.accesses_words
        out["energy_pj"] = self.energy_pj
        for einsum in self.einsums:
            out[f"cycles_{einsum.name}"] = einsum.cycles
        out.update({f"tile_{rank}": value for rank, value in self.tiles})
        return out

    def totals(self) -> dict[str, V]:
        """Return the row without the per-einsum entries (what the summary table prints)."""
        per_einsum = {f"{kind}_{e.name}" for e in self.einsums for kind in ("cycles", "share")}
        return {k: v for k, v in self.row().items() if k not in per_einsum}


@dataclass(frozen=True, slots=True)
class CostReport:
    """The cost of one design point: what was costed, and its typed costs."""

    cascade: str
    spec: str
    mapping: str
    table: str
    workload: str
    seq_len: int
    costs: Costs[float]
    area_um2: float

    @property
    def latency_s(self) -> float:
        """Return the latency in seconds."""
        return self.costs.latency_s

    @property
    def traffic_bytes(self) -> float:
        """Return the backing-store traffic in bytes."""
        return self.costs.traffic_bytes

    @property
    def energy_pj(self) -> float:
        """Return the total energy in pJ."""
        return self.costs.energy_pj

    @property
    def metrics(self) -> tuple[tuple[str, float], ...]:
        """Return the flat row of named metrics as pairs."""
        return tuple(self.costs.row().items())

    @property
    def einsum_arrays(self) -> tuple[tuple[str, str], ...]:
        """Return (einsum, array) for every costed einsum, in cascade order."""
        return tuple((e.name, e.array) for e in self.costs.einsums)

    def metric(self, name: str) -> float:
        """Return one metric of the flat row by name (``latency_s``, ``util_pe2d``...)."""
        return self.costs.row()[name]

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dictionary."""
        return {
            "cascade": self.cascade,
            "spec": self.spec,
            "mapping": self.mapping,
            "table": self.table,
            "workload": self.workload,
            "seq_len": self.seq_len,
            "area_um2": self.area_um2,
            "einsum_arrays": dict(self.einsum_arrays),
            "metrics": self.costs.row(),
        }

    def tables(self) -> tuple[Table, Table]:
        """Return the report as two rich tables: the totals, then one row per einsum."""
        from rich.table import Table

        title = f"{self.mapping} on {self.spec}: {self.workload} seq {self.seq_len}"
        summary = Table(title=title)
        summary.add_column("metric")
        summary.add_column("value", justify="right")
        for key, value in self.costs.totals().items():
            summary.add_row(key, f"{value:.6g}")
        summary.add_row("area_um2", f"{self.area_um2:.6g}")
        per_einsum = Table(title="per einsum")
        for column in ("einsum", "array", "cycles", "share of array"):
            per_einsum.add_column(column, justify="right" if column != "einsum" else "left")
        for einsum in self.costs.einsums:
            per_einsum.add_row(
                einsum.name, einsum.array, f"{einsum.cycles:.6g}", f"{einsum.share:.4f}"
            )
        return summary, per_einsum

    def __rich__(self) -> Any:
        """Render as the summary and per-einsum tables, one after the other."""
        from rich.console import Group

        return Group(*self.tables())
