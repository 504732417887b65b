"""Bindings and spatial spreads by branch and bound over the chain of einsums.

Each computing einsum has candidates (array, spatial assignment) with analytic compute
cycles and energy per row (a row is one workload point with one value of every partition
rank). The chain is searched best first: a partial structure (the first einsums placed)
has lower bounds on the latency and energy of every completion, and is expanded only
while some row's bound is not worse than that row's incumbent.

Pruning, each counted in the structures it removes:

* **illegal**: an array that cannot run the einsum; a spread that no mapping's
  per-array candidate lists can express together with the einsums already on the array;
* **dominated**: the swapped twin of a spread on two
  equal-sized dimensions (decided by the first einsum on the array); a partial structure
  with the same state as another (last array, and each array's einsums' variable sets
  with their spreads) whose array loads and energy bound are no lower at every row;
* **bounded**: a partial structure whose bound is worse than the incumbent at every row.

Bounds (valid for every completion, every tile, placement and loop order):

* compute: the busiest array's cycles, at least each remaining einsum's cheapest cycles,
  and at least the average over arrays of the loads plus the remaining cheapest cycles;
  used PEs are ``min(extent, dimension)`` at whole tiles, which no smaller tile exceeds.
  A pipelined schedule of ``T`` tiles runs ``(T - 1)`` intervals (each at least the
  busiest array's work per tile) plus one tile's critical path (at least the longest
  dependency path through the einsums every searched loop order runs once per tile),
  so it keeps ``L - max(L - path, 0) / T`` of a load ``L``, least at the fewest tiles
  (per loop order: the batch times the extents of the ranks it loops one index at a
  time). An option's cycles under a loop order are its analytic ones (present points; a
  spread over a rank the order loops one index at a time, such as ``M1`` or Agent's
  ``N``, uses one PE along it) until the engine has costed it under that order
  (:meth:`Chain.learn`): then the model's least over tiles (a filter's folds charge more
  than its present points). The bound is taken under each loop order with that order's
  cycles, and is the least over orders: a mapping runs all its einsums under one order;
* memory: inputs read and outputs written once;
* energy: compute energy, the compulsory traffic at the cheapest word energy, and each
  intermediate whose producer and a reader sit on different arrays written and read
  once at the cheapest level's word energies.

A node keeps its loads and bounds (arrays x orders x rows) until learning changes them; a
node's children are bounded together (once every looped einsum is placed, with the node's
critical path), and expressibility, states and crossings are memoized per array
configuration and binding prefix: the decisions are those of computing everything afresh
per node.
"""

from __future__ import annotations

import collections.abc
import heapq
import itertools
import math
from dataclasses import dataclass

import numpy as np

from einsum_cascade import einsum_order
from einsum_cascade.ir import Cascade, Einsum, TensorKind, TensorName
from einsum_cascade.symbols import rank_of_variable
from mappers.errors import MappingError
from mappers.hardware.spec import ArchSpec, op_cycles_and_energy
from mappers.search.candidates import Array
from mappers.search.space import (
    Assignment,
    Structure,
    candidate_list,
    computing_einsums,
    forwarding,
)

DIVE_AFTER = 1000  # best-first expansions without a structure before the search dives


@dataclass(frozen=True, slots=True)
class Option:
    """One einsum's candidate: its array, spread, compute cycles and energy per row."""

    array: str
    assignment: Assignment
    cycles: Array
    energy: Array
    per_order: Array  # orders x rows: the cycles under each loop order (see Chain)


@dataclass(slots=True)
class ChainCounts:
    """Structures (bindings x spreads) generated and how each was pruned or yielded."""

    generated: int = 0
    illegal: int = 0
    dominated: int = 0
    bounded: int = 0
    yielded: int = 0


@dataclass(slots=True)
class _Node:
    """A partial structure: its first ``depth`` options and what its bounds are made of.

    ``analytic`` (its loads, arrays x rows, then its energy) is what dominance compares;
    ``bound_loads``, ``bound`` (the compute bound), ``path`` (the critical path it takes;
    None unpipelined) and ``raised`` (the learned energy above the analytic) hold what was
    learned at ``version`` and ``energy_version``.
    """

    depth: int
    chosen: tuple[Option, ...]
    picks: tuple[int, ...]  # the chosen options' indices
    analytic: Array
    energy: Array  # the tail of ``analytic``
    bound_loads: Array
    bound: Array
    path: Array | None
    raised: Array
    version: int
    energy_version: int
    configs: tuple[int, ...]  # per array, the einsums and spreads on it (see Chain._grow)
    bind: int  # the arrays of the chosen options (see Chain._placed)


class _Frontier:
    """The analytic loads and energy (one row each) of the nodes kept in one state."""

    __slots__ = ("count", "rows")

    def __init__(self, width: int) -> None:
        self.rows = np.empty((2, width))
        self.count = 0

    def dominates(self, row: Array) -> bool:
        """Return whether a kept node is no higher than ``row`` everywhere."""
        return self.count > 0 and bool((self.rows[: self.count] <= row).all(axis=1).any())

    def add(self, row: Array) -> None:
        if self.count == len(self.rows):
            self.rows = np.concatenate((self.rows, np.empty_like(self.rows)))
        self.rows[self.count] = row
        self.count += 1


def _word_energy(spec: ArchSpec) -> tuple[float, float, float]:
    """Return the cheapest (read, write) word energy over all levels, and the backing's."""
    reads, writes = [], []
    for level in spec.levels:
        words = level.access_bits / (8 * spec.word_bytes)
        reads.append(level.read_energy_pj / words)
        writes.append(level.write_energy_pj / words)
    backing = spec.levels[0]
    words = backing.access_bits / (8 * spec.word_bytes)
    return min(reads), min(writes), min(backing.read_energy_pj, backing.write_energy_pj) / words


class Chain:
    """Best-first branch and bound over the chain of computing einsums."""

    def __init__(
        self,
        cascade: Cascade,
        spec: ArchSpec,
        ops: dict[str, dict[str, Array]],
        full: dict[str, Array],
        batch: Array,
        pipelined_tiles: Array | None,
        looped: frozenset[str] | None = None,
        order_extents: tuple[dict[str, Array], ...] = (),
    ) -> None:
        """Prepare every einsum's candidates.

        Args:
            cascade: the cascade.
            spec: the spec with its cost table applied.
            ops: per einsum, op counts per row (one batch entry).
            full: full extent of every rank per row.
            batch: the product of the batch ranks per row.
            pipelined_tiles: the fewest tiles a pipelined schedule runs per row (None: the
                schedule is not pipelined), or per searched loop order (orders x rows).
            looped: the einsums every searched loop order runs once per tile (their
                dependency paths bound a pipelined tile's critical path); None: none.
            order_extents: per searched loop order, the largest extent of a rank in one
                tile where it is less than the full extent (a rank the order loops one
                index at a time: 1); its options' cycles are bounded with it, and
                :meth:`learn` gives cycles under each order. Empty: one order, full extents.
        """
        self.cascade, self.spec, self.full, self.batch = cascade, spec, full, batch
        self.einsums = computing_einsums(cascade)
        self.variables = {str(e.name): e.variables for e in self.einsums}
        self.variable_key = {name: tuple(sorted(v)) for name, v in self.variables.items()}
        self.operand_tensors: dict[str, tuple[TensorName, ...]] = {
            str(e.name): tuple(dict.fromkeys(r.tensor for r in e.operands)) for e in self.einsums
        }
        self.lists: dict[tuple[tuple[str, str | None], ...], list[str] | None] = {}
        self.rows = batch.shape[0]
        self.order_extents = order_extents or ({},)
        self.orders = orders = len(self.order_extents)
        self.arrays = tuple(a.name for a in spec.arrays)
        self.tiles = pipelined_tiles
        self.counts = ChainCounts()
        self.options = self._candidates(ops)
        # per einsum, per loop order, the cycles the bounds use (options x orders x rows)
        self.bound_cycles = [
            np.array([o.per_order for o in opts], dtype=float).reshape(len(opts), orders, self.rows)
            for opts in self.options
        ]
        # per einsum, per loop order, the least cycles the bounds use of its options
        self.cheapest = [
            np.min(table, axis=0) if len(table) else np.zeros((orders, self.rows))
            for table in self.bound_cycles
        ]
        self.cheapest_energy = [
            np.min([o.energy for o in options], axis=0) if options else np.zeros(self.rows)
            for options in self.options
        ]
        read, write, backing = _word_energy(spec)
        self.level_word = read + write
        self.compulsory_words = self._compulsory_words()
        self.base_energy = self.compulsory_words * backing
        self.sizes = {t.name: self._size(t.name) for t in cascade.tensors}
        self.paths = self._path_edges(looped or frozenset())
        self.index = {str(e.name): i for i, e in enumerate(self.einsums)}
        # an option's cycles as the cost model counts them under each loop order (orders x
        # rows), least over every tile, once known (:meth:`learn`)
        self.learned: dict[tuple[int, str, Assignment], Array] = {}
        # an option's energy as the cost model charges it without placement, least over
        # every loop order and tile, once known (:meth:`learn_energy`)
        self.learned_energy: dict[tuple[int, str, Assignment], Array] = {}
        self.energy_raise: dict[int, Array] = {}  # by id of the option: learned - analytic
        self._node_tables()

    def _candidates(self, ops: dict[str, dict[str, Array]]) -> list[list[Option]]:
        """Return every computing einsum's kept options, counting the structures the pruned
        ones remove; M505 for an einsum no array can run."""
        spec = self.spec
        options: list[list[Option]] = []
        raw, pruned = [], []
        for einsum in self.einsums:
            kept, total, illegal, dominated = self._einsum_options(einsum, ops[einsum.name])
            if not any(
                all(op_cycles_and_energy(a, op) for op in ops[einsum.name]) for a in spec.arrays
            ):
                needed = ", ".join(sorted(ops[einsum.name]))
                raise MappingError.single(
                    "M505",
                    f"no array of spec '{spec.name}' runs every op einsum '{einsum.name}' "
                    f"needs ({needed})",
                    einsum.span,
                    "add the missing op to an array's ops (or a lower_to rule) in the spec",
                )
            options.append(kept)
            raw.append(total)
            pruned.append((illegal, dominated))
        kept_counts = [len(o) for o in options]
        self.below = [math.prod(kept_counts[k:]) for k in range(len(kept_counts) + 1)]
        self.counts.generated = math.prod(raw)
        for k, (illegal, dominated) in enumerate(pruned):
            # a leaf is counted at the first einsum whose choice is pruned
            others = math.prod(kept_counts[:k]) * math.prod(raw[k + 1 :])
            self.counts.illegal += illegal * others
            self.counts.dominated += dominated * others
        return options

    def _node_tables(self) -> None:
        """Set the tables and memos of the search's node work."""
        # the options of each einsum as tables (options x rows) for the search's node work:
        # their arrays (indices into ``arrays``), analytic cycles and energy, and the learned
        # energy raise (the cycles the bounds use are ``bound_cycles``)
        self.array_index = {name: i for i, name in enumerate(self.arrays)}
        self.option_arrays = [[self.array_index[o.array] for o in opts] for opts in self.options]
        self.option_cycles = [self._table([o.cycles for o in opts]) for opts in self.options]
        self.option_energy = [self._table([o.energy for o in opts]) for opts in self.options]
        # what an option adds to a node's analytic row (its cycles on its array's loads, its
        # energy) and to its bound loads (arrays x orders x rows): zeros elsewhere
        self.option_rows = [self._rows(d) for d in range(len(self.options))]
        self.bound_deltas = [self._deltas(d) for d in range(len(self.options))]
        self.raises = [np.zeros_like(table) for table in self.option_cycles]
        # the bounds' learned parts change only in learn and learn_energy: a node keeps what
        # it computed until then
        self.version = self.energy_version = 0
        self._cycle_suffixes()
        self._energy_suffixes()
        ends = {i for i, _ in self.paths} - {p for _, preds in self.paths for p in preds}
        self.path_ends = tuple(i for i, _ in self.paths if i in ends)
        # from this depth on, every looped einsum is placed: a node's children take its path
        self.path_placed = max((i + 1 for i, _ in self.paths), default=0)
        # memo tables of the search (see _grow and _placed)
        self.grown: dict[tuple[int, int, int], int] = {}
        self.configs: list[tuple[tuple[int, int], ...]] = [()]
        self.dim_states: list[tuple[_DimState, ...]] = [()]  # per configuration, per dimension
        self.parts: list[int] = [0]
        self.part_ids: dict[tuple[tuple[tuple[str, ...], Assignment], ...], int] = {(): 0}
        self.placed: dict[tuple[int, int], tuple[int, Array]] = {}
        self.canonical_first = [[self._canonical((), o) for o in opts] for opts in self.options]

    def _table(self, rows: list[Array]) -> Array:
        return np.array(rows, dtype=float).reshape(len(rows), self.rows)

    def _rows(self, depth: int) -> Array:
        arrays = len(self.arrays)
        rows = np.zeros((len(self.options[depth]), (arrays + 1) * self.rows))
        for k, a in enumerate(self.option_arrays[depth]):
            rows[k, a * self.rows : (a + 1) * self.rows] = self.option_cycles[depth][k]
            rows[k, arrays * self.rows :] = self.option_energy[depth][k]
        return rows

    def _deltas(self, depth: int) -> Array:
        table = self.bound_cycles[depth]
        deltas = np.zeros((len(table), len(self.arrays), self.orders, self.rows))
        deltas[np.arange(len(table)), self.option_arrays[depth]] = table
        return deltas

    def _cycle_suffixes(self) -> None:
        """Set, per depth, the largest and the sum of the remaining einsums' cheapest cycles."""
        zeros = np.zeros((self.orders, self.rows))
        ends = range(len(self.cheapest) + 1)
        self.largest = [np.max([*self.cheapest[d:], zeros], axis=0) for d in ends]
        self.remaining = [sum(self.cheapest[d:], zeros) for d in ends]

    def _energy_suffixes(self) -> None:
        """Set, per depth, the sum of the remaining einsums' cheapest energy."""
        zeros = np.zeros(self.rows)
        ends = range(len(self.cheapest_energy) + 1)
        self.remaining_energy = [sum(self.cheapest_energy[d:], zeros) for d in ends]

    def learn(
        self, einsum: str, array: str, assignment: Assignment, order: int, cycles: Array
    ) -> None:
        """Raise an option's cycles under one loop order (``order``: its index in
        ``order_extents``) to the model's least over every tile (``cycles``, per row).

        The bounds use them (a filtered einsum's model charges whole folds, more than its
        present points); dominance keeps comparing the analytic cycles of every node.
        """
        found = self._option(einsum, array, assignment)
        if found is None:
            return
        depth, k = found
        option = self.options[depth][k]
        learned = self.learned.get((depth, array, assignment), option.per_order).copy()
        learned[order] = np.maximum(learned[order], cycles)
        self.learned[depth, array, assignment] = learned
        table = self.bound_cycles[depth].copy()  # nodes may hold rows of the old table
        table[k] = learned
        self.bound_cycles[depth] = table
        self.bound_deltas[depth] = self._deltas(depth)
        self.cheapest[depth] = np.min(table, axis=0)
        self._cycle_suffixes()
        self.version += 1

    def learn_energy(self, einsum: str, array: str, assignment: Assignment, energy: Array) -> None:
        """Raise an option's energy to the model's placement-free part of it (the ops at the
        points its filter charges, and the register reads), least over orders and tiles.

        Only the bounds use it; dominance keeps comparing the analytic energy of every node.
        """
        found = self._option(einsum, array, assignment)
        if found is None:
            return
        depth, k = found
        option = self.options[depth][k]
        key = (depth, array, assignment)
        self.learned_energy[key] = np.maximum(option.energy, energy)
        self.energy_raise[id(option)] = self.learned_energy[key] - option.energy
        table = self.raises[depth].copy()
        table[k] = self.energy_raise[id(option)]
        self.raises[depth] = table
        self.cheapest_energy[depth] = np.min(
            [self.energy_of(depth, o) for o in self.options[depth]], axis=0
        )
        self._energy_suffixes()
        self.energy_version += 1

    def _option(self, einsum: str, array: str, assignment: Assignment) -> tuple[int, int] | None:
        """Return (depth, index) of an einsum's choice of array and spread, if kept."""
        depth = self.index.get(einsum)
        if depth is None:
            return None
        for k, option in enumerate(self.options[depth]):
            if option.array == array and option.assignment == assignment:
                return depth, k
        return None

    def energy_of(self, depth: int, option: Option) -> Array:
        """Return the energy the bounds use for an option of the einsum at ``depth``."""
        return self.learned_energy.get((depth, option.array, option.assignment), option.energy)

    def cycles_of(self, depth: int, option: Option) -> Array:
        """Return the cycles (orders x rows) the bounds use for an option of the einsum at
        ``depth``."""
        return self.learned.get((depth, option.array, option.assignment), option.per_order)

    def _bound_loads(self, chosen: tuple[Option, ...]) -> Array:
        """Return the cycles the bounds use per array (arrays x orders x rows) of chosen
        options."""
        loads = np.zeros((len(self.arrays), self.orders, self.rows))
        for depth, option in enumerate(chosen):
            a = self.array_index[option.array]
            loads[a] = loads[a] + self.cycles_of(depth, option)
        return loads

    def _path_edges(self, looped: frozenset[str]) -> tuple[tuple[int, tuple[int, ...]], ...]:
        """Return, in the cost model's pipeline order, each looped einsum's looped
        predecessors (indices into the computing einsums): the edges of the critical
        paths the pipelined schedule takes the longest of."""
        index = {str(e.name): i for i, e in enumerate(self.einsums)}
        done: set[str] = set()
        out = []
        for einsum in einsum_order(self.cascade):
            name = str(einsum.name)
            if name in looped:
                preds = tuple(index[t] for t in self.operand_tensors[name] if t in done)
                out.append((index[name], preds))
                done.add(name)
        return tuple(out)

    def _longest_path(self, cycles: collections.abc.Sequence[Array]) -> Array:
        """Return a lower bound of the longest dependency path through looped einsums, each
        at ``cycles[i]`` (orders x rows, or structures x orders x rows): placed einsums at
        their cycles, the others at their cheapest. Cycles are not negative, so a path is
        longest at an end."""
        path: dict[int, Array] = {}
        for i, preds in self.paths:
            if preds:
                before = path[preds[0]]
                for p in preds[1:]:
                    before = np.maximum(before, path[p])
                path[i] = cycles[i] + before
            else:
                path[i] = cycles[i]
        if not path:
            return np.zeros((self.orders, self.rows))
        longest = path[self.path_ends[0]]
        for i in self.path_ends[1:]:
            longest = np.maximum(longest, path[i])
        return longest

    # ------------------------------------------------------------------ candidates

    def _size(self, tensor: str) -> Array:
        words = np.ones(self.rows)
        for rank in self.cascade.tensor(tensor).ranks:
            words = words * self.full[rank]
        return words * self.batch

    def _compulsory_words(self) -> Array:
        total = np.zeros(self.rows)
        for tensor in self.cascade.tensors:
            if tensor.kind is not TensorKind.INTERMEDIATE:
                total = total + self._size(tensor.name)
        return total

    def _einsum_options(
        self, einsum: Einsum, ops: dict[str, Array]
    ) -> tuple[list[Option], int, int, int]:
        """Return (kept options, raw count, incapable count, dominated count) of one einsum."""
        kept: list[Option] = []
        total = illegal = dominated = 0
        for array in self.spec.arrays:
            spreads = _spreads(einsum.variables, len(array.dims))
            total += len(spreads)
            costs = [op_cycles_and_energy(array, op) for op in ops]
            if any(c is None for c in costs):
                illegal += len(spreads)
                continue
            busy = np.zeros(self.rows)
            energy = np.zeros(self.rows)
            for count, cost in zip(ops.values(), costs, strict=True):
                assert cost is not None
                busy = busy + count * cost[0]
                energy = energy + count * cost[1] * self.batch
            here: list[Option] = []
            for variables in spreads:
                if einsum.iterative_variable is not None and einsum.iterative_variable in variables:
                    illegal += 1  # a loop-carried rank runs in time, not across PEs
                    continue
                used = np.ones(self.rows)
                per_order = np.ones((self.orders, self.rows))
                for dim, variable in zip(array.dims, variables, strict=True):
                    if variable is None:
                        continue
                    rank = rank_of_variable(variable)
                    used = used * np.minimum(self.full[rank], array.dim_size(dim))
                    for o, extents in enumerate(self.order_extents):
                        tile = extents.get(rank, self.full[rank])
                        per_order[o] = per_order[o] * np.minimum(tile, array.dim_size(dim))
                assignment = tuple(
                    (d, v) for d, v in zip(array.dims, variables, strict=True) if v is not None
                )
                work = busy * self.batch
                here.append(Option(array.name, assignment, work / used, energy, work / per_order))
            # a slower spread is kept (after the faster ones): it may be the only one the
            # mapping's candidate lists can express beside the other einsums' spreads
            here.sort(key=lambda o: float(np.mean(o.cycles)))
            kept.extend(here)
        return kept, total, illegal, dominated

    # ------------------------------------------------------------------ bounds

    def compute_bound(self, loads: Array, depth: int, chosen: tuple[Option, ...] = ()) -> Array:
        """Return a lower bound of compute cycles of every completion of a partial structure
        (``chosen``: its first ``depth`` options; ``loads``: :meth:`_bound_loads` of them)."""
        return self._bound(loads, depth, self._path(chosen))

    def _path(self, chosen: tuple[Option, ...]) -> Array | None:
        """Return the critical path's bound (:meth:`_longest_path`) of a partial structure
        (None unpipelined)."""
        if self.tiles is None:
            return None
        cycles = [self.cycles_of(i, o) for i, o in enumerate(chosen)]
        return self._longest_path([*cycles, *self.cheapest[len(chosen) :]])

    def _bound(self, loads: Array, depth: int, path: Array | None) -> Array:
        """Return :meth:`compute_bound` of loads (arrays x orders x rows, or structures x
        arrays x orders x rows) at ``depth`` with a critical path's bound (orders x rows, or
        structures x orders x rows; None unpipelined): the least over loop orders."""
        busiest = loads.max(axis=-3)  # loads are not negative
        total = loads[..., 0, :, :]
        for a in range(1, len(self.arrays)):
            total = total + loads[..., a, :, :]
        spread = (total + self.remaining[depth]) / len(self.arrays)
        bound = np.maximum(np.maximum(busiest, self.largest[depth]), spread)
        if path is not None and self.tiles is not None:
            # (T - 1) intervals of at least bound / T, plus one critical path
            slack = np.maximum(bound - path, 0.0)
            bound = bound - slack / self.tiles
        return np.asarray(bound.min(axis=-2))

    def energy_bound(self, energy: Array, depth: int, chosen: tuple[Option, ...] = ()) -> Array:
        """Return a lower bound of energy of every completion of a partial structure:
        ``energy`` (its analytic energy) raised by what was learned of its ``chosen``
        options, plus the remaining einsums' cheapest."""
        return np.asarray(energy + self._raised(chosen) + self.remaining_energy[depth])

    def _raised(self, chosen: tuple[Option, ...]) -> Array:
        raised = self.energy_raise
        return sum((raised[id(o)] for o in chosen if id(o) in raised), np.zeros(self.rows))

    def _crossing(self, einsum: Einsum, array: str, chosen: tuple[Option, ...]) -> Array:
        """Return the energy bound of operands that einsum, on ``array``, reads from another
        array."""
        placed = {e.name: o.array for e, o in zip(self.einsums, chosen, strict=False)}
        extra = np.zeros(self.rows)
        for tensor in self.operand_tensors[einsum.name]:
            if tensor == einsum.name or tensor not in placed or placed[tensor] == array:
                continue
            earlier = [
                e
                for e in self.einsums[: len(chosen)]
                if tensor in self.operand_tensors[e.name] and placed[e.name] != placed[tensor]
            ]
            if not earlier:  # the first reader across arrays pays for the tensor once
                link = self.spec.link(placed[tensor], array)
                word = self.level_word
                if link is not None:  # or crosses a declared link, if that is cheaper
                    word = np.minimum(word, link.energy_pj_per_word)
                extra = extra + self.sizes[tensor] * word
        return extra

    # ------------------------------------------------------------------ search

    def _canonical(self, chosen: tuple[Option, ...], option: Option) -> bool:
        if any(o.array == option.array for o in chosen):
            return True
        array = self.spec.array(option.array)
        spread = dict(option.assignment)
        for i, j in itertools.combinations(range(len(array.dims)), 2):
            if array.shape[i] != array.shape[j]:
                continue
            first, second = spread.get(array.dims[i]), spread.get(array.dims[j])
            if first is None and second is not None:
                return False  # the twin spreads the first of the equal dimensions
            if first is not None and second is not None and second < first:
                return False
        return True

    def _grow(self, config: int, depth: int, k: int) -> int:
        """Return the configuration of an array holding ``config`` (einsums and spreads on
        it, in chain order; 0: none) and option ``k`` of the einsum at ``depth``; -1 when no
        mapping's candidate lists can express it. A configuration's state part (its
        einsums' variable sets with their spreads, sorted) is ``parts[id]``."""
        key = (config, depth, k)
        grown = self.grown.get(key)
        if grown is None:
            held = (*self.configs[config], (depth, k))
            option = self.options[depth][k]
            dims = self.spec.array(option.array).dims
            before = self.dim_states[config] if config else (_DimState(),) * len(dims)
            spread = dict(option.assignment)
            variables = frozenset(self.variables[self.einsums[depth].name])
            states = tuple(
                _grown(b, spread.get(dim), variables) for b, dim in zip(before, dims, strict=True)
            )
            if all(state is not None for state in states):
                on_array = [(self.einsums[d], self.options[d][j]) for d, j in held]
                grown = len(self.configs)
                self.configs.append(held)
                self.dim_states.append(tuple(s for s in states if s is not None))
                part = tuple(sorted((self.variable_key[e.name], o.assignment) for e, o in on_array))
                self.parts.append(self.part_ids.setdefault(part, len(self.part_ids)))
            else:
                grown = -1
            self.grown[key] = grown
        return grown

    def _placed(self, node: _Node, array: int) -> tuple[int, Array]:
        """Return the binding of a child of ``node`` that puts the next einsum on ``array``
        (the arrays of its options; 0: none), and that einsum's :meth:`_crossing` energy."""
        key = (node.bind, array)
        found = self.placed.get(key)
        if found is None:
            einsum = self.einsums[node.depth]
            crossing = self._crossing(einsum, self.arrays[array], node.chosen)
            found = self.placed[key] = (len(self.placed) + 1, crossing)
        return found

    def _refresh(self, node: _Node) -> None:
        """Recompute a node's learned bound parts if learning changed them since."""
        if node.version != self.version:
            node.bound_loads = self._bound_loads(node.chosen)
            node.path = self._path(node.chosen)
            node.bound = self._bound(node.bound_loads, node.depth, node.path)
            node.version = self.version
        if node.energy_version != self.energy_version:
            node.raised = self._raised(node.chosen)
            node.energy_version = self.energy_version

    def structures(
        self,
        incumbent: collections.abc.Callable[[], tuple[Array, Array]],
        worse: collections.abc.Callable[[Array, Array, Array, Array], Array],
        memory_bound: collections.abc.Callable[[Array], Array],
        stop: collections.abc.Callable[[], bool],
    ) -> collections.abc.Iterator[tuple[Structure, Array, Array]]:
        """Yield complete structures best first, with their latency and energy bounds.

        After :data:`DIVE_AFTER` expansions without yielding a structure, the search dives:
        it expands the best child of the node it just expanded (the others wait in the
        queue), so the next complete structure comes after one more node per einsum rather
        than after every node whose bound is lower (a long chain such as Flowformer's or
        Agent's has millions of those). The first gives an incumbent; each later one is
        costed, and its options' cycles, learned from the model, tighten the bounds of
        every node that holds them.

        Args:
            incumbent: returns the (latency, energy) per row a bound must beat.
            worse: (latency bound, energy bound, incumbent latency, incumbent energy) ->
                per row, whether the bound is already worse.
            memory_bound: compute cycles per row -> latency bound per row in seconds.
            stop: returns True when the search must stop (the budget is spent).
        """
        zeros = np.zeros(self.rows)
        analytic = np.zeros((len(self.arrays) + 1) * self.rows)
        bound_loads = np.zeros((len(self.arrays), self.orders, self.rows))
        path = self._path(())
        bound = self._bound(bound_loads, 0, path)
        configs, versions = (0,) * len(self.arrays), (self.version, self.energy_version)
        energy = analytic[len(self.arrays) * self.rows :]
        root = _Node(
            0, (), (), analytic, energy, bound_loads, bound, path, zeros, *versions, configs, 0
        )
        serial = itertools.count()
        heap: list[tuple[float, int, _Node]] = [(0.0, next(serial), root)]
        seen: dict[tuple[object, ...], _Frontier] = {}
        scale = np.maximum(bound, 1e-30)
        dive: _Node | None = None
        expanded = 0
        while heap or dive is not None:
            if stop():
                return
            node = dive if dive is not None else heapq.heappop(heap)[2]
            dive = None
            self._refresh(node)
            latency = memory_bound(node.bound)
            energy = node.energy + node.raised + self.remaining_energy[node.depth]
            energy = energy + self.base_energy
            best_latency, best_energy = incumbent()
            if worse(latency, energy, best_latency, best_energy).all():
                self.counts.bounded += self.below[node.depth]
                continue
            if node.depth == len(self.einsums):
                self.counts.yielded += 1
                expanded = 0
                yield self._structure(node.chosen), latency, energy
                continue
            children = self._children(node, seen, scale, serial)
            expanded += 1
            if children and expanded > DIVE_AFTER:
                first = min(children)
                children.remove(first)
                dive = first[2]
            for child in children:
                heapq.heappush(heap, child)

    def _children(
        self,
        node: _Node,
        seen: dict[tuple[object, ...], _Frontier],
        scale: Array,
        serial: collections.abc.Iterator[int],
    ) -> list[tuple[float, int, _Node]]:
        """Return a node's children that are canonical, expressible and not dominated, with
        their priorities (the least compute bound over rows, relative to the root's)."""
        depth, options = node.depth, self.options[node.depth]
        below = self.below[depth + 1]
        first, where = self.canonical_first[depth], self.option_arrays[depth]
        parts = self.parts
        kept: list[tuple[int, int, tuple[int, ...]]] = []
        for k in range(len(options)):
            a = where[k]
            if node.configs[a] == 0 and not first[k]:
                self.counts.dominated += below
                continue
            grown = self._grow(node.configs[a], depth, k)
            if grown < 0:
                self.counts.illegal += below
                continue
            kept.append((k, a, (*node.configs[:a], grown, *node.configs[a + 1 :])))
        if not kept:
            return []
        picks = [k for k, _, _ in kept]
        placed = [self._placed(node, a) for _, a, _ in kept]
        analytic = node.analytic + self.option_rows[depth][picks]
        tail = len(self.arrays) * self.rows
        analytic[:, tail:] += np.array([c for _, c in placed])  # (energy + option) + crossing
        survivors = []
        for s, (_, a, configs) in enumerate(kept):
            state = (depth + 1, a, tuple([parts[c] for c in configs]))
            frontier = seen.get(state)
            if frontier is None:
                frontier = seen[state] = _Frontier(analytic.shape[1])
            if frontier.dominates(analytic[s]):
                self.counts.dominated += below
                continue
            frontier.add(analytic[s])
            survivors.append(s)
        if not survivors:
            return []
        chosen = [picks[s] for s in survivors]
        bound_loads = node.bound_loads + self.bound_deltas[depth][chosen]
        path = node.path  # every looped einsum placed: the children's path is the node's
        if self.tiles is not None and depth < self.path_placed:
            cycles = [self.bound_cycles[d][j] for d, j in enumerate(node.picks)]
            cycles += [self.bound_cycles[depth][chosen], *self.cheapest[depth + 1 :]]
            path = self._longest_path(cycles)
        bounds = self._bound(bound_loads, depth + 1, path)
        priorities = (bounds / scale).min(axis=1)
        raised = node.raised + self.raises[depth][chosen]
        out = []
        for j, s in enumerate(survivors):
            k, _, configs = kept[s]
            child = _Node(
                depth + 1,
                (*node.chosen, options[k]),
                (*node.picks, k),
                analytic[s],
                analytic[s, tail:],
                bound_loads[j],
                bounds[j],
                path if path is None or path.ndim == 2 else path[j],
                raised[j],
                self.version,
                self.energy_version,
                configs,
                placed[s][0],
            )
            out.append((float(priorities[j]) - 1e-12 * depth, next(serial), child))
        return out

    def _dimension_list(self, on_array: list[tuple[Einsum, Option]], dim: str) -> list[str] | None:
        """Return :func:`_dimension_list`, memoized by the einsums' spreads on ``dim``."""
        key = tuple((str(e.name), dict(o.assignment).get(dim)) for e, o in on_array)
        if key not in self.lists:
            self.lists[key] = _dimension_list(on_array, dim, self.variables)
        return self.lists[key]

    def _structure(self, chosen: tuple[Option, ...]) -> Structure:
        bind = tuple((e.name, o.array) for e, o in zip(self.einsums, chosen, strict=True))
        assignment = {e.name: o.assignment for e, o in zip(self.einsums, chosen, strict=True)}
        spatial = []
        for array in self.spec.arrays:
            einsums = [
                e for e, o in zip(self.einsums, chosen, strict=True) if o.array == array.name
            ]
            if not einsums:
                continue
            pairs: list[tuple[str, str]] = []
            placed = [
                (e, o) for e, o in zip(self.einsums, chosen, strict=True) if o.array == array.name
            ]
            for dim in array.dims:
                listed = self._dimension_list(placed, dim)
                assert listed is not None, "yielded structures are expressible"
                pairs.extend((dim, v) for v in listed)
            spatial.append((array.name, tuple(pairs)))
        ordered = tuple(
            (e.name, assignment[e.name]) for e in self.cascade.einsums if e.name in assignment
        )
        return Structure(bind, ordered, tuple(spatial), forwarding(self.cascade, dict(bind)))


def _spreads(variables: tuple[str, ...], dims: int) -> list[tuple[str | None, ...]]:
    """Return every way to put distinct variables (or none) on an array's dimensions."""
    out: list[tuple[str | None, ...]] = []
    for used in range(dims, -1, -1):
        for positions in itertools.combinations(range(dims), used):
            for chosen in itertools.permutations(variables, used):
                row: list[str | None] = [None] * dims
                for position, variable in zip(positions, chosen, strict=True):
                    row[position] = variable
                out.append(tuple(row))
    return out


@dataclass(frozen=True, slots=True)
class _DimState:
    """What decides whether one array dimension's candidate list can give each einsum on
    the array its spread (:func:`_dimension_list`): the variables spread on it, the
    variables of the einsums spreading none on it, and per spreading einsum its variable
    and its variables."""

    spread: frozenset[str] = frozenset()
    unspread: frozenset[str] = frozenset()
    spreaders: tuple[tuple[str, frozenset[str]], ...] = ()


def _grown(state: _DimState, variable: str | None, variables: frozenset[str]) -> _DimState | None:
    """Return a dimension's state with one more einsum (``variables``) spreading
    ``variable`` (or none) on it; None when no candidate list expresses them all.

    A list exists when no einsum spreading none iterates over a spread variable and the
    constraints "an einsum's variable precedes the other spread variables it iterates
    over" have no cycle (then :func:`candidate_list` sorts them).
    """
    if variable is None:
        if state.spread & variables:
            return None
        return _DimState(state.spread, state.unspread | variables, state.spreaders)
    if variable in state.unspread:
        return None
    spread = state.spread | {variable}
    spreaders = (*state.spreaders, (variable, variables))
    after = {v: {o for c, vs in spreaders if c == v for o in vs & spread} - {v} for v in spread}
    while after:  # peel variables that precede none left: all are peeled iff no cycle
        last = [v for v, later in after.items() if not later]
        if not last:
            return None
        for v in last:
            del after[v]
        for later in after.values():
            later.difference_update(last)
    return _DimState(spread, state.unspread, spreaders)


def _dimension_list(
    on_array: list[tuple[Einsum, Option]], dim: str, variables: dict[str, tuple[str, ...]]
) -> list[str] | None:
    """Return the candidate list of one array dimension giving each einsum its spread.

    An einsum takes the first listed variable it iterates over; one that spreads nothing
    on the dimension must iterate over none of the listed variables. None if impossible.
    """
    spread = {str(e.name): dict(o.assignment).get(dim) for e, o in on_array}
    choices = {name: v for name, v in spread.items() if v is not None}
    listed = candidate_list(choices, variables) if choices else []
    if choices and not listed:
        return None
    for name, variable in spread.items():
        if variable is None and any(v in variables[name] for v in listed):
            return None
    return listed


__all__ = ["Chain", "ChainCounts", "Option"]
