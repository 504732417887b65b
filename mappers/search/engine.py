"""Mapper search: decomposition and bounds over a cascade's mappings on a spec.

The space of one point: partition sizes (:mod:`mappers.search.partition`) x bindings and
spatial spreads (:mod:`mappers.search.chain`) x DRAM loop orders x tiles x schedules x
placements (:mod:`mappers.search.placement`). It is never enumerated as a product:

1. every point becomes rows, one per combination of partition sizes;
2. structures (binding and spreads) come best first from a branch and bound over the
   chain of einsums, with analytic compute, traffic and energy bounds;
3. a structure is costed per loop order by one compiled model whose fixed tile value is
   read at evaluation; each schedule's compute is the model's latency at unbounded DRAM
   bandwidth, so latency is ``max(traffic / bandwidth, compute + ends / bandwidth)`` for
   any placement (the ends, a tiled schedule's first load and last store, only with
   ``ends: tile``). An einsum's cycles depend only on its own array, spread, loop
   order and tiles: once each einsum of a structure was costed so in another, its
   compute is assembled without a model, and the model is built only when that compute
   can beat the incumbent;
4. placements are chosen per row by branch and bound over tensors on the decomposition
   ``cost = base + sum of per-tensor deltas``;
5. the best few per point are rebuilt as plain mappings and costed directly.

The search is anytime: ``budget_s`` stops it with the best found so far, and the counts
say whether it was exhaustive. ``progress`` is called with the counts as it goes.
"""

from __future__ import annotations

import collections.abc
import functools
import itertools
import time
from dataclasses import dataclass, replace

import numpy as np
import sympy

from einsum_cascade import count_ops
from einsum_cascade.ir import Cascade
from mappers.cost.cache import numpy_function
from mappers.cost.filtered import FilterError, closed_counts
from mappers.cost.footprint import build_extents
from mappers.cost.model import (
    CostModel,
    build_cost_model,
    evaluate_costs,
    evaluate_design_points,
    point_columns,
    tile_extents,
    tile_pipeline,
)
from mappers.cost.pipeline import Pipeline
from mappers.cost.schedule import latency_cycles
from mappers.cost.symbolic import apply_table, resolve_quantity
from mappers.errors import MappingError
from mappers.hardware.spec import ArchSpec
from mappers.mapping.schema import Mapping, Schedule, TileRule
from mappers.search.candidates import (
    OBJECTIVES,
    TOLERANCE,
    Array,
    Found,
    SearchCounts,
    SearchResult,
    check_cascade_and_order,
    check_template,
    default_loop_order,
    objective_key,
    template_for,
)
from mappers.search.chain import Chain
from mappers.search.footprint import (
    in_place_pairs,
    lifetimes,
    pool_capacity_words,
    pool_of,
    streamed_rank,
)
from mappers.search.partition import complete_point, expand_partitions
from mappers.search.placement import (
    Delta,
    Placed,
    PlacementSearch,
    TensorChoices,
    Timing,
    adds_ends,
    better,
    objective_pair,
)
from mappers.search.space import (
    Assignment,
    Placement,
    Structure,
    computing_einsums,
    linked,
    placement_options,
    reads_tensor,
    register_array,
    tile_values,
)

Progress = collections.abc.Callable[[SearchCounts, tuple[float, ...]], None]


@dataclass(frozen=True, slots=True)
class _Entry:
    placed: Placed
    structure: int
    loop_order: tuple[str, ...]
    schedule: str
    tiles: tuple[tuple[str, int], ...]
    partitions: tuple[tuple[str, int], ...]
    placement: tuple[Placement, ...]


@dataclass(frozen=True, slots=True)
class _Prepared:
    """A structure's base model under one loop order, costed at every tile and schedule."""

    order: tuple[str, ...]
    options: dict[str, tuple[Placement, ...]]
    base: dict[str, Placement]
    combos: list[tuple[tuple[str, int], ...]]
    probe: tuple[tuple[str, int], ...]
    mapping: Mapping  # its model is built only when the compute bound lets it compete
    compute: list[dict[str, Array]]
    fastest: Array


def _at(
    fetch: collections.abc.Callable[[int, int], list[Delta]],
    position: int,
    t: int,
    k: int,
) -> Delta:
    return fetch(t, k)[position]


_ASSEMBLED = frozenset({"overlapped", "pipelined"})  # schedules assembled from einsum cycles


def _no_stalls(quantity: object) -> float:
    raise AssertionError(f"an assembled schedule has no stalls to repeat ({quantity})")


def loop_orders(cascade: Cascade, spec: ArchSpec) -> tuple[tuple[str, ...], ...]:
    """Return the DRAM loop orders searched: the fused ranks, alone or with a partition loop.

    The fused ranks are those every computing einsum keeps and none reduces (``P`` for
    attention); every order of them is tried, and each with the outer loop of a split rank
    (``M1``) innermost or outermost.
    """
    kept = default_loop_order(cascade, [e.name for e in computing_einsums(cascade)])
    derived = [r.name for r in cascade.ranks if r.is_derived]
    orders: list[tuple[str, ...]] = list(itertools.permutations(kept))
    for rank in derived:
        if any(rank.lower() in e.variables for e in cascade.einsums):
            for order in itertools.permutations(kept):
                orders.extend([(*order, rank), (rank, *order)])
    return tuple(dict.fromkeys(orders))


def has_recurrence(cascade: Cascade) -> bool:
    """Return whether a computing einsum carries state from one tile to the next."""
    return any(e.iterative_variable is not None for e in computing_einsums(cascade))


def searched_schedules(cascade: Cascade) -> tuple[str, ...]:
    """Return the schedules searched when no template fixes one.

    ``overlapped`` (max of memory and the busiest array) ignores dependencies between
    tiles, so it is legal only without a loop-carried recurrence; ``pipelined`` derives the
    interval from the resource and recurrence bounds and adds fill and drain (its critical
    path per tile can also be shorter than a whole tile's array load, so either may win by
    a little). Both are costed where both are legal. A ``stages`` list is a hand-made
    choice a template may give.
    """
    if has_recurrence(cascade):
        return ("pipelined",)
    return ("overlapped", "pipelined")


class _Search:
    """One search over many points (rows: points x partition sizes)."""

    def __init__(
        self,
        cascade: Cascade,
        spec: ArchSpec,
        template: Mapping,
        columns: dict[str, Array],
        table: str,
        objective: str,
        keep: int,
        smallest: int,
        orders: tuple[tuple[str, ...], ...],
        schedules: tuple[str, ...],
        deadline: float,
        progress: Progress | None,
    ) -> None:
        self.cascade, self.spec, self.template, self.table = cascade, spec, template, table
        self.objective, self.keep, self.smallest = objective, keep, smallest
        self.orders, self.schedules, self.deadline = orders, schedules, deadline
        self.progress, self.started, self.last_report = progress, time.monotonic(), 0.0
        fixed = {r: float(resolve_quantity(spec, q)) for r, q in template.extents}
        given = {
            **columns,
            **{r: np.full(len(next(iter(columns.values()))), v) for r, v in fixed.items()},
        }
        self.points = len(next(iter(columns.values())))
        self.point_columns = complete_point(cascade, given, template.batch_ranks)
        self.rows, self.point_of, self.partitions = expand_partitions(
            cascade, spec, self.point_columns, smallest
        )
        self.count = len(self.point_of)
        self.full = self._full_extents()
        self.table_spec = apply_table(spec, template, table)
        self.batch = np.prod(
            [self.rows[r] for r in template.batch_ranks if r in self.rows], axis=0
        ) * np.ones(self.count)
        self.tensors = tuple(str(t.name) for t in cascade.tensors)
        self.best: list[list[_Entry]] = [[] for _ in range(self.points)]
        self.structures: list[Structure] = []
        self.models: dict[Mapping, CostModel] = {}
        self.shared_deltas: dict[tuple[object, ...], list[Delta]] = {}
        self.stacks: dict[tuple[tuple[tuple[str, int], ...], ...], dict[str, Array]] = {}
        # per (einsum, array, spread, loop order): its cycles at every stacked row, and per
        # loop order the costed einsums and the tile pipeline (see :meth:`assembled`)
        self.einsum_cycles: dict[tuple[object, ...], Array] = {}
        # per (einsum, array, spread): its least cycles (and placement-free energy) per row
        # under each loop order
        self.least: dict[tuple[str, str, Assignment], dict[tuple[str, ...], Array]] = {}
        self.least_energy: dict[tuple[str, str, Assignment], dict[tuple[str, ...], Array]] = {}
        self.pipelines: dict[tuple[str, ...], tuple[tuple[str, ...], Pipeline | None]] = {}
        self.setups: dict[
            tuple[tuple[str, str], ...],
            tuple[dict[str, tuple[Placement, ...]], dict[str, Placement]],
        ] = {}
        kinds = ("generated", "illegal", "dominated", "bounded", "evaluated", "unexplored")
        self.cand_rows = {k: np.zeros(self.points, dtype=np.int64) for k in kinds}
        self.stopped = False
        self.incumbent_of: tuple[tuple[object, ...], tuple[Array, Array]] | None = None
        self.chain = Chain(
            cascade,
            self.table_spec,
            self._op_values(),
            self.full,
            self.batch,
            None if "overlapped" in schedules or "stages" in schedules else self._fewest_tiles(),
            self._looped(),
            tuple(self._order_extents(order) for order in orders),
        )
        self.bytes_per_cycle = spec.backing_bandwidth_bytes_per_s / spec.clock_hz

    # ------------------------------------------------------------------ setup

    def _full_extents(self) -> dict[str, Array]:
        extents = build_extents(self.cascade, replace(self.template, loop_order=()), {})
        out = {}
        for rank, expr in extents.full.items():
            expr = sympy.sympify(expr)
            symbols = sorted(expr.free_symbols, key=lambda s: s.name)
            value = numpy_function(symbols, expr)(*(self.rows[s.name] for s in symbols))
            out[rank] = np.broadcast_to(np.asarray(value, dtype=float), (self.count,)).copy()
        return out

    def _order_extents(self, order: tuple[str, ...]) -> dict[str, Array]:
        """Return the ranks a loop order runs one index at a time (the derived ranks it
        loops, such as ``M1``: :meth:`tile_choices` gives them no tile), each at 1."""
        return {r: np.ones(self.count) for r in order if self.cascade.rank(r).is_derived}

    def _fewest_tiles(self) -> Array:
        """Return per loop order the fewest tiles it runs per row: the batch times the
        extents of the ranks it loops one index at a time (the others may be whole)."""
        return np.array(
            [
                self.batch * np.prod([self.full[r] for r in self._order_extents(o)], axis=0)
                for o in self.orders
            ]
        ).reshape(len(self.orders), self.count)

    def _looped(self) -> frozenset[str]:
        """Return the computing einsums every searched loop order runs once per tile.

        The cost model's pipeline runs the einsums that iterate over the innermost DRAM
        loop rank once per tile (all of them when none does or there is no loop).
        """
        computing = frozenset(str(e.name) for e in computing_einsums(self.cascade))
        out = computing
        for order in self.orders:
            inner = order[-1].lower() if order else None
            looped = frozenset(str(e.name) for e in self.cascade.einsums if inner in e.variables)
            out &= looped if looped else computing
        return out

    def _op_values(self) -> dict[str, dict[str, Array]]:
        values = {**self.rows, **self.full}
        out: dict[str, dict[str, Array]] = {}
        for einsum, ops in count_ops(self.cascade).items():
            out[einsum] = {}
            for op, count in ops.items():
                expr = sympy.sympify(count)
                if expr.has(sympy.Sum):  # a filter: its exact present points, a lower bound
                    try:
                        expr = closed_counts(expr)
                    except FilterError as error:
                        raise MappingError.single(
                            "M504",
                            f"the {op} count of einsum '{einsum}' in cascade "
                            f"'{self.cascade.name}' cannot be evaluated per point: {error}",
                            self.cascade.einsum(einsum).span,
                            "filters the search counts are unions of linear comparisons of "
                            "index variables",
                        ) from error
                symbols = sorted(expr.free_symbols, key=lambda s: s.name)
                number = numpy_function(symbols, expr)(*(values[s.name] for s in symbols))
                out[einsum][op] = np.broadcast_to(np.asarray(number, dtype=float), (self.count,))
        return out

    # ------------------------------------------------------------------ bookkeeping

    def counts(self, point: int) -> SearchCounts:
        chain = self.chain.counts
        unexplored = (
            chain.generated - chain.illegal - chain.dominated - chain.bounded - chain.yielded
        )
        costed = len(self.structures)
        return SearchCounts(
            structures=chain.generated,
            structures_illegal=chain.illegal,
            structures_dominated=chain.dominated,
            structures_bounded=chain.bounded + (chain.yielded - costed),
            structures_costed=costed,
            structures_unexplored=unexplored,
            models_built=len(self.models),
            exhaustive=not self.stopped,
            seconds=time.monotonic() - self.started,
            **{k: int(v[point]) for k, v in self.cand_rows.items()},
        )

    def report(self, force: bool = False) -> None:
        now = time.monotonic()
        if self.progress is None or (not force and now - self.last_report < 0.1):
            return
        self.last_report = now
        total = SearchCounts()
        for point in range(self.points):
            c = self.counts(point)
            total = (
                c
                if point == 0
                else replace(c, **{k: getattr(total, k) + getattr(c, k) for k in self.cand_rows})
            )
        best = tuple(b[0].placed.latency_s if b else float("inf") for b in self.best)
        self.progress(total, best)

    def out_of_time(self) -> bool:
        """Return whether the budget is spent (only once every point has a mapping)."""
        if time.monotonic() > self.deadline and all(self.best):
            self.stopped = True
        self.report()
        return self.stopped

    def spent(self, point: int) -> bool:
        """Return whether the budget is spent while ``point`` has a placement in hand (its
        row search then stops; the other points must have a mapping already)."""
        if time.monotonic() > self.deadline and all(
            b for p, b in enumerate(self.best) if p != point
        ):
            self.stopped = True
        return self.stopped

    def incumbent(self) -> tuple[Array, Array]:
        """Return per row the objective key a candidate must beat: its point's last kept
        mapping's, or infinity while the point keeps fewer than ``keep`` (recomputed only
        when a point's last kept mapping changes)."""
        last = tuple(
            entries[-1].placed.key if len(entries) >= self.keep else None for entries in self.best
        )
        if self.incumbent_of is None or self.incumbent_of[0] != last:
            primary = np.full(self.count, np.inf)
            secondary = np.full(self.count, np.inf)
            for point, key in enumerate(last):
                if key is not None:
                    rows = self.point_of == point
                    primary[rows], secondary[rows] = key
            primary.setflags(write=False)
            secondary.setflags(write=False)
            self.incumbent_of = (last, (primary, secondary))
        return self.incumbent_of[1]

    def worse(self, latency: Array, energy: Array, primary: Array, secondary: Array) -> Array:
        """Return per row whether (latency, energy) does not beat the incumbent key:
        :func:`mappers.search.placement.better` negated, on whole rows at once."""
        if self.objective == "latency":
            first, second = latency, energy
        elif self.objective == "energy":
            first, second = energy, latency
        else:
            first, second = latency * energy, latency
        beats = (first < primary * (1 - TOLERANCE)) | (
            (first <= primary * (1 + TOLERANCE)) & (second < secondary)
        )
        return np.asarray(~beats)

    def memory_bound(self, compute: Array) -> Array:
        memory = self.chain.compulsory_words * self.spec.word_bytes / self.bytes_per_cycle
        return np.asarray(np.maximum(compute, memory) / self.spec.clock_hz)

    # ------------------------------------------------------------------ models

    def model(self, mapping: Mapping) -> CostModel:
        key = replace(mapping, name="candidate")
        if key not in self.models:
            self.models[key] = build_cost_model(self.cascade, self.spec, key, self.table)
        return self.models[key]

    def mapping(
        self,
        structure: Structure,
        order: tuple[str, ...],
        schedule: str,
        tiles: tuple[tuple[str, int], ...],
        placement: dict[str, Placement],
        partitions: tuple[tuple[str, int], ...] = (),
    ) -> Mapping:
        """Return a candidate's mapping: the template with the searched choices."""
        place = tuple(
            (level.name, tuple(t for t, option in placement.items() if level.name in option))
            for level in self.spec.levels
        )
        kind = self.schedule_of(schedule)
        return replace(
            self.template,
            extents=(*self.template.extents, *partitions),
            bind=structure.bind,
            spatial=structure.spatial,
            loop_order=order,
            tiles=tuple(TileRule(rank, fixed=tile) for rank, tile in tiles),
            place=tuple((level, tensors) for level, tensors in place if tensors),
            reads=structure.reads,
            writes=(),
            spill_fraction=0.0,
            schedule=kind,
            spans=(),
        )

    # ------------------------------------------------------------------ tiles

    def tile_choices(self, order: tuple[str, ...]) -> list[tuple[tuple[str, int], ...]]:
        """Return the tile values of the order's free ranks: whole, then halvings."""
        per_rank = []
        for rank in order:
            if self.cascade.rank(rank).is_derived:
                continue
            values = sorted({int(v) for v in self.full[rank]}, reverse=True)
            tiles: set[int] = set(values)
            for value in values:
                tiles.update(tile_values(value, self.smallest))
            per_rank.append([(rank, t) for t in sorted(tiles, reverse=True)])
        return list(itertools.product(*per_rank))

    def tile_valid(self, tiles: tuple[tuple[str, int], ...]) -> Array:
        ok = np.ones(self.count, dtype=bool)
        for rank, tile in tiles:
            ok &= (tile <= self.full[rank]) & (np.mod(self.full[rank], tile) == 0)
        return ok

    # ------------------------------------------------------------------ search

    def run(self) -> None:
        for structure, latency_bound, energy_bound in self.chain.structures(
            self.incumbent, self.worse, self.memory_bound, self.out_of_time
        ):
            if self.worse(latency_bound, energy_bound, *self.incumbent()).all():
                continue
            index = len(self.structures)
            self.structures.append(structure)
            prepared = []
            for order in self.orders:
                if self.out_of_time():
                    return
                prepared.append(self.prepare(structure, order))
            # the loop order with the fastest compute first: its result may cut the others
            prepared.sort(key=lambda p: float(np.mean(self.memory_bound(p.fastest))))
            for ready in prepared:
                if self.out_of_time():
                    return
                self.cost_structure(index, structure, ready, energy_bound)
        self.report(force=True)

    def prepare(self, structure: Structure, order: tuple[str, ...]) -> _Prepared:
        """Cost a structure's compute under one loop order at every tile and schedule.

        The compute is assembled from its einsums' cycles when every one was costed on the
        same array with the same spread under this order (:meth:`assembled`); otherwise
        the structure's base model is built and evaluated.
        """
        options, base = self.placement_setup(structure)
        combos = self.tile_choices(order)
        probe = tuple((rank, 1) for rank, _ in combos[0]) if combos else ()
        base_mapping = self.mapping(structure, order, self.schedules[0], probe, base)
        compute = self.assembled(structure, order, combos)
        if compute is None:
            compute = self.compute(self.model(base_mapping), combos, structure)
        fastest = np.min([np.min(np.stack(list(c.values())), axis=0) for c in compute], axis=0)
        return _Prepared(order, options, base, combos, probe, base_mapping, compute, fastest)

    def placement_setup(
        self, structure: Structure
    ) -> tuple[dict[str, tuple[Placement, ...]], dict[str, Placement]]:
        """Return every tensor's placement options (base first) and the base placement.

        They depend on the binding alone, so structures that differ only in their spreads
        or loop order share them.
        """
        if structure.bind not in self.setups:
            self.setups[structure.bind] = self._placement_setup(dict(structure.bind))
        return self.setups[structure.bind]

    def _placement_setup(
        self, bind: dict[str, str]
    ) -> tuple[dict[str, tuple[Placement, ...]], dict[str, Placement]]:
        options = dict(placement_options(self.cascade, self.spec, bind))
        for name, choices in options.items():
            # registers first: the base costs no level access (a link's words cost energy:
            # a tensor crossing one stays after the levels, its delta fetched like theirs)
            if () in choices and register_array(self.cascade, bind, name) is not None:
                options[name] = ((), *(c for c in choices if c != ()))
        return options, {t: options[t][0] for t in self.tensors}

    def cost_structure(
        self, index: int, structure: Structure, ready: _Prepared, energy_bound: Array
    ) -> None:
        """Cost one structure under one loop order: every tile, schedule and placement."""
        options, combos = ready.options, ready.combos
        placements = int(np.prod([len(options[t]) for t in self.tensors]))
        if self.worse(self.memory_bound(ready.fastest), energy_bound, *self.incumbent()).all():
            for point in self.point_of:
                self.cand_rows["generated"][point] += placements * len(combos)
                self.cand_rows["bounded"][point] += placements * len(combos)
            return
        values = self.evaluate(self.model(ready.mapping), combos)
        deltas: dict[tuple[int, int], list[Delta]] = {}
        fetch = functools.partial(self.fetch_delta, structure, ready, values, deltas)
        eager = [
            t
            for t, name in enumerate(self.tensors)
            if options[name][0] != () and len(options[name]) > 1
        ]
        for t in eager:
            for k in range(1, len(options[self.tensors[t]])):
                fetch(t, k)
                if self.out_of_time():
                    return
        live, pools = self.footprints(structure, options, ready.order, combos)
        for position in range(len(combos)):
            if self.out_of_time():
                return
            choices = []
            for t, name in enumerate(self.tensors):
                zero = (np.zeros(self.count), np.zeros(self.count), np.zeros(self.count))
                entry = [
                    None
                    if k and (t, k) not in deltas
                    else (deltas[(t, k)][position] if k else zero)
                    for k in range(len(options[name]))
                ]
                choices.append(TensorChoices(name, pools[name], live[position][name], entry))
            self.place_rows(index, ready, position, choices, fetch, values, energy_bound)

    def fetch_delta(
        self,
        structure: Structure,
        ready: _Prepared,
        values: list[dict[str, Array]],
        deltas: dict[tuple[int, int], list[Delta]],
        t: int,
        k: int,
    ) -> list[Delta]:
        """Return tensor ``t``'s change of cost at option ``k``, per tile combination.

        Built once (one model, one evaluation) and shared by every structure that touches
        the tensor alike (:meth:`delta_key`).
        """
        if (t, k) not in deltas:
            options, name = ready.options, self.tensors[t]
            shared = self.delta_key(
                structure, ready.order, name, options[name][0], options[name][k]
            )
            if shared not in self.shared_deltas:
                variant = {**ready.base, name: options[name][k]}
                changed = self.mapping(
                    structure, ready.order, self.schedules[0], ready.probe, variant
                )
                self.shared_deltas[shared] = [
                    (
                        w["traffic_bytes"] - v["traffic_bytes"],
                        w["energy_pj"] - v["energy_pj"],
                        w["ends_bytes"] - v["ends_bytes"],
                    )
                    for w, v in zip(
                        self.evaluate(self.model(changed), ready.combos), values, strict=True
                    )
                ]
            deltas[(t, k)] = self.shared_deltas[shared]
        return deltas[(t, k)]

    def place_rows(
        self,
        index: int,
        ready: _Prepared,
        position: int,
        choices: list[TensorChoices],
        fetch: collections.abc.Callable[[int, int], list[Delta]],
        values: list[dict[str, Array]],
        energy_bound: Array,
    ) -> None:
        """Search the placements of one tile combination at every row; keep the best."""
        tiles, options = ready.combos[position], ready.options
        valid = self.tile_valid(tiles)
        placements = int(np.prod([len(options[t]) for t in self.tensors]))
        cycles = ready.compute[position]  # schedule -> [rows]
        per_row = np.min(np.stack(list(cycles.values())), axis=0)  # a bound: ends only add
        ends = tuple(
            adds_ends(self.template.schedule if s == self.template.schedule.kind else Schedule(s))
            for s in self.schedules
        )
        names = {p for c in choices for p in c.pools if p is not None}
        search = PlacementSearch(
            choices,
            {p: pool_capacity_words(self.spec, p) for p in names},
            tuple(
                (step, self.tensors.index(a), self.tensors.index(b))
                for step, a, b in in_place_pairs(self.cascade)
            ),
            functools.partial(_at, fetch, position),
            self.objective,
            TOLERANCE,
        )
        primary, secondary = self.incumbent()
        v = values[position]
        for row in range(self.count):
            point = int(self.point_of[row])
            if not valid[row]:
                self.cand_rows["generated"][point] += placements
                self.cand_rows["dominated"][point] += placements
                continue
            low = self.memory_bound(per_row)[row]
            key = objective_pair(self.objective, float(low), float(energy_bound[row]))
            if np.isfinite(primary[row]) and not better(
                key, (float(primary[row]), float(secondary[row])), TOLERANCE
            ):
                self.cand_rows["generated"][point] += placements
                self.cand_rows["bounded"][point] += placements
                continue
            found: list[Placed] = [e.placed for e in self.best[point]]
            before = list(found)
            search.run(
                row,
                (
                    float(v["traffic_bytes"][row]),
                    float(v["energy_pj"][row]),
                    float(v["ends_bytes"][row]),
                ),
                Timing(tuple(float(cycles[s][row]) for s in self.schedules), ends),
                self.bytes_per_cycle,
                self.spec.clock_hz,
                found,
                self.keep,
                functools.partial(self.spent, point),
            )
            new = [p for p in found if not any(p is b for b in before)]
            if not new:
                continue
            partitions = tuple((r, int(self.rows[r][row])) for r in self.partitions)
            entries = [e for e in self.best[point] if any(e.placed is p for p in found)]
            for p in new:
                placed = tuple(options[t][k] for t, k in zip(self.tensors, p.choice, strict=True))
                entries.append(
                    _Entry(
                        p, index, ready.order, self.schedules[p.schedule], tiles, partitions, placed
                    )
                )
            entries.sort(key=lambda e: e.placed.key)
            self.best[point] = entries[: self.keep]
        for kind in ("generated", "illegal", "bounded", "evaluated"):
            per = np.asarray(getattr(search.counts, kind), dtype=np.int64)
            np.add.at(self.cand_rows[kind], self.point_of, per)

    def delta_key(
        self,
        structure: Structure,
        order: tuple[str, ...],
        tensor: str,
        base: Placement,
        option: Placement,
    ) -> tuple[object, ...]:
        """Return what a tensor's delta depends on: the einsums that touch it, alike.

        A tensor's placement changes only its own traffic, level accesses and the register
        fills of its readers, so structures that bind and spread the tensor's producer and
        readers alike, read it from the same sources and loop in the same order share it.
        """
        assignment = dict(structure.assignment)
        local = tuple(
            (e.name, structure.array_of(e.name), assignment.get(e.name))
            for e in self.cascade.einsums
            if e.name == tensor or reads_tensor(e, tensor)
        )
        reads = tuple(r for r in structure.reads if tensor in r[:2])
        return (tensor, base, option, order, local, reads)

    def stacked(self, combos: list[tuple[tuple[str, int], ...]]) -> dict[str, Array]:
        """Return the rows once per tile combination, each with its tiles as columns.

        A model's fixed tile rules read ``tile_<rank>`` from these columns, so one
        evaluation costs every combination: row ``c * count + r`` is row ``r`` at
        combination ``c``.
        """
        key = tuple(combos)
        if key not in self.stacks:
            n = len(combos)
            columns = {k: np.tile(v, n) for k, v in self.rows.items()}
            for i, (rank, _) in enumerate(combos[0] if combos else ()):
                tiles = np.array([float(c[i][1]) for c in combos])
                columns[f"tile_{rank}"] = np.repeat(tiles, self.count)
            self.stacks[key] = columns
        return self.stacks[key]

    def split(self, values: Array, combos: list[tuple[tuple[str, int], ...]]) -> list[Array]:
        """Return a stacked column per tile combination (see :meth:`stacked`)."""
        return list(np.asarray(values, dtype=float).reshape(len(combos), self.count))

    def evaluate(
        self, model: CostModel, combos: list[tuple[tuple[str, int], ...]]
    ) -> list[dict[str, Array]]:
        """Return traffic, energy and ends (bytes of the first load and last store) per tile
        combination, in one model evaluation."""
        # traffic, energy and ends do not depend on the schedule (one fused region): the
        # overlapped one skips building a tile pipeline
        compiled = replace(model, mapping=replace(model.mapping, schedule=Schedule("overlapped")))
        costs = evaluate_costs(compiled, self.stacked(combos))
        columns = {
            "traffic_bytes": costs.traffic_bytes,
            "energy_pj": costs.energy_pj,
            "ends_bytes": costs.ends_words * self.spec.word_bytes,
        }
        split = {k: self.split(v, combos) for k, v in columns.items()}
        return [{k: v[c] for k, v in split.items()} for c in range(len(combos))]

    def schedule_of(self, schedule: str) -> Schedule:
        """Return a searched schedule kind as the mapping's schedule (the template's own)."""
        if schedule == self.template.schedule.kind:
            return self.template.schedule
        return Schedule(schedule)

    def compute(
        self, model: CostModel, combos: list[tuple[tuple[str, int], ...]], structure: Structure
    ) -> list[dict[str, Array]]:
        """Return per tile combination the compute cycles per schedule: the latency at
        unbounded DRAM bandwidth (one model evaluation per schedule).

        Each einsum's cycles, and the loop order's tile pipeline, are kept for
        :meth:`assembled`.
        """
        unbounded: dict[str, Array | float] = {
            **self.stacked(combos),
            f"{self.spec.backing.name}.bandwidth_bytes_per_s": np.inf,
        }
        order = model.mapping.loop_order
        per_schedule = {}
        first: dict[str, Array] = {}
        for schedule in self.schedules:
            compiled = replace(
                model, mapping=replace(model.mapping, schedule=self.schedule_of(schedule))
            )
            values = evaluate_design_points(compiled, unbounded)
            per_schedule[schedule] = self.split(values["latency_cycles"], combos)
            first = first or values
        if order not in self.pipelines and set(self.schedules) <= _ASSEMBLED:
            piped = replace(model, mapping=replace(model.mapping, schedule=Schedule("pipelined")))
            pipeline = tile_pipeline(piped, unbounded) if "pipelined" in self.schedules else None
            self.pipelines[order] = (model.einsum_names, pipeline)
        for name in model.einsum_names:
            cycles = np.asarray(first[f"cycles_{name}"], dtype=float)
            self.einsum_cycles.setdefault(self.einsum_key(structure, name, order), cycles)
            self.learn(structure, name, order, cycles, len(combos))
        for name, energy in placement_free_energy(model, unbounded).items():
            self.learn_energy(structure, name, order, energy, len(combos))
        return [{s: per_schedule[s][c] for s in self.schedules} for c in range(len(combos))]

    def einsum_key(
        self, structure: Structure, name: str, order: tuple[str, ...]
    ) -> tuple[object, ...]:
        """Return what an einsum's cycles depend on: its array, spread, register reads (the
        fill of a held operand already in the PEs) and the loop order."""
        reads = tuple(r for r in structure.reads if r[0] == name)
        return (
            name,
            str(structure.array_of(name)),
            dict(structure.assignment).get(name, ()),
            order,
            reads,
        )

    def learn(
        self, structure: Structure, name: str, order: tuple[str, ...], cycles: Array, combos: int
    ) -> None:
        """Tell the chain an einsum option's least cycles over tiles under one loop order.

        Only without systolic fill and drain: then an einsum's cycles do not depend on
        where its operands are read from.
        """
        if any(a.fill_drain for a in self.table_spec.arrays):
            return
        array = str(structure.array_of(name))
        assignment = dict(structure.assignment).get(name, ())
        per_order = self._least_of_order(
            self.least, (name, array, assignment), order, cycles, combos
        )
        if per_order is not None:
            self.chain.learn(name, array, assignment, self.orders.index(order), per_order)

    def learn_energy(
        self, structure: Structure, name: str, order: tuple[str, ...], energy: Array, combos: int
    ) -> None:
        """Tell the chain an einsum option's least placement-free energy (see
        :func:`placement_free_energy`) once known under every loop order."""
        array = str(structure.array_of(name))
        assignment = dict(structure.assignment).get(name, ())
        key = (name, array, assignment)
        if self._least_of_order(self.least_energy, key, order, energy, combos) is None:
            return
        if len(self.least_energy[key]) == len(self.orders):
            least = np.min(list(self.least_energy[key].values()), axis=0)
            self.chain.learn_energy(name, array, assignment, least)

    def _least_of_order(
        self,
        store: dict[tuple[str, str, Assignment], dict[tuple[str, ...], Array]],
        key: tuple[str, str, Assignment],
        order: tuple[str, ...],
        values: Array,
        combos: int,
    ) -> Array | None:
        """Record an option's least ``values`` over tiles under one loop order and return
        them (per row) the first time, else None."""
        per_order = store.setdefault(key, {})
        if order in per_order:
            return None
        per_order[order] = values.reshape(combos, self.count).min(axis=0)
        return per_order[order]

    def assembled(
        self,
        structure: Structure,
        order: tuple[str, ...],
        combos: list[tuple[tuple[str, int], ...]],
    ) -> list[dict[str, Array]] | None:
        """Return what :meth:`compute` would, without a model, or None when it cannot.

        An einsum's cycles depend only on its array, its spread, the loop order and the
        tiles (its ops, used PEs and the folds a filter skips), not on the other einsums'
        choices or on placement; each schedule's latency at unbounded bandwidth is then the
        schedule's function of them (:func:`mappers.cost.schedule.latency_cycles`) over the
        loop order's tile pipeline, as in the model.
        """
        known = self.pipelines.get(order)
        if known is None:
            return None
        costed, pipeline = known
        cycles = {}
        for name in costed:
            key = self.einsum_key(structure, name, order)
            if key not in self.einsum_cycles:
                return None
            cycles[name] = self.einsum_cycles[key]
        arrays = {name: str(structure.array_of(name)) for name in costed}
        per_schedule = {}
        for schedule in self.schedules:
            latency = latency_cycles(
                replace(self.template, schedule=self.schedule_of(schedule)),
                cycles,
                arrays,
                (),
                _no_stalls,
                pipeline,
            )
            per_schedule[schedule] = self.split(latency, combos)
        return [{s: per_schedule[s][c] for s in self.schedules} for c in range(len(combos))]

    def footprints(
        self,
        structure: Structure,
        options: dict[str, tuple[Placement, ...]],
        order: tuple[str, ...],
        combos: list[tuple[tuple[str, int], ...]],
    ) -> tuple[list[dict[str, tuple[Array, ...]]], dict[str, tuple[str | None, ...]]]:
        """Return per tile combination, per tensor, per option its live words per step."""
        bind = dict(structure.bind)
        steps = len(self.cascade.einsums)
        alive = {life.tensor: (life.start, life.end) for life in lifetimes(self.cascade)}
        pools = {
            name: tuple(pool_of(self.spec, bind, self.cascade, name, o) for o in options[name])
            for name in self.tensors
        }
        out = []
        for tiles in combos:
            extents = {**self.full, **{r: np.full(self.count, float(t)) for r, t in tiles}}
            extents = {r: np.minimum(v, self.full[r]) for r, v in extents.items()}
            for rank in order:
                if self.cascade.rank(rank).is_derived:
                    extents[rank] = np.ones(self.count)
            per_tensor = {}
            for name in self.tensors:
                words = np.ones(self.count)
                for rank in self.cascade.tensor(name).ranks:
                    words = words * extents[rank]
                streamed = streamed_rank(self.cascade, bind, name, order)
                if streamed is not None:
                    words = words / extents[streamed]
                start, end = alive[name]
                profile = np.zeros((steps, self.count))
                profile[start : end + 1] = words
                per_tensor[name] = tuple(profile for _ in options[name])
            out.append(per_tensor)
        return out, pools

    # ------------------------------------------------------------------ results

    def results(self, columns: dict[str, Array]) -> tuple[SearchResult, ...]:
        out = []
        for point in range(self.points):
            found = [self.verify(entry, point) for entry in self.best[point]]
            for kept in list(found):  # each kept mapping may rank otherwise when it holds
                found.extend(self.stationarity(kept, point))  # another tensor in the PEs
            latency = np.array([f.latency_s for f in found])
            energy = np.array([f.energy_pj for f in found])
            primary, secondary = objective_key(self.objective, latency, energy)
            order = np.lexsort((secondary, primary)) if found else np.array([], dtype=int)
            out.append(
                SearchResult(
                    self.objective,
                    tuple((k, float(v[point])) for k, v in columns.items()),
                    tuple(found[i] for i in order[: self.keep]),
                    self.counts(point),
                )
            )
        return tuple(out)

    def rank(self, found: Found) -> tuple[float, float]:
        return objective_pair(self.objective, found.latency_s, found.energy_pj)

    def stationarity(self, best: Found, point: int) -> list[Found]:
        """Return the stationarity variants of a mapping, tried one einsum at a time.

        Each einsum on an array with systolic fill and drain may hold its output (the
        default) or one operand in the PEs; that changes its folds. The einsums are tried
        in cascade order, each keeping the best choice so far (coordinate descent); every
        variant is costed directly.
        """
        columns = {k: v[point : point + 1] for k, v in self.point_columns.items()}
        tried: list[Found] = []
        current = best
        for einsum_name, array in best.mapping.bind:
            if not self.table_spec.array(array).fill_drain:
                continue
            einsum = self.cascade.einsum(einsum_name)
            held = dict(current.mapping.stationary).get(einsum_name, einsum_name)
            for tensor in (einsum_name, *dict.fromkeys(r.tensor for r in einsum.operands)):
                if tensor == held:
                    continue
                if time.monotonic() > self.deadline:
                    self.stopped = True
                    return tried
                chosen = {**dict(current.mapping.stationary), einsum_name: tensor}
                stationary = tuple(sorted((e, t) for e, t in chosen.items() if e != t))
                mapping = replace(current.mapping, stationary=stationary)
                summary = f"{best.summary} stationary={','.join(f'{e}:{t}' for e, t in stationary)}"
                variant = self.cost(mapping, columns, summary, None)
                self.cand_rows["generated"][point] += 1
                self.cand_rows["evaluated"][point] += 1
                tried.append(variant)
                if better(self.rank(variant), self.rank(current), TOLERANCE):
                    current = variant
        return tried

    def cost(
        self,
        mapping: Mapping,
        columns: dict[str, Array],
        summary: str,
        screened: tuple[float, float] | None,
    ) -> Found:
        """Cost one mapping directly at one point."""
        model = self.model(mapping)
        values = evaluate_design_points(replace(model, mapping=mapping), columns)
        metrics = tuple((k, float(np.asarray(v).reshape(-1)[0])) for k, v in values.items())
        named = dict(metrics)
        latency, energy = named["latency_s"], named["energy_pj"]
        return Found(
            mapping,
            latency,
            energy,
            named["traffic_bytes"],
            summary,
            metrics,
            screened if screened is not None else (latency, energy),
        )

    def verify(self, entry: _Entry, point: int) -> Found:
        structure = self.structures[entry.structure]
        placement = dict(zip(self.tensors, entry.placement, strict=True))
        mapping = self.mapping(
            structure, entry.loop_order, entry.schedule, entry.tiles, placement, entry.partitions
        )
        columns = {k: v[point : point + 1] for k, v in self.point_columns.items()}
        # a whole rank stays a fixed tile of its full extent (the same cost): the model's
        # tile pipeline does not yet broadcast a whole rank beside another loop rank
        model = build_cost_model(self.cascade, self.spec, mapping, self.table)
        values = evaluate_design_points(model, columns)
        metrics = tuple((k, float(np.asarray(v).reshape(-1)[0])) for k, v in values.items())
        bind = dict(structure.bind)
        unplaced = {  # an unplaced tensor stays in one array's registers or crosses a link
            t: "link" if linked(self.cascade, self.spec, bind, t) else "registers"
            for t in placement
        }
        summary = " ".join(
            [
                structure.describe(),
                f"loop=[{','.join(entry.loop_order)}]",
                f"schedule={entry.schedule}",
                *(f"{r}={v}" for r, v in entry.partitions),
                *(f"{r}={'whole' if t >= columns[r][0] else t}" for r, t in entry.tiles),
                *(f"{t}:{'+'.join(o) or unplaced[t]}" for t, o in placement.items()),
            ]
        )
        named = dict(metrics)
        return Found(
            mapping,
            named["latency_s"],
            named["energy_pj"],
            named["traffic_bytes"],
            summary,
            metrics,
            (entry.placed.latency_s, entry.placed.energy_pj),
        )


def placement_free_energy(
    model: CostModel, columns: collections.abc.Mapping[str, Array | float]
) -> dict[str, Array]:
    """Return per costed einsum the part of its energy no placement changes.

    Its ops at the points it is charged for (a filter's whole folds), its PE register
    reads (each operand reference per point, a held one per fold and PE, partial sums read
    back) and its register writes of results (one per point) depend on its array, spread,
    loop order and tiles only; a placement adds level and link accesses and register fills
    of operands not produced in the registers.
    """
    cols, shape = point_columns(model, columns)
    cols.update(tile_extents(model, cols))
    values = model.forms.evaluate(cols, shape)
    mapping = model.mapping
    batch = np.prod([cols[r] for r in mapping.batch_ranks if r in cols], axis=0)
    arrays = dict(model.outline.arrays)
    out = {}
    for name in model.einsum_names:
        read_pj = cols[f"{arrays[name]}.register_read_energy_pj"]
        write_pj = cols[f"{arrays[name]}.register_write_energy_pj"]
        energy = (
            values["energy", name]
            + values["register_reads", name] * read_pj
            + values["register_points", name] * write_pj
        )
        out[name] = np.broadcast_to(np.asarray(energy * batch, dtype=float), shape)
    return out


def search_mappings(
    cascade: Cascade,
    spec: ArchSpec,
    columns: collections.abc.Mapping[str, collections.abc.Sequence[float] | Array | float],
    template: Mapping | None = None,
    table: str = "default",
    objective: str = "latency",
    keep: int = 5,
    smallest_tile: int = 16,
    budget_s: float | None = None,
    progress: Progress | None = None,
    search_order_and_schedule: bool | None = None,
) -> tuple[SearchResult, ...]:
    """Search mappings of ``cascade`` on ``spec`` at every workload point of ``columns``.

    Args:
        cascade: the cascade to map.
        spec: the architecture.
        columns: one value or array per extent (``B``, ``H``, ``E``, ``F``, ``M``, ``P``);
            all broadcast together, one search result per point. A partition rank given
            here is fixed; otherwise the search picks it.
        template: fixes the schedule, DRAM loop order, batch ranks, fixed extents and
            cost-table overrides; without one the search also picks the loop order and
            the schedule.
        table: the cost table (``default`` or ``artifact``).
        objective: ``latency`` (then energy), ``energy`` (then latency) or ``edp``.
        keep: how many best mappings to return per point.
        smallest_tile: the smallest tile tried for a DRAM-loop rank or a partition rank.
        budget_s: stop after this many seconds with the best found (``exhaustive`` False).
        progress: called now and then with the counts summed over points and the best
            latency per point.
        search_order_and_schedule: also search the DRAM loop order and the schedule
            (default: only without a template).

    Returns:
        One :class:`SearchResult` per point, best mappings first.

    Raises:
        MappingError: M501 unknown objective; M502 a schedule the search cannot cost;
            M503 an extent the workload must give.
    """
    searched = template is None if search_order_and_schedule is None else search_order_and_schedule
    template = template or template_for(cascade, spec)
    check_template(template, objective)
    check_cascade_and_order(cascade, template, searched)
    arrays = [np.atleast_1d(np.asarray(v, dtype=float)) for v in columns.values()]
    shape = np.broadcast(*arrays).shape
    flat = {
        k: np.broadcast_to(v, shape).reshape(-1).astype(float)
        for k, v in zip(columns, arrays, strict=True)
    }
    orders = loop_orders(cascade, spec) if searched else (template.loop_order,)
    schedules = searched_schedules(cascade) if searched else (template.schedule.kind,)
    deadline = time.monotonic() + (budget_s if budget_s is not None else float("inf"))
    search = _Search(
        cascade, spec, template, flat, table, objective, keep, smallest_tile, orders, schedules,
        deadline, progress,
    )  # fmt: skip
    search.run()
    return search.results(flat)


__all__ = [
    "OBJECTIVES",
    "Found",
    "SearchCounts",
    "SearchResult",
    "default_loop_order",
    "loop_orders",
    "objective_key",
    "placement_free_energy",
    "search_mappings",
    "searched_schedules",
    "template_for",
]
