"""Mapper search: enumerate legal mappings of a cascade on a spec, prune, cost, rank.

For every binding of einsums to capable arrays and every expressible spatial spread
(:mod:`mappers.search.space`), the search compiles the cost model once per tile kind
(``whole`` or a fixed tile, whose value is only read at evaluation) and costs every tile
value at every workload point at once. Placements are costed by decomposition: a tensor's
placement changes only its own traffic, level accesses and register fills, so the cost of
any placement is the cost of a base placement plus, per tensor, the change its option
makes alone (models of those changes are shared between structures that run the tensor's
einsums alike). Candidates whose buffers overflow (:mod:`mappers.search.footprint`) are
illegal; a smaller tile where a larger one fits is dominated; a structure whose compute
alone is worse than the best found so far is cut by the bound. The best few per point are
then rebuilt as plain mappings and costed directly, which checks the decomposition.
"""

from __future__ import annotations

import collections.abc
import functools
import itertools
import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import sympy
from numpy.typing import NDArray

from einsum_cascade import count_ops
from einsum_cascade.ir import Cascade
from einsum_cascade.symbols import rank_of_variable
from mappers.cost.footprint import build_extents
from mappers.cost.model import CostModel, build_cost_model, evaluate_design_points
from mappers.cost.schedule import latency_cycles
from mappers.cost.symbolic import apply_table, resolve_quantity
from mappers.errors import MappingError
from mappers.hardware.spec import ArchSpec, op_cycles_and_energy
from mappers.mapping.schema import Mapping, TileRule
from mappers.search.candidates import (
    OBJECTIVES,
    Array,
    Found,
    SearchCounts,
    SearchResult,
    candidate_mapping,
    check_template,
    default_loop_order,
    dominated_tiles,
    objective_key,
    spread_count,
    template_for,
    tile_kind,
    worse,
)
from mappers.search.footprint import fits
from mappers.search.space import (
    Placement,
    Structure,
    bindings,
    capable_arrays,
    placement_options,
    reads_tensor,
    structures,
    tile_values,
)


@dataclass(frozen=True, slots=True)
class _Entry:
    key: tuple[float, float]
    structure: int
    tiles: tuple[tuple[str, int | None], ...]  # rank -> tile (None: whole)
    placement: tuple[Placement, ...]  # per tensor, cascade.tensors order
    screened: tuple[float, float]  # (latency_s, energy_pj) from the decomposition


class _Search:
    """One search over many points: caches of models, deltas and footprints."""

    def __init__(
        self,
        cascade: Cascade,
        spec: ArchSpec,
        template: Mapping,
        columns: dict[str, Array],
        table: str,
        objective: str,
        keep: int,
        smallest_tile: int,
    ) -> None:
        self.cascade, self.spec, self.template = cascade, spec, template
        self.columns, self.table, self.objective, self.keep = columns, table, objective, keep
        self.points = next(iter(columns.values())).shape[0]
        self.tensors: tuple[str, ...] = tuple(str(t.name) for t in cascade.tensors)
        self.models: dict[Mapping, CostModel] = {}
        self.evaluations: dict[
            tuple[Mapping, tuple[tuple[str, int | None], ...]], dict[str, Array]
        ] = {}
        self.full = self._full_extents()
        self.loop = template.loop_order
        self.counts = {k: np.zeros(self.points, dtype=np.int64) for k in SearchCounts.__slots__}
        self.entries: list[list[_Entry]] = [[] for _ in range(self.points)]
        self.structures: list[Structure] = []
        self.smallest = smallest_tile
        self.deltas: dict[tuple[object, ...], tuple[Array, Array]] = {}
        self.table_spec = apply_table(spec, template, table)
        self.op_values = self._op_values()

    def _full_extents(self) -> dict[str, Array]:
        fixed = {r: int(resolve_quantity(self.spec, q)) for r, q in self.template.extents}
        extents = build_extents(self.cascade, self.template, fixed)
        needed = set().union(*(sympy.sympify(x).free_symbols for x in extents.full.values()))
        missing = sorted(s.name for s in needed if s.name not in self.columns)
        if missing:
            raise MappingError.single(
                "M503",
                f"cascade '{self.cascade.name}' needs extent{'s' * (len(missing) > 1)} "
                f"{', '.join(missing)}, which the workload point does not give",
                None,
                f"the point gives {', '.join(sorted(self.columns))}; give the missing extents "
                "explicitly (search --extent NAME=VALUE)",
            )
        out = {}
        for rank, expr in extents.full.items():
            expr = sympy.sympify(expr)
            symbols = sorted(expr.free_symbols, key=lambda s: s.name)
            value = sympy.lambdify(symbols, expr, "numpy")(*(self.columns[s.name] for s in symbols))
            out[rank] = np.broadcast_to(np.asarray(value, dtype=float), (self.points,))
        return out

    def _op_values(self) -> dict[str, dict[str, Array]]:
        values = {**self.columns, **self.full}
        out: dict[str, dict[str, Array]] = {}
        for einsum, ops in count_ops(self.cascade).items():
            out[einsum] = {}
            for op, count in ops.items():
                expr = sympy.sympify(count)
                symbols = sorted(expr.free_symbols, key=lambda s: s.name)
                number = sympy.lambdify(symbols, expr, "numpy")(*(values[s.name] for s in symbols))
                out[einsum][op] = np.broadcast_to(np.asarray(number, dtype=float), (self.points,))
        return out

    def model(self, mapping: Mapping) -> CostModel:
        key = replace(mapping, name="candidate")
        if key not in self.models:
            self.models[key] = build_cost_model(self.cascade, self.spec, key, self.table)
            self.counts["models_built"][:] += 1
        return self.models[key]

    def evaluate(
        self, mapping: Mapping, tiles: tuple[tuple[str, int | None], ...]
    ) -> dict[str, Array]:
        """Evaluate a mapping compiled for its tile kind at the given tile values."""
        key = (replace(mapping, name="candidate"), tiles)
        if key not in self.evaluations:
            model = self.model(mapping)
            rules = tuple(
                TileRule(r, whole=True) if t is None else TileRule(r, fixed=t) for r, t in tiles
            )
            model = replace(model, mapping=replace(model.mapping, tiles=rules))
            self.evaluations[key] = evaluate_design_points(model, self.columns)
        return self.evaluations[key]

    # ------------------------------------------------------------------ tiles

    def tile_choices(self) -> list[tuple[tuple[str, int | None], ...]]:
        per_rank = []
        for rank in self.loop:
            largest = int(self.full[rank].max())
            per_rank.append([(rank, None), *((rank, t) for t in tile_values(largest, 1))])
        combos = list(itertools.product(*per_rank))
        return [c for c in combos if all(t is None or t >= self.smallest for _, t in c)]

    def tile_extents(self, tiles: tuple[tuple[str, int | None], ...]) -> dict[str, Array]:
        return {r: self.full[r] if t is None else np.full(self.points, float(t)) for r, t in tiles}

    def tile_valid(self, tiles: tuple[tuple[str, int | None], ...]) -> NDArray[np.bool_]:
        ok = np.ones(self.points, dtype=bool)
        for rank, tile in tiles:
            if tile is not None:
                ok &= (tile < self.full[rank]) & (np.mod(self.full[rank], tile) == 0)
        return ok

    def tile_words(self, extents: dict[str, Array]) -> dict[str, Array]:
        out: dict[str, Array] = {}
        for tensor in self.cascade.tensors:
            words = np.ones(self.points)
            for rank in tensor.ranks:
                words = words * extents.get(rank, self.full[rank])
            out[tensor.name] = words
        return out

    # ------------------------------------------------------------------ search

    def run(self) -> None:
        """Search every binding's structures, most promising compute first."""
        capable = capable_arrays(self.cascade, self.spec)
        arrays = [a.name for a in self.spec.arrays]
        combos = self.tile_choices()
        valid = np.array([self.tile_valid(c) for c in combos])  # [tiles, points]
        legal = set(bindings(self.cascade, self.spec))
        work: list[tuple[Any, ...]] = []
        for arrays_of in itertools.product(arrays, repeat=len(capable)):
            bind = tuple(zip(capable, arrays_of, strict=True))
            options = placement_options(self.cascade, self.spec, dict(bind))
            placements = math.prod(len(o) for o in options.values())
            if bind not in legal:
                spread = spread_count(self.cascade, self.spec, dict(bind))
                size = spread * valid.sum(axis=0) * placements
                self.counts["generated"] += size
                self.counts["illegal"] += size
                continue
            found, choice, selected = self.prepare_binding(bind, options, combos, valid)
            for structure in found:
                bounds = [self.compute_bound(structure, tiles) for tiles in combos]
                best = min(float(np.mean(b[0])) for b in bounds)
                work.append((best, len(work), structure, options, choice, selected, bounds))
        for _, _, structure, options, choice, selected, bounds in sorted(work, key=lambda w: w[:2]):
            self.search_structure(structure, options, combos, choice, selected, bounds)

    def prepare_binding(
        self,
        bind: tuple[tuple[str, str], ...],
        options: dict[str, tuple[Placement, ...]],
        combos: list[tuple[tuple[str, int | None], ...]],
        valid: NDArray[np.bool_],
    ) -> tuple[list[Structure], NDArray[np.int64], NDArray[np.bool_]]:
        """Return a binding's structures, its placement grid and the selected candidates.

        Selected: valid tile, buffers hold the footprint, no larger tile also fits.
        """
        found, spread = structures(self.cascade, self.spec, bind)
        choice = np.array(
            list(itertools.product(*(range(len(options[t])) for t in self.tensors))),
            dtype=np.int64,
        )
        per_tiles = valid.sum(axis=0) * choice.shape[0]
        self.counts["generated"] += spread.generated * per_tiles
        self.counts["illegal"] += spread.illegal * per_tiles
        self.counts["dominated"] += spread.dominated * per_tiles
        feasible = np.array(
            [
                fits(
                    self.cascade,
                    self.spec,
                    dict(bind),
                    options,
                    choice,
                    self.tile_words(self.tile_extents(c)),
                    self.loop,
                    self.tile_extents(c),
                )
                & valid[i][None, :]
                for i, c in enumerate(combos)
            ]
        )  # [tiles, placements, points]
        selected = feasible & ~dominated_tiles(combos, feasible)
        structures_count = len(found)
        self.counts["illegal"] += structures_count * (valid[:, None, :] & ~feasible).sum(
            axis=(0, 1)
        )
        self.counts["dominated"] += structures_count * (feasible & ~selected).sum(axis=(0, 1))
        return found, choice, selected

    def compute_bound(
        self, structure: Structure, tiles: tuple[tuple[str, int | None], ...]
    ) -> tuple[Array, Array]:
        """Return compute-only latency (s) and compute energy (pJ), without a cost model.

        Busy PE-cycles and energy per op come from the op counts and the (table-applied)
        spec; used PEs are the product of min(tile extent, dimension) over the spread
        variables; the schedule combines the cycles with no memory time. Both are lower
        bounds of a candidate's latency and energy.
        """
        extents = self.tile_extents(tiles)
        batch = np.prod(
            [self.columns[r] for r in self.template.batch_ranks if r in self.columns], axis=0
        )
        cycles: dict[str, Array] = {}
        energy = np.zeros(self.points)
        assignment = dict(structure.assignment)
        for name, array_name in structure.bind:
            array = self.table_spec.array(array_name)
            busy = np.zeros(self.points)
            for op, count in self.op_values[name].items():
                cost = op_cycles_and_energy(array, op)
                assert cost is not None, "bindings hold capable arrays only"
                busy = busy + count * cost[0]
                energy = energy + count * cost[1] * batch
            used = np.ones(self.points)
            for dim, variable in assignment[name]:
                rank = rank_of_variable(variable)
                used = used * np.minimum(extents.get(rank, self.full[rank]), array.dim_size(dim))
            cycles[name] = busy * batch / used
        mapping = replace(self.template, bind=structure.bind)
        times = functools.partial(resolve_quantity, self.spec)
        zero = [np.zeros(self.points)]
        compute = latency_cycles(mapping, cycles, dict(structure.bind), zero, times)
        return np.asarray(compute) / self.spec.clock_hz, energy

    def search_structure(
        self,
        structure: Structure,
        options: dict[str, tuple[Placement, ...]],
        combos: list[tuple[tuple[str, int | None], ...]],
        choice: NDArray[np.int64],
        selected: NDArray[np.bool_],
        bounds: list[tuple[Array, Array]],
    ) -> None:
        """Cost one structure's selected candidates that the compute bound does not cut."""
        index = len(self.structures)
        self.structures.append(structure)
        base = {t: options[t][0] for t in self.tensors}
        clock = self.spec.clock_hz
        bytes_per_cycle = self.spec.backing_bandwidth_bytes_per_s / clock
        for position, tiles in enumerate(combos):
            chosen = selected[position]  # [placements, points]
            if not chosen.any():
                continue
            bound = objective_key(self.objective, *bounds[position])
            cut = worse(bound, self.incumbents())  # [points]
            self.counts["bounded"] += (chosen & cut[None, :]).sum(axis=0)
            chosen = chosen & ~cut[None, :]
            if not chosen.any():
                continue
            mapping = candidate_mapping(self.template, self.spec, structure, tile_kind(tiles), base)
            values = self.evaluate(mapping, tiles)
            compute = self.compute_cycles(structure, mapping, values)
            traffic = np.broadcast_to(values["traffic_bytes"], (choice.shape[0], self.points))
            energy = np.broadcast_to(values["energy_pj"], (choice.shape[0], self.points))
            for column, tensor in enumerate(self.tensors):
                for number, option in enumerate(options[tensor][1:], start=1):
                    delta = self.delta(structure, tensor, option, tiles, base, values)
                    rows = choice[:, column] == number
                    traffic = traffic + rows[:, None] * delta[0][None, :]
                    energy = energy + rows[:, None] * delta[1][None, :]
            latency = np.maximum(traffic / bytes_per_cycle, compute[None, :]) / clock
            primary, secondary = objective_key(self.objective, latency, energy)
            self.counts["evaluated"] += chosen.sum(axis=0)
            for point in range(self.points):
                rows = np.flatnonzero(chosen[:, point])
                order = np.lexsort((secondary[rows, point], primary[rows, point]))[: self.keep]
                for row in rows[order]:
                    placement = tuple(
                        options[t][choice[row, j]] for j, t in enumerate(self.tensors)
                    )
                    key = (float(primary[row, point]), float(secondary[row, point]))
                    screened = (float(latency[row, point]), float(energy[row, point]))
                    self.entries[point].append(_Entry(key, index, tiles, placement, screened))
                self.entries[point] = sorted(self.entries[point], key=lambda e: e.key)[: self.keep]

    def incumbents(self) -> tuple[Array, Array]:
        primary = np.full(self.points, np.inf)
        secondary = np.full(self.points, np.inf)
        for point, entries in enumerate(self.entries):
            if len(entries) >= self.keep:
                primary[point], secondary[point] = entries[-1].key
        return primary, secondary

    def compute_cycles(
        self, structure: Structure, mapping: Mapping, values: dict[str, Array]
    ) -> Array:
        cycles = {e: values[f"cycles_{e}"] for e, _ in structure.bind}
        zero = [np.zeros(self.points)]
        times = functools.partial(resolve_quantity, self.spec)
        return np.asarray(latency_cycles(mapping, cycles, dict(structure.bind), zero, times))

    def delta(
        self,
        structure: Structure,
        tensor: str,
        option: Placement,
        tiles: tuple[tuple[str, int | None], ...],
        base: dict[str, Placement],
        values: dict[str, Array],
    ) -> tuple[Array, Array]:
        """Return the (traffic, energy) change of placing one tensor at ``option``."""
        local = tuple(
            (e.name, structure.array_of(e.name), dict(structure.assignment).get(e.name))
            for e in self.cascade.einsums
            if e.name == tensor or reads_tensor(e, tensor)
        )
        reads = tuple(r for r in structure.reads if tensor in r[:2])
        key = (tensor, option, tiles, local, reads)
        cached = self.deltas.get(key)
        if cached is None:
            variant = candidate_mapping(
                self.template, self.spec, structure, tile_kind(tiles), {**base, tensor: option}
            )
            changed = self.evaluate(variant, tiles)
            cached = (
                changed["traffic_bytes"] - values["traffic_bytes"],
                changed["energy_pj"] - values["energy_pj"],
            )
            self.deltas[key] = cached
        return cached

    # ------------------------------------------------------------------ results

    def results(self) -> tuple[SearchResult, ...]:
        out = []
        for point in range(self.points):
            columns = {k: v[point : point + 1] for k, v in self.columns.items()}
            found = [self.verify(entry, columns) for entry in self.entries[point]]
            latency = np.array([f.latency_s for f in found])
            energy = np.array([f.energy_pj for f in found])
            primary, secondary = objective_key(self.objective, latency, energy)
            order = np.lexsort((secondary, primary)) if found else np.array([], dtype=int)
            counts = SearchCounts(**{k: int(v[point]) for k, v in self.counts.items()})
            out.append(
                SearchResult(
                    self.objective,
                    tuple((k, float(v[point])) for k, v in self.columns.items()),
                    tuple(found[i] for i in order),
                    counts,
                )
            )
        return tuple(out)

    def verify(self, entry: _Entry, columns: dict[str, Array]) -> Found:
        structure = self.structures[entry.structure]
        placement = dict(zip(self.tensors, entry.placement, strict=True))
        mapping = candidate_mapping(self.template, self.spec, structure, entry.tiles, placement)
        model = build_cost_model(self.cascade, self.spec, mapping, self.table)
        values = evaluate_design_points(model, columns)
        metrics = tuple((k, float(np.asarray(v).reshape(-1)[0])) for k, v in values.items())
        summary = " ".join(
            [
                structure.describe(),
                *(f"{r}={'whole' if t is None else t}" for r, t in entry.tiles),
                *(f"{t}:{'+'.join(o) or 'registers'}" for t, o in placement.items()),
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
            entry.screened,
        )


def search_mappings(
    cascade: Cascade,
    spec: ArchSpec,
    columns: collections.abc.Mapping[str, collections.abc.Sequence[float] | Array | float],
    template: Mapping | None = None,
    table: str = "default",
    objective: str = "latency",
    keep: int = 5,
    smallest_tile: int = 16,
) -> tuple[SearchResult, ...]:
    """Search mappings of ``cascade`` on ``spec`` at every workload point of ``columns``.

    Args:
        cascade: the cascade to map.
        spec: the architecture.
        columns: one value or array per extent (``B``, ``H``, ``E``, ``F``, ``M``, ``P``);
            all broadcast together, one search result per point.
        template: supplies what is not searched (schedule, DRAM loop order, batch ranks,
            fixed extents, cost-table overrides); default :func:`template_for`.
        table: the cost table (``default`` or ``artifact``).
        objective: ``latency`` (then energy), ``energy`` (then latency) or ``edp``.
        keep: how many best mappings to return per point.
        smallest_tile: the smallest tile tried for a DRAM-loop rank.

    Returns:
        One :class:`SearchResult` per point, best mappings first.

    Raises:
        MappingError: M501 unknown objective; M502 a schedule the search cannot cost.
    """
    template = template or template_for(cascade, spec)
    check_template(template, objective)
    arrays = [np.atleast_1d(np.asarray(v, dtype=float)) for v in columns.values()]
    shape = np.broadcast(*arrays).shape
    flat = {
        k: np.broadcast_to(v, shape).reshape(-1).astype(float)
        for k, v in zip(columns, arrays, strict=True)
    }
    search = _Search(cascade, spec, template, flat, table, objective, keep, smallest_tile)
    search.run()
    return search.results()


__all__ = [
    "OBJECTIVES",
    "Found",
    "SearchCounts",
    "SearchResult",
    "candidate_mapping",
    "default_loop_order",
    "objective_key",
    "search_mappings",
    "template_for",
]
