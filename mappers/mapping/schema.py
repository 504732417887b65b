"""Mapping data: extents, binding, spatial dims, DRAM loop order and tiles, placement, schedule.

A mapping says how a cascade runs on a spec. It is plain frozen data; the cost model reads it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from einsum_cascade.diagnostics import SourceSpan

REGISTERS = "registers"
SCHEDULE_KINDS = ("sequential", "overlapped", "stages", "pipelined", "simulate")
ENDS = ("tile", "none")  # a tiled schedule's first load and last store: charged or not
ENDS_SCHEDULES = ("overlapped", "stages", "pipelined")  # the schedules that take ``ends``


@dataclass(frozen=True, slots=True)
class DimRef:
    """The size of one dimension of an array of the spec (``pe2d`` ``rows``)."""

    array: str
    dim: str


Quantity = int | float | DimRef


@dataclass(frozen=True, slots=True)
class TileRule:
    """How the DRAM-level loop over ``rank`` is tiled.

    ``fixed`` gives the tile extent (a number or an array dimension); ``whole`` keeps the
    whole rank in one tile; ``fit_level`` derives the tile from the tensors that must fit
    ``fraction`` of that level's capacity (or of ``budget_bytes`` when given): the fewest
    tiles that fit, each the longest multiple of ``step`` giving that count where one does
    (at least one step, or the whole extent when shorter). ``divides`` instead takes
    ``step`` times the largest divisor of the extent's step-sized pieces that fits (the
    FuseMax artifact's rule). ``tensors`` names the tensors that must fit (default: every
    tensor placed in the level).
    """

    rank: str
    fixed: Quantity | None = None
    whole: bool = False
    fit_level: str | None = None
    step: Quantity = 1
    budget_bytes: float | None = None
    fraction: float = 1.0
    tensors: tuple[str, ...] = ()
    divides: bool = False


@dataclass(frozen=True, slots=True)
class Stall:
    """A schedule item: wait ``times`` x the cycles of ``einsum`` (a drain, for instance)."""

    einsum: str
    times: Quantity


StageItem = str | Stall


@dataclass(frozen=True, slots=True)
class Schedule:
    """How einsums overlap in time; ``groups`` are stages (or sequential groups).

    ``ends`` applies to ``overlapped``, ``stages`` and ``pipelined`` (:data:`ENDS_SCHEDULES`):
    ``tile`` charges the first DRAM tile's load before the compute and the last DRAM tile's
    store after it; ``none`` overlaps them too (the FLAT and FuseMax artifacts'
    assumption). Other kinds ignore it.
    """

    kind: str
    groups: tuple[tuple[StageItem, ...], ...] = ()
    ends: str = "tile"


@dataclass(frozen=True, slots=True)
class OpOverride:
    """A cost-table entry replacing one op of one array."""

    array: str
    op: str
    cycles: float | None = None
    energy_pj: float | None = None


@dataclass(frozen=True, slots=True)
class Mapping:
    """A complete mapping of a cascade onto a spec."""

    name: str
    cascade: str
    spec: str | None
    extents: tuple[tuple[str, Quantity], ...]
    bind: tuple[tuple[str, str], ...]  # (einsum, array)
    spatial: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]  # array -> (dim, variable)
    loop_order: tuple[str, ...]
    tiles: tuple[TileRule, ...]
    place: tuple[tuple[str, tuple[str, ...]], ...]  # level -> tensors
    reads: tuple[tuple[str, str, str], ...]  # (einsum, tensor, level or registers)
    writes: tuple[tuple[str, str], ...]  # (einsum, level its output bypasses to)
    spill_fraction: float
    schedule: Schedule
    cost_tables: tuple[tuple[str, tuple[OpOverride, ...]], ...]
    batch_ranks: tuple[str, ...] = ("B", "H")
    stationary: tuple[tuple[str, str], ...] = ()  # (einsum, tensor held in the PEs per fold)
    description: str = ""
    source_file: str = field(default="<string>", compare=False)
    spans: tuple[tuple[str, SourceSpan], ...] = field(default=(), compare=False, repr=False)

    def array_of(self, einsum: str) -> str | None:
        """Return the array an einsum is bound to, or None for a free view/copy einsum."""
        return dict(self.bind).get(einsum)

    def spatial_of(
        self, array: str, variables: tuple[str, ...] = ()
    ) -> tuple[tuple[str, str], ...]:
        """Return (dimension, index variable) pairs of an array for an einsum's variables.

        A dimension may list several candidate variables; the first one the einsum iterates
        over is spread on that dimension.
        """
        chosen: dict[str, str] = {}
        for dim, variable in dict(self.spatial).get(array, ()):
            if dim not in chosen and (not variables or variable in variables):
                chosen[dim] = variable
        return tuple(chosen.items())

    def stationary_of(self, einsum: str) -> str:
        """Return the tensor that stays in the PEs during one fold of an einsum.

        By default the output (output-stationary): its partial sums stay in place while the
        reduction streams through. A weight- or input-stationary binding names an operand.
        """
        return dict(self.stationary).get(einsum, einsum)

    def levels_of(self, tensor: str) -> tuple[str, ...]:
        """Return the levels a tensor is placed in, outermost first."""
        return tuple(level for level, tensors in self.place if tensor in tensors)

    def read_source(self, einsum: str, tensor: str) -> str | None:
        """Return an explicit source level for an operand, or None for the default."""
        for name, operand, source in self.reads:
            if name == einsum and operand == tensor:
                return source
        return None

    def write_target(self, einsum: str) -> str | None:
        """Return the level an einsum writes its output straight to, or None for the default.

        By default an output goes to the innermost level it is placed in (then on to the
        outer ones); a write target bypasses the levels inside it.
        """
        return dict(self.writes).get(einsum)

    def tile_rule(self, rank: str) -> TileRule | None:
        """Return the tile rule of a rank, if any."""
        for rule in self.tiles:
            if rule.rank == rank:
                return rule
        return None

    def overrides(self, table: str) -> tuple[OpOverride, ...]:
        """Return the op overrides of a named cost table (empty for the default table)."""
        return dict(self.cost_tables).get(table, ())

    def span_of(self, path: str) -> SourceSpan | None:
        """Return the span recorded for a dotted path such as ``bind.pe2d``."""
        return dict(self.spans).get(path)

    def with_batch_ranks(self, ranks: tuple[str, ...], span: SourceSpan | None) -> Mapping:
        """Return the mapping with batch ranks written elsewhere (a workload file), located
        at ``span`` so that they are checked as written ones (M212)."""
        spans = tuple((path, s) for path, s in self.spans if path != "batch_ranks")
        located = (("batch_ranks", span),) if span is not None else ()
        return dataclasses.replace(self, batch_ranks=ranks, spans=spans + located)
