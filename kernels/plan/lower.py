"""Lower a cascade plus a tiling to a kernel plan: kernels, tile loops and per-einsum steps.

The plan is frozen and hashable and holds no arrays. Every renderer (CUDA, NumPy twin)
reads the same plan. One thread owns one coordinate of a kernel's parallel rank; the
sequence rank is walked tile by tile; every other rank is a static (compile-time) loop.
Einsums in one pass over the sequence rank (``Cascade.passes``) fuse into one tile loop; a
new pass starts a new loop, and tile-local tensors a later pass needs are recomputed in it.
"""

from __future__ import annotations

import sympy

from einsum_cascade import Cascade, Einsum, TensorKind, count_passes, einsum_order
from einsum_cascade.ir import TensorRef
from einsum_cascade.symbols import extent_symbol, rank_of_variable
from kernels.plan.build import SUPPORTED_FUNCTIONS, KernelBuilder, is_split_index, kernel_error
from kernels.plan.nodes import Buffer, KernelPlan, KernelSpec, Role, Segment, Step, Storage
from kernels.plan.tiling import Tiling

__all__ = [
    "SUPPORTED_FUNCTIONS",
    "Buffer",
    "KernelPlan",
    "KernelSpec",
    "Role",
    "Segment",
    "Step",
    "Storage",
    "plan_kernels",
]


def _is_partitioned(cascade: Cascade, rank: str) -> bool:
    outer, inner = f"{rank}1", f"{rank}0"
    if not (cascade.has_rank(outer) and cascade.has_rank(inner)):
        return False
    expected = sympy.ceiling(extent_symbol(rank) / extent_symbol(inner))
    return sympy.simplify(cascade.rank(outer).expression - expected) == 0


def _pass_numbers(cascade: Cascade, variable: str) -> dict[str, int | None]:
    """Return the pass of every einsum over the loop rank, from the cascade's pass analysis."""
    report = count_passes(cascade, rank_of_variable(variable))
    return dict(report.einsum_passes)


def _is_view(cascade: Cascade, einsum: Einsum, tile: str | None, in_tile: str) -> bool:
    expr = einsum.expression
    if not isinstance(expr, TensorRef) or einsum.condition is not None or tile is None:
        return False
    if cascade.tensor(expr.tensor).kind is not TensorKind.INPUT or einsum.reduced_variables:
        return False
    return any(is_split_index(i, tile, in_tile) for i in expr.indices)


def plan_kernels(cascade: Cascade, tiling: Tiling) -> KernelPlan:
    """Lower ``cascade`` for ``tiling`` to a kernel plan.

    Raises:
        KernelError: a construct the lowering does not support, naming the einsum.
    """
    rank = tiling.sequence_rank
    if not cascade.has_rank(rank):
        raise kernel_error(None, f"cascade '{cascade.name}' has no sequence rank '{rank}'")
    for grid_rank in tiling.grid_ranks:
        if not cascade.has_rank(grid_rank):
            raise kernel_error(None, f"cascade '{cascade.name}' has no grid rank '{grid_rank}'")
    partitioned = _is_partitioned(cascade, rank)
    sequence = rank.lower()
    tile_variable = f"{sequence}1" if partitioned else None
    in_tile = f"{sequence}0" if partitioned else sequence
    loop_variable = tile_variable or sequence
    passes = _pass_numbers(cascade, loop_variable)
    views: set[str] = {
        e.name for e in cascade.einsums if _is_view(cascade, e, tile_variable, in_tile)
    }
    groups = _kernel_groups(cascade, tiling.parallel_rank.lower(), views)
    builder = KernelBuilder(cascade, tiling, tile_variable, in_tile, passes, views)
    kernels = tuple(
        builder.build(f"{cascade.name}_k{i}", parallel, names, groups)
        for i, (parallel, names) in enumerate(groups)
    )
    tile_extent = f"{rank}0" if partitioned else f"{rank}_TILE"
    return KernelPlan(cascade, tiling, kernels, sequence, tile_variable, in_tile, tile_extent)


def _own_parallel(einsum: Einsum, parallel: str) -> str:
    if parallel in einsum.variables:
        return parallel
    if einsum.output_variables:
        return einsum.output_variables[0]
    raise kernel_error(einsum, f"einsum '{einsum.name}' produces a scalar; no rank to parallelize")


def _kernel_groups(
    cascade: Cascade, parallel: str, views: set[str]
) -> list[tuple[str, tuple[str, ...]]]:
    """Split einsums into kernels by their parallel variable.

    An einsum over the tiling's parallel rank runs one thread per coordinate of it; an
    einsum without it (a state such as KV[e, f] in linear attention) runs in a kernel
    parallel over its first output variable. A kernel starts after every kernel it reads
    from; an einsum whose consumers all share its parallel variable joins their kernel.
    """
    order = [e for e in einsum_order(cascade) if e.name not in views]
    own: dict[str, str] = {e.name: _own_parallel(e, parallel) for e in order}
    consumers: dict[str, list[str]] = {e.name: [] for e in order}
    level: dict[str, int] = {}
    for einsum in order:
        found = 0
        for ref in einsum.operands:
            if ref.tensor in level:
                consumers[ref.tensor].append(einsum.name)
                found = max(found, level[ref.tensor] + (own[ref.tensor] != own[einsum.name]))
        level[einsum.name] = found
    for einsum in reversed(order):  # as late as possible when every consumer agrees
        users = consumers[einsum.name]
        if users and all(own[u] == own[einsum.name] for u in users):
            level[einsum.name] = max(level[einsum.name], min(level[u] for u in users))
    keys: dict[tuple[int, str], list[str]] = {}
    for einsum in order:
        keys.setdefault((level[einsum.name], own[einsum.name]), []).append(einsum.name)
    ranked = sorted(
        keys.items(),
        key=lambda item: (item[0][0], order.index(next(e for e in order if e.name == item[1][0]))),
    )
    return [(variable, tuple(names)) for (_, variable), names in ranked]
