"""The cost model: (cascade, spec, mapping, cost table) -> latency, utilisation, traffic, energy.

Symbolic forms are built once per (cascade, spec, mapping, table) with sympy and turned into
one NumPy function; :func:`evaluate_design_points` then costs many workload points at once,
without sympy (a model read from the cache does not import it). Tile sizes are per point:
fixed tiles, and the longest tile that fits a buffer in whole steps (a ``fit`` rule; the
fewest tiles first where the tile count moves DRAM bytes; with ``divides``, a divisor of the
rank's step count, chosen once per distinct (steps, cap) pair and scattered back to the
points).
"""

from __future__ import annotations

import collections.abc
import dataclasses
import functools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

import mappers.cost.cache as cache
from einsum_cascade import einsum_order
from einsum_cascade.diagnostics import suggest
from einsum_cascade.ir import Cascade, Generation, generation_of
from einsum_cascade.symbols import extent_symbol
from mappers.cost.parameters import (
    area_parts_um2,
    area_um2,
    broadcast_column,
    dim_symbol,
    is_parameter,
    num_pes,
    parameter_columns,
    quantity_column,
    split_columns,
    symbol_values,
)
from mappers.cost.pipeline import Pipeline
from mappers.cost.regions import regions
from mappers.cost.report import (
    BOUNDS,
    KINDS,
    ArrayCosts,
    CostReport,
    Costs,
    EinsumCosts,
    LevelCosts,
    LinkCosts,
    LinkTraffic,
    TensorTraffic,
)
from mappers.cost.schedule import PIPELINE_SCHEDULES, latency_cycles
from mappers.errors import MappingError
from mappers.hardware.spec import ArchSpec
from mappers.mapping.schema import DimRef, Mapping, TileRule
from mappers.workloads import Workload

if TYPE_CHECKING:
    import sympy

    from mappers.cost.symbolic import SymbolicCost

DEFAULT_TABLE = "default"


Key = tuple[str, ...]  # (quantity, owner...): ("busy", "BQK"), ("ledger", "L3", "Q", "reads")


@dataclass(frozen=True)
class CompiledForms:
    """Named symbolic forms compiled into one NumPy function.

    ``keys`` name the forms (quantity and owner), ``arguments`` the columns the function
    reads; :meth:`evaluate` returns the values by key, broadcast to the points' shape.
    """

    keys: tuple[Key, ...]
    arguments: tuple[str, ...]
    function: Any

    @staticmethod
    def compile(forms: dict[Key, sympy.Expr]) -> CompiledForms:
        """Lambdify named forms once; their free symbols become the arguments, by name."""
        import sympy

        expressions = [sympy.sympify(x) for x in forms.values()]
        symbols = sorted(
            set().union(set(), *(x.free_symbols for x in expressions)), key=lambda s: s.name
        )
        function = cache.numpy_function(symbols, expressions)
        return CompiledForms(tuple(forms), tuple(s.name for s in symbols), function)

    def evaluate(
        self, columns: collections.abc.Mapping[str, np.ndarray], shape: tuple[int, ...]
    ) -> dict[Key, np.ndarray]:
        """Return every form's value per point, by key."""
        values = self.function(*(columns[name] for name in self.arguments))
        return {
            key: broadcast_column(value, shape)
            for key, value in zip(self.keys, values, strict=True)
        }


@dataclass(frozen=True)
class FitForm:
    """The words a ``fit`` tile rule's tensors occupy: ``constant + per_tile * tile``.

    ``refetch`` says whether DRAM traffic depends on the rank's tile (a tensor the rank
    does not index is fetched again per tile), so that fewer tiles move fewer bytes.
    """

    rank: str
    arguments: tuple[str, ...]
    function: Any  # arguments -> (constant words, words per unit of tile)
    refetch: bool


@dataclass(frozen=True)
class Outline:
    """What evaluation reads of the symbolic forms besides their compiled values.

    ``arrays`` pairs each costed (bound) einsum, in cascade order, with its array;
    ``regions`` is the number of DRAM regions whose traffic is accounted together.
    """

    arrays: tuple[tuple[str, str], ...]
    regions: int

    @staticmethod
    def of(symbolic: SymbolicCost) -> Outline:
        """Return the outline of symbolic costs."""
        arrays = tuple((e.name, e.array) for e in symbolic.einsums)
        return Outline(arrays, len(symbolic.dram_words_by_region))


@dataclass(frozen=True)
class CostModel:
    """A compiled cost model: symbolic forms plus their lambdified evaluators.

    ``parametric`` holds the forms in the spec's parameters (array dimensions, register
    energies: see :mod:`mappers.cost.parameters`) and the extents a mapping ties to them
    (``M0`` = ``pe2d`` rows); ``symbolic`` is the same forms at the spec's own numbers.
    Both live in ``sympy_forms``, unpickled on first use (:class:`mappers.cost.cache.Deferred`):
    evaluation reads ``outline`` instead. ``forms`` is compiled from ``parametric``, so one
    model serves every value of the numeric spec parameters; ``loops`` gives the DRAM-loop
    trip counts (pipelined schedules) and ``fits`` the footprints of the ``fit`` tile rules.
    """

    cascade: Cascade
    spec: ArchSpec
    mapping: Mapping
    table: str
    forms: CompiledForms
    loops: CompiledForms
    fits: tuple[FitForm, ...]
    outline: Outline
    sympy_forms: cache.Deferred[tuple[SymbolicCost, SymbolicCost]]

    @property
    def symbolic(self) -> SymbolicCost:
        """Return the symbolic costs at the spec's own numbers."""
        return self.sympy_forms.get()[0]

    @property
    def parametric(self) -> SymbolicCost:
        """Return the symbolic costs in the spec's parameters."""
        return self.sympy_forms.get()[1]

    @property
    def einsum_names(self) -> tuple[str, ...]:
        """Return the costed (bound) einsums in cascade order."""
        return tuple(name for name, _ in self.outline.arrays)

    @property
    def arguments(self) -> tuple[str, ...]:
        """Return the columns the cost forms read."""
        return self.forms.arguments


def _cost_forms(parametric: SymbolicCost) -> dict[Key, sympy.Expr]:
    """Return every form the evaluator needs, by (quantity, owner)."""
    forms: dict[Key, sympy.Expr] = {}
    for e in parametric.einsums:
        forms["busy", e.name] = e.busy_pe_cycles
        forms["used", e.name] = e.used_pes
        forms["energy", e.name] = e.compute_energy_pj
        forms["register_energy", e.name] = e.register_energy_pj
        forms["register_words", e.name] = e.register_reads_words + e.register_writes_words
        forms["fill_drain", e.name] = e.fill_drain_cycles
    for index, words in enumerate(parametric.dram_words_by_region):
        forms["region", str(index)] = words
        forms["region_writes", str(index)] = parametric.dram_writes_by_region[index]
    for (level, tensor, kind), words in parametric.ledger.items():
        forms["ledger", level, tensor, kind] = words
    for level, words in parametric.level_reads_words.items():
        forms["reads", level] = words
    for level, words in parametric.level_writes_words.items():
        forms["writes", level] = words
    for (link, tensor), words in parametric.link_words.items():
        forms["link", link, tensor] = words
    return forms


_CACHED_OUTSIDE = ("cascade", "spec", "mapping", "table")


@functools.lru_cache(maxsize=64)
def build_cost_model(
    cascade: Cascade, spec: ArchSpec, mapping: Mapping, table: str = DEFAULT_TABLE
) -> CostModel:
    """Return the compiled cost model, from the on-disk cache when it holds it.

    See :mod:`mappers.cost.cache` (key, folder, ``EINSUM_CASCADE_NO_CACHE``) and
    :func:`compile_cost_model`.
    """
    mapping = implicit_batch(cascade, mapping)
    key = cache.model_key(cascade, spec, mapping, table)
    stored = cache.load(key)
    if isinstance(stored, dict):
        try:
            return CostModel(cascade, spec, mapping, table, **stored)
        except TypeError:  # an entry of another shape: rebuilt and replaced
            pass
    model = compile_cost_model(cascade, spec, mapping, table)
    fields = dataclasses.fields(CostModel)
    cache.store(
        key, {f.name: getattr(model, f.name) for f in fields if f.name not in _CACHED_OUTSIDE}
    )
    return model


def implicit_batch(cascade: Cascade, mapping: Mapping) -> Mapping:
    """Return the mapping with its default batch ranks (``B``, ``H``, when the mapping
    names none) less the cascade's own ranks: Lightning-2's block size ``B`` is no batch.
    Batch ranks the mapping writes are checked instead (M212)."""
    if mapping.span_of("batch_ranks") is not None:
        return mapping
    ranks = {str(r.name) for r in cascade.ranks}
    return dataclasses.replace(
        mapping, batch_ranks=tuple(r for r in mapping.batch_ranks if r not in ranks)
    )


def compile_cost_model(
    cascade: Cascade, spec: ArchSpec, mapping: Mapping, table: str = DEFAULT_TABLE
) -> CostModel:
    """Validate the mapping against cascade and spec, build and lambdify the symbolic costs.

    The spec's numeric parameters stay symbols of the compiled function: points may set
    them (``pe2d.shape``, ``L3.size_bytes``, ``clock_hz``...) in
    :func:`evaluate_design_points` without a rebuild; by default they take the spec's values.

    Raises:
        MappingError: the mapping binds unknown einsums or arrays, or an array lacks an op.
    """
    import sympy

    from mappers.cost.ends import first_load_words, last_store_words
    from mappers.cost.footprint import tile_footprint, tile_symbol
    from mappers.cost.symbolic import apply_table, at_values, build_symbolic, check_binding

    tables = (DEFAULT_TABLE, *dict(spec.cost_tables), *dict(mapping.cost_tables))
    if table not in tables:
        raise MappingError.single(
            "M209",
            f"unknown cost table '{table}'",
            None,
            suggest(table, tables) or f"cost tables of this spec and mapping: {', '.join(tables)}",
        )
    mapping = implicit_batch(cascade, mapping)
    check_binding(cascade, spec, mapping)
    spec_for_table = apply_table(spec, mapping, table)
    parametric = build_symbolic(cascade, spec_for_table, mapping)
    loops: dict[Key, sympy.Expr] = {
        ("dram_loop", rank): parametric.extents.dram_loop[rank] for rank in mapping.loop_order
    }
    fits = []
    dram = sympy.Add(*parametric.dram_words_by_tensor.values(), *parametric.dram_writes_by_region)
    for rule in mapping.tiles:
        if rule.fit_level is None:
            continue
        tensors = rule.tensors or dict(mapping.place).get(rule.fit_level, ())
        words = sympy.expand(tile_footprint(cascade, parametric.extents, tensors))
        tile = tile_symbol(rule.rank)
        constant, per_tile = words.subs(tile, 0), sympy.diff(words, tile)
        args = sorted((constant + per_tile).free_symbols, key=lambda s: s.name)
        function = cache.numpy_function(args, [constant, per_tile])
        refetch = tile in dram.free_symbols
        fits.append(FitForm(rule.rank, tuple(s.name for s in args), function, refetch))
    defaults: dict[sympy.Symbol, sympy.Expr] = {
        k: sympy.Integer(int(v)) if k.is_integer else sympy.Float(v)
        for k, v in symbol_values(spec, table).items()
    }
    defaults.update(
        {
            extent_symbol(rank): defaults[dim_symbol(spec.array(q.array), q.dim)]
            for rank, q in _dim_extents(mapping)
        }
    )
    forms = _cost_forms(parametric)
    backing = spec.backing.name
    forms["ends", "load"] = first_load_words(cascade, mapping, parametric.extents, backing)
    forms["ends", "store"] = last_store_words(cascade, mapping, parametric.extents, backing)
    return CostModel(
        cascade,
        spec,
        mapping,
        table,
        CompiledForms.compile(forms),
        CompiledForms.compile(loops),
        tuple(fits),
        Outline.of(parametric),
        cache.Deferred((at_values(parametric, defaults), parametric)),
    )


def _dim_extents(mapping: Mapping) -> tuple[tuple[str, DimRef], ...]:
    """Return the extents a mapping ties to an array dimension (``M0`` = ``pe2d`` rows)."""
    return tuple((rank, q) for rank, q in mapping.extents if isinstance(q, DimRef))


def check_point_extents(model: CostModel, given: collections.abc.Iterable[str]) -> None:
    """Raise M402 unless the point gives every extent the compiled model reads.

    Spec parameters and the extents the mapping ties to array dimensions are not needed:
    they default to the spec's values.

    Raises:
        MappingError: M402 names the missing extents and the ones the point gives.
    """
    needed = {*model.arguments, *(n for fit in model.fits for n in fit.arguments)}
    needed.update(rule.rank for rule in model.mapping.tiles if not rule.whole)
    needed -= {rank for rank, _ in _dim_extents(model.mapping)}
    have = set(given)
    missing = sorted(
        n for n in needed - have if not n.startswith("tile_") and not is_parameter(model.spec, n)
    )
    if missing:
        plural = "s" if len(missing) > 1 else ""
        raise MappingError.single(
            "M402",
            f"cascade '{model.cascade.name}' under mapping '{model.mapping.name}' needs "
            f"extent{plural} {', '.join(missing)}, which the workload point does not give",
            model.mapping.span_of("cascade"),
            f"the point gives {', '.join(sorted(have)) or 'nothing'}; give the missing "
            "extents explicitly",
        )


def point_columns(
    model: CostModel, columns: collections.abc.Mapping[str, Any]
) -> tuple[dict[str, np.ndarray], tuple[int, ...]]:
    """Return (every column the model reads, broadcast shape) for a set of points.

    ``columns`` holds extents and any spec parameters; the other parameters take the
    spec's values, the spec's cost table overrides what it fixes, and the extents the
    mapping ties to array dimensions follow those dimensions.

    Raises:
        MappingError: M402 a needed extent is missing; M404 an unknown parameter.
    """
    extents, given = split_columns(model.spec, columns)
    check_point_extents(model, extents)
    arrays = [np.asarray(v) for v in (*extents.values(), *given.values())]
    shape = np.broadcast(*arrays).shape if arrays else ()
    cols = {k: broadcast_column(v, shape) for k, v in extents.items()}
    params = parameter_columns(model.spec, model.table, given, shape)
    cols.update(params)
    for rank, quantity in _dim_extents(model.mapping):
        cols[rank] = np.broadcast_to(quantity_column(params, quantity), shape)
    return cols, shape


def tiles_fit(
    model: CostModel, columns: collections.abc.Mapping[str, np.ndarray | float | int]
) -> np.ndarray:
    """Return a boolean per point: True where every ``fit`` tile rule finds a tile.

    Where it is False, :func:`evaluate_design_points` raises M401 (no tile fits the level).
    """
    cols, shape = point_columns(model, columns)
    cols.update(fixed_tiles(model, cols))
    ok = np.ones(shape, dtype=bool)
    for rule in model.mapping.tiles:
        if rule.fit_level is not None:
            ok &= fit_caps(model, rule, cols, shape) >= 1
    return ok


def _pipeline(
    model: CostModel, tiles: np.ndarray, costed: collections.abc.Iterable[str]
) -> Pipeline:
    """Return the pipeline graph: costed einsums, their predecessors and recurrence chains."""
    cascade, names = model.cascade, set(model.einsum_names)
    order = tuple(e.name for e in einsum_order(cascade) if e.name in names)
    preds: dict[str, tuple[str, ...]] = {}
    same_tile: dict[str, tuple[str, ...]] = {}
    carried: dict[str, tuple[str, ...]] = {}
    recurrences = []
    for einsum in cascade.einsums:
        if einsum.name not in names:
            continue
        preds[einsum.name] = tuple(
            r.tensor for r in einsum.operands if r.tensor in names and r.tensor != einsum.name
        )
        refs = [(r.tensor, generation_of(r, cascade.tensor(r.tensor))) for r in einsum.operands]
        now = [t for t, g in refs if t in names and t != einsum.name and g != Generation.PREVIOUS]
        before = [t for t, g in refs if t in names and g == Generation.PREVIOUS]
        same_tile[einsum.name] = tuple(dict.fromkeys(now))
        carried[einsum.name] = tuple(dict.fromkeys(before))
    for einsum in cascade.einsums:
        if einsum.iterative_variable is None or einsum.name not in names:
            continue
        chain: set[str] = {einsum.name}
        frontier: list[str] = [einsum.name]
        while frontier:
            current = frontier.pop()
            for pred in preds.get(current, ()):
                readers = {r.tensor for r in cascade.einsum(pred).operands}
                if pred not in chain and (einsum.name in readers or pred in chain):
                    chain.add(pred)
                    frontier.append(pred)
        recurrences.append(tuple(sorted(chain)))
    inner = model.mapping.loop_order[-1] if model.mapping.loop_order else None
    looped = {e.name for e in cascade.einsums if inner is not None and inner.lower() in e.variables}
    return Pipeline(
        tiles=tiles,
        looped=frozenset(looped or costed),
        order=order,
        preds=tuple(preds.items()),
        recurrences=tuple(recurrences),
        current=tuple(same_tile.items()),
        carried=tuple(carried.items()),
    )


def evaluate_costs(
    model: CostModel, columns: collections.abc.Mapping[str, np.ndarray | float | int]
) -> Costs[np.ndarray]:
    """Evaluate a compiled model at many points at once: typed costs, one column each.

    Args:
        model: from :func:`build_cost_model`.
        columns: one array (or scalar) per extent: ``B``, ``H`` and the cascade's free
            extents (``E``, ``F``, ``M``, ``P``); optionally spec parameters by dotted name
            (``clock_hz``, ``L3.size_bytes``, ``pe2d.shape.rows``, or ``pe2d.shape`` with
            the dimensions on the last axis; see :mod:`mappers.cost.parameters`), which
            default to the spec's values; all broadcast together.

    Raises:
        MappingError: M402 a needed extent is missing; M401 no tile fits its level; M404 a
            dotted name that is no parameter of the spec.
    """
    cols, shape = point_columns(model, columns)
    tiles = tile_extents(model, cols)
    cols.update(tiles)
    values = model.forms.evaluate(cols, shape)
    spec, mapping = model.spec, model.mapping
    batch = np.prod([cols[r] for r in mapping.batch_ranks if r in cols], axis=0)
    names = model.einsum_names
    region_words = [values["region", str(i)] * batch for i in range(model.outline.regions)]
    busy = {n: values["busy", n] * batch for n in names}
    fill_drain = {n: values["fill_drain", n] * batch for n in names}
    cycles = {n: busy[n] / values["used", n] + fill_drain[n] for n in names}
    clock, word_bytes = cols["clock_hz"], cols["word_bytes"]
    bandwidth = cols[f"{spec.backing.name}.bandwidth_bytes_per_s"]
    memory = [w / (bandwidth / clock / word_bytes) for w in region_words]
    ends_words = values["ends", "load"] + values["ends", "store"]
    ends = ends_words / (bandwidth / clock / word_bytes)
    pipeline = _pipeline_of(model, cols, shape, batch, cycles)
    arrays = dict(model.outline.arrays)
    times = functools.partial(quantity_column, cols)
    latency = latency_cycles(mapping, cycles, arrays, memory, times, pipeline, ends)
    links, link_traffic = _link_costs(model, values, cols, shape, batch)
    pes = {a.name: num_pes(a, cols) for a in spec.arrays}
    pe_cycles = {a: pes[a] * latency for a in pes}
    array_costs = _array_costs(model, values, cols, shape, batch, busy, cycles, pe_cycles)
    bounds = _bounds(model, cycles, fill_drain, memory, pipeline)
    region_of = {n: i for i, r in enumerate(regions(mapping, names)) for n in r}
    zero = np.zeros(shape)
    einsum_costs = tuple(
        EinsumCosts(
            n,
            arrays[n],
            cycles[n],
            share=busy[n] / (pes[arrays[n]] * latency),
            fill_drain_cycles=fill_drain[n],
            memory_cycles=memory[region_of[n]] if n in region_of else zero,
            energy_pj=(values["energy", n] + values["register_energy", n]) * batch,
            bound=bounds[n],
        )
        for n in names
    )
    level_costs = _level_costs(model, values, cols, shape, batch, region_words)
    total_energy = zero
    for part in array_costs:
        total_energy = total_energy + part.energy_pj + part.register_energy_pj
    for level_cost in level_costs:
        total_energy = total_energy + level_cost.energy_pj
    for link in links:
        total_energy = total_energy + link.energy_pj
    return Costs(
        latency_cycles=latency,
        latency_s=latency / clock,
        traffic_bytes=sum(region_words, zero) * word_bytes,
        energy_pj=total_energy,
        einsums=einsum_costs,
        arrays=array_costs,
        levels=level_costs,
        tiles=tuple((key.removeprefix("tile_"), value) for key, value in tiles.items()),
        area_um2=np.broadcast_to(area_um2(spec, cols), shape),
        ends_words=ends_words,
        traffic=_tensor_traffic(model, values, cols, batch),
        links=links,
        link_traffic=link_traffic,
    )


def _pipeline_of(
    model: CostModel,
    cols: dict[str, np.ndarray],
    shape: tuple[int, ...],
    batch: np.ndarray,
    cycles: dict[str, np.ndarray],
) -> Pipeline | None:
    """Return the tile pipeline a pipelined or simulated schedule reads, else None."""
    mapping = model.mapping
    if mapping.schedule.kind not in PIPELINE_SCHEDULES:
        return None
    loops = model.loops.evaluate(cols, shape)
    trips = [loops["dram_loop", r] for r in mapping.loop_order]
    pipeline = _pipeline(model, batch * np.prod(trips, axis=0), cycles)
    if trips:
        pipeline = dataclasses.replace(pipeline, inner_tiles=trips[-1] * np.ones(shape))
    return pipeline


def tile_pipeline(
    model: CostModel, columns: collections.abc.Mapping[str, np.ndarray | float | int]
) -> Pipeline | None:
    """Return the tile pipeline a pipelined schedule of ``model`` reads at many points.

    With the einsums' cycles (``cycles_<einsum>``) it gives the schedule's latency through
    :func:`mappers.cost.schedule.latency_cycles` without the model: a search assembles
    compute from einsums costed in other mappings. None for a schedule without a pipeline.
    """
    cols, shape = point_columns(model, columns)
    cols.update(tile_extents(model, cols))
    batch = np.prod([cols[r] for r in model.mapping.batch_ranks if r in cols], axis=0)
    costed = {n: np.zeros(shape) for n in model.einsum_names}
    return _pipeline_of(model, cols, shape, batch, costed)


def _array_costs(
    model: CostModel,
    values: dict[Key, np.ndarray],
    cols: dict[str, np.ndarray],
    shape: tuple[int, ...],
    batch: np.ndarray,
    busy: dict[str, np.ndarray],
    cycles: dict[str, np.ndarray],
    pe_cycles: dict[str, np.ndarray],
) -> tuple[ArrayCosts[np.ndarray], ...]:
    """Return per array its utilisation (busy over ``pe_cycles``), energy, area, busy cycles."""
    zero = np.zeros(shape)
    arrays = dict(model.outline.arrays)
    areas = area_parts_um2(model.spec, cols)
    out = []
    for array in model.spec.arrays:
        bound = [n for n in model.einsum_names if arrays[n] == array.name]

        def total(quantity: str, bound: list[str] = bound) -> np.ndarray:
            return sum((values[quantity, n] * batch for n in bound), zero)

        out.append(
            ArrayCosts(
                array.name,
                util=sum((busy[n] for n in bound), zero) / pe_cycles[array.name],
                energy_pj=total("energy"),
                register_energy_pj=total("register_energy"),
                register_words=total("register_words"),
                area_um2=np.broadcast_to(areas[array.name], shape),
                busy_cycles=sum((cycles[n] for n in bound), zero),
            )
        )
    return tuple(out)


def _level_costs(
    model: CostModel,
    values: dict[Key, np.ndarray],
    cols: dict[str, np.ndarray],
    shape: tuple[int, ...],
    batch: np.ndarray,
    region_words: list[np.ndarray],
) -> tuple[LevelCosts[np.ndarray], ...]:
    """Return per level its accesses (backing: DRAM words) and energy, reads and writes
    each at their own energy per access, and its area."""
    spec = model.spec
    zero = np.zeros(shape)
    areas = area_parts_um2(spec, cols)
    dram_words = sum(region_words, zero)
    dram_writes = sum(
        (values["region_writes", str(i)] * batch for i in range(len(region_words))), zero
    )
    out = []
    for level in spec.levels:
        words_per_access = cols[f"{level.name}.access_bits"] / (8 * cols["word_bytes"])
        read_pj = cols[f"{level.name}.read_energy_pj"]
        write_pj = cols[f"{level.name}.write_energy_pj"]
        if level.name == spec.backing.name:
            accesses = dram_words
            energy = (
                (dram_words - dram_writes) * read_pj + dram_writes * write_pj
            ) / words_per_access
        else:
            reads, writes = values["reads", level.name], values["writes", level.name]
            accesses = batch * (reads + writes)
            energy = batch * (reads * read_pj + writes * write_pj) / words_per_access
        area = np.broadcast_to(areas[level.name], shape)
        out.append(LevelCosts(level.name, energy, accesses, area))
    return tuple(out)


def _link_costs(
    model: CostModel,
    values: dict[Key, np.ndarray],
    cols: dict[str, np.ndarray],
    shape: tuple[int, ...],
    batch: np.ndarray,
) -> tuple[tuple[LinkCosts[np.ndarray], ...], tuple[LinkTraffic[np.ndarray], ...]]:
    """Return per link its words, energy and busy cycles, and per link and tensor its words
    and energy (tensors read on one array from the registers of another)."""
    zero = np.zeros(shape)
    links, crossed = [], []
    for link in model.spec.links:
        per_word = cols[f"{link.name}.energy_pj_per_word"]
        words = zero
        for (kind, *owner), value in values.items():
            if kind != "link" or owner[0] != link.name:
                continue
            moved = value * batch
            crossed.append(LinkTraffic(link.name, owner[1], moved, moved * per_word))
            words = words + moved
        bandwidth = cols.get(f"{link.name}.bandwidth_words_per_cycle")
        busy = zero if bandwidth is None else words / bandwidth
        links.append(LinkCosts(link.name, link.source, link.target, words, words * per_word, busy))
    return tuple(links), tuple(crossed)


def _tensor_traffic(
    model: CostModel,
    values: dict[Key, np.ndarray],
    cols: dict[str, np.ndarray],
    batch: np.ndarray,
) -> tuple[TensorTraffic[np.ndarray], ...]:
    """Return the ledger per level and tensor, with the energy its words cost there."""
    zero = np.zeros(np.shape(batch))
    out = []
    for level in model.spec.levels:
        words_per_access = cols[f"{level.name}.access_bits"] / (8 * cols["word_bytes"])
        read_pj = cols[f"{level.name}.read_energy_pj"] / words_per_access
        write_pj = cols[f"{level.name}.write_energy_pj"] / words_per_access
        for tensor in model.cascade.tensors:
            keys = {kind: ("ledger", level.name, tensor.name, kind) for kind in KINDS}
            if not any(key in values for key in keys.values()):
                continue  # no traffic: skip multiplying zeros by the batch
            kinds = {
                kind: values[key] * batch if key in values else zero for kind, key in keys.items()
            }
            if not any(np.any(v) for v in kinds.values()):
                continue
            read = kinds["reads"] + kinds["readbacks"]
            written = kinds["writes"] + kinds["fills"]
            energy = read * read_pj + written * write_pj
            out.append(TensorTraffic(level.name, tensor.name, **kinds, energy_pj=energy))
    return tuple(out)


def _bounds(
    model: CostModel,
    cycles: dict[str, np.ndarray],
    fill_drain: dict[str, np.ndarray],
    memory: list[np.ndarray],
    pipeline: Pipeline | None,
) -> dict[str, np.ndarray]:
    """Return per einsum what bounds it, as a position in :data:`BOUNDS`.

    Bandwidth when its region's memory cycles reach the busiest array's work in the
    region; else recurrence when a pipelined schedule's loop-carried chain through it is
    longer per tile than any array's work per tile; else fill/drain when its folds' fill
    and drain exceed its streamed work; else compute.
    """
    mapping, names = model.mapping, model.einsum_names
    arrays = dict(model.outline.arrays)
    out: dict[str, np.ndarray] = {}
    recurrent: dict[str, np.ndarray] = {}
    if pipeline is not None:
        per_tile = {n: cycles[n] / pipeline.tiles for n in names if n in pipeline.looped}
        loads: dict[str, np.ndarray] = {}
        for n, c in per_tile.items():
            loads[arrays[n]] = loads.get(arrays[n], 0.0) + c
        resource = np.maximum.reduce(list(loads.values())) if loads else 0.0
        for chain in pipeline.recurrences:
            length = sum((per_tile.get(n, 0.0) for n in chain), 0.0)
            for n in chain:
                recurrent[n] = np.maximum(recurrent.get(n, 0.0), length) > resource
    for region, memory_cycles in zip(regions(mapping, names), memory, strict=True):
        loads = {}
        for n in region:
            loads[arrays[n]] = loads.get(arrays[n], 0.0) + cycles[n]
        busiest = np.maximum.reduce(list(loads.values())) if loads else 0.0
        for n in region:
            bound = np.where(2 * fill_drain[n] > cycles[n], BOUNDS.index("fill/drain"), 0)
            bound = np.where(recurrent.get(n, False), BOUNDS.index("recurrence"), bound)
            bound = np.where(memory_cycles >= busiest, BOUNDS.index("bandwidth"), bound)
            out[n] = np.asarray(bound, dtype=float)
    return out


def evaluate_design_points(
    model: CostModel, columns: collections.abc.Mapping[str, np.ndarray | float | int]
) -> dict[str, np.ndarray]:
    """Evaluate a compiled model at many points at once; the flat row of named metrics.

    See :func:`evaluate_costs` for the arguments and the typed result this flattens.

    Returns:
        Arrays: ``latency_cycles``, ``latency_s``, ``traffic_bytes``, ``energy_pj``,
        ``util_<array>``, ``cycles_<einsum>``, ``share_<einsum>`` (busy PE-cycles of the
        einsum over its array's PE-cycles), ``energy_<component>_pj`` (arrays, their
        ``<array>_registers``, levels and links), ``accesses_<level>_words`` (and
        ``accesses_<link>_words``),
        ``accesses_<array>_registers_words``, ``tile_<rank>``.
    """
    return evaluate_costs(model, columns).row()


def workload_columns(workload: Workload) -> dict[str, int]:
    """Return the extent columns of one workload point."""
    return workload.extents()


def estimate_cost(
    cascade: Cascade,
    spec: ArchSpec,
    mapping: Mapping,
    workload: Workload,
    table: str = DEFAULT_TABLE,
    extents: collections.abc.Mapping[str, int] | None = None,
) -> CostReport:
    """Cost one workload point; see :func:`evaluate_design_points` for many at once.

    Args:
        cascade, spec, mapping, table: as for :func:`build_cost_model`.
        workload: gives the extents ``B``, ``H``, ``E``, ``F``, ``D``, ``S``, ``M``, ``P``.
        extents: further extents, or replacements (``K`` and ``N`` of a GEMM).

    Raises:
        MappingError: M402 the point lacks an extent the cascade needs; M401 no tile fits.
    """
    model = build_cost_model(cascade, spec, mapping, table)
    costs = evaluate_costs(model, {**workload_columns(workload), **(extents or {})})
    return CostReport(
        cascade=cascade.name,
        spec=spec.name,
        mapping=mapping.name,
        table=table,
        workload=workload.name,
        seq_len=workload.seq_len,
        costs=costs.map(lambda v: float(np.asarray(v).reshape(-1)[0])),
        workload_label=workload.with_extents(dict(extents or {})).label(),
    )


__all__ = [
    "CostModel",
    "CostReport",
    "build_cost_model",
    "check_point_extents",
    "estimate_cost",
    "evaluate_costs",
    "evaluate_design_points",
    "extent_symbol",
    "regions",
    "tile_pipeline",
    "tiles_fit",
]


# Tile sizes per design point: fixed tiles, and the largest tile that fits a buffer.
def _largest_divisor_at_most(n: int, cap: int) -> int:
    best = 1
    for d in range(1, math.isqrt(n) + 1):
        if n % d == 0:
            for c in (d, n // d):
                if best < c <= cap:
                    best = c
    return best


def _budget_bytes(model: CostModel, rule: TileRule, columns: dict[str, np.ndarray]) -> Any:
    assert rule.fit_level is not None
    size = columns.get(f"{rule.fit_level}.size_bytes", 0.0)
    return (rule.budget_bytes or size) * rule.fraction


def _fit_words(
    model: CostModel, rule: TileRule, columns: dict[str, np.ndarray], shape: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """Return per point (constant words, words per unit of tile) of a fit rule's tensors."""
    fit = next(f for f in model.fits if f.rank == rule.rank)
    constant, per_tile = (
        np.broadcast_to(np.asarray(v, dtype=float), shape)
        for v in fit.function(*(columns[n] for n in fit.arguments))
    )
    return constant, per_tile


def fit_caps(
    model: CostModel, rule: TileRule, columns: dict[str, np.ndarray], shape: tuple[int, ...]
) -> np.ndarray:
    """Return, per point, how many ``step``-sized pieces of a fit rule's rank fit its budget.

    An extent shorter than one step is one piece when the whole extent fits.
    """
    constant, per_tile = _fit_words(model, rule, columns, shape)
    step = quantity_column(columns, rule.step)
    capacity = _budget_bytes(model, rule, columns) / columns["word_bytes"]
    room, need = capacity - constant, per_tile * step
    with np.errstate(divide="ignore", invalid="ignore"):
        caps = np.floor(room / need)
    # a rank whose tile the budget's tensors do not depend on is bounded by its extent only
    caps = np.where(need > 0, caps, np.where(room >= 0, np.inf, -np.inf))
    full = np.broadcast_to(np.asarray(columns[rule.rank], dtype=float), shape)
    short = (full < step) & (constant + per_tile * full <= capacity)
    return np.asarray(np.where(short, np.maximum(caps, 1.0), caps), dtype=float)


def fit_units(
    model: CostModel, rule: TileRule, columns: dict[str, np.ndarray], shape: tuple[int, ...]
) -> np.ndarray:
    """Return, per point, the longest tile of a fit rule's rank whose tensors fit its budget.

    Infinite where the budget's tensors do not depend on the tile and fit.
    """
    constant, per_tile = _fit_words(model, rule, columns, shape)
    capacity = _budget_bytes(model, rule, columns) / columns["word_bytes"]
    room = capacity - constant
    with np.errstate(divide="ignore", invalid="ignore"):
        units = np.floor(room / per_tile)
    units = np.where(per_tile > 0, units, np.where(room >= 0, np.inf, -np.inf))
    return np.asarray(np.broadcast_to(units, shape), dtype=float)


def _fit_tiles(
    model: CostModel, rule: TileRule, full: np.ndarray, columns: dict[str, np.ndarray]
) -> np.ndarray:
    """Return the fitting tile per point: the longest that fits, in whole steps.

    ``cap`` is the longest tile whose tensors fit the budget. The tile is the longest
    multiple of ``step`` within ``cap`` (the fewest ``step``-sized folds), the last tile
    ragged and charged at its real size; an extent within ``cap`` is one tile. Where DRAM
    traffic depends on the tile count (:attr:`FitForm.refetch`), the fewest tiles come
    first: the count is ``ceil(extent / cap)``, and the tile is the longest multiple of
    ``step`` giving that count, or ``cap`` itself where none does (each tile then ends in
    a partial step). Either way the traffic never grows with ``step`` (the array) and the
    folds never grow with it either (docs/model.md, "Tile fitting"). A rule with
    ``divides`` keeps ``step`` times the largest divisor of the extent's step-sized pieces
    that fits (the FuseMax artifact's rule).
    """
    spec, mapping = model.spec, model.mapping
    caps = fit_caps(model, rule, columns, full.shape)
    bad = caps < 1
    if bad.any():
        assert rule.fit_level is not None
        first = np.flatnonzero(bad.ravel())[0]
        budget = np.broadcast_to(_budget_bytes(model, rule, columns), full.shape).ravel()[first]
        level = spec.level(rule.fit_level)
        tensors = ", ".join(rule.tensors or dict(mapping.place).get(rule.fit_level, ()))
        raise MappingError.single(
            "M401",
            f"no tile of {rule.rank} fits level '{level.name}' "
            f"({budget:.0f} bytes): it must hold {tensors}",
            spec.span_of(f"levels.{level.name}.size_bytes"),
            "use a larger buffer, or place fewer tensors in it",
        )
    step = np.broadcast_to(quantity_column(columns, rule.step), full.shape).astype(np.int64)
    if rule.divides:
        return _divisor_tiles(full, step, caps)
    extent = full.astype(float)
    aligned = step * np.minimum(caps, -(-full // step))  # the longest fitting multiple of step
    if not next(f for f in model.fits if f.rank == rule.rank).refetch:
        return np.asarray(np.minimum(aligned, extent), dtype=float)
    longest = np.maximum(np.minimum(fit_units(model, rule, columns, full.shape), extent), aligned)
    count = np.ceil(extent / longest)  # the fewest tiles that fit
    tiles = np.where(aligned * count >= extent, aligned, longest)
    return np.asarray(np.minimum(tiles, extent), dtype=float)


def _divisor_tiles(full: np.ndarray, step: np.ndarray, caps: np.ndarray) -> np.ndarray:
    """Return ``step`` times the largest fitting divisor of the step-sized pieces per point.

    The choice is discrete, so it is made once per distinct (pieces, cap) pair and
    scattered back: a sweep over buffer sizes costs one divisor search per distinct pair.
    """
    count = -(-full // step)  # step-sized pieces, the last one possibly short
    limit = np.minimum(caps, count).astype(np.int64)
    rows = (count.ravel(), limit.ravel(), step.ravel())
    first, inverse = _distinct_rows(rows)
    counts, limits, steps = (row[first].tolist() for row in rows)
    chosen = np.array(
        [s * _largest_divisor_at_most(n, c) for n, c, s in zip(counts, limits, steps, strict=True)],
        dtype=float,
    )
    tiles = chosen[inverse].reshape(full.shape)
    return np.asarray(np.minimum(tiles, full), dtype=float)


def _distinct_rows(columns: tuple[np.ndarray, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Return (an index of one row per distinct row, each row's distinct-row number).

    Equal to ``np.unique(np.stack(columns, 1), axis=0)`` up to order, but sorts one integer
    key per row instead of row records (an order of magnitude faster on sweep chunks).
    """
    key = np.zeros(len(columns[0]), dtype=np.int64)
    span = 1
    for column in columns:
        low, high = int(column.min(initial=0)), int(column.max(initial=0))
        if high == low:
            continue
        if span * (high - low + 1) >= 2**62:
            key = np.unique(key, return_inverse=True)[1].reshape(-1)
            span = int(key.max(initial=0)) + 1
            if span * (high - low + 1) >= 2**62:
                values, codes = np.unique(column, return_inverse=True)
                column, low, high = codes.reshape(-1), 0, len(values) - 1
        key = key * (high - low + 1) + (column - low)
        span *= high - low + 1
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    return first, inverse.reshape(-1)


def fixed_tiles(model: CostModel, columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Return ``tile_<rank>`` of every fixed tile rule: its value, at most the extent.

    A point may give a fixed rule's tile as the column ``tile_<rank>`` instead of the
    rule's value (a search costs many tiles of one model in one call).
    """
    tiles: dict[str, np.ndarray] = {}
    for rule in model.mapping.tiles:
        if rule.fixed is not None:
            full = np.asarray(columns[rule.rank], dtype=np.int64)
            given = columns.get(f"tile_{rule.rank}")
            fixed = quantity_column(columns, rule.fixed) if given is None else given
            tiles[f"tile_{rule.rank}"] = np.minimum(fixed, full).astype(float)
    return tiles


def tile_extents(model: CostModel, columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Return ``tile_<rank>`` per point for every tiled rank: fixed, or the largest that fits.

    Fixed tiles come first: a fit rule's footprint may hold a tensor another rule tiles.
    """
    tiles = fixed_tiles(model, columns)
    for rule in model.mapping.tiles:
        if rule.fit_level is not None:
            full = np.asarray(columns[rule.rank], dtype=np.int64)
            tiles[f"tile_{rule.rank}"] = _fit_tiles(model, rule, full, {**columns, **tiles})
    order = [f"tile_{rule.rank}" for rule in model.mapping.tiles]
    return {key: tiles[key] for key in order if key in tiles}
