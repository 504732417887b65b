"""The dependency graph of a cascade, its evaluation order and its iteration loops.

A read of an iterative tensor's previous generation (``T[x]``) or of a fixed generation
(``T[0]``) is *carried* from an earlier step, not a same-step dependency, so it never makes
a cycle.

The analyses walk a small adjacency map of their own (:class:`Dependencies`); networkx is
imported only by :func:`build_graph`, which returns a networkx graph, and to name the
cycle of a cascade that has one.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from einsum_cascade.ir import Cascade, Einsum, Generation, TensorKind, generation_of

if TYPE_CHECKING:
    import networkx as nx

TENSOR = "tensor"
EINSUM = "einsum"


@dataclass(frozen=True, slots=True)
class Loop:
    """Einsums that run inside one loop over an iterative rank, in dependency order."""

    variable: str
    einsums: tuple[Einsum, ...]


Step = Einsum | Loop


def build_graph(cascade: Cascade) -> nx.DiGraph:
    """Build the bipartite graph: tensor -> einsum for reads, einsum -> tensor for writes.

    Nodes are ``(kind, name)`` pairs with kind ``"tensor"`` or ``"einsum"``; read edges
    carry ``generation`` (a :class:`Generation` value or None) and ``carried`` (True for
    reads of an earlier generation).
    """
    import networkx as nx

    graph = nx.DiGraph(name=cascade.name)
    for tensor in cascade.tensors:
        graph.add_node((TENSOR, tensor.name), kind=tensor.kind.value, ranks=tensor.ranks)
    for einsum in cascade.einsums:
        graph.add_node((EINSUM, einsum.name), reduce=einsum.reduce_op.value)
        graph.add_edge((EINSUM, einsum.name), (TENSOR, einsum.name))
        for ref in einsum.operands:
            generation = generation_of(ref, cascade.tensor(ref.tensor))
            carried = generation in (Generation.PREVIOUS, Generation.CONSTANT)
            graph.add_edge(
                (TENSOR, ref.tensor),
                (EINSUM, einsum.name),
                generation=generation.value if generation else None,
                carried=carried,
            )
    return graph


@dataclass
class Dependencies:
    """A directed graph of names: nodes in insertion order, successors in edge order.

    ``index`` is each node's source position; ``final`` marks edges that read an iterative
    tensor's final generation.
    """

    index: dict[str, int] = field(default_factory=dict)
    successors: dict[str, dict[str, None]] = field(default_factory=dict)
    predecessors: dict[str, dict[str, None]] = field(default_factory=dict)
    final: dict[tuple[str, str], bool] = field(default_factory=dict)

    def add_node(self, name: str, index: int) -> None:
        """Add ``name`` (or give it a new index)."""
        self.index[name] = index
        self.successors.setdefault(name, {})
        self.predecessors.setdefault(name, {})

    def add_edge(self, source: str, target: str, final: bool = False) -> None:
        """Add the edge ``source -> target`` (a repeated edge keeps its place)."""
        for name in (source, target):
            if name not in self.index:
                self.add_node(name, len(self.index))
        self.successors[source][target] = None
        self.predecessors[target][source] = None
        self.final[source, target] = final

    def __contains__(self, name: object) -> bool:
        return name in self.index

    @property
    def edges(self) -> list[tuple[str, str]]:
        """Return every edge, by source in node order."""
        return [(s, t) for s, targets in self.successors.items() for t in targets]

    def descendants(self, name: str) -> set[str]:
        """Return the nodes reachable from ``name`` (not ``name`` itself)."""
        return _reach(name, self.successors)

    def ancestors(self, name: str) -> set[str]:
        """Return the nodes that reach ``name`` (not ``name`` itself)."""
        return _reach(name, self.predecessors)

    def has_cycle(self) -> bool:
        """Tell whether some node reaches itself."""
        return self.order(self.index) is None

    def order(self, nodes: Iterable[str]) -> list[str] | None:
        """Return ``nodes`` in dependency order, ties by index; None when they cycle.

        The order is the lexicographically smallest topological order by index (what
        networkx's ``lexicographical_topological_sort`` returns for distinct indices).
        """
        chosen = set(nodes)
        waiting = {
            n: sum(1 for p in self.predecessors[n] if p in chosen)
            for n in self.index
            if n in chosen
        }
        ready = [(self.index[n], n) for n, count in waiting.items() if count == 0]
        heapq.heapify(ready)
        ordered: list[str] = []
        while ready:
            _, name = heapq.heappop(ready)
            ordered.append(name)
            for child in self.successors[name]:
                if child in chosen:
                    waiting[child] -= 1
                    if waiting[child] == 0:
                        heapq.heappush(ready, (self.index[child], child))
        return ordered if len(ordered) == len(waiting) else None


def _reach(start: str, links: dict[str, dict[str, None]]) -> set[str]:
    """The nodes ``links`` lead to from ``start``, never ``start`` itself (as networkx)."""
    seen: set[str] = set()
    stack = list(links[start])
    while stack:
        name = stack.pop()
        if name not in seen:
            seen.add(name)
            stack.extend(links[name])
    seen.discard(start)
    return seen


def dependency_graph(cascade: Cascade, *, carried: bool = False) -> Dependencies:
    """Return the einsum-level graph: producer -> consumer.

    Args:
        cascade: The cascade.
        carried: Include reads of earlier generations too.
    """
    graph = Dependencies()
    produced = {e.name for e in cascade.einsums}
    for index, einsum in enumerate(cascade.einsums):
        graph.add_node(einsum.name, index)
    for einsum in cascade.einsums:
        for ref in einsum.operands:
            if ref.tensor not in produced:
                continue
            generation = generation_of(ref, cascade.tensor(ref.tensor))
            is_carried = generation in (Generation.PREVIOUS, Generation.CONSTANT)
            if carried or not is_carried:
                graph.add_edge(ref.tensor, einsum.name, final=generation is Generation.FINAL)
    return graph


def _networkx(graph: Dependencies) -> nx.DiGraph:
    import networkx as nx

    copy = nx.DiGraph()
    for name, index in graph.index.items():
        copy.add_node(name, index=index)
    for source, target in graph.edges:
        copy.add_edge(source, target, final=graph.final[source, target])
    return copy


def find_cycle(cascade: Cascade) -> list[str]:
    """Return the einsum names of a same-step dependency cycle, or an empty list."""
    graph = dependency_graph(cascade)
    if not graph.has_cycle():
        return []
    import networkx as nx  # the cycle networkx finds names the diagnostic

    return [source for source, _ in nx.find_cycle(_networkx(graph))]


def unreachable_tensors(cascade: Cascade) -> list[str]:
    """Return intermediates from which no output can be reached."""
    graph = dependency_graph(cascade, carried=True)
    outputs = {t.name for t in cascade.outputs}
    useful: set[str] = set()
    for output in outputs:
        if output in graph:
            useful |= graph.ancestors(output) | {output}
    return [
        t.name
        for t in cascade.tensors
        if t.kind is TensorKind.INTERMEDIATE and t.name not in useful
    ]


def _source_order(graph: Dependencies, nodes: Iterable[str] | None = None) -> list[str]:
    ordered = graph.order(graph.index if nodes is None else nodes)
    if ordered is None:  # a cycle: networkx raises as it always did
        import networkx as nx

        copy = _networkx(graph)
        sub = copy if nodes is None else copy.subgraph(nodes)
        key: Callable[[str], int] = lambda n: sub.nodes[n]["index"]  # noqa: E731
        return list(nx.lexicographical_topological_sort(sub, key=key))
    return ordered


def einsum_order(cascade: Cascade) -> tuple[Einsum, ...]:
    """Return the einsums in dependency order, ties broken by source order."""
    graph = dependency_graph(cascade)
    return tuple(cascade.einsum(name) for name in _source_order(graph))


def iterative_variables(cascade: Cascade) -> tuple[str, ...]:
    """Return the index variables of every iterative rank, in source order."""
    seen: dict[str, None] = {}
    for einsum in cascade.einsums:
        if einsum.iterative_variable:
            seen.setdefault(einsum.iterative_variable, None)
    return tuple(seen)


def loop_members(cascade: Cascade, variable: str) -> set[str]:
    """Return the einsums that must run inside the loop over ``variable``.

    Those are the einsums that write ``T[x + 1]`` or read an iterative tensor's previous or
    current generation, plus every einsum that keeps ``x`` on its left-hand side and
    depends on one of them within the same step.
    """
    core: set[str] = set()
    for einsum in cascade.einsums:
        if einsum.iterative_variable == variable:
            core.add(einsum.name)
            continue
        for ref in einsum.operands:
            tensor = cascade.tensor(ref.tensor)
            if tensor.iterative_rank is None or tensor.iterative_rank.lower() != variable:
                continue
            if generation_of(ref, tensor) in (Generation.PREVIOUS, Generation.CURRENT):
                core.add(einsum.name)
    graph = dependency_graph(cascade)
    members = set(core)
    for name in _source_order(graph):
        einsum = cascade.einsum(name)
        if variable in einsum.output_variables and any(
            pred in members and not graph.final[pred, name] for pred in graph.predecessors[name]
        ):
            members.add(name)
    return members


def loop_conflict(cascade: Cascade) -> tuple[str, str] | None:
    """Return (iterative variable, einsum) when a loop needs an einsum that needs the loop.

    That einsum reads the loop's per-step results as a whole (it reduces over the iterative
    rank, say) while a step of the loop reads it: no order of steps can satisfy both.
    """
    graph = dependency_graph(cascade)
    for variable in iterative_variables(cascade):
        members = loop_members(cascade, variable)
        after = set().union(*(graph.descendants(m) for m in members)) - members
        before = set().union(*(graph.ancestors(m) for m in members)) - members
        for name in sorted(after & before, key=graph.index.__getitem__):
            return variable, name
    return None


def schedule(cascade: Cascade) -> tuple[Step, ...]:
    """Return the evaluation steps: single einsums and loops over iterative ranks.

    The checker rejects cascades with a :func:`loop_conflict`, so the loops always order.
    """
    graph = dependency_graph(cascade)
    groups: dict[str, str] = {}
    for variable in iterative_variables(cascade):
        for name in loop_members(cascade, variable):
            groups.setdefault(name, variable)
    contracted = Dependencies()
    for name in graph.index:
        key = f"loop:{groups[name]}" if name in groups else name
        index = graph.index[name]
        if key in contracted:
            index = min(index, contracted.index[key])
        contracted.add_node(key, index)
    for source, target in graph.edges:
        a = f"loop:{groups[source]}" if source in groups else source
        b = f"loop:{groups[target]}" if target in groups else target
        if a != b:
            contracted.add_edge(a, b)
    steps: list[Step] = []
    for key in _source_order(contracted):
        if key.startswith("loop:"):
            variable = key[len("loop:") :]
            names = [n for n, v in groups.items() if v == variable]
            inner = _source_order(graph, names)
            steps.append(Loop(variable, tuple(cascade.einsum(n) for n in inner)))
        else:
            steps.append(cascade.einsum(key))
    return tuple(steps)
