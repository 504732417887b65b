"""Placements by branch and bound over tensors, one row at a time.

A tensor's placement changes only its own traffic, level accesses and register fills, so a
placement's cost is the base placement's plus each tensor's change (its *delta*). Latency
is ``max(memory, compute)``, increasing in traffic, and energy is increasing in the
deltas, so the sum of each undecided tensor's smallest delta bounds every completion of
a partial placement. Buffers only fill as tensors are added (an in-place write adds its
output and gives back at most that), so a partial placement that overflows a pool has
no legal completion.

A tensor whose base option keeps it in PE registers costs no level access, so its other
options cost at least as much: their deltas are fetched only when the search reaches
them (each one is a cost model to build).
"""

from __future__ import annotations

import collections.abc
import math
from dataclasses import dataclass, field

import numpy as np

from mappers.search.candidates import Array


@dataclass(frozen=True, slots=True)
class TensorChoices:
    """One tensor's options: the pool each uses, its live words per step, and deltas.

    ``live[k]`` is [steps, rows]; ``deltas[k]`` is (traffic bytes, energy pJ) per row, or
    None until fetched (then it is at least zero: the base keeps the tensor in registers).
    """

    name: str
    pools: tuple[str | None, ...]
    live: tuple[Array, ...]
    deltas: list[tuple[Array, Array] | None]


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
        fetch: collections.abc.Callable[[int, int], tuple[Array, Array]],
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

    def _delta(self, t: int, k: int) -> tuple[Array, Array] | None:
        return self.tensors[t].deltas[k]

    def _rank_key(self, t: int, k: int, row: int) -> tuple[float, float]:
        delta = self.tensors[t].deltas[k]
        return (0.0, 0.0) if delta is None else (float(delta[0][row]), float(delta[1][row]))

    def _load(self, t: int, k: int) -> tuple[Array, Array]:
        delta = self.tensors[t].deltas[k]
        if delta is None:
            delta = self.fetch(t, k)
            self.tensors[t].deltas[k] = delta
        return delta

    def run(
        self,
        row: int,
        base: tuple[float, float],
        compute_cycles: float,
        bytes_per_cycle: float,
        clock: float,
        best: list[Placed],
        keep: int,
    ) -> None:
        """Search one row; ``best`` (sorted, at most ``keep``) gains what beats it."""
        tensors = self.tensors
        count = len(tensors)
        sizes = [len(t.pools) for t in tensors]
        order = self.order
        below = [
            math.prod(sizes[order[d]] for d in range(depth, count)) for depth in range(count + 1)
        ]
        self.counts.generated[row] += below[0]

        def least(t: int) -> tuple[float, float]:
            known = [d for d in tensors[t].deltas if d is not None]
            return (
                min((float(d[0][row]) for d in known), default=0.0),
                min((float(d[1][row]) for d in known), default=0.0),
            )

        minimum = [least(order[d]) for d in range(count)]
        rest_traffic = [sum(m[0] for m in minimum[d:]) for d in range(count + 1)]
        rest_energy = [sum(m[1] for m in minimum[d:]) for d in range(count + 1)]
        pools = {p: np.zeros(tensors[0].live[0].shape[0]) for p in self.capacities}
        choice = [0] * count
        assigned = [False] * count
        pairs_of: dict[int, list[tuple[int, int, int]]] = {}
        for step, a, b in self.in_place:
            pairs_of.setdefault(a, []).append((step, a, b))
            pairs_of.setdefault(b, []).append((step, a, b))

        def key_of(traffic: float, energy: float) -> tuple[tuple[float, float], float]:
            latency = max(traffic / bytes_per_cycle, compute_cycles) / clock
            return objective_pair(self.objective, latency, energy), latency

        def cut(traffic: float, energy: float) -> bool:
            if len(best) < keep:
                return False
            key, _ = key_of(traffic, energy)
            return not better(key, best[-1].key, self.tolerance)

        def place(t: int, k: int, sign: float) -> bool:
            pool = tensors[t].pools[k]
            if pool is None:
                return True
            pools[pool] += sign * tensors[t].live[k][:, row]
            for step, a, b in pairs_of.get(t, ()):
                other = b if t == a else a
                if assigned[other] and tensors[other].pools[choice[other]] == pool:
                    first = tensors[a].live[choice[a] if a != t else k][step, row]
                    second = tensors[b].live[choice[b] if b != t else k][step, row]
                    shared = min(first, second)
                    pools[pool][step] -= sign * shared
            return bool(pools[pool].max() <= self.capacities[pool])

        def visit(depth: int, traffic: float, energy: float) -> None:
            if depth == count:
                key, latency = key_of(traffic, energy)
                self.counts.evaluated[row] += 1
                if len(best) < keep or better(key, best[-1].key, self.tolerance):
                    best.append(Placed(key, tuple(choice), latency, energy, traffic))
                    best.sort(key=lambda p: p.key)
                    del best[keep:]
                return
            t = order[depth]
            ranked = sorted(range(sizes[t]), key=lambda k: self._rank_key(t, k, row))
            for k in ranked:
                optimistic = self._delta(t, k) or (np.zeros(1), np.zeros(1))
                low_traffic = traffic + float(optimistic[0][row if optimistic[0].size > 1 else 0])
                low_energy = energy + float(optimistic[1][row if optimistic[1].size > 1 else 0])
                if cut(low_traffic + rest_traffic[depth + 1], low_energy + rest_energy[depth + 1]):
                    self.counts.bounded[row] += below[depth + 1]
                    continue
                choice[t] = k
                fits = place(t, k, 1.0)
                assigned[t] = True
                if fits:
                    delta = self._load(t, k)
                    next_traffic = traffic + float(delta[0][row])
                    next_energy = energy + float(delta[1][row])
                    if cut(
                        next_traffic + rest_traffic[depth + 1], next_energy + rest_energy[depth + 1]
                    ):
                        self.counts.bounded[row] += below[depth + 1]
                    else:
                        visit(depth + 1, next_traffic, next_energy)
                else:
                    self.counts.illegal[row] += below[depth + 1]
                assigned[t] = False
                place(t, k, -1.0)
                choice[t] = 0

        visit(0, base[0], base[1])


__all__ = [
    "Placed",
    "PlacementCounts",
    "PlacementSearch",
    "TensorChoices",
    "better",
    "objective_pair",
]
