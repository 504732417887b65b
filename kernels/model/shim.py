"""Price a kernel plan on the CPU shim: blocks one after another, a std::thread per CUDA thread.

Per launch: a fixed launch cost, then per block the creation and join of its threads and two
``__syncthreads`` per tile of every tile loop, plus the block's work. Work is counted from the
plan per thread-point (one iteration-space point of a step, for one thread): a point of a
reduction is one dependent accumulation, any other point one independent update; each
``exp``-like call and division adds its own cost; every staged element is one update. Every
cost is a rate of :class:`mappers.hardware.machine.ShimRates` measured by ``calibrate``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from einsum_cascade.symbols import rank_of_variable
from kernels.model.gpu import ops_per_point
from kernels.plan.lower import KernelPlan, KernelSpec, Role
from mappers.hardware.machine import ShimRates

EXP_LIKE = frozenset({"exp", "log", "sqrt", "rsqrt", "tanh", "sigmoid", "elu", "pow"})
BARRIERS_PER_TILE = 2  # before staging (previous tile done) and after (tile staged)


@dataclass(frozen=True, slots=True)
class ShimWork:
    """What one kernel launch does on the shim, counted from the plan at given extents."""

    kernel: str
    blocks: int
    threads: int  # blocks * threads per block: every thread runs, rows past the end included
    barriers_per_block: int
    accumulate_points: int  # thread-points of reductions, over all threads
    update_points: int  # thread-points of elementwise steps and staged elements
    exp_calls: int
    divisions: int


def _extent(plan: KernelPlan, kernel: KernelSpec, variable: str, sizes: Mapping[str, int]) -> int:
    roles = dict(kernel.roles)
    if roles.get(variable, Role.STATIC) is Role.IN_TILE:
        return plan.tiling.tile
    return sizes[rank_of_variable(variable)]


def shim_work(plan: KernelPlan, kernel: KernelSpec, extents: Mapping[str, int]) -> ShimWork:
    """Count the thread-points, special calls and barriers of one kernel at ``extents``."""
    sizes = {**dict(plan.tiling.static_extents), **dict(extents)}
    block = plan.tiling.threads_per_block
    blocks = max(1, math.ceil(sizes[rank_of_variable(kernel.parallel)] / block))
    threads = blocks * block
    sequence = sizes[plan.tiling.sequence_rank]
    tiles = math.ceil(sequence / plan.tiling.tile)
    accumulate = update = exp = divide = barriers = staged = 0  # per thread, but staged
    for segment in kernel.segments:
        repeat = tiles if segment.is_loop else 1
        if segment.is_loop:
            barriers += BARRIERS_PER_TILE * tiles
        for step in segment.steps:
            points = math.prod(_extent(plan, kernel, v, sizes) for v in step.local)
            if not segment.is_loop and plan.in_tile_variable in step.local:
                points = points // plan.tiling.tile * sequence
            points *= repeat
            counts = ops_per_point(step)
            if step.reduced:
                accumulate += points
            else:
                update += points
            exp += points * sum(n for k, n in counts.items() if k in EXP_LIKE)
            divide += points * counts.get("div", 0)
        for name in segment.staged:
            ranks = plan.cascade.tensor(name).ranks
            per_tile = plan.tiling.tile * math.prod(
                sizes[r] for r in ranks if r != plan.tiling.sequence_rank
            )
            staged += blocks * repeat * per_tile  # loaded cooperatively by a block's threads
    return ShimWork(
        kernel.name,
        blocks,
        threads,
        barriers,
        accumulate * threads,
        update * threads + staged,
        exp * threads,
        divide * threads,
    )


def shim_time(work: ShimWork, rates: ShimRates) -> dict[str, float]:
    """Return seconds per cause of one launch: launch, threads, barriers, compute."""
    return {
        "launch": rates.launch_s,
        "threads": work.blocks * rates.block_s,
        "barriers": work.blocks * work.barriers_per_block * rates.barrier_s,
        "compute": (
            work.accumulate_points * rates.accumulate_s
            + work.update_points * rates.elementwise_s
            + work.exp_calls * rates.exp_s
            + work.divisions * rates.divide_s
        ),
    }


def price_plan(plan: KernelPlan, extents: Mapping[str, int], rates: ShimRates) -> dict[str, float]:
    """Return seconds per cause summed over every launch of ``plan`` (launched in order)."""
    totals = {"launch": 0.0, "threads": 0.0, "barriers": 0.0, "compute": 0.0}
    for kernel in plan.kernels:
        for key, value in shim_time(shim_work(plan, kernel, extents), rates).items():
            totals[key] += value
    return totals
