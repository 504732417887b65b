"""Placements by branch and bound over tensors, one row at a time.

A tensor's placement changes only its own traffic, level accesses and register fills, and
whether it is staged through an on-chip tile buffer (then a tiled schedule loads its first
DRAM tile before the compute, or stores its last one after it: the *ends*,
:mod:`mappers.cost.ends`). So a placement's traffic, energy and ends are the base
placement's plus each tensor's change (its *delta*). Latency is ``max(traffic / bandwidth,
compute + ends / bandwidth)`` (the ends only for an overlapped, stages or pipelined
schedule with ``ends: tile``; the least over the schedules searched), increasing in
traffic and ends, and energy is increasing in the deltas, so each undecided tensor's
smallest deltas bound every completion of a partial placement. Buffers only fill as
tensors are added (an in-place write adds its output and gives back at most that), so a
partial placement that overflows a pool has no legal completion, and an option whose words
alone overflow its pool is in no legal placement.

The bound takes each undecided tensor's smallest deltas over its *allowed* options only.
Once the search keeps as many placements as it is asked for, an option is disallowed when
the base plus that option plus every other tensor's smallest allowed deltas is no better
than the last one kept: no placement beating it takes that option. Disallowing one option
can raise its tensor's smallest deltas, so this repeats until nothing changes, and again
whenever a delta is fetched or a better placement is kept. A kept key lower in both parts
than the one the exclusions were made against leaves them sound (what does not beat the
old key does not beat the new one), so they are redone only :data:`TIGHTEN_AFTER` visits
later; a key lower only in its secondary part may be beaten, within the tie tolerance, by
what the old one was not, so they are redone at once. A tensor left without an allowed
option cuts the whole row.

Every cut removes only placements no better than the last one kept at that moment, and the
tensors and their options are visited in one order (the tensors with an eager choice last,
each one's options by their known deltas), so the search keeps exactly what costing every
placement in that order would keep, ties included: of placements that tie, the first.

A tensor whose base option keeps it in PE registers costs no level access, so its other
options cost at least as much: their deltas are fetched only when the search places them
(each one is a cost model to build), and count as zero in the bound until then.
"""

from __future__ import annotations

import collections.abc
import math
from dataclasses import dataclass, field

import numpy as np

from mappers.mapping.schema import ENDS_SCHEDULES, Schedule
from mappers.search.candidates import Array

Delta = tuple[Array, Array, Array]  # traffic bytes, energy pJ, ends bytes; per row


@dataclass(frozen=True, slots=True)
class TensorChoices:
    """One tensor's options: the pool each uses, its live words per step, and deltas.

    ``live[k]`` is [steps, rows]; ``deltas[k]`` is (traffic bytes, energy pJ, ends bytes)
    per row, or None until fetched (then it is at least zero: the base keeps the tensor in
    registers, which no tile buffer stages).
    """

    name: str
    pools: tuple[str | None, ...]
    live: tuple[Array, ...]
    deltas: list[Delta | None]


def adds_ends(schedule: Schedule) -> bool:
    """Return whether a schedule adds the first load and last store to its compute."""
    return schedule.kind in ENDS_SCHEDULES and schedule.ends == "tile"


@dataclass(frozen=True, slots=True)
class Timing:
    """One row's compute cycles per schedule searched (its latency at unbounded DRAM
    bandwidth), and whether each schedule adds the ends (:func:`adds_ends`)."""

    compute: tuple[float, ...]
    ends: tuple[bool, ...]

    def latency_cycles(
        self, traffic_bytes: float, ends_bytes: float, bytes_per_cycle: float
    ) -> tuple[float, int]:
        """Return the least latency over the schedules, and the schedule giving it:
        ``max(traffic / bandwidth, compute + ends / bandwidth)``, as the cost model's
        overlapped, stages and pipelined schedules give it. Of schedules that tie (memory-bound),
        the one with the least compute, then the first."""
        memory = traffic_bytes / bytes_per_cycle
        ends = ends_bytes / bytes_per_cycle
        busy = [c + ends if a else c for c, a in zip(self.compute, self.ends, strict=True)]
        chosen = min(range(len(busy)), key=lambda i: busy[i])
        return max(memory, busy[chosen]), chosen


@dataclass(slots=True)
class PlacementCounts:
    """Placements generated, overflowing (illegal), cut by the bound, and costed, per row."""

    generated: Array
    illegal: Array
    bounded: Array
    evaluated: Array


@dataclass(order=True, slots=True)
class Placed:
    """One complete placement at one row: its objective key and costs."""

    key: tuple[float, float]
    choice: tuple[int, ...] = field(compare=False)
    latency_s: float = field(compare=False)
    energy_pj: float = field(compare=False)
    traffic_bytes: float = field(compare=False)
    schedule: int = field(compare=False, default=0)  # index into the Timing's schedules


def objective_pair(objective: str, latency: float, energy: float) -> tuple[float, float]:
    """Return the (primary, secondary) pair to minimise for one candidate."""
    if objective == "latency":
        return latency, energy
    if objective == "energy":
        return energy, latency
    return latency * energy, latency


def better(a: tuple[float, float], b: tuple[float, float], tolerance: float) -> bool:
    """Return whether key ``a`` beats ``b``: primary lower beyond a relative tolerance, or
    tied and secondary lower."""
    if a[0] < b[0] * (1 - tolerance):
        return True
    return a[0] <= b[0] * (1 + tolerance) and a[1] < b[1]


class PlacementSearch:
    """Depth-first branch and bound over the tensors' options at every row."""

    def __init__(
        self,
        tensors: list[TensorChoices],
        capacities: dict[str, float],
        in_place: tuple[tuple[int, int, int], ...],
        fetch: collections.abc.Callable[[int, int], Delta],
        objective: str,
        tolerance: float,
    ) -> None:
        """Args:
        tensors: the tensors' options (option 0 is the base).
        capacities: words per pool.
        in_place: (step, operand index, output index) pairs that share words when both
            sit in one pool.
        fetch: (tensor index, option) -> its deltas, building what it needs.
        objective: latency, energy or edp.
        tolerance: relative tie tolerance of the primary key.
        """
        self.tensors, self.capacities, self.in_place = tensors, capacities, in_place
        self.fetch, self.objective, self.tolerance = fetch, objective, tolerance
        rows = tensors[0].live[0].shape[1] if tensors else 0
        zero = np.zeros(rows)
        self.counts = PlacementCounts(zero.copy(), zero.copy(), zero.copy(), zero.copy())
        # the search tries tensors with an eager choice last: they differ least in cost
        self.order = sorted(
            range(len(tensors)),
            key=lambda i: (any(d is not None for d in tensors[i].deltas[1:]), i),
        )
        # per option, the rows where its words alone fit its pool (at the others, no
        # placement taking it fits: buffers only fill)
        self.fits_alone = [
            [
                np.ones(rows, dtype=bool)
                if pool is None
                else np.max(words, axis=0, initial=0.0) <= capacities[pool]
                for pool, words in zip(t.pools, t.live, strict=True)
            ]
            for t in tensors
        ]

    def _load(self, t: int, k: int) -> Delta:
        delta = self.tensors[t].deltas[k]
        if delta is None:
            delta = self.fetch(t, k)
            self.tensors[t].deltas[k] = delta
        return delta

    def run(
        self,
        row: int,
        base: tuple[float, float, float],
        timing: Timing,
        bytes_per_cycle: float,
        clock: float,
        best: list[Placed],
        keep: int,
        stop: collections.abc.Callable[[], bool] | None = None,
    ) -> bool:
        """Search one row; ``best`` (sorted, at most ``keep``) gains what beats it.

        ``base`` is the base placement's (traffic bytes, energy pJ, ends bytes). ``stop``
        is asked now and then once ``best`` holds a placement; when it says so the search
        ends early. Returns whether the row was searched to the end.
        """
        search = _RowSearch(self, row, base, timing, bytes_per_cycle, clock, best, keep, stop)
        if not all(any(fits) for fits in search.fits_alone):
            self.counts.illegal[row] += search.below[0]  # a tensor overflows wherever it goes
            return True
        try:
            search.visit(0, base[0], base[1], base[2])
        except _BudgetSpentError:
            return False
        return True


def _at_row(delta: Delta, row: int) -> tuple[float, float, float]:
    return float(delta[0][row]), float(delta[1][row]), float(delta[2][row])


class _BudgetSpentError(Exception):
    """The budget ran out during a row's search."""


# visits after a better kept placement before the exclusions are redone (each redo costs
# a pass over every option; a row's search can keep a better placement every few visits)
TIGHTEN_AFTER = 64
_ZERO = (0.0, 0.0, 0.0)
_NONE_LEFT = (math.inf, math.inf, math.inf)  # the least deltas of a tensor with no option left


class _RowSearch:
    """The depth-first search of one row, on that row's numbers as Python floats."""

    def __init__(
        self,
        search: PlacementSearch,
        row: int,
        base: tuple[float, float, float],
        timing: Timing,
        bytes_per_cycle: float,
        clock: float,
        best: list[Placed],
        keep: int,
        stop: collections.abc.Callable[[], bool] | None,
    ) -> None:
        self.search, self.row, self.base, self.best, self.keep = search, row, base, best, keep
        self.stop, self.visits = stop, 0
        self.stale, self.tightened = False, 0  # exclusions to redo; visits when last redone
        self.timing, self.bytes_per_cycle, self.clock = timing, bytes_per_cycle, clock
        self.objective, self.tolerance = search.objective, search.tolerance
        # the least compute of the schedules that add the ends and of those that do not
        flags = list(zip(timing.compute, timing.ends, strict=True))
        self.tiled = min((c for c, a in flags if a), default=math.inf)
        self.plain = min((c for c, a in flags if not a), default=math.inf)
        tensors = self.tensors = search.tensors
        count = self.count = len(tensors)
        self.sizes = [len(t.pools) for t in tensors]
        # each option's (traffic, energy, ends) delta at this row; None until fetched
        self.known: list[list[tuple[float, float, float] | None]] = [
            [None if d is None else _at_row(d, row) for d in t.deltas] for t in tensors
        ]
        self.live: list[list[Array | None]] = [[None] * n for n in self.sizes]
        steps = tensors[0].live[0].shape[0] if tensors else 0
        self.pools = {p: np.zeros(steps) for p in search.capacities}
        self.fits_alone = [[bool(f[row]) for f in fits] for fits in search.fits_alone]
        self.allowed: list[list[bool]] = []
        self.least: list[tuple[float, float, float]] = []
        self._exclude()
        self.order = search.order
        self.below = [
            math.prod(self.sizes[self.order[d]] for d in range(depth, count))
            for depth in range(count + 1)
        ]
        search.counts.generated[row] += self.below[0]
        self.rest: list[tuple[float, float, float]] = []
        self._sum_rest()
        self.choice = [0] * count
        self.assigned = [False] * count
        self.pairs_of: dict[int, list[tuple[int, int, int]]] = {}
        for step, a, b in search.in_place:
            self.pairs_of.setdefault(a, []).append((step, a, b))
            self.pairs_of.setdefault(b, []).append((step, a, b))

    # ------------------------------------------------------------------ bounds

    def _low(self, t: int, k: int) -> tuple[float, float, float]:
        """Return an option's deltas, or zeros (a lower bound) while they are not fetched."""
        return self.known[t][k] or _ZERO

    def _least_of(self, t: int) -> tuple[float, float, float]:
        """Return the smallest traffic, energy and ends deltas of a tensor's allowed options
        (each on its own: a bound, not an option)."""
        lows = [self._low(t, k) for k in range(self.sizes[t]) if self.allowed[t][k]]
        if not lows:
            return _NONE_LEFT
        return min(d[0] for d in lows), min(d[1] for d in lows), min(d[2] for d in lows)

    def _exclude(self) -> None:
        """Disallow each option that no placement beating the kept ones can take: the base
        plus that option plus every other tensor's least allowed deltas is no better. Each
        exclusion may raise a tensor's least deltas, so this repeats until nothing changes.
        It starts afresh from the options that fit alone: the key it compares with is the
        last kept one now (with a tolerance, beating an older one is not beating it)."""
        count = self.count
        self.allowed = [list(f) for f in self.fits_alone]
        while True:
            self.least = [self._least_of(t) for t in range(count)]
            if len(self.best) < self.keep or _NONE_LEFT in self.least:
                return
            # the others' least deltas summed, for each tensor (from both ends)
            before = [self.base]
            for m in self.least:
                p = before[-1]
                before.append((p[0] + m[0], p[1] + m[1], p[2] + m[2]))
            after = [_ZERO] * (count + 1)
            for t in range(count - 1, -1, -1):
                a, m = after[t + 1], self.least[t]
                after[t] = (a[0] + m[0], a[1] + m[1], a[2] + m[2])
            if self.cut(*before[count]):
                return  # no placement left beats it: the search cuts every option first
            changed = False
            for t in range(count):
                p, a = before[t], after[t + 1]
                for k in range(self.sizes[t]):
                    if not self.allowed[t][k]:
                        continue
                    low = self._low(t, k)
                    if self.cut(p[0] + a[0] + low[0], p[1] + a[1] + low[1], p[2] + a[2] + low[2]):
                        self.allowed[t][k] = False
                        changed = True
            if not changed:
                return

    def _sum_rest(self) -> None:
        """Sum the least allowed deltas of the tensors from each depth on."""
        rest = [_ZERO] * (self.count + 1)
        for depth in range(self.count - 1, -1, -1):
            r, m = rest[depth + 1], self.least[self.order[depth]]
            rest[depth] = (r[0] + m[0], r[1] + m[1], r[2] + m[2])
        self.rest = rest

    def _tighten(self) -> None:
        """Redo the exclusions and the remaining bounds (a better placement kept, or a delta
        fetched)."""
        self._exclude()
        self._sum_rest()
        self.stale, self.tightened = False, self.visits

    # ------------------------------------------------------------------ costs

    def _words(self, t: int, k: int) -> Array:
        words = self.live[t][k]
        if words is None:
            words = self.live[t][k] = np.ascontiguousarray(self.tensors[t].live[k][:, self.row])
        return words

    def _delta(self, t: int, k: int) -> tuple[float, float, float]:
        known = self.known[t][k]
        if known is None:
            known = self.known[t][k] = _at_row(self.search._load(t, k), self.row)
            self._tighten()
        return known

    def key(self, traffic: float, energy: float, ends: float) -> tuple[float, float]:
        """Return the objective key of these totals (:meth:`Timing.latency_cycles`'s
        latency, computed from the least compute with and without the ends)."""
        bpc = self.bytes_per_cycle
        cycles = max(traffic / bpc, min(self.tiled + ends / bpc, self.plain))
        return objective_pair(self.objective, cycles / self.clock, energy)

    def cut(self, traffic: float, energy: float, ends: float) -> bool:
        if len(self.best) < self.keep:
            return False
        return not better(self.key(traffic, energy, ends), self.best[-1].key, self.tolerance)

    def place(self, t: int, k: int, sign: float) -> bool:
        tensors, choice = self.tensors, self.choice
        pool = tensors[t].pools[k]
        if pool is None:
            return True
        words = self.pools[pool]
        if sign > 0:
            words += self._words(t, k)
        else:
            words -= self._words(t, k)
        for step, a, b in self.pairs_of.get(t, ()):
            other = b if t == a else a
            if self.assigned[other] and tensors[other].pools[choice[other]] == pool:
                first = self._words(a, choice[a] if a != t else k)[step]
                second = self._words(b, choice[b] if b != t else k)[step]
                words[step] -= sign * min(first, second)
        return bool(words.max() <= self.search.capacities[pool])

    # ------------------------------------------------------------------ search

    def leaf(self, traffic: float, energy: float, ends: float) -> None:
        """Cost a complete placement and keep it if it beats the kept ones."""
        best = self.best
        cycles, schedule = self.timing.latency_cycles(traffic, ends, self.bytes_per_cycle)
        latency = cycles / self.clock
        key = objective_pair(self.objective, latency, energy)
        self.search.counts.evaluated[self.row] += 1
        if len(best) < self.keep or better(key, best[-1].key, self.tolerance):
            last = best[-1].key if len(best) == self.keep else None
            best.append(Placed(key, tuple(self.choice), latency, energy, traffic, schedule))
            best.sort(key=lambda p: p.key)
            del best[self.keep :]
            now = best[-1].key
            if last is not None and now[0] <= last[0] and now[1] <= last[1]:
                # what no placement beating the old key takes, none beating this one does:
                # the exclusions stay sound, and are redone after TIGHTEN_AFTER visits
                self.stale = True
            elif len(best) == self.keep:
                self._tighten()

    def visit(self, depth: int, traffic: float, energy: float, ends: float) -> None:
        counts, row, best = self.search.counts, self.row, self.best
        self.visits += 1
        if self.stop is not None and best and self.visits % 512 == 0 and self.stop():
            raise _BudgetSpentError
        if self.stale and self.visits - self.tightened >= TIGHTEN_AFTER:
            self._tighten()
        if depth == self.count:
            self.leaf(traffic, energy, ends)
            return
        t = self.order[depth]
        known = self.known[t]
        ranked = sorted(range(self.sizes[t]), key=lambda k: known[k] or _ZERO)
        below = self.below[depth + 1]
        for k in ranked:
            if not self.fits_alone[t][k]:
                counts.illegal[row] += below
                continue
            rest = self.rest[depth + 1]
            low = known[k] or _ZERO
            if not self.allowed[t][k] or self.cut(
                traffic + low[0] + rest[0], energy + low[1] + rest[1], ends + low[2] + rest[2]
            ):
                counts.bounded[row] += below
                continue
            self.choice[t] = k
            fits = self.place(t, k, 1.0)
            self.assigned[t] = True
            if fits:
                delta = self._delta(t, k)
                now = (traffic + delta[0], energy + delta[1], ends + delta[2])
                rest = self.rest[depth + 1]  # tighter once the delta is fetched
                if self.cut(now[0] + rest[0], now[1] + rest[1], now[2] + rest[2]):
                    counts.bounded[row] += below
                else:
                    self.visit(depth + 1, *now)
            else:
                counts.illegal[row] += below
            self.assigned[t] = False
            self.place(t, k, -1.0)
            self.choice[t] = 0


__all__ = [
    "Delta",
    "Placed",
    "PlacementCounts",
    "PlacementSearch",
    "TensorChoices",
    "Timing",
    "adds_ends",
    "better",
    "objective_pair",
]
