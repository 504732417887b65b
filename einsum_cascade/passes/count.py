"""The pass-count analysis: the FuseMax lower bound on passes over a rank, for any mapping.

A *pass* over a rank is one traversal of a fiber of that rank. An einsum that reduces the
rank closes its fibers; an einsum that iterates the rank again and reads a closed value
must wait for the whole fiber, which starts a new pass. The count holds for every mapping,
fused or not. Rules (see the language guide, section 8):

* a reduction over the rank closes it; so does a tensor without the rank computed from a
  closed one, and a read of the final generation of an iterative rank (``RNV[f, M1, p]``);
* references to an earlier generation of an iterative rank (``RM[m1, p]``) are not
  barriers;
* a partitioned rank (``K[e, m1 * M0 + m0]``) is counted per level: over ``M1`` as any
  rank, over ``M0`` counting only barriers whose closing tensor still carries ``m1``; over
  ``M`` itself, only the passes that traverse whole ``M`` fibers (every level) count;
* a filter bounds the fibers it admits, and with them the live footprint.

Example:
    >>> from einsum_cascade import count_passes, load_cascade
    >>> count_passes(load_cascade("attention/3pass"), "M").num_passes
    3
    >>> count_passes(load_cascade("attention/1pass"), "M0").pass_of("SLN")
    2
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from einsum_cascade.graph import einsum_order
from einsum_cascade.ir import Cascade, Einsum, Generation, TensorRef, generation_of
from einsum_cascade.passes.fibers import fiber_extent
from einsum_cascade.passes.report import Footprint, PassReport
from einsum_cascade.passes.rules import Target, resolve_target
from einsum_cascade.symbols import variable_of_rank


@dataclass(frozen=True, slots=True)
class _Read:
    ref: TensorRef
    carried: bool  # an earlier (or fixed) generation: never a barrier
    initial: bool  # generation 0 of an iterative tensor: the init, not a computed value


def _reads(cascade: Cascade, einsum: Einsum) -> tuple[_Read, ...]:
    reads = []
    for ref in einsum.operands:
        tensor = cascade.tensor(ref.tensor)
        generation = generation_of(ref, tensor)
        carried = generation in (Generation.PREVIOUS, Generation.CONSTANT)
        position = tensor.iterative_position
        initial = generation is Generation.CONSTANT and ref.indices[position or 0] == 0
        reads.append(_Read(ref, carried, initial))
    return tuple(reads)


def _closes_at_read(cascade: Cascade, read: _Read, closed: dict[str, bool], target: Target) -> bool:
    if read.carried or not target.carriers <= set(read.ref.variables()):
        # A lower partition level counts only closures local to the current outer chunk.
        return False
    tensor = cascade.tensor(read.ref.tensor)
    if closed.get(tensor.name, False):
        return True
    final = generation_of(read.ref, tensor) is Generation.FINAL
    return final and variable_of_rank(tensor.iterative_rank or "") in target.counted


@dataclass(frozen=True, slots=True)
class _Assignment:
    passes: dict[str, int | None]
    barriers: tuple[tuple[str, str], ...]


def _assign(cascade: Cascade, target: Target) -> _Assignment:
    """Give every einsum its pass (ASAP); iterate to a fixpoint over carried reads."""
    order = einsum_order(cascade)
    reads = {e.name: _reads(cascade, e) for e in order}
    level: dict[str, int] = {}  # barriers on the longest path to each tensor
    closed: dict[str, bool] = {}
    barriers: dict[tuple[str, str], None] = {}
    for _ in range(len(order) + 2):
        before = dict(level)
        for einsum in order:
            _visit(cascade, einsum, reads[einsum.name], target, level, closed, barriers)
        if level == before:
            break
    passes: dict[str, int | None] = {
        e.name: level[e.name] + 1 if set(e.variables) & target.counted else None for e in order
    }
    return _Assignment(passes, tuple(barriers))


def _visit(
    cascade: Cascade,
    einsum: Einsum,
    reads: tuple[_Read, ...],
    target: Target,
    level: dict[str, int],
    closed: dict[str, bool],
    barriers: dict[tuple[str, str], None],
) -> None:
    iterated = set(einsum.variables) & target.counted
    base = 0
    any_closed = False
    for read in reads:
        if read.initial:
            continue
        name = read.ref.tensor
        is_closed = _closes_at_read(cascade, read, closed, target)
        any_closed = any_closed or is_closed
        barrier = is_closed and bool(iterated - set(read.ref.variables()))
        if barrier:
            barriers.setdefault((name, einsum.name), None)
        base = max(base, level.get(name, 0) + (1 if barrier else 0))
    kept = set(einsum.output_variables)
    reduces = bool(set(einsum.reduced_variables) & target.counted)
    lacks = bool(target.counted - kept)
    closed[einsum.name] = target.carriers <= kept and (reduces or (lacks and any_closed))
    level[einsum.name] = base


def _whole_numbering(
    cascade: Cascade, target: Target, passes: dict[str, int | None]
) -> dict[str, int | None]:
    """Renumber passes over the einsums that traverse whole fibers of a partitioned rank."""
    whole = {
        e.name
        for e in cascade.einsums
        if passes[e.name] is not None and any(part <= set(e.variables) for part in target.whole)
    }
    numbers = sorted({n for name in whole if (n := passes[name]) is not None})
    renumber = {old: new for new, old in enumerate(numbers, start=1)}
    return {
        name: renumber[number] if name in whole and number is not None else None
        for name, number in passes.items()
    }


def _reads_fiber(ref: TensorRef, target: Target) -> bool:
    variables = set(ref.variables())
    if target.whole:
        return any(part <= variables for part in target.whole)
    return bool(variables & target.counted)


def count_passes(cascade: Cascade, rank: str, *, same_sequence: Sequence[str] = ()) -> PassReport:
    """Count the passes ``cascade`` must make over ``rank`` (a lower bound for any mapping).

    Args:
        cascade: The cascade.
        rank: A rank of the cascade: a plain rank (``M``), a partition level (``M1``,
            ``M0``), or a partitioned rank (``M``, counted over whole ``M`` fibers).
        same_sequence: Other ranks that index the same sequence as ``rank``, as when Q, K
            and V are all projected from one input X (``same_sequence=("P",)`` with
            ``rank="M"``). The ranks are then counted together: a barrier is a closed
            value read by an einsum that iterates one of them without carrying it, so the
            count is the number of traversals of X forced by the cascade (X-passes).

    Returns:
        The report: passes, the pass of every einsum, the passes reading every tensor's
        fibers, the live-footprint bounds and the barriers.

    Raises:
        PassError: when a rank is not a rank of the cascade (with a did-you-mean hint).
    """
    target = resolve_target(cascade, (rank, *same_sequence))
    assignment = _assign(cascade, target)
    passes = assignment.passes
    if target.whole:
        passes = _whole_numbering(cascade, target, passes)
    read_in: dict[str, set[int]] = {}
    readers: dict[str, set[str]] = {}
    for einsum in einsum_order(cascade):
        number = passes[einsum.name]
        if number is None:
            continue
        for ref in einsum.operands:
            if _reads_fiber(ref, target):
                read_in.setdefault(ref.tensor, set()).add(number)
                readers.setdefault(ref.tensor, set()).add(einsum.name)
    footprints = tuple(
        Footprint(
            name,
            tuple(sorted(numbers)),
            fiber_extent(cascade, target, name, readers[name]) if len(numbers) > 1 else None,
        )
        for name, numbers in read_in.items()
    )
    counted = [n for n in passes.values() if n is not None]
    levels = target.partitions[0].levels if target.whole and len(target.ranks) == 1 else ()
    return PassReport(
        cascade=cascade.name,
        rank="+".join(target.ranks),
        ranks=target.ranks,
        levels=levels,
        num_passes=max(counted, default=0),
        einsum_passes=tuple(passes.items()),
        tensor_passes=tuple((f.tensor, f.passes) for f in footprints),
        footprints=footprints,
        barriers=assignment.barriers,
    )


__all__ = ["count_passes"]
