"""The axes a mapper search enumerates for a cascade on a spec, with their legality rules.

Axes: the array each einsum is bound to (one that can run every op it needs), the index
variable spread on each array dimension (per einsum, kept only when a mapping's per-array
candidate lists can express it, one of each pair of equal-sized dimensions swapped), the
levels each tensor is placed in, and the tile of each DRAM-loop rank. Register forwarding
between consecutive einsums on one array is derived, never searched: it only removes
accesses.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

import networkx as nx

from einsum_cascade import count_ops
from einsum_cascade.ir import Cascade, Einsum, TensorKind
from mappers.hardware.spec import ArchSpec, ComputeArray, op_cycles_and_energy
from mappers.mapping.schema import REGISTERS

Placement = tuple[str, ...]  # levels a tensor lives in, outermost first; () = PE registers
Assignment = tuple[tuple[str, str], ...]  # (array dimension, index variable) of one einsum


@dataclass(frozen=True, slots=True)
class Structure:
    """The compute side of a candidate: binding, spatial spread and register forwarding.

    ``spatial`` is in the mapping's form (per array, per dimension an ordered candidate list)
    and gives every einsum exactly its ``assignment``.
    """

    bind: tuple[tuple[str, str], ...]  # (einsum, array)
    assignment: tuple[tuple[str, Assignment], ...]  # einsum -> its spatial pairs
    spatial: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]  # array -> (dim, variable)
    reads: tuple[tuple[str, str, str], ...]  # (einsum, tensor, registers): forwarding

    def array_of(self, einsum: str) -> str | None:
        """Return the array an einsum is bound to (None for a view einsum)."""
        return dict(self.bind).get(einsum)

    def describe(self) -> str:
        """Return a short text: each einsum's array and spatial variables."""
        parts = []
        for einsum, pairs in self.assignment:
            spread = "x".join(v for _, v in pairs) or "-"
            parts.append(f"{einsum}@{self.array_of(einsum)}[{spread}]")
        return " ".join(parts)


def computing_einsums(cascade: Cascade) -> tuple[Einsum, ...]:
    """Return the einsums that perform operations (a view or copy einsum performs none)."""
    counts = count_ops(cascade)
    return tuple(e for e in cascade.einsums if any(counts.get(e.name, {}).values()))


def capable_arrays(cascade: Cascade, spec: ArchSpec) -> dict[str, tuple[str, ...]]:
    """Return, per computing einsum, the arrays that can run every op it performs."""
    counts = count_ops(cascade)
    out: dict[str, tuple[str, ...]] = {}
    for einsum in computing_einsums(cascade):
        ops = [op for op, n in counts[einsum.name].items() if n != 0]
        out[einsum.name] = tuple(
            a.name for a in spec.arrays if all(op_cycles_and_energy(a, op) for op in ops)
        )
    return out


def bindings(cascade: Cascade, spec: ArchSpec) -> Iterator[tuple[tuple[str, str], ...]]:
    """Yield every binding of the computing einsums to capable arrays."""
    capable = capable_arrays(cascade, spec)
    names = list(capable)
    for arrays in itertools.product(*(capable[n] for n in names)):
        yield tuple(zip(names, arrays, strict=True))


def _assignments(einsum: Einsum, array: ComputeArray) -> list[Assignment]:
    """Return each way to put distinct variables of the einsum on the array's dimensions."""
    out: list[Assignment] = []
    for variables in itertools.permutations(einsum.variables, len(array.dims)):
        out.append(tuple(zip(array.dims, variables, strict=True)))
    return out


def candidate_list(choices: dict[str, str], variables: dict[str, tuple[str, ...]]) -> list[str]:
    """Return an ordered candidate list giving each einsum its chosen variable, or [].

    An einsum takes the first listed variable it iterates over, so its choice must precede
    every other listed variable it also has: a topological order of those constraints.
    """
    graph = nx.DiGraph()
    graph.add_nodes_from(sorted(set(choices.values())))
    for einsum, chosen in choices.items():
        for other in set(choices.values()) - {chosen}:
            if other in variables[einsum]:
                graph.add_edge(chosen, other)
    if not nx.is_directed_acyclic_graph(graph):
        return []
    return list(nx.lexicographical_topological_sort(graph))


def _canonical(array: ComputeArray, per_einsum: tuple[Assignment, ...]) -> bool:
    """Keep one of two assignments that differ by swapping two equal-sized dimensions."""
    for i, j in itertools.combinations(range(len(array.dims)), 2):
        if array.shape[i] != array.shape[j]:
            continue
        swapped = tuple(
            tuple(
                (dim, a[j][1] if k == i else a[i][1] if k == j else variable)
                for k, (dim, variable) in enumerate(a)
            )
            for a in per_einsum
        )
        if swapped < per_einsum:
            return False
    return True


@dataclass(frozen=True, slots=True)
class SpatialCounts:
    """Spatial choices generated, dropped as inexpressible (illegal) or as symmetric twins."""

    generated: int = 0
    illegal: int = 0
    dominated: int = 0


def array_spatial_choices(
    einsums: tuple[Einsum, ...], array: ComputeArray
) -> tuple[list[tuple[tuple[Assignment, ...], tuple[tuple[str, str], ...]]], SpatialCounts]:
    """Return the legal spatial choices of the einsums bound to one array, and counts.

    Each choice is (per-einsum assignments, the array's spatial pairs in mapping form).
    """
    variables: dict[str, tuple[str, ...]] = {e.name: e.variables for e in einsums}
    kept = []
    generated = inexpressible = symmetric = 0
    for per_einsum in itertools.product(*(_assignments(e, array) for e in einsums)):
        generated += 1
        if not _canonical(array, per_einsum):
            symmetric += 1
            continue
        pairs: list[tuple[str, str]] = []
        for position, dim in enumerate(array.dims):
            choices: dict[str, str] = {
                e.name: a[position][1] for e, a in zip(einsums, per_einsum, strict=True)
            }
            ordered = candidate_list(choices, variables)
            if not ordered:
                break
            pairs.extend((dim, v) for v in ordered)
        else:
            kept.append((per_einsum, tuple(pairs)))
            continue
        inexpressible += 1
    return kept, SpatialCounts(generated, inexpressible, symmetric)


def forwarding(cascade: Cascade, bind: dict[str, str]) -> tuple[tuple[str, str, str], ...]:
    """Return the register reads of an einsum's operand made by the einsum just before it.

    When the producer runs right before the consumer on the same array, the consumer takes
    the value from the PEs' registers rather than from the level the tensor is placed in.
    """
    reads = []
    einsums = cascade.einsums
    for before, after in itertools.pairwise(einsums):
        array = bind.get(after.name)
        if array is None or bind.get(before.name) != array:
            continue
        if reads_tensor(after, before.name):
            reads.append((after.name, before.name, REGISTERS))
    return tuple(reads)


def structures(
    cascade: Cascade, spec: ArchSpec, bind: tuple[tuple[str, str], ...]
) -> tuple[list[Structure], SpatialCounts]:
    """Return every legal, canonical spatial structure of one binding, and counts."""
    bound = dict(bind)
    per_array = []
    generated = kept = unpruned = 1
    for array in spec.arrays:
        einsums = tuple(e for e in cascade.einsums if bound.get(e.name) == array.name)
        if not einsums:
            continue
        choices, counts = array_spatial_choices(einsums, array)
        per_array.append((array.name, einsums, choices))
        generated *= counts.generated
        kept *= len(choices)
        unpruned *= len(choices) + counts.dominated
    total = SpatialCounts(generated, generated - unpruned, unpruned - kept)
    reads = forwarding(cascade, bound)
    out = []
    for combination in itertools.product(*(choices for _, _, choices in per_array)):
        assignment: dict[str, Assignment] = {}
        spatial = []
        for (array_name, einsums, _), (per_einsum, pairs) in zip(
            per_array, combination, strict=True
        ):
            assignment.update({e.name: a for e, a in zip(einsums, per_einsum, strict=True)})
            spatial.append((array_name, pairs))
        ordered = tuple((e.name, assignment[e.name]) for e in cascade.einsums if e.name in bound)
        out.append(Structure(bind, ordered, tuple(spatial), reads))
    return out, total


def placement_options(
    cascade: Cascade, spec: ArchSpec, bind: dict[str, str]
) -> dict[str, tuple[Placement, ...]]:
    """Return the placement options of every tensor.

    Inputs and outputs live in the backing level, streamed from it or staged in one on-chip
    level as well. An intermediate lives in one on-chip level or in the backing level only
    (also backing it on chip would only add traffic), or in PE registers when its producer
    and every reader run on one array (their capacity is checked per tile), or when every
    reader on another array gets it over a link the spec declares (:func:`linked`).

    A view einsum (one that computes nothing, such as ``BK[e, m1, m0] = K[e, m1 * M0 +
    m0]``) only renames: its input-side tensor is an alias of an input and is placed like
    one, and so is a tensor a view turns into an output. The tensors only views touch stay
    in the backing level.
    """
    backing = spec.backing.name
    on_chip = [level.name for level in spec.levels[1:]]
    computing = {e.name for e in computing_einsums(cascade)}
    views = [e for e in cascade.einsums if e.name not in computing]
    backed: tuple[Placement, ...] = ((backing,), *((backing, level) for level in on_chip))
    out: dict[str, tuple[Placement, ...]] = {}
    for tensor in cascade.tensors:
        name = tensor.name
        readers = [e for e in cascade.einsums if reads_tensor(e, name)]
        only_views = bool(readers) and all(e.name not in computing for e in readers)
        if tensor.kind is TensorKind.INPUT and only_views:
            out[name] = ((backing,),)
            continue
        if tensor.kind is TensorKind.OUTPUT and name not in computing:
            out[name] = ((backing,),)
            continue
        if tensor.kind is not TensorKind.INTERMEDIATE:
            out[name] = backed
            continue
        view = next((e for e in views if e.name == name), None)
        if view is not None and all(
            cascade.tensor(r.tensor).kind is TensorKind.INPUT for r in view.operands
        ):
            out[name] = backed
            continue
        if any(cascade.tensor(e.name).kind is TensorKind.OUTPUT for e in readers if e in views):
            out[name] = backed
            continue
        options: list[Placement] = [(level,) for level in on_chip]
        options.append((backing,))
        if register_array(cascade, bind, name) is not None or linked(cascade, spec, bind, name):
            options.append(())
        out[name] = tuple(options)
    return out


# each einsum's operand tensors, by the einsum's identity (the einsum is kept, so its id is
# not reused): the search asks this for every tensor of every candidate
_OPERANDS: dict[int, tuple[Einsum, frozenset[str]]] = {}


def reads_tensor(einsum: Einsum, tensor: str) -> bool:
    """Return whether an einsum reads ``tensor`` (any generation)."""
    entry = _OPERANDS.get(id(einsum))
    if entry is None or entry[0] is not einsum:
        entry = _OPERANDS[id(einsum)] = (einsum, frozenset(r.tensor for r in einsum.operands))
    return tensor in entry[1]


def register_array(cascade: Cascade, bind: dict[str, str], tensor: str) -> str | None:
    """Return the one array that produces and reads ``tensor``, or None if there is none."""
    users = {bind.get(tensor)}
    users.update(bind.get(e.name) for e in cascade.einsums if reads_tensor(e, tensor))
    if len(users) != 1:
        return None
    return next(iter(users))


def linked(cascade: Cascade, spec: ArchSpec, bind: dict[str, str], tensor: str) -> bool:
    """Return whether ``tensor`` crosses arrays and every crossing has a declared link: its
    producer's array has a link to the array of each reader bound elsewhere."""
    source = bind.get(tensor)
    if source is None:
        return False
    targets = {bind.get(e.name) for e in cascade.einsums if reads_tensor(e, tensor)}
    targets -= {source, None}
    return bool(targets) and all(spec.link(source, t) is not None for t in targets if t)


def tile_values(extent: int, smallest: int) -> tuple[int, ...]:
    """Return the tile sizes tried below a rank's extent: halvings down to ``smallest``.

    Example:
        >>> tile_values(4096, 512)
        (2048, 1024, 512)
    """
    values = []
    tile = extent // 2
    while tile >= smallest and extent % tile == 0:
        values.append(tile)
        tile //= 2
    return tuple(values)


__all__ = [
    "Assignment",
    "Placement",
    "SpatialCounts",
    "Structure",
    "array_spatial_choices",
    "bindings",
    "capable_arrays",
    "computing_einsums",
    "forwarding",
    "linked",
    "placement_options",
    "reads_tensor",
    "register_array",
    "structures",
    "tile_values",
]
