"""The dependency graph of a cascade, its evaluation order and its iteration loops.

A read of an iterative tensor's previous generation (``T[x]``) or of a fixed generation
(``T[0]``) is *carried* from an earlier step, not a same-step dependency, so it never makes
a cycle.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import networkx as nx

from einsum_cascade.ir import Cascade, Einsum, Generation, TensorKind, generation_of

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


def dependency_graph(cascade: Cascade, *, carried: bool = False) -> nx.DiGraph:
    """Return the einsum-level graph: producer -> consumer.

    Args:
        cascade: The cascade.
        carried: Include reads of earlier generations too.
    """
    graph = nx.DiGraph()
    produced = {e.name for e in cascade.einsums}
    for index, einsum in enumerate(cascade.einsums):
        graph.add_node(einsum.name, index=index)
    for einsum in cascade.einsums:
        for ref in einsum.operands:
            if ref.tensor not in produced:
                continue
            generation = generation_of(ref, cascade.tensor(ref.tensor))
            is_carried = generation in (Generation.PREVIOUS, Generation.CONSTANT)
            if carried or not is_carried:
                graph.add_edge(ref.tensor, einsum.name, final=generation is Generation.FINAL)
    return graph


def find_cycle(cascade: Cascade) -> list[str]:
    """Return the einsum names of a same-step dependency cycle, or an empty list."""
    graph = dependency_graph(cascade)
    try:
        edges = nx.find_cycle(graph)
    except nx.NetworkXNoCycle:
        return []
    return [source for source, _ in edges]


def unreachable_tensors(cascade: Cascade) -> list[str]:
    """Return intermediates from which no output can be reached."""
    graph = dependency_graph(cascade, carried=True)
    outputs = {t.name for t in cascade.outputs}
    useful: set[str] = set()
    for output in outputs:
        if output in graph:
            useful |= nx.ancestors(graph, output) | {output}
    return [
        t.name
        for t in cascade.tensors
        if t.kind is TensorKind.INTERMEDIATE and t.name not in useful
    ]


def _source_order(graph: nx.DiGraph, nodes: Iterable[str] | None = None) -> list[str]:
    sub = graph if nodes is None else graph.subgraph(nodes)
    return list(nx.lexicographical_topological_sort(sub, key=lambda n: sub.nodes[n]["index"]))


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
            pred in members and not graph.edges[pred, name]["final"]
            for pred in graph.predecessors(name)
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
        after = set().union(*(nx.descendants(graph, m) for m in members)) - members
        before = set().union(*(nx.ancestors(graph, m) for m in members)) - members
        for name in sorted(after & before, key=lambda n: graph.nodes[n]["index"]):
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
    contracted = nx.DiGraph()
    for name in graph.nodes:
        key = f"loop:{groups[name]}" if name in groups else name
        index = graph.nodes[name]["index"]
        if key in contracted:
            index = min(index, contracted.nodes[key]["index"])
        contracted.add_node(key, index=index)
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
