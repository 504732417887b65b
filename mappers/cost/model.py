"""The cost model: (cascade, spec, mapping, cost table) -> latency, utilisation, traffic, energy.

Symbolic forms are built once per (cascade, spec, mapping, table) with sympy and turned into
one NumPy function with ``lambdify``; :func:`evaluate_design_points` then costs many
workload points at once. Tile sizes are per point: fixed tiles, and the largest tile
that fits a buffer (a ``fit`` rule's choice is a divisor of the rank's tile count, made once
per distinct (tiles, cap) pair and scattered back to the points).
"""

from __future__ import annotations

import collections.abc
import dataclasses
import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy

from einsum_cascade import einsum_order
from einsum_cascade.ir import Cascade, Generation, generation_of
from einsum_cascade.symbols import extent_symbol
from mappers.cost.footprint import tile_footprint, tile_symbol
from mappers.cost.parameters import (
    dim_symbol,
    is_parameter,
    num_pes,
    parameter_columns,
    quantity_column,
    split_columns,
    symbol_values,
)
from mappers.cost.pipeline import Pipeline
from mappers.cost.schedule import PIPELINE_SCHEDULES, latency_cycles
from mappers.cost.symbolic import (
    SymbolicCost,
    apply_table,
    at_values,
    build_symbolic,
    check_binding,
    regions,
)
from mappers.errors import MappingError
from mappers.hardware.spec import ArchSpec
from mappers.mapping.schema import DimRef, Mapping, TileRule
from mappers.workloads import Workload

DEFAULT_TABLE = "default"


@dataclass(frozen=True)
class CostModel:
    """A compiled cost model: symbolic forms plus their lambdified evaluator.

    ``parametric`` holds the forms in the spec's parameters (array dimensions, register
    energies: see :mod:`mappers.cost.parameters`) and the extents a mapping ties to them
    (``M0`` = ``pe2d`` rows); ``symbolic`` is the same forms at the spec's own numbers.
    ``function`` is compiled from ``parametric``, so one model serves every value of the
    numeric spec parameters.
    """

    cascade: Cascade
    spec: ArchSpec
    mapping: Mapping
    table: str
    symbolic: SymbolicCost
    arguments: tuple[str, ...]
    function: Any
    fit_functions: tuple[tuple[str, Any, Any], ...]  # (rank, constant words, words per tile)
    parametric: SymbolicCost

    @property
    def einsum_names(self) -> tuple[str, ...]:
        """Return the costed (bound) einsums in cascade order."""
        return tuple(e.name for e in self.symbolic.einsums)


@functools.lru_cache(maxsize=64)
def build_cost_model(
    cascade: Cascade, spec: ArchSpec, mapping: Mapping, table: str = DEFAULT_TABLE
) -> CostModel:
    """Validate the mapping against cascade and spec, build and lambdify the symbolic costs.

    The spec's numeric parameters stay symbols of the compiled function: points may set
    them (``pe2d.shape``, ``L3.size_bytes``, ``clock_hz``...) in
    :func:`evaluate_design_points` without a rebuild; by default they take the spec's values.

    Raises:
        MappingError: the mapping binds unknown einsums or arrays, or an array lacks an op.
    """
    check_binding(cascade, spec, mapping)
    spec_for_table = apply_table(spec, mapping, table)
    parametric = build_symbolic(cascade, spec_for_table, mapping)
    expressions = [
        *(e.busy_pe_cycles for e in parametric.einsums),
        *(e.used_pes for e in parametric.einsums),
        *(e.compute_energy_pj for e in parametric.einsums),
        *(e.register_energy_pj for e in parametric.einsums),
        *(e.register_reads_words + e.register_writes_words for e in parametric.einsums),
        *parametric.dram_words_by_region,
        *parametric.level_reads_words.values(),
        *parametric.level_writes_words.values(),
    ]
    symbols = sorted(
        set().union(*(sympy.sympify(x).free_symbols for x in expressions)), key=lambda s: s.name
    )
    function = sympy.lambdify(symbols, expressions, modules="numpy")
    fits = []
    for rule in mapping.tiles:
        if rule.fit_level is None:
            continue
        tensors = rule.tensors or dict(mapping.place).get(rule.fit_level, ())
        words = sympy.expand(tile_footprint(cascade, parametric.extents, tensors))
        tile = tile_symbol(rule.rank)
        constant, per_tile = words.subs(tile, 0), sympy.diff(words, tile)
        args = sorted((constant + per_tile).free_symbols, key=lambda s: s.name)
        fits.append(
            (
                rule.rank,
                tuple(s.name for s in args),
                sympy.lambdify(args, [constant, per_tile], modules="numpy"),
            )
        )
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
    return CostModel(
        cascade,
        spec,
        mapping,
        table,
        at_values(parametric, defaults),
        tuple(s.name for s in symbols),
        function,
        tuple(fits),
        parametric,
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
    needed = {*model.arguments, *(n for _, names, _ in model.fit_functions for n in names)}
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
    cols = {k: np.broadcast_to(np.asarray(v, dtype=float), shape) for k, v in extents.items()}
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


def evaluate_design_points(
    model: CostModel, columns: collections.abc.Mapping[str, np.ndarray | float | int]
) -> dict[str, np.ndarray]:
    """Evaluate a compiled model at many points at once.

    Args:
        model: from :func:`build_cost_model`.
        columns: one array (or scalar) per extent: ``B``, ``H`` and the cascade's free
            extents (``E``, ``F``, ``M``, ``P``); optionally spec parameters by dotted name
            (``clock_hz``, ``L3.size_bytes``, ``pe2d.shape.rows``, or ``pe2d.shape`` with
            the dimensions on the last axis; see :mod:`mappers.cost.parameters`), which
            default to the spec's values; all broadcast together.

    Returns:
        Arrays: ``latency_cycles``, ``latency_s``, ``traffic_bytes``, ``energy_pj``,
        ``util_<array>``, ``cycles_<einsum>``, ``share_<einsum>`` (busy PE-cycles of the
        einsum over its array's PE-cycles), ``energy_<component>_pj`` (arrays, their
        ``<array>_registers`` and levels), ``accesses_<level>_words``,
        ``accesses_<array>_registers_words``, ``tile_<rank>``.

    Raises:
        MappingError: M402 a needed extent is missing; M401 no tile fits its level; M404 a
            dotted name that is no parameter of the spec.
    """
    cols, shape = point_columns(model, columns)
    cols.update(tile_extents(model, cols))
    values = model.function(*(cols[name] for name in model.arguments))
    values = [np.broadcast_to(np.asarray(v, dtype=float), shape) for v in values]
    sym, spec, mapping = model.symbolic, model.spec, model.mapping
    count = len(sym.einsums)
    batch = np.prod([cols[r] for r in mapping.batch_ranks if r in cols], axis=0)
    busy = dict(zip(model.einsum_names, values[:count], strict=True))
    used = dict(zip(model.einsum_names, values[count : 2 * count], strict=True))
    energy = dict(zip(model.einsum_names, values[2 * count : 3 * count], strict=True))
    register_energy = dict(zip(model.einsum_names, values[3 * count : 4 * count], strict=True))
    register_words = dict(zip(model.einsum_names, values[4 * count : 5 * count], strict=True))
    rest = values[5 * count :]
    num_regions = len(sym.dram_words_by_region)
    region_words = [w * batch for w in rest[:num_regions]]
    levels = list(sym.level_reads_words)
    reads = dict(zip(levels, rest[num_regions : num_regions + len(levels)], strict=True))
    writes = dict(zip(levels, rest[num_regions + len(levels) :], strict=True))
    arrays = {e.name: e.array for e in sym.einsums}
    cycles = {n: busy[n] * batch / used[n] for n in busy}
    clock, word_bytes = cols["clock_hz"], cols["word_bytes"]
    bandwidth = cols[f"{spec.backing.name}.bandwidth_bytes_per_s"]
    bandwidth_words_per_cycle = bandwidth / clock / word_bytes
    memory = [w / bandwidth_words_per_cycle for w in region_words]
    pipeline = None
    if mapping.schedule.kind in PIPELINE_SCHEDULES:
        tiles = batch * np.prod([_dram_extent(model, r, cols) for r in mapping.loop_order], axis=0)
        pipeline = _pipeline(model, tiles, cycles)
        inner = mapping.loop_order[-1] if mapping.loop_order else None
        if inner is not None:
            pipeline = dataclasses.replace(
                pipeline, inner_tiles=_dram_extent(model, inner, cols) * np.ones(shape)
            )
    times = functools.partial(quantity_column, cols)
    latency = latency_cycles(mapping, cycles, arrays, memory, times, pipeline)
    out: dict[str, np.ndarray] = {"latency_cycles": latency, "latency_s": latency / clock}
    out["traffic_bytes"] = sum(region_words) * word_bytes
    total_energy = np.zeros(shape)
    for array in spec.arrays:
        pes = num_pes(array, cols)
        names = [n for n in busy if arrays[n] == array.name]
        pe_cycles = sum((busy[n] * batch for n in names), np.zeros(shape))
        out[f"util_{array.name}"] = pe_cycles / (pes * latency)
        part = sum((energy[n] * batch for n in names), np.zeros(shape))
        out[f"energy_{array.name}_pj"] = part
        registers = sum((register_energy[n] * batch for n in names), np.zeros(shape))
        out[f"energy_{array.name}_registers_pj"] = registers
        out[f"accesses_{array.name}_registers_words"] = sum(
            (register_words[n] * batch for n in names), np.zeros(shape)
        )
        total_energy = total_energy + part + registers
        for n in names:
            out[f"share_{n}"] = busy[n] * batch / (pes * latency)
    for level in spec.levels:
        words_per_access = cols[f"{level.name}.access_bits"] / (8 * word_bytes)
        read_pj = cols[f"{level.name}.read_energy_pj"]
        write_pj = cols[f"{level.name}.write_energy_pj"]
        if level.name == spec.backing.name:
            part = sum(region_words) / words_per_access * read_pj
        else:
            part = (
                batch
                * (reads[level.name] * read_pj + writes[level.name] * write_pj)
                / words_per_access
            )
        out[f"energy_{level.name}_pj"] = part
        out[f"accesses_{level.name}_words"] = (
            sum(region_words)
            if level.name == spec.backing.name
            else batch * (reads[level.name] + writes[level.name])
        )
        total_energy = total_energy + part
    out["energy_pj"] = total_energy
    for name in cycles:
        out[f"cycles_{name}"] = cycles[name]
    out.update({k: v for k, v in cols.items() if k.startswith("tile_")})
    return out


def _dram_extent(model: CostModel, rank: str, cols: dict[str, np.ndarray]) -> np.ndarray:
    expr = model.parametric.extents.dram_loop[rank]
    symbols = sorted(expr.free_symbols, key=lambda s: s.name)
    value = sympy.lambdify(symbols, expr, modules="numpy")(*(cols[s.name] for s in symbols))
    return np.asarray(value, dtype=float)


@dataclass(frozen=True, slots=True)
class CostReport:
    """The cost of one design point: totals plus per-einsum and per-component breakdowns."""

    cascade: str
    spec: str
    mapping: str
    table: str
    workload: str
    seq_len: int
    metrics: tuple[tuple[str, float], ...]
    einsum_arrays: tuple[tuple[str, str], ...]
    area_um2: float

    def metric(self, name: str) -> float:
        """Return one metric by name (``latency_s``, ``util_pe2d``...)."""
        return dict(self.metrics)[name]

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
            "metrics": dict(self.metrics),
        }


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
    values = evaluate_design_points(model, {**workload_columns(workload), **(extents or {})})
    return CostReport(
        cascade=cascade.name,
        spec=spec.name,
        mapping=mapping.name,
        table=table,
        workload=workload.name,
        seq_len=workload.seq_len,
        metrics=tuple((k, float(np.asarray(v).reshape(-1)[0])) for k, v in values.items()),
        einsum_arrays=tuple((e.name, e.array) for e in model.symbolic.einsums),
        area_um2=spec.area_um2,
    )


__all__ = [
    "CostModel",
    "CostReport",
    "build_cost_model",
    "check_point_extents",
    "estimate_cost",
    "evaluate_design_points",
    "extent_symbol",
    "regions",
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


def fit_caps(
    model: CostModel, rule: TileRule, columns: dict[str, np.ndarray], shape: tuple[int, ...]
) -> np.ndarray:
    """Return, per point, how many ``step``-sized tiles of a fit rule's rank fit its budget."""
    names, function = {rank: (n, f) for rank, n, f in model.fit_functions}[rule.rank]
    constant, per_tile = (
        np.broadcast_to(np.asarray(v, dtype=float), shape)
        for v in function(*(columns[n] for n in names))
    )
    step = quantity_column(columns, rule.step)
    capacity = _budget_bytes(model, rule, columns) / columns["word_bytes"]
    return np.asarray(np.floor((capacity - constant) / (per_tile * step)), dtype=float)


def _fit_tiles(
    model: CostModel, rule: TileRule, full: np.ndarray, columns: dict[str, np.ndarray]
) -> np.ndarray:
    """Return the largest multiple of ``step`` dividing ``full`` that fits, per point.

    The choice is discrete (a divisor), so it is made once per distinct (tiles, cap) pair
    and scattered back: a sweep over buffer sizes costs one divisor search per distinct
    pair, not per point.
    """
    spec, mapping = model.spec, model.mapping
    caps = fit_caps(model, rule, columns, full.shape)
    bad = caps < 1
    if bad.any():
        assert rule.fit_level is not None
        first = np.flatnonzero(bad.ravel())[0]
        budget = np.broadcast_to(_budget_bytes(model, rule, columns), full.shape).ravel()[first]
        level = spec.level(rule.fit_level)
        tensors = ", ".join(rule.tensors or dict(mapping.place)[rule.fit_level])
        raise MappingError.single(
            "M401",
            f"no tile of {rule.rank} fits level '{level.name}' "
            f"({budget:.0f} bytes): it must hold {tensors}",
            spec.span_of(f"levels.{level.name}.size_bytes"),
            "use a larger buffer, or place fewer tensors in it",
        )
    step = np.broadcast_to(quantity_column(columns, rule.step), full.shape).astype(np.int64)
    count = full // step
    limit = np.minimum(caps, count).astype(np.int64)
    rows = (count.ravel(), limit.ravel(), step.ravel())
    first, inverse = _distinct_rows(rows)
    counts, limits, steps = (row[first].tolist() for row in rows)
    chosen = np.array(
        [s * _largest_divisor_at_most(n, c) for n, c, s in zip(counts, limits, steps, strict=True)],
        dtype=float,
    )
    result: np.ndarray = chosen[inverse].reshape(full.shape)
    return result


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


def tile_extents(model: CostModel, columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Return ``tile_<rank>`` per point for every tiled rank: fixed, or the largest that fits."""
    tiles: dict[str, np.ndarray] = {}
    for rule in model.mapping.tiles:
        full = np.asarray(columns[rule.rank], dtype=np.int64)
        if rule.whole:
            continue
        if rule.fixed is not None:
            fixed = quantity_column(columns, rule.fixed)
            tiles[f"tile_{rule.rank}"] = np.minimum(fixed, full).astype(float)
            continue
        tiles[f"tile_{rule.rank}"] = _fit_tiles(model, rule, full, columns)
    return tiles
