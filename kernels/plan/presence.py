"""Presence analysis: which tensors may hold absent points, and which ranks their presence follows.

A point of a tensor is *absent* when a filter dropped it or every operand it is built from
was absent. Kernels keep a presence flag only for tensors that may be absent, and only along
the ranks the flag can vary over: a flag that is the same at every coordinate of a static rank
(``SLNV[f]`` in causal attention is present for all ``f`` or none) is one register, not an
array, which keeps per-thread state small enough to stay in registers.
"""

from __future__ import annotations

from einsum_cascade import Cascade, Einsum, einsum_order
from einsum_cascade.ir import Binary, Call, Expr, Literal, TensorRef, Unary, filter_variables
from einsum_cascade.symbols import index_variables


def _expression_maybe_absent(expr: Expr, absent: dict[str, bool]) -> bool:
    """Tell whether an expression can be absent at some point (a static over-estimate)."""
    if isinstance(expr, TensorRef):
        return absent.get(expr.tensor, False)
    if isinstance(expr, Unary):
        return _expression_maybe_absent(expr.operand, absent)
    if isinstance(expr, Binary):
        left = _expression_maybe_absent(expr.left, absent)
        right = _expression_maybe_absent(expr.right, absent)
        return (left or right) if expr.op in "*/" else (left and right)
    if isinstance(expr, Call):
        parts = [_expression_maybe_absent(a, absent) for a in expr.args]
        return all(parts) if expr.function in ("max", "min") else any(parts)
    return False


def maybe_absent(cascade: Cascade, views: set[str]) -> dict[str, bool]:
    """Find tensors whose points may be absent; the rest never need a presence flag.

    Args:
        cascade: The cascade to analyse.
        views: Einsums that only re-index an input (always present).

    Returns:
        Every tensor name mapped to True when some point of it may be absent.
    """
    absent: dict[str, bool] = {t.name: False for t in cascade.inputs}
    for name in views:
        absent[name] = False
    for init in cascade.inits:
        value = init.value
        absent[init.tensor] = not (
            isinstance(value, Literal) and value.value != cascade.tensor(init.tensor).empty
        )
    for _ in range(2):  # iterative tensors: the update may read the previous generation
        for einsum in einsum_order(cascade):
            if einsum.name in views:
                continue
            found = _expression_maybe_absent(einsum.expression, absent)
            carriers = [r for r in einsum.operands if set(r.variables()) >= set(einsum.variables)]
            if carriers and all(absent.get(r.tensor, False) for r in carriers):
                found = True
            found = found or einsum.condition is not None
            if cascade.init(einsum.name) is not None:
                found = found or absent[einsum.name]
            absent[einsum.name] = found
    return absent


def _read_variables(
    ref: TensorRef, cascade: Cascade, ranks: dict[str, frozenset[str]], absent: dict[str, bool]
) -> set[str]:
    """Return the index variables the presence of operand ``ref`` can vary with."""
    if not absent.get(ref.tensor, False):
        return set()
    tensor = cascade.tensor(ref.tensor)
    found: set[str] = set()
    for rank, index in zip(tensor.ranks, ref.indices, strict=True):
        if rank in ranks.get(ref.tensor, frozenset()):
            found.update(index_variables(index))
    return found


def _point_variables(
    einsum: Einsum, cascade: Cascade, ranks: dict[str, frozenset[str]], absent: dict[str, bool]
) -> set[str]:
    """Return the iteration-space variables an einsum's point presence can vary with."""
    found: set[str] = set()
    for ref in einsum.operands:
        found |= _read_variables(ref, cascade, ranks, absent)
    if einsum.condition is not None:
        found.update(filter_variables(einsum.condition))
    return found


def presence_ranks(
    cascade: Cascade, views: set[str], absent: dict[str, bool]
) -> dict[str, frozenset[str]]:
    """Find, for each tensor, the ranks along which its presence flag can vary.

    A reduction's result is present when any reduced point is, so reduced variables drop out;
    an iterative tensor's flags follow its update and its init (a literal init is uniform),
    and may differ from one generation to the next (its iterative rank is always kept).
    The result over-estimates: a rank left out is one the flag provably does not depend on.

    Args:
        cascade: The cascade to analyse.
        views: Einsums that only re-index an input (always present).
        absent: The result of :func:`maybe_absent`.

    Returns:
        Every tensor name mapped to the ranks (of that tensor) its presence depends on.
    """
    ranks: dict[str, frozenset[str]] = {
        t.name: frozenset({t.iterative_rank} if t.iterative_rank else ()) for t in cascade.tensors
    }
    for init in cascade.inits:
        if not isinstance(init.value, Literal):
            ranks[init.tensor] = frozenset(cascade.tensor(init.tensor).ranks)
    changed = True
    while changed:  # grows monotonically over a finite lattice, so it ends
        changed = False
        for einsum in einsum_order(cascade):
            if einsum.name in views or not absent.get(einsum.name, False):
                continue
            varying = _point_variables(einsum, cascade, ranks, absent)
            varying -= set(einsum.reduced_variables)
            tensor = cascade.tensor(einsum.name)
            found = {
                rank
                for rank, index in zip(tensor.ranks, einsum.output.indices, strict=True)
                if set(index_variables(index)) & varying
            }
            merged = ranks[einsum.name] | found
            if merged != ranks[einsum.name]:
                ranks[einsum.name] = merged
                changed = True
    return ranks
