"""Fuse per-coordinate steps that loop over the same static rank into one loop.

Steps such as ``SLNV[f]``, ``SPNV[f]`` and ``RNV[f]`` each loop over ``f``; run one after
the other, every one of their ``F`` values is live at once. When a step reads the others only
at its own ``f``, the steps share one loop and each value dies within an iteration. Steps
that do not depend on a group are moved ahead of it so the group's members become adjacent.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from einsum_cascade import Cascade, Generation
from einsum_cascade.ir import generation_of
from einsum_cascade.symbols import index_symbol
from kernels.plan.nodes import Step


def _fusion_variable(step: Step, is_static: Callable[[str], bool]) -> str | None:
    """Return the static variable a step's outermost loop keeps, if it can share that loop."""
    if step.across_tiles or not step.local:
        return None
    first = step.local[0]
    if not is_static(first) or first not in step.einsum.output_variables:
        return None
    return first


def _reads(cascade: Cascade, step: Step) -> dict[str, list[tuple[int, object]]]:
    """Return, per tensor a step reads in this tile, the (position, index) pairs it reads at."""
    found: dict[str, list[tuple[int, object]]] = {}
    for ref in step.einsum.operands:
        tensor = cascade.tensor(ref.tensor)
        if generation_of(ref, tensor) is Generation.PREVIOUS:
            continue  # the previous generation is not produced in this tile
        found.setdefault(ref.tensor, []).extend(enumerate(ref.indices))
    return found


def _depends(cascade: Cascade, step: Step, producers: list[Step]) -> bool:
    names = {p.einsum.name for p in producers}
    return any(name in names for name in _reads(cascade, step))


def _pointwise(cascade: Cascade, step: Step, group: list[Step], variable: str) -> bool:
    """Tell whether ``step`` reads every tensor of ``group`` only at coordinate ``variable``."""
    reads = _reads(cascade, step)
    symbol = index_symbol(variable)
    for member in group:
        output = member.einsum.output.indices
        position = output.index(symbol)
        for at, index in reads.get(member.einsum.name, []):
            if at == position and index != symbol:
                return False
    return True


def fuse_steps(
    cascade: Cascade, steps: tuple[Step, ...], is_static: Callable[[str], bool]
) -> tuple[Step, ...]:
    """Reorder ``steps`` so those sharing a static outer loop are adjacent, and mark them.

    Args:
        cascade: The cascade the steps come from.
        steps: Steps in a valid dependency order.
        is_static: Tells whether an index variable is a compile-time (static) loop.

    Returns:
        The steps in a valid dependency order; members of one loop carry the same
        ``Step.fusion`` number, and a step alone in its loop carries none.
    """
    blocks: list[list[Step]] = []  # a block of more than one step shares its outer loop
    keys: list[str | None] = []
    for step in steps:
        variable = _fusion_variable(step, is_static)
        index = _last_block(keys, variable)
        if index is not None and _pointwise(cascade, step, blocks[index], variable or ""):
            later = [s for block in blocks[index + 1 :] for s in block]
            after = _dependents(cascade, blocks[index], later)
            if not _depends(cascade, step, after):
                moved = [s for s in later if s not in after]
                group = [*blocks[index], step]
                blocks = [*blocks[:index], *([s] for s in moved), group, *([s] for s in after)]
                keys = [
                    *keys[:index],
                    *(_fusion_variable(s, is_static) for s in moved),
                    variable,
                    *(_fusion_variable(s, is_static) for s in after),
                ]
                continue
        blocks.append([step])
        keys.append(variable)
    result: list[Step] = []
    number = 0
    for block in blocks:
        if len(block) == 1:
            result.append(block[0])
            continue
        result += [dataclasses.replace(s, fusion=number) for s in block]
        number += 1
    return tuple(result)


def _last_block(keys: list[str | None], variable: str | None) -> int | None:
    if variable is None:
        return None
    for index in range(len(keys) - 1, -1, -1):
        if keys[index] == variable:
            return index
    return None


def _dependents(cascade: Cascade, group: list[Step], later: list[Step]) -> list[Step]:
    """Return the steps of ``later`` that depend, directly or not, on ``group``."""
    found: list[Step] = []
    for step in later:
        if _depends(cascade, step, [*group, *found]):
            found.append(step)
    return found
