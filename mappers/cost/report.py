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


# What bounds an einsum (``EinsumCosts.bound`` holds the position in this tuple): its
# array's work, the backing store's bandwidth over its region, a loop-carried recurrence
# of a pipelined schedule, or its folds' systolic fill and drain.
BOUNDS = ("compute", "bandwidth", "recurrence", "fill/drain")

# What the ledger records per (level, tensor): words the arrays read from the level, words
# they write into it (results and partial sums), partial sums they read back, and words
# filled into it from the level above (for the backing level, every word read or written).
KINDS = ("reads", "writes", "readbacks", "fills")


@dataclass(frozen=True, slots=True)
class EinsumCosts(Generic[V]):
    """One costed einsum: its array, cycles (streamed work plus fill/drain), share of the
    array's PE-cycles, its region's memory cycles, energy, and what bounds it."""

    name: str
    array: str
    cycles: V
    share: V  # busy PE-cycles of the einsum over its array's PE-cycles
    fill_drain_cycles: V  # of ``cycles``: the folds' skew, preload and drain
    memory_cycles: V  # backing-store cycles of the traffic region it runs in
    energy_pj: V  # its ops and its register-file accesses
    bound: V  # position in BOUNDS

    def map(self, function: Callable[[V], W]) -> EinsumCosts[W]:
        """Return the same costs with ``function`` applied to every value."""
        return EinsumCosts(
            self.name,
            self.array,
            function(self.cycles),
            function(self.share),
            function(self.fill_drain_cycles),
            function(self.memory_cycles),
            function(self.energy_pj),
            function(self.bound),
        )


@dataclass(frozen=True, slots=True)
class TensorTraffic(Generic[V]):
    """One tensor at one level: words read, written, read back and filled, and their energy.

    ``reads`` are words read out of the level (by the arrays, or for the backing level
    also to fill the levels below), ``writes`` words written into it (results, partial
    sums, write-backs), ``readbacks`` partial sums read back for a further update, and
    ``fills`` words filled into an on-chip level from the one above.
    """

    level: str
    tensor: str
    reads: V
    writes: V
    readbacks: V
    fills: V
    energy_pj: V

    def map(self, function: Callable[[V], W]) -> TensorTraffic[W]:
        """Return the same traffic with ``function`` applied to every value."""
        return TensorTraffic(
            self.level,
            self.tensor,
            function(self.reads),
            function(self.writes),
            function(self.readbacks),
            function(self.fills),
            function(self.energy_pj),
        )


@dataclass(frozen=True, slots=True)
class ArrayCosts(Generic[V]):
    """One compute array: utilisation, op energy and register-file energy and words."""

    name: str
    util: V
    energy_pj: V
    register_energy_pj: V
    register_words: V
    area_um2: V  # the array's PEs
    busy_cycles: V  # the cycles of its einsums, one after another

    def map(self, function: Callable[[V], W]) -> ArrayCosts[W]:
        """Return the same costs with ``function`` applied to every value."""
        return ArrayCosts(
            self.name,
            function(self.util),
            function(self.energy_pj),
            function(self.register_energy_pj),
            function(self.register_words),
            function(self.area_um2),
            function(self.busy_cycles),
        )


@dataclass(frozen=True, slots=True)
class LevelCosts(Generic[V]):
    """One storage level: its energy and the words read and written there."""

    name: str
    energy_pj: V
    accesses_words: V
    area_um2: V  # fixed plus per byte of capacity

    def map(self, function: Callable[[V], W]) -> LevelCosts[W]:
        """Return the same costs with ``function`` applied to every value."""
        return LevelCosts(
            self.name,
            function(self.energy_pj),
            function(self.accesses_words),
            function(self.area_um2),
        )


@dataclass(frozen=True, slots=True)
class LinkTraffic(Generic[V]):
    """One tensor crossing one array-to-array link: the words it carries and their energy."""

    link: str
    tensor: str
    words: V
    energy_pj: V

    def map(self, function: Callable[[V], W]) -> LinkTraffic[W]:
        """Return the same traffic with ``function`` applied to every value."""
        return LinkTraffic(self.link, self.tensor, function(self.words), function(self.energy_pj))


@dataclass(frozen=True, slots=True)
class LinkCosts(Generic[V]):
    """One array-to-array link: words carried, their energy, and the cycles they take at
    the link's bandwidth (0 when the spec gives none)."""

    name: str
    source: str
    target: str
    words: V
    energy_pj: V
    busy_cycles: V

    def map(self, function: Callable[[V], W]) -> LinkCosts[W]:
        """Return the same costs with ``function`` applied to every value."""
        return LinkCosts(
            self.name,
            self.source,
            self.target,
            function(self.words),
            function(self.energy_pj),
            function(self.busy_cycles),
        )


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
    area_um2: V  # arrays' PEs plus levels
    # a tiled schedule's first DRAM tile's load plus last one's store, words per
    # batch entry (mappers/cost/ends.py); latency adds them only with ends: tile
    ends_words: V
    traffic: tuple[TensorTraffic[V], ...] = ()  # per level and tensor
    links: tuple[LinkCosts[V], ...] = ()  # the spec's array-to-array links
    link_traffic: tuple[LinkTraffic[V], ...] = ()  # per link and tensor

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
            function(self.area_um2),
            function(self.ends_words),
            tuple(t.map(function) for t in self.traffic),
            tuple(link.map(function) for link in self.links),
            tuple(t.map(function) for t in self.link_traffic),
        )

    def stats_row(self) -> dict[str, V]:
        """Return the breakdown as named metrics (what ``model --stats`` and sweeps report).

        Per level and tensor ``<kind>_<level>_<tensor>_words`` (reads, writes, readbacks,
        fills) and ``energy_<level>_<tensor>_pj``; per einsum ``energy_<einsum>_pj``,
        ``fill_drain_cycles_<einsum>``, ``memory_cycles_<einsum>`` and ``bound_<einsum>``
        (a position in :data:`BOUNDS`); per array ``busy_cycles_<array>``; per link and
        tensor ``words_<link>_<tensor>`` and ``energy_<link>_<tensor>_pj``, per link
        ``busy_cycles_<link>``.
        """
        out: dict[str, V] = {}
        for t in self.traffic:
            for kind in ("reads", "writes", "readbacks", "fills"):
                out[f"{kind}_{t.level}_{t.tensor}_words"] = getattr(t, kind)
            out[f"energy_{t.level}_{t.tensor}_pj"] = t.energy_pj
        for crossed in self.link_traffic:
            out[f"words_{crossed.link}_{crossed.tensor}"] = crossed.words
            out[f"energy_{crossed.link}_{crossed.tensor}_pj"] = crossed.energy_pj
        for link in self.links:
            out[f"busy_cycles_{link.name}"] = link.busy_cycles
        for e in self.einsums:
            out[f"energy_{e.name}_pj"] = e.energy_pj
            out[f"fill_drain_cycles_{e.name}"] = e.fill_drain_cycles
            out[f"memory_cycles_{e.name}"] = e.memory_cycles
            out[f"bound_{e.name}"] = e.bound
        for a in self.arrays:
            out[f"busy_cycles_{a.name}"] = a.busy_cycles
        return out

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
        for link in self.links:
            out[f"energy_{link.name}_pj"] = link.energy_pj
            out[f"accesses_{link.name}_words"] = link.words
        out["energy_pj"] = self.energy_pj
        for einsum in self.einsums:
            out[f"cycles_{einsum.name}"] = einsum.cycles
        out.update({f"tile_{rank}": value for rank, value in self.tiles})
        for array in self.arrays:
            out[f"area_{array.name}_um2"] = array.area_um2
        for level in self.levels:
            out[f"area_{level.name}_um2"] = level.area_um2
        out["area_um2"] = self.area_um2
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
    workload_label: str = ""  # the workload with every extent used: Workload.label()

    @property
    def area_um2(self) -> float:
        """Return the area: arrays' PEs plus levels."""
        return self.costs.area_um2

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
            "workload_label": self.workload_label,
            "seq_len": self.seq_len,
            "area_um2": self.area_um2,
            "einsum_arrays": dict(self.einsum_arrays),
            "metrics": self.costs.row(),
        }

    def heading(self) -> str:
        """Return what was costed at which extents: ``M on S: BERT (B=64 ... P=64K)``."""
        label = self.workload_label or f"{self.workload} seq {self.seq_len}"
        return f"{self.mapping} on {self.spec}: {label}"

    def tables(self, heading: bool = True) -> tuple[Table, Table]:
        """Return the report as two rich tables: the totals, then one row per einsum.

        The totals' title is :meth:`heading`, or ``totals`` when ``heading`` is False (a
        caller that prints the heading itself, unwrapped).
        """
        from rich.table import Table

        summary = Table(title=self.heading() if heading else "totals")
        summary.add_column("metric")
        summary.add_column("value", justify="right")
        for key, value in self.costs.totals().items():
            summary.add_row(key, f"{value:.6g}")
        per_einsum = Table(title="per einsum")
        for column in ("einsum", "array", "cycles", "share of array"):
            per_einsum.add_column(column, justify="right" if column != "einsum" else "left")
        for einsum in self.costs.einsums:
            per_einsum.add_row(
                einsum.name, einsum.array, f"{einsum.cycles:.6g}", f"{einsum.share:.4f}"
            )
        return summary, per_einsum

    def stats_dict(self) -> dict[str, Any]:
        """Return the breakdown as JSON-ready nested dictionaries."""
        return {
            "traffic_words": [
                {
                    "level": t.level,
                    "tensor": t.tensor,
                    "reads": t.reads,
                    "writes": t.writes,
                    "readbacks": t.readbacks,
                    "fills": t.fills,
                    "energy_pj": t.energy_pj,
                }
                for t in self.costs.traffic
            ],
            "links": [
                {
                    "link": link.name,
                    "from": link.source,
                    "to": link.target,
                    "words": link.words,
                    "energy_pj": link.energy_pj,
                    "busy_cycles": link.busy_cycles,
                    "tensors": [
                        {"tensor": t.tensor, "words": t.words, "energy_pj": t.energy_pj}
                        for t in self.costs.link_traffic
                        if t.link == link.name
                    ],
                }
                for link in self.costs.links
            ],
            "arrays": [
                {
                    "array": a.name,
                    "busy_cycles": a.busy_cycles,
                    "util": a.util,
                    "ops_energy_pj": a.energy_pj,
                    "register_energy_pj": a.register_energy_pj,
                }
                for a in self.costs.arrays
            ],
            "einsums": [
                {
                    "einsum": e.name,
                    "array": e.array,
                    "cycles": e.cycles,
                    "fill_drain_cycles": e.fill_drain_cycles,
                    "memory_cycles": e.memory_cycles,
                    "energy_pj": e.energy_pj,
                    "bound": BOUNDS[int(e.bound)],
                }
                for e in self.costs.einsums
            ],
        }

    def stats_tables(self) -> tuple[Table, ...]:
        """Return the breakdown as rich tables: level x tensor, link x tensor (when a tensor
        crosses a link), arrays, einsums."""
        from rich.table import Table

        traffic = Table(title="traffic per level and tensor (words) and energy (pJ)")
        for column in ("level", "tensor", "reads", "writes", "read-backs", "fills", "energy_pj"):
            traffic.add_column(column, justify="left" if column in ("level", "tensor") else "right")
        for t in self.costs.traffic:
            values = (t.reads, t.writes, t.readbacks, t.fills, t.energy_pj)
            traffic.add_row(t.level, t.tensor, *(f"{v:.6g}" for v in values))
        links = Table(title="array-to-array links: words and energy (pJ) per tensor")
        for column in ("link", "from", "to", "tensor", "words", "energy_pj"):
            links.add_column(
                column, justify="right" if column in ("words", "energy_pj") else "left"
            )
        ends = {link.name: (link.source, link.target) for link in self.costs.links}
        for crossed in self.costs.link_traffic:
            words, energy = f"{crossed.words:.6g}", f"{crossed.energy_pj:.6g}"
            links.add_row(crossed.link, *ends[crossed.link], crossed.tensor, words, energy)
        arrays = Table(title="arrays")
        for column in ("array", "busy cycles", "util", "ops pJ", "registers pJ"):
            arrays.add_column(column, justify="left" if column == "array" else "right")
        for a in self.costs.arrays:
            numbers = (a.busy_cycles, a.util, a.energy_pj, a.register_energy_pj)
            arrays.add_row(a.name, *(f"{v:.6g}" for v in numbers))
        einsums = Table(title="einsums: what bounds each")
        columns = ("einsum", "array", "cycles", "fill/drain", "region memory", "energy_pj", "bound")
        for column in columns:
            einsums.add_column(column, justify="left" if column in ("einsum", "bound") else "right")
        for e in self.costs.einsums:
            cells = (e.cycles, e.fill_drain_cycles, e.memory_cycles, e.energy_pj)
            einsums.add_row(e.name, e.array, *(f"{v:.6g}" for v in cells), BOUNDS[int(e.bound)])
        if not self.costs.link_traffic:
            return traffic, arrays, einsums
        return traffic, links, arrays, einsums

    def __rich__(self) -> Any:
        """Render as the summary and per-einsum tables, one after the other."""
        from rich.console import Group

        return Group(*self.tables())
