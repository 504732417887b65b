"""Build the symbolic cost of (cascade, spec, mapping, cost table): per-einsum op counts after
lowering, busy PE-cycles, compute cycles, traffic per level and tensor, and energy terms.

An einsum whose points a filter leaves absent (:func:`einsum_cascade.shapes.presence_conditions`:
its own ``where``, or one inherited from a filtered operand) is costed by the folds of its
mapping that hold a present point, the rest skipped (:mod:`mappers.cost.filtered`): a fold is
one of the array's passes (a spatial chunk of each spread variable, one value of each
variable that indexes the stationary tensor, one DRAM-loop tile of each other variable). A
charged fold costs all its points, present or not; a skipped one costs nothing and moves
nothing: operand words, results, partial sums and register words are counted over charged
folds only, and a DRAM-loop tile of a tensor is filled only when a fold that reads it is
charged. A variable the mapping does not cut (one fold along it) cannot be skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sympy

from einsum_cascade import count_ops
from einsum_cascade.diagnostics import suggest
from einsum_cascade.ir import Cascade, Einsum, TensorRef
from einsum_cascade.shapes import einsum_ops, presence_conditions
from einsum_cascade.symbols import extent_symbol, index_symbol, rank_of_variable
from mappers.cost.filtered import Axis, FilterError, filtered_points
from mappers.cost.footprint import Extents, build_extents, refetch_factor, tensor_size
from mappers.cost.parameters import dim_symbol, parameter_symbol
from mappers.cost.regions import regions
from mappers.errors import MappingError
from mappers.hardware.spec import ArchSpec, ComputeArray, OpCost, op_cycles_and_energy
from mappers.mapping.schema import REGISTERS, DimRef, Mapping, Quantity
from mappers.yaml_source import Validator


@dataclass(frozen=True, slots=True)
class EinsumCost:
    """Symbolic costs of one einsum bound to one array (per batch entry and head)."""

    name: str
    array: str
    ops: dict[str, sympy.Expr]  # primitive op counts after lowering
    busy_pe_cycles: sympy.Expr
    used_pes: sympy.Expr
    compute_energy_pj: sympy.Expr
    register_reads_words: sympy.Expr
    register_writes_words: sympy.Expr
    register_energy_pj: sympy.Expr
    folds: sympy.Expr  # spatial folds x temporal folds: the array's passes over the einsum
    fill_drain_cycles: sympy.Expr  # folds x the array's fill/drain per fold (0 without)
    register_points_words: sympy.Expr  # register writes less fills: one per point


@dataclass(frozen=True, slots=True)
class SymbolicCost:
    """Every symbolic quantity the numeric evaluator needs."""

    einsums: tuple[EinsumCost, ...]
    dram_words_by_region: tuple[sympy.Expr, ...]
    dram_writes_by_region: tuple[sympy.Expr, ...]
    dram_words_by_tensor: dict[str, sympy.Expr]
    level_reads_words: dict[str, sympy.Expr]  # reads and read-backs, per level
    level_writes_words: dict[str, sympy.Expr]  # writes and fills, per level
    ledger: dict[tuple[str, str, str], sympy.Expr]  # (level, tensor, kind) -> words
    extents: Extents
    link_words: dict[tuple[str, str], sympy.Expr] = field(default_factory=dict)  # (link, tensor)


def resolve_quantity(spec: ArchSpec, value: Quantity) -> float:
    """Return the number a mapping quantity stands for (an array dimension or a number)."""
    if isinstance(value, DimRef):
        return float(spec.array(value.array).dim_size(value.dim))
    return float(value)


def apply_table(spec: ArchSpec, mapping: Mapping, table: str) -> ArchSpec:
    """Return the spec with the table's entries applied: the spec's own, then the mapping's."""
    spec = spec.with_table(table)
    for override in mapping.overrides(table):
        array = spec.array(override.array)
        lowered = op_cycles_and_energy(array, override.op) or (0.0, 0.0)
        cost = OpCost(
            cycles=lowered[0] if override.cycles is None else override.cycles,
            energy_pj=lowered[1] if override.energy_pj is None else override.energy_pj,
        )
        spec = spec.replace_array(array.with_op(override.op, cost))
    return spec


def build_symbolic(cascade: Cascade, spec: ArchSpec, mapping: Mapping) -> SymbolicCost:
    """Build the symbolic costs (per batch entry and head) of a validated mapping.

    Array dimensions and register energies are parameter symbols
    (:func:`mappers.cost.parameters.parameter_symbol`), and an extent the mapping ties to a
    dimension stays an extent symbol, so the forms hold for every value of them.
    """
    fixed = {
        rank: int(resolve_quantity(spec, q))
        for rank, q in mapping.extents
        if not isinstance(q, DimRef)  # an array dimension stays a symbol: a column per point
    }
    extents = build_extents(cascade, mapping, fixed)
    subs: dict[sympy.Symbol, sympy.Expr] = {
        extent_symbol(k): sympy.Integer(v) for k, v in fixed.items()
    }
    subs.update(
        {extent_symbol(r.name): extents.full[r.name] for r in cascade.ranks if r.is_derived}
    )
    counts = count_ops(cascade)
    conditions = {
        name: condition.xreplace(subs)
        for name, condition in presence_conditions(cascade).items()
        if condition is not sympy.true
    }
    traffic = _Traffic(cascade, spec, mapping, extents, conditions)
    einsums = []
    for einsum in cascade.einsums:
        array_name = mapping.array_of(einsum.name)
        if array_name is None:
            continue
        if einsum.name in conditions:
            charged = traffic.charged_points(einsum)
            ops = {op: n * charged for op, n in sorted(einsum_ops(einsum).items())}
        else:
            ops = {op: sympy.sympify(n).xreplace(subs) for op, n in counts[einsum.name].items()}
        einsums.append(_einsum_cost(einsum, spec.array(array_name), mapping, ops, traffic))
    names = tuple(e.name for e in einsums)
    moved = [traffic.region_dram(r) for r in regions(mapping, names)]
    link_words: dict[tuple[str, str], sympy.Expr] = {}
    for crossing in crossings(cascade, mapping):
        link = spec.link(crossing.source, crossing.target)
        assert link is not None, "check_binding refuses a crossing without a link"
        einsum = cascade.einsum(crossing.einsum)
        ref = next(r for r in reversed(einsum.operands) if r.tensor == crossing.tensor)
        key = (link.name, crossing.tensor)
        link_words[key] = link_words.get(key, sympy.Integer(0)) + traffic.accesses(einsum, ref)
    return SymbolicCost(
        einsums=tuple(einsums),
        dram_words_by_region=tuple(words for words, _ in moved),
        dram_writes_by_region=tuple(writes for _, writes in moved),
        dram_words_by_tensor=traffic.by_tensor,
        level_reads_words=traffic.level_words(("reads", "readbacks")),
        level_writes_words=traffic.level_words(("writes", "fills")),
        ledger={k: v for k, v in traffic.ledger.items() if v != 0},
        extents=extents,
        link_words=link_words,
    )


def at_values(symbolic: SymbolicCost, values: dict[sympy.Symbol, sympy.Expr]) -> SymbolicCost:
    """Return the symbolic costs with some symbols (spec parameters, fixed extents) replaced."""

    def sub(expr: sympy.Expr) -> sympy.Expr:
        return sympy.sympify(expr).xreplace(values)

    def subs(exprs: dict[str, sympy.Expr]) -> dict[str, sympy.Expr]:
        return {k: sub(v) for k, v in exprs.items()}

    einsums = tuple(
        EinsumCost(
            e.name,
            e.array,
            subs(e.ops),
            sub(e.busy_pe_cycles),
            sub(e.used_pes),
            sub(e.compute_energy_pj),
            sub(e.register_reads_words),
            sub(e.register_writes_words),
            sub(e.register_energy_pj),
            sub(e.folds),
            sub(e.fill_drain_cycles),
            sub(e.register_points_words),
        )
        for e in symbolic.einsums
    )
    extents = symbolic.extents
    return SymbolicCost(
        einsums=einsums,
        dram_words_by_region=tuple(sub(w) for w in symbolic.dram_words_by_region),
        dram_writes_by_region=tuple(sub(w) for w in symbolic.dram_writes_by_region),
        dram_words_by_tensor=subs(symbolic.dram_words_by_tensor),
        ledger={k: sub(v) for k, v in symbolic.ledger.items()},
        level_reads_words=subs(symbolic.level_reads_words),
        level_writes_words=subs(symbolic.level_writes_words),
        extents=Extents(subs(extents.full), subs(extents.tile), subs(extents.dram_loop)),
        link_words={k: sub(v) for k, v in symbolic.link_words.items()},
    )


def _einsum_cost(
    einsum: Einsum,
    array: ComputeArray,
    mapping: Mapping,
    ops: dict[str, sympy.Expr],
    traffic: _Traffic,
) -> EinsumCost:
    """Return busy PE-cycles, used PEs, compute energy and register-file words and energy."""
    extents = traffic.extents
    lowered: dict[str, sympy.Expr] = {}
    busy = energy = sympy.Integer(0)
    for op, count in ops.items():
        cost = op_cycles_and_energy(array, op)
        if cost is None:
            raise MappingError.single(
                "M301",
                f"array '{array.name}' cannot run op '{op}' needed by einsum '{einsum.name}'",
                mapping.span_of(f"bind.{array.name}.{einsum.name}"),
                f"add '{op}' to the ops of '{array.name}' in the spec, or bind it elsewhere",
            )
        busy += count * cost[0]
        energy += count * cost[1]
        lowered[op] = count
    stationary = stationary_tensor(einsum, array.name, mapping)
    used, folds = _folds(einsum, array, mapping, extents)
    if traffic.filtered(einsum):
        folds = traffic.charged_folds(einsum)
    reads, writes = traffic.register_words(einsum, stationary, folds * used)
    registers = reads * parameter_symbol(
        f"{array.name}.register_read_energy_pj"
    ) + writes * parameter_symbol(f"{array.name}.register_write_energy_pj")
    dims = [dim_symbol(array, d) for d in array.dims]
    overhead = sympy.Integer(0)
    if array.fill_drain and dims:
        preload = stationary != einsum.name and not _in_place(stationary, einsum, array, traffic)
        overhead = sympy.Add(*(d - 1 for d in dims)) + (dims[0] if preload else 0)
    return EinsumCost(
        einsum.name,
        array.name,
        lowered,
        busy,
        used,
        energy,
        reads,
        writes,
        registers,
        folds,
        folds * overhead,
        traffic.register_points(einsum),
    )


def stationary_tensor(einsum: Einsum, array: str, mapping: Mapping) -> str:
    """Return the tensor an einsum holds in the PEs during one fold on its array.

    The mapping's ``stationary`` choice, else the output (output-stationary) when every
    spatial variable indexes it. An output reduced across the array (a variable it lacks
    is spread on a dimension, as ``m0`` of ``SLNV[f, m1, p] = SLN[m1, m0, p] * BV[f, m1,
    m0]`` on the rows) cannot stay in one PE: its partial sums move along that dimension.
    Then the first operand every spatial variable indexes is held (``SLN``), and the
    output's other variables stream through it (``f``), as in a weight-stationary array.
    """
    explicit = dict(mapping.stationary).get(einsum.name)
    if explicit is not None:
        return explicit
    spatial = {v for _, v in mapping.spatial_of(array, einsum.variables)}
    for ref in (einsum.output, *einsum.operands):
        if spatial <= set(ref.variables()):
            return ref.tensor
    return einsum.name


def _in_place(stationary: str, einsum: Einsum, array: ComputeArray, traffic: _Traffic) -> bool:
    """Return whether a held operand is already in the PEs: computed there by an einsum on
    the same array and read from registers (``SLN`` for ``SLNV``), so no preload."""
    producer = dict(traffic.mapping.bind).get(stationary)
    return producer == array.name and traffic.source(einsum.name, stationary) == REGISTERS


def _folds(
    einsum: Einsum, array: ComputeArray, mapping: Mapping, extents: Extents
) -> tuple[sympy.Expr, sympy.Expr]:
    """Return (PEs used on average per fold, folds) of an einsum on an array.

    A spatial variable is cut into folds of the array dimension it is spread on, tile by
    tile (a partial fold occupies the array for a whole fold's time). Within one fold the
    stationary tensor (:func:`stationary_tensor`) stays in the PEs while the other
    temporal variables stream through: a temporal variable that indexes the stationary
    tensor starts a new fold at each value; one that does not streams within the fold
    (one fold per DRAM-loop tile of it).
    """
    spatial = {v: d for d, v in mapping.spatial_of(array.name, einsum.variables)}
    held = _held(einsum, mapping)
    used = folds = sympy.Integer(1)
    for variable in einsum.variables:
        if variable in spatial:
            chunks = extents.chunks(variable, dim_symbol(array, spatial[variable]))
            used *= extents.of_variable(variable, tiled=False) / chunks
            folds *= chunks
        elif variable in held:
            folds *= extents.of_variable(variable, tiled=False)
        else:
            folds *= extents.trips(variable)
    return used, folds


def _held(einsum: Einsum, mapping: Mapping) -> set[str]:
    """Return the variables of the tensor an einsum holds stationary in its PEs."""
    stationary = stationary_tensor(einsum, dict(mapping.bind).get(einsum.name, ""), mapping)
    return {
        v
        for ref in (einsum.output, *einsum.operands)
        if ref.tensor == stationary
        for v in ref.variables()
    }


# How an axis of a filtered count is cut and weighed: (tile, chunk, counted).
_Cut = tuple[sympy.Expr, sympy.Expr, bool]


class _Traffic:
    """Array-side accesses per operand, then DRAM and on-chip level words per tensor.

    ``conditions`` holds the presence condition of every filtered einsum (extents
    substituted as in the extents); the counts of those einsums are over charged folds.
    """

    def __init__(
        self,
        cascade: Cascade,
        spec: ArchSpec,
        mapping: Mapping,
        extents: Extents,
        conditions: dict[str, sympy.Basic] | None = None,
    ) -> None:
        self.cascade, self.spec, self.mapping, self.extents = cascade, spec, mapping, extents
        self.conditions = conditions or {}
        self.backing = spec.backing.name
        self.by_tensor: dict[str, sympy.Expr] = {}
        self.ledger: dict[tuple[str, str, str], sympy.Expr] = {}

    # ------------------------------------------------------------ filtered einsums

    def filtered(self, einsum: Einsum) -> bool:
        """Tell whether a filter leaves some points of the einsum absent."""
        return einsum.name in self.conditions

    def fold_cut(self, einsum: Einsum, variable: str) -> tuple[sympy.Expr, sympy.Expr]:
        """Return (tile, chunk) of a variable's folds: what the mapping can skip.

        A spread variable is cut into chunks of its array dimension inside each DRAM-loop
        tile; a variable of the stationary tensor into single values (each a fold); any
        other into its DRAM-loop tiles (the whole extent when its rank is not looped).
        """
        array_name = self.mapping.array_of(einsum.name)
        assert array_name is not None, "filtered counts are of bound einsums"
        array = self.spec.array(array_name)
        tile = self.extents.tile[rank_of_variable(variable)]
        spatial = {v: d for d, v in self.mapping.spatial_of(array.name, einsum.variables)}
        if variable in spatial:
            return tile, dim_symbol(array, spatial[variable])
        if variable in _held(einsum, self.mapping):
            return tile, sympy.Integer(1)
        return tile, tile

    def count(self, einsum: Einsum, cut: dict[str, _Cut]) -> sympy.Expr:
        """Return the filtered count of an einsum's space cut as given per variable.

        A variable missing from ``cut`` is one block weighing 1.

        Raises:
            MappingError: M302 the filter is one the block counter cannot count.
        """
        axes = []
        for variable in einsum.variables:
            extent = self.extents.of_variable(variable, tiled=False)
            if variable in cut:
                tile, chunk, counted = cut[variable]
                axes.append(Axis(variable, extent, tile, chunk, counted))
            else:
                axes.append(Axis.whole(variable, extent))
        try:
            return filtered_points(self.conditions[einsum.name], axes)
        except FilterError as error:
            raise MappingError.single(
                "M302",
                f"cannot cost the filtered einsum '{einsum.name}' of cascade "
                f"'{self.cascade.name}': {error}",
                einsum.span,
                "filters the cost model counts are unions of linear comparisons of index "
                "variables (m <= p, p - W < m, m == 2 * n + 1)",
            ) from error

    def charged_points(self, einsum: Einsum) -> sympy.Expr:
        """Return the points of the folds holding a present point: the work computed."""
        cut: dict[str, _Cut] = {v: (*self.fold_cut(einsum, v), False) for v in einsum.variables}
        return self.count(einsum, cut)

    def charged_folds(self, einsum: Einsum) -> sympy.Expr:
        """Return the folds holding a present point: the array's passes over the einsum."""
        cut: dict[str, _Cut] = {v: (*self.fold_cut(einsum, v), True) for v in einsum.variables}
        return self.count(einsum, cut)

    def _filtered_accesses(self, einsum: Einsum, ref: TensorRef, per_pe: bool) -> sympy.Expr:
        """``accesses`` over charged folds: each word of ``ref`` a charged fold reads.

        A word is read per point of the variables it is indexed by, per spatial chunk of a
        spread variable it is not (per PE with ``per_pe``), and per DRAM-loop tile of any
        other (once when the rank is not looped).
        """
        array_name = self.mapping.array_of(einsum.name)
        assert array_name is not None, "traffic regions hold bound einsums only"
        spatial = {v for _, v in self.mapping.spatial_of(array_name, einsum.variables)}
        variables = set(ref.variables())
        cut: dict[str, _Cut] = {}
        for v in einsum.variables:
            tile, chunk = self.fold_cut(einsum, v)
            if v in variables:
                cut[v] = (tile, chunk, False)
            elif v in spatial:
                cut[v] = (tile, chunk, not per_pe)
            else:
                cut[v] = (tile, tile, True)
        return self.count(einsum, cut)

    def _filtered_results(self, einsum: Einsum) -> sympy.Expr:
        """``results`` over charged folds: output points some charged fold computes."""
        kept = set(einsum.output_variables)
        cut: dict[str, _Cut] = {
            v: (*self.fold_cut(einsum, v), False) for v in einsum.variables if v in kept
        }
        return self.count(einsum, cut)

    def filtered_fills(self, tensor: str, readers: list[Einsum]) -> sympy.Expr | None:
        """Return the DRAM-loop tiles of ``tensor`` filled for filtered readers, in words.

        A tile (of the tensor's looped ranks, once per iteration of an outer loop that
        does not index it, as :func:`refetch_factor` counts) is filled when one of its
        reader's folds in it is charged. None when an unfiltered einsum reads the tensor,
        when readers differ in filter or indexing (the loop nest then fills every tile),
        or when the reference is not one plain variable per rank.
        """
        if not readers or any(not self.filtered(e) for e in readers):
            return None
        einsum = readers[0]
        ref = next(r for r in einsum.operands if r.tensor == tensor)
        variables = ref.variables()
        ranks = self.cascade.tensor(tensor).ranks
        plain = len(variables) == len(ranks) and all(
            index == index_symbol(v) for index, v in zip(ref.indices, variables, strict=False)
        )
        for other in readers[1:]:
            same = next(r for r in other.operands if r.tensor == tensor) == ref
            condition = self.conditions[other.name] == self.conditions[einsum.name]
            if not (same and condition and set(other.variables) == set(einsum.variables)):
                return None
        if not plain:
            return None
        order = self.mapping.loop_order
        relevant = [i for i, rank in enumerate(order) if rank in ranks]
        outer = set(order[: max(relevant)]) - set(ranks) if relevant else set()
        cut: dict[str, _Cut] = {}
        for v in einsum.variables:
            rank = rank_of_variable(v)
            tile = self.extents.tile[rank]
            if v in variables:
                cut[v] = (tile, tile, False)
            elif rank in outer:
                cut[v] = (tile, tile, True)
        return self.count(einsum, cut)

    # ------------------------------------------------------------ all einsums

    def accesses(self, einsum: Einsum, ref: TensorRef, per_pe: bool = False) -> sympy.Expr:
        """Return array-side accesses of ``ref``: points / spatial multicast / temporal reuse.

        With ``per_pe`` the spatial multicast is not divided out: the words that arrive in
        the PEs' registers, one per receiving PE.
        """
        if self.filtered(einsum):
            return self._filtered_accesses(einsum, ref, per_pe)
        array_name = self.mapping.array_of(einsum.name)
        assert array_name is not None, "traffic regions hold bound einsums only"
        array = self.spec.array(array_name)
        variables = set(ref.variables())
        spatial = {v: d for d, v in self.mapping.spatial_of(array.name, einsum.variables)}
        points = sympy.Mul(*(self.extents.of_variable(v, tiled=False) for v in einsum.variables))
        for variable in einsum.variables:
            if variable in variables:
                continue
            rank = variable.upper()
            full = self.extents.of_variable(variable, tiled=False)
            if variable in spatial:
                if per_pe:
                    continue
                folds = self.extents.chunks(variable, dim_symbol(array, spatial[variable]))
                points *= folds / full  # read once per spatial fold, multicast within it
            elif rank not in self.mapping.loop_order or self.mapping.tile_rule(rank) is not None:
                points *= self.extents.trips(variable) / full  # once per DRAM-loop tile
        return points

    def results(self, einsum: Einsum) -> sympy.Expr:
        """Return the output words an einsum writes once its reductions are complete.

        ``accesses`` of the output exceeds this when a reduced rank is split over time
        (spread over fewer PEs than its extent): each extra write is a partial sum that is
        read back before it is updated.
        """
        if self.filtered(einsum):
            return self._filtered_results(einsum)
        kept = [v for v in einsum.variables if v not in set(einsum.reduced_variables)]
        return sympy.Mul(*(self.extents.of_variable(v, tiled=False) for v in kept))

    def register_points(self, einsum: Einsum) -> sympy.Expr:
        """Return the iteration-space points an einsum is charged for (a filter's folds)."""
        if self.filtered(einsum):
            return self.charged_points(einsum)
        return sympy.Mul(*(self.extents.of_variable(v, tiled=False) for v in einsum.variables))

    def register_words(
        self, einsum: Einsum, stationary: str, held: sympy.Expr | None = None
    ) -> tuple[sympy.Expr, sympy.Expr]:
        """Return (reads, writes) of PE register-file words for one einsum.

        Every iteration-space point reads each distinct operand reference once and updates
        the output once; a reduction also reads its partial sum back (every point but the first
        of each result). A ``stationary`` operand (:func:`stationary_tensor`) is read once
        per fold by each PE of the fold instead (``held`` reads: folds x PEs used). An
        operand held in a level is filled into the registers of every PE that receives it
        (``accesses`` per PE), and so is one that crosses a link from another array; one
        produced in the registers of the same array is not.
        """
        points = self.register_points(einsum)
        operands = tuple(dict.fromkeys(einsum.operands))  # two generations: two words
        reads = points - self.results(einsum)
        for ref in operands:
            reads += held if held is not None and ref.tensor == stationary else points
        fills = sympy.Integer(0)
        for ref in operands:
            crossed = crossing_arrays(self.cascade, self.mapping, einsum.name, ref.tensor)
            if self.source(einsum.name, ref.tensor) != REGISTERS or crossed is not None:
                fills += self.accesses(einsum, ref, per_pe=True)
        return reads, points + fills

    def source(self, einsum: str, tensor: str) -> str:
        return read_source(self.mapping, einsum, tensor)

    def charge(self, level: str, tensor: str, kind: str, words: sympy.Expr) -> None:
        """Record words of one kind (``report.KINDS``) at one level for one tensor."""
        key = (level, tensor, kind)
        self.ledger[key] = self.ledger.get(key, sympy.Integer(0)) + words

    def region_dram(self, region: tuple[str, ...]) -> tuple[sympy.Expr, sympy.Expr]:
        """Return (DRAM words, of which writes) moved by one region; record the ledger.

        Operands read from DRAM, results written there and partial sums read back from it
        are DRAM words; so are fills of an on-chip copy and write-backs of results produced
        on chip, less the ``spill_fraction`` of the on-chip traffic, which goes to DRAM
        instead.
        """
        total = writes_total = sympy.Integer(0)
        spill = self.mapping.spill_fraction
        for tensor in self.cascade.tensors:
            name = tensor.name
            levels = self.mapping.levels_of(name)
            on_chip = [lv for lv in levels if lv != self.backing]
            backed = self.backing in levels
            zero = sympy.Integer(0)
            direct_reads = direct_writes = readbacks = zero
            fills = write_backs = chip_reads = chip_writes = zero
            read_here = False
            readers: list[Einsum] = []
            for einsum in self.cascade.einsums:
                if einsum.name not in region:
                    continue
                for ref in {r.tensor: r for r in einsum.operands}.values():
                    if ref.tensor != name:
                        continue
                    where = self.source(einsum.name, name)
                    count = self.accesses(einsum, ref)
                    if where == self.backing:
                        direct_reads += count
                    elif where != REGISTERS:
                        self.charge(where, name, "reads", count)
                        chip_reads += count
                        read_here = True
                        readers.append(einsum)
                if einsum.name == name:
                    count = self.accesses(einsum, einsum.output)
                    partial = count - self.results(einsum)
                    into = self.mapping.write_target(name) or (
                        on_chip[-1] if on_chip else self.backing if backed else None
                    )
                    if into == self.backing:
                        direct_writes += count
                        readbacks += partial
                    elif into is not None:
                        self.charge(into, name, "writes", count)
                        self.charge(into, name, "readbacks", partial)
                        chip_writes += count
                        if backed and self.filtered(einsum) and einsum.iterative_variable is None:
                            write_backs += self.results(einsum)  # absent points stay unwritten
                        elif backed:
                            write_backs += tensor_size(self.cascade, self.extents, name)
            produced = name in region
            if backed and on_chip and read_here and not produced:
                filtered = self.filtered_fills(name, readers)
                fills = (
                    tensor_size(self.cascade, self.extents, name)
                    * refetch_factor(self.cascade, self.mapping, self.extents, name)
                    if filtered is None
                    else filtered
                )
                self.charge(on_chip[-1], name, "fills", fills)
            reads, writes = direct_reads, direct_writes
            if on_chip:
                reads += fills * (1 - spill) + chip_reads * spill
                writes += write_backs * (1 - spill) + chip_writes * spill
            self.charge(self.backing, name, "reads", reads)
            self.charge(self.backing, name, "writes", writes)
            self.charge(self.backing, name, "readbacks", readbacks)
            words = reads + writes + readbacks
            self.by_tensor[name] = self.by_tensor.get(name, 0) + words
            total += words
            writes_total += writes
        return total, writes_total

    def level_words(self, kinds: tuple[str, ...]) -> dict[str, sympy.Expr]:
        """Return per level the words of the given kinds, summed over tensors."""
        out = {level.name: sympy.Integer(0) for level in self.spec.levels}
        for (level, _, kind), words in self.ledger.items():
            if kind in kinds and level in out:
                out[level] += words
        return out


@dataclass(frozen=True, slots=True)
class Crossing:
    """A tensor read from registers on another array than the one that produced it."""

    einsum: str  # the reader
    tensor: str
    source: str  # the producer's array
    target: str  # the reader's array


def read_source(mapping: Mapping, einsum: str, tensor: str) -> str:
    """Return where an einsum reads an operand: the mapping's explicit source, else the
    innermost level the tensor is placed in, else the PEs' registers."""
    explicit = mapping.read_source(einsum, tensor)
    if explicit is not None:
        return explicit
    levels = mapping.levels_of(tensor)
    return levels[-1] if levels else REGISTERS


def crossing_arrays(
    cascade: Cascade, mapping: Mapping, einsum: str, tensor: str
) -> tuple[str, str] | None:
    """Return (producer's array, reader's array) when ``einsum`` reads ``tensor`` from
    registers and another array produced it; None otherwise."""
    producer, reader = mapping.array_of(tensor), mapping.array_of(einsum)
    if producer is None or reader is None or producer == reader or tensor == einsum:
        return None
    if read_source(mapping, einsum, tensor) != REGISTERS:
        return None
    if tensor not in {t.name for t in cascade.tensors}:
        return None
    return producer, reader


def crossings(cascade: Cascade, mapping: Mapping) -> tuple[Crossing, ...]:
    """Return every operand a bound einsum reads from registers across arrays.

    Such a word moves from the producing array to the reading one with no storage level
    in between: over a link the spec declares, or not at all (:func:`check_binding`).
    """
    out = []
    for einsum in cascade.einsums:
        for tensor in dict.fromkeys(r.tensor for r in einsum.operands):
            arrays = crossing_arrays(cascade, mapping, einsum.name, tensor)
            if arrays is not None:
                out.append(Crossing(einsum.name, tensor, *arrays))
    return tuple(out)


def _check_crossings(check: Validator, cascade: Cascade, spec: ArchSpec, mapping: Mapping) -> None:
    """Refuse a tensor that crosses arrays with neither a placement nor a declared link."""
    for crossing in crossings(cascade, mapping):
        if spec.link(crossing.source, crossing.target) is not None:
            continue
        a, b, tensor = crossing.source, crossing.target, crossing.tensor
        check.error(
            211,
            f"einsum '{crossing.einsum}' on '{b}' reads '{tensor}' from registers, but "
            f"'{tensor}' is produced on '{a}' and spec '{spec.name}' declares no link "
            f"from '{a}' to '{b}': nothing would carry or charge its words",
            mapping.span_of(f"bind.{b}.{crossing.einsum}") or mapping.span_of("bind"),
            f"place '{tensor}' in a level (place: {{L3: [{tensor}]}}), or declare the link "
            f"in the spec (links: [{{from: {a}, to: {b}, energy_pj_per_word: ...}}])",
        )


def _check_output_can_stay(check: Validator, einsum: Einsum, mapping: Mapping) -> None:
    """Refuse an output held in the PEs while a variable it lacks is spread on an array."""
    array = dict(mapping.bind).get(einsum.name)
    if array is None:
        return
    kept = set(einsum.output.variables())
    for dim, variable in mapping.spatial_of(array, einsum.variables):
        if variable not in kept:
            check.error(
                205,
                f"einsum '{einsum.name}' sums '{variable}' across the {dim} of '{array}': "
                "its output moves between PEs and cannot stay in one",
                mapping.span_of(f"stationary.{einsum.name}"),
                "hold an operand that every spatial variable indexes, or drop the entry "
                "(the default holds one)",
            )
            return


def check_binding(cascade: Cascade, spec: ArchSpec, mapping: Mapping) -> None:
    """Raise a located MappingError for references to unknown einsums, arrays, levels,
    tensors or array dimensions, and for a staged schedule that misses a bound einsum."""
    check = Validator("M")
    einsums = tuple(e.name for e in cascade.einsums)
    arrays = tuple(a.name for a in spec.arrays)
    levels = (*(lv.name for lv in spec.levels), REGISTERS)
    for bound_einsum, array in mapping.bind:
        if array not in arrays:
            check.error(
                201,
                f"mapping binds einsum '{bound_einsum}' to array '{array}', which spec "
                f"'{spec.name}' does not have",
                mapping.span_of(f"bind.{array}"),
                suggest(array, arrays) or f"arrays: {', '.join(arrays)}",
            )
        if bound_einsum not in einsums:
            check.error(
                202,
                f"cascade '{cascade.name}' has no einsum '{bound_einsum}'",
                mapping.span_of(f"bind.{array}.{bound_einsum}"),
                suggest(bound_einsum, einsums),
            )
    for level, _ in mapping.place:
        if level not in levels:
            check.error(
                203,
                f"spec '{spec.name}' has no level '{level}'",
                mapping.span_of(f"place.{level}"),
                suggest(level, levels),
            )
    for name, tensor in mapping.stationary:
        if name not in einsums:
            check.error(
                205,
                f"cascade '{cascade.name}' has no einsum '{name}'",
                mapping.span_of(f"stationary.{name}"),
                suggest(name, einsums),
            )
            continue
        held = (name, *dict.fromkeys(r.tensor for r in cascade.einsum(name).operands))
        if tensor not in held:
            check.error(
                205,
                f"einsum '{name}' cannot hold '{tensor}' stationary: it reads or writes "
                f"{', '.join(held)}",
                mapping.span_of(f"stationary.{name}"),
                suggest(tensor, held),
            )
        elif tensor == name:
            _check_output_can_stay(check, cascade.einsum(name), mapping)
    _check_batch_ranks(check, cascade, mapping)
    _check_references(check, cascade, spec, mapping)
    if not check.diagnostics:
        _check_crossings(check, cascade, spec, mapping)
    counts = count_ops(cascade)
    bound = dict(mapping.bind)
    for einsum in cascade.einsums:
        if einsum.name not in bound and any(counts.get(einsum.name, {}).values()):
            check.error(
                204,
                f"einsum '{einsum.name}' does computation but is bound to no array",
                mapping.span_of("bind"),
            )
    check.raise_if_any(MappingError)


def check_batch_ranks(cascade: Cascade, mapping: Mapping) -> None:
    """Raise a located MappingError (M212) for a batch rank that is a rank of the cascade."""
    check = Validator("M")
    _check_batch_ranks(check, cascade, mapping)
    check.raise_if_any(MappingError)


def _check_batch_ranks(check: Validator, cascade: Cascade, mapping: Mapping) -> None:
    ranks = {str(r.name) for r in cascade.ranks}
    for rank in mapping.batch_ranks:
        if rank in ranks:
            check.error(
                212,
                f"batch rank '{rank}' is a rank of cascade '{cascade.name}': a batch rank "
                "repeats the whole cascade, so the cascade's own extent would be taken as "
                "the batch count",
                mapping.span_of("batch_ranks"),
                f"drop '{rank}' from batch_ranks",
            )


def _check_references(check: Validator, cascade: Cascade, spec: ArchSpec, mapping: Mapping) -> None:
    """Record errors for placed tensors, stage einsums and array dimensions that do not exist."""
    tensors = tuple(t.name for t in cascade.tensors)
    for level, placed in mapping.place:
        for tensor in placed:
            if tensor not in tensors:
                check.error(
                    210,
                    f"mapping places tensor '{tensor}' in {level}; cascade '{cascade.name}' "
                    "has no such tensor",
                    mapping.span_of(f"place.{level}"),
                    suggest(tensor, tensors),
                )
    _check_tile_rules(check, cascade, spec, mapping)
    _check_stages(check, cascade, mapping)
    arrays = {a.name: a for a in spec.arrays}
    references: list[tuple[str, str, str]] = [
        (array, dim, f"spatial.{array}") for array, pairs in mapping.spatial for dim, _ in pairs
    ]
    quantities: list[tuple[object, str]] = [(q, f"extents.{r}") for r, q in mapping.extents]
    for rule in mapping.tiles:
        quantities += [(rule.fixed, "tiles"), (rule.step, "tiles")]
    for group in mapping.schedule.groups:
        quantities += [(i.times, "schedule") for i in group if not isinstance(i, str)]
    references += [(q.array, q.dim, where) for q, where in quantities if isinstance(q, DimRef)]
    for array, dim, where in references:
        if array not in arrays:
            check.error(
                201,
                f"mapping names array '{array}', which spec '{spec.name}' does not have",
                mapping.span_of(where),
                suggest(array, arrays) or f"arrays: {', '.join(arrays)}",
            )
        elif dim not in arrays[array].dims:
            dims = arrays[array].dims
            check.error(
                207,
                f"array '{array}' of spec '{spec.name}' has no dimension '{dim}'",
                mapping.span_of(where),
                suggest(dim, dims) or f"dimensions: {', '.join(dims)}",
            )


def _check_tile_rules(check: Validator, cascade: Cascade, spec: ArchSpec, mapping: Mapping) -> None:
    """Record errors for fit tiles naming a level that is not there (or has no size) or a
    tensor the cascade lacks."""
    tensors = tuple(t.name for t in cascade.tensors)
    sized = tuple(lv.name for lv in spec.levels if lv.size_bytes is not None)
    for rule in mapping.tiles:
        tile_span = mapping.span_of(f"tiles.{rule.rank}")
        known = sized if rule.budget_bytes is None else tuple(lv.name for lv in spec.levels)
        if rule.fit_level is not None and rule.fit_level not in known:
            check.error(
                203,
                f"the tile of {rule.rank} fits level '{rule.fit_level}', which spec "
                f"'{spec.name}' lacks"
                + (" or gives no size (state budget_bytes)" if rule.budget_bytes is None else ""),
                tile_span,
                suggest(rule.fit_level, known) or f"levels: {', '.join(known)}",
            )
        for tensor in rule.tensors:
            if tensor not in tensors:
                check.error(
                    210,
                    f"the tile of {rule.rank} fits tensor '{tensor}'; cascade "
                    f"'{cascade.name}' has no such tensor",
                    tile_span,
                    suggest(tensor, tensors),
                )


def _check_stages(check: Validator, cascade: Cascade, mapping: Mapping) -> None:
    """Record errors for schedule stages naming unknown einsums, and for bound einsums that
    a staged schedule runs in no stage or in several."""
    einsums = tuple(e.name for e in cascade.einsums)
    staged: list[str] = []
    for group in mapping.schedule.groups:
        for item in group:
            name = item if isinstance(item, str) else item.einsum
            if name not in einsums:
                check.error(
                    206,
                    f"the schedule names einsum '{name}', which cascade '{cascade.name}' lacks",
                    mapping.span_of("schedule"),
                    suggest(name, einsums),
                )
            elif isinstance(item, str):
                staged.append(name)
    if mapping.schedule.groups and mapping.schedule.kind != "sequential":
        for einsum, _ in mapping.bind:
            if einsum in einsums and staged.count(einsum) != 1:
                times = "in no stage" if einsum not in staged else "in several stages"
                check.error(
                    208,
                    f"bound einsum '{einsum}' is {times} of the {mapping.schedule.kind} schedule",
                    mapping.span_of("schedule"),
                    "every bound einsum runs in exactly one stage",
                )
