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
  so it keeps ``L - max(L - path, 0) / T`` of a load ``L``, least at the fewest tiles.
  An option's cycles are its analytic ones (present points) until the engine has costed
  it under every loop order (:meth:`Chain.learn`): then the model's least over every
  loop order and tile (a filter's folds charge more than its present points);
* memory: inputs read and outputs written once;
* energy: compute energy, the compulsory traffic at the cheapest word energy, and each
  intermediate whose producer and a reader sit on different arrays written and read
  once at the cheapest level's word energies.
"""

from __future__ import annotations

import collections.abc
import heapq
import itertools
import math
from dataclasses import dataclass, field

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


@dataclass(slots=True)
class ChainCounts:
    """Structures (bindings x spreads) generated and how each was pruned or yielded."""

    generated: int = 0
    illegal: int = 0
    dominated: int = 0
    bounded: int = 0
    yielded: int = 0


@dataclass(order=True, slots=True)
class _Node:
    priority: float
    serial: int
    depth: int = field(compare=False)
    chosen: tuple[Option, ...] = field(compare=False)
    loads: dict[str, Array] = field(compare=False)
    energy: Array = field(compare=False)


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
    ) -> None:
        """Prepare every einsum's candidates.

        Args:
            cascade: the cascade.
            spec: the spec with its cost table applied.
            ops: per einsum, op counts per row (one batch entry).
            full: full extent of every rank per row.
            batch: the product of the batch ranks per row.
            pipelined_tiles: the fewest tiles a pipelined schedule runs per row (None: the
                schedule is not pipelined).
            looped: the einsums every searched loop order runs once per tile (their
                dependency paths bound a pipelined tile's critical path); None: none.
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
        self.arrays = tuple(a.name for a in spec.arrays)
        self.tiles = pipelined_tiles
        self.counts = ChainCounts()
        self.options: list[list[Option]] = []
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
            self.options.append(kept)
            raw.append(total)
            pruned.append((illegal, dominated))
        kept_counts = [len(o) for o in self.options]
        self.below = [math.prod(kept_counts[k:]) for k in range(len(kept_counts) + 1)]
        self.counts.generated = math.prod(raw)
        for k, (illegal, dominated) in enumerate(pruned):
            # a leaf is counted at the first einsum whose choice is pruned
            others = math.prod(kept_counts[:k]) * math.prod(raw[k + 1 :])
            self.counts.illegal += illegal * others
            self.counts.dominated += dominated * others
        self.cheapest = [
            np.min([o.cycles for o in options], axis=0) if options else np.zeros(self.rows)
            for options in self.options
        ]
        self.cheapest_energy = [
            np.min([o.energy for o in options], axis=0) if options else np.zeros(self.rows)
            for options in self.options
        ]
        read, write, backing = _word_energy(spec)
        self.level_word = read + write
        self.compulsory_words = self._compulsory_words()
        self.base_energy = self.compulsory_words * backing
        self.producer = {e.name: e for e in self.einsums}
        self.sizes = {t.name: self._size(t.name) for t in cascade.tensors}
        self.paths = self._path_edges(looped or frozenset())
        self.index = {str(e.name): i for i, e in enumerate(self.einsums)}
        # an option's cycles as the cost model counts them, least over every loop order and
        # tile, once known (:meth:`learn`); the analytic cycles until then
        self.learned: dict[tuple[int, str, Assignment], Array] = {}
        # an option's energy as the cost model charges it without placement, least over
        # every loop order and tile, once known (:meth:`learn_energy`)
        self.learned_energy: dict[tuple[int, str, Assignment], Array] = {}
        self.energy_raise: dict[int, Array] = {}  # by id of the option: learned - analytic

    def learn(self, einsum: str, array: str, assignment: Assignment, cycles: Array) -> None:
        """Raise an option's cycles to the model's, least over every loop order and tile.

        The bounds use them (a filtered einsum's model charges whole folds, more than its
        present points); dominance keeps comparing the analytic cycles of every node.
        """
        found = self._option(einsum, array, assignment)
        if found is None:
            return
        depth, option = found
        self.learned[depth, array, assignment] = np.maximum(option.cycles, cycles)
        self.cheapest[depth] = np.min(
            [self.cycles_of(depth, o) for o in self.options[depth]], axis=0
        )

    def learn_energy(self, einsum: str, array: str, assignment: Assignment, energy: Array) -> None:
        """Raise an option's energy to the model's placement-free part of it (the ops at the
        points its filter charges, and the register reads), least over orders and tiles.

        Only the bounds use it; dominance keeps comparing the analytic energy of every node.
        """
        found = self._option(einsum, array, assignment)
        if found is None:
            return
        depth, option = found
        key = (depth, array, assignment)
        self.learned_energy[key] = np.maximum(option.energy, energy)
        self.energy_raise[id(option)] = self.learned_energy[key] - option.energy
        self.cheapest_energy[depth] = np.min(
            [self.energy_of(depth, o) for o in self.options[depth]], axis=0
        )

    def _option(self, einsum: str, array: str, assignment: Assignment) -> tuple[int, Option] | None:
        """Return (depth, option) of an einsum's choice of array and spread, if kept."""
        depth = self.index.get(einsum)
        if depth is None:
            return None
        for option in self.options[depth]:
            if option.array == array and option.assignment == assignment:
                return depth, option
        return None

    def energy_of(self, depth: int, option: Option) -> Array:
        """Return the energy the bounds use for an option of the einsum at ``depth``."""
        return self.learned_energy.get((depth, option.array, option.assignment), option.energy)

    def cycles_of(self, depth: int, option: Option) -> Array:
        """Return the cycles the bounds use for an option of the einsum at ``depth``."""
        return self.learned.get((depth, option.array, option.assignment), option.cycles)

    def _bound_loads(self, chosen: tuple[Option, ...]) -> dict[str, Array]:
        loads = {a: np.zeros(self.rows) for a in self.arrays}
        for depth, option in enumerate(chosen):
            loads[option.array] = loads[option.array] + self.cycles_of(depth, option)
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

    def _longest_path(self, chosen: tuple[Option, ...]) -> Array:
        """Return a lower bound of the longest dependency path through looped einsums:
        placed einsums at their cycles, the others at their cheapest."""
        path: dict[int, Array] = {}
        for i, preds in self.paths:
            cycles = self.cycles_of(i, chosen[i]) if i < len(chosen) else self.cheapest[i]
            before = [path[p] for p in preds]
            path[i] = cycles + np.maximum.reduce(before) if before else cycles
        if not path:
            return np.zeros(self.rows)
        return np.asarray(np.maximum.reduce(list(path.values())))

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
                for dim, variable in zip(array.dims, variables, strict=True):
                    if variable is None:
                        continue
                    extent = self.full[rank_of_variable(variable)]
                    used = used * np.minimum(extent, array.dim_size(dim))
                assignment = tuple(
                    (d, v) for d, v in zip(array.dims, variables, strict=True) if v is not None
                )
                here.append(Option(array.name, assignment, busy * self.batch / used, energy))
            # a slower spread is kept (after the faster ones): it may be the only one the
            # mapping's candidate lists can express beside the other einsums' spreads
            here.sort(key=lambda o: float(np.mean(o.cycles)))
            kept.extend(here)
        return kept, total, illegal, dominated

    # ------------------------------------------------------------------ bounds

    def compute_bound(
        self, loads: dict[str, Array], depth: int, chosen: tuple[Option, ...] = ()
    ) -> Array:
        """Return a lower bound of compute cycles of every completion of a partial structure
        (``chosen``: its first ``depth`` options)."""
        busiest = np.max([*loads.values(), np.zeros(self.rows)], axis=0)
        remaining = self.cheapest[depth:]
        largest = np.max([*remaining, np.zeros(self.rows)], axis=0)
        spread = (
            sum(loads.values(), np.zeros(self.rows)) + sum(remaining, np.zeros(self.rows))
        ) / len(self.arrays)
        bound = np.maximum(np.maximum(busiest, largest), spread)
        if self.tiles is not None:
            # (T - 1) intervals of at least bound / T, plus one critical path
            slack = np.maximum(bound - self._longest_path(chosen), 0.0)
            bound = bound - slack / self.tiles
        return np.asarray(bound)

    def energy_bound(self, energy: Array, depth: int, chosen: tuple[Option, ...] = ()) -> Array:
        """Return a lower bound of energy of every completion of a partial structure:
        ``energy`` (its analytic energy) raised by what was learned of its ``chosen``
        options, plus the remaining einsums' cheapest."""
        raised = self.energy_raise
        learned = sum((raised[id(o)] for o in chosen if id(o) in raised), np.zeros(self.rows))
        remaining = sum(self.cheapest_energy[depth:], np.zeros(self.rows))
        return np.asarray(energy + learned + remaining)

    def _crossing(self, einsum: Einsum, option: Option, chosen: tuple[Option, ...]) -> Array:
        """Return the energy bound of operands that einsum reads from another array."""
        placed = {e.name: o.array for e, o in zip(self.einsums, chosen, strict=False)}
        extra = np.zeros(self.rows)
        for tensor in self.operand_tensors[einsum.name]:
            if tensor == einsum.name or tensor not in placed or placed[tensor] == option.array:
                continue
            earlier = [
                e
                for e in self.einsums[: len(chosen)]
                if tensor in self.operand_tensors[e.name] and placed[e.name] != placed[tensor]
            ]
            if not earlier:  # the first reader across arrays pays for the tensor once
                link = self.spec.link(placed[tensor], option.array)
                word = self.level_word
                if link is not None:  # or crosses a declared link, if that is cheaper
                    word = np.minimum(word, link.energy_pj_per_word)
                extra = extra + self.sizes[tensor] * word
        return extra

    # ------------------------------------------------------------------ search

    def _state(self, chosen: tuple[Option, ...]) -> tuple[object, ...]:
        per_array: dict[str, list[tuple[tuple[str, ...], Assignment]]] = {}
        for einsum, option in zip(self.einsums, chosen, strict=False):
            per_array.setdefault(option.array, []).append(
                (self.variable_key[einsum.name], option.assignment)
            )
        return (
            len(chosen),
            chosen[-1].array if chosen else None,
            tuple(sorted((a, tuple(sorted(v))) for a, v in per_array.items())),
        )

    def _expressible(self, chosen: tuple[Option, ...], einsum: Einsum, option: Option) -> bool:
        on_array = [
            (e, o) for e, o in zip(self.einsums, chosen, strict=False) if o.array == option.array
        ]
        on_array.append((einsum, option))
        return all(
            self._dimension_list(on_array, dim) is not None
            for dim in self.spec.array(option.array).dims
        )

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
        root_loads = {a: np.zeros(self.rows) for a in self.arrays}
        serial = itertools.count()
        heap = [_Node(0.0, next(serial), 0, (), root_loads, np.zeros(self.rows))]
        seen: dict[tuple[object, ...], list[tuple[dict[str, Array], Array]]] = {}
        scale = np.maximum(self.compute_bound(root_loads, 0), 1e-30)
        dive: _Node | None = None
        expanded = 0
        while heap or dive is not None:
            if stop():
                return
            node = dive if dive is not None else heapq.heappop(heap)
            dive = None
            bound_loads = self._bound_loads(node.chosen)
            latency = memory_bound(self.compute_bound(bound_loads, node.depth, node.chosen))
            energy = self.energy_bound(node.energy, node.depth, node.chosen) + self.base_energy
            best_latency, best_energy = incumbent()
            if np.all(worse(latency, energy, best_latency, best_energy)):
                self.counts.bounded += self.below[node.depth]
                continue
            if node.depth == len(self.einsums):
                self.counts.yielded += 1
                expanded = 0
                yield self._structure(node.chosen), latency, energy
                continue
            einsum = self.einsums[node.depth]
            below = self.below[node.depth + 1]
            children = []
            for option in self.options[node.depth]:
                if not self._canonical(node.chosen, option):
                    self.counts.dominated += below
                    continue
                if not self._expressible(node.chosen, einsum, option):
                    self.counts.illegal += below
                    continue
                loads = dict(node.loads)
                loads[option.array] = loads[option.array] + option.cycles
                chosen = (*node.chosen, option)
                spent = node.energy + option.energy + self._crossing(einsum, option, node.chosen)
                state = self._state(chosen)
                if self._dominated(seen.setdefault(state, []), loads, spent):
                    self.counts.dominated += below
                    continue
                seen[state].append((loads, spent))
                child_loads = dict(bound_loads)
                child_loads[option.array] = child_loads[option.array] + self.cycles_of(
                    node.depth, option
                )
                bound = self.compute_bound(child_loads, node.depth + 1, chosen)
                priority = float(np.min(bound / scale)) - 1e-12 * node.depth
                children.append(_Node(priority, next(serial), node.depth + 1, chosen, loads, spent))
            expanded += 1
            if children and expanded > DIVE_AFTER:
                dive = min(children)
                children.remove(dive)
            for child in children:
                heapq.heappush(heap, child)

    def _dimension_list(self, on_array: list[tuple[Einsum, Option]], dim: str) -> list[str] | None:
        """Return :func:`_dimension_list`, memoized by the einsums' spreads on ``dim``."""
        key = tuple((str(e.name), dict(o.assignment).get(dim)) for e, o in on_array)
        if key not in self.lists:
            self.lists[key] = _dimension_list(on_array, dim, self.variables)
        return self.lists[key]

    @staticmethod
    def _dominated(
        frontier: list[tuple[dict[str, Array], Array]], loads: dict[str, Array], energy: Array
    ) -> bool:
        for other_loads, other_energy in frontier:
            if np.all(other_energy <= energy) and all(
                np.all(other_loads[a] <= loads[a]) for a in loads
            ):
                return True
        return False

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
