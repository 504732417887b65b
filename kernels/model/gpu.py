"""Model a SIMT kernel plan on a GPU spec: per-thread work from the plan, occupancy, bounds.

Everything is a sympy expression in the runtime extents (``M``, ``P``, grid ranks...),
built once per (plan, spec, registers) and evaluated with ``lambdify``. The generated CUDA
kernels are scalar FP32 SIMT code (one thread per query), so they are priced against the
FP32 and SFU rates, never the tensor cores. Right by construction:

* the grid is ``ceil(rows / block)`` times every grid-rank extent (32 heads cost 32x one);
* shared-memory (and L1) traffic is per thread, times threads: every thread reads its
  operands from the staged tile (and from L1 for global operands such as ``Q``, reloaded at
  every key); the cooperative staging store is per block;
* the issue-slot bound counts every instruction a point needs (arithmetic, loads, the loop's
  counter, compare and branch), at 4 warp instructions per clock per SM;
* every bound divides work by a rate no higher than the machine's peak, and the time is the
  largest bound plus a launch: no prediction beats the peaks.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import sympy

from einsum_cascade.ir import Binary, Call, Unary, walk
from einsum_cascade.symbols import extent_symbol, rank_of_variable
from kernels.plan.lower import KernelPlan, KernelSpec, Role, Step, Storage
from mappers.hardware.machine import GpuSpec

# Warps per SM needed to hide FP32/SFU dependency latency (4 schedulers x 4 warps): a model
# constant, not a datasheet number; below it the SM issues proportionally less.
SATURATING_WARPS_PER_SM = 16
DEFAULT_REGISTERS = 64  # when ptxas resources are not given
_FP32_INSTRUCTIONS = {"mac": 1, "add": 1, "sub": 1, "mul": 1, "max": 1, "min": 1, "neg": 1}
_SFU = {"exp": 1, "log": 1, "sqrt": 1, "rsqrt": 1, "tanh": 1, "div": 1, "pow": 2, "sigmoid": 1}
_SFU_FP32_EXTRA = {"exp": 1, "div": 1, "pow": 2, "log": 1, "sigmoid": 3}
ISSUE_PER_SM_PER_CLOCK = 4  # warp instructions: four schedulers, one issue each per clock
LOOP_INSTRUCTIONS = 3  # per point of an in-thread loop: counter add, compare, branch
LOAD_INSTRUCTIONS = 2  # per operand read from shared memory or L1: address, load


@dataclass(frozen=True, slots=True)
class Occupancy:
    """Blocks of one kernel resident per SM, and what limits them."""

    blocks_per_sm: int
    limiter: str
    warps_per_block: int


def occupancy(
    spec: GpuSpec, threads_per_block: int, registers: int, shared_bytes: float
) -> Occupancy:
    """Return resident blocks per SM from threads, registers and shared memory per block.

    Example:
        A100, 64 threads, 223 registers: ceil(223*32/256)*256 = 7168 registers a warp,
        2 warps = 14336 a block, 65536 // 14336 = 4 blocks.
    """
    warps = math.ceil(threads_per_block / spec.warp_size)
    unit = spec.register_allocation_unit
    per_warp = math.ceil(max(registers, 1) * spec.warp_size / unit) * unit
    shared = shared_bytes + spec.reserved_shared_bytes_per_block
    shared = math.ceil(shared / spec.shared_allocation_unit) * spec.shared_allocation_unit
    limits = {
        "blocks": spec.max_blocks_per_sm,
        "threads": spec.max_threads_per_sm // (warps * spec.warp_size),
        "registers": spec.registers_per_sm // (per_warp * warps),
        "shared": int(spec.shared_bytes_per_sm // shared) if shared > 0 else 10**9,
    }
    limiter = min(limits, key=lambda k: (limits[k], k))
    return Occupancy(max(0, limits[limiter]), limiter, warps)


def ops_per_point(step: Step) -> dict[str, int]:
    """Count the operations of one iteration-space point of a step (a mac fuses * and +)."""
    einsum = step.einsum
    counts: dict[str, int] = {}
    names = {"+": "add", "-": "sub", "*": "mul", "/": "div"}
    for node in walk(einsum.expression):
        if isinstance(node, Binary):
            counts[names[node.op]] = counts.get(names[node.op], 0) + 1
        elif isinstance(node, Call):
            counts[node.function] = counts.get(node.function, 0) + 1
        elif isinstance(node, Unary):
            counts["neg"] = counts.get("neg", 0) + 1
    if step.reduced:
        op = {"+": "add", "max": "max", "min": "min", "*": "mul"}[einsum.reduce_op.value]
        if op == "add" and counts.get("mul", 0) > 0:
            counts["mul"] -= 1
            op = "mac"
        counts[op] = counts.get(op, 0) + 1
    return {k: v for k, v in counts.items() if v}


@dataclass(frozen=True, slots=True)
class KernelWork:
    """Symbolic totals of one kernel over the whole launch."""

    name: str
    threads_per_block: int
    blocks: sympy.Expr  # row blocks times every grid-rank extent
    fp32_instructions: sympy.Expr  # per-thread FP32 instructions, summed over threads
    sfu_operations: sympy.Expr
    shared_bytes_moved: sympy.Expr  # shared memory and L1 (one datapath), every thread
    hbm_bytes: sympy.Expr
    instructions: sympy.Expr  # every issued thread instruction
    flops: sympy.Expr  # useful FLOPs (a mac is 2)


def _extent(plan: KernelPlan, kernel: KernelSpec, variable: str) -> sympy.Expr:
    role = kernel.role(variable) if variable in dict(kernel.roles) else Role.STATIC
    if role is Role.IN_TILE:
        return sympy.Integer(plan.tiling.tile)
    rank = rank_of_variable(variable)
    static = dict(plan.tiling.static_extents)
    return sympy.Integer(static[rank]) if rank in static else extent_symbol(rank)


def kernel_work(plan: KernelPlan, kernel: KernelSpec, l2_size_bytes: float = 0.0) -> KernelWork:
    """Sum the per-thread work of every step over tiles and threads, and the memory traffic.

    A staged input read by every block comes from HBM once when the whole tensor fits in
    L2 (``l2_size_bytes``), else once per block and tile.
    """
    word = 2 if plan.tiling.input_dtype == "float16" else 4
    rows = _size(plan, rank_of_variable(kernel.parallel))
    heads = sympy.Mul(*(_size(plan, r) for r in plan.tiling.grid_ranks))
    blocks = sympy.ceiling(rows / plan.tiling.threads_per_block) * heads
    threads = blocks * plan.tiling.threads_per_block
    sequence = extent_symbol(plan.tiling.sequence_rank)
    tiles = sympy.ceiling(sequence / plan.tiling.tile)
    fp32 = sfu = shared = hbm = staging = other = flops = sympy.Integer(0)
    storage = _buffers(kernel)
    grid = set(plan.tiling.grid_ranks)
    for segment in kernel.segments:
        repeat = tiles if segment.is_loop else sympy.Integer(1)
        for step in segment.steps:
            points = sympy.Mul(*(_extent(plan, kernel, v) for v in step.local))
            if not segment.is_loop and plan.in_tile_variable in step.local:
                points = points / plan.tiling.tile * sequence
            counts = ops_per_point(step)
            arithmetic = sum(_FP32_INSTRUCTIONS.get(k, 0) * n for k, n in counts.items())
            fp32 += repeat * points * arithmetic
            fp32 += repeat * points * sum(_SFU_FP32_EXTRA.get(k, 0) * n for k, n in counts.items())
            sfu += repeat * points * sum(_SFU.get(k, 0) * n for k, n in counts.items())
            flops += repeat * points * (arithmetic + counts.get("mac", 0))
            reads = [r for r in step.einsum.operands if r.tensor in storage]
            on_chip = sum(
                1
                for r in reads
                if storage[r.tensor]
                in (Storage.STAGED, Storage.VIEW, Storage.SHARED, Storage.GLOBAL)
            )  # a global operand (Q) is reloaded from L1 at every point
            shared += repeat * points * 4 * on_chip
            other += repeat * points * (LOAD_INSTRUCTIONS * on_chip + LOOP_INSTRUCTIONS)
        for name in segment.staged:
            ranks = plan.cascade.tensor(name).ranks
            per_tile = word * plan.tiling.tile
            for rank in ranks:
                if rank != plan.tiling.sequence_rank:
                    per_tile *= dict(plan.tiling.static_extents).get(rank, 1)
            staging += repeat * per_tile  # the cooperative store, once per block
            whole = word * sympy.Mul(*(_size(plan, r) for r in ranks if r not in grid))
            whole = whole * sympy.Mul(*(_size(plan, r) for r in ranks if r in grid))
            streamed = blocks * repeat * per_tile
            hbm += sympy.Piecewise((whole, whole <= l2_size_bytes), (streamed, True))
    for name in kernel.params:
        tensor = plan.cascade.tensor(name)
        if name in {b.tensor for b in kernel.buffers if b.storage is Storage.STAGED}:
            continue
        size = sympy.Mul(*(_size(plan, r) for r in tensor.ranks))
        hbm += size * 4
    return KernelWork(
        kernel.name, plan.tiling.threads_per_block, blocks, fp32 * threads, sfu * threads,
        shared * threads + staging * blocks, hbm, (fp32 + sfu + other) * threads,
        flops * threads,
    )  # fmt: skip


def _size(plan: KernelPlan, rank: str) -> sympy.Expr:
    static = dict(plan.tiling.static_extents)
    return sympy.Integer(static[rank]) if rank in static else extent_symbol(rank)


def _buffers(kernel: KernelSpec) -> dict[str, Storage]:
    return {b.tensor: b.storage for b in kernel.buffers}


def kernel_time(spec: GpuSpec, work: KernelWork, fit: Occupancy) -> dict[str, sympy.Expr]:
    """Return the symbolic seconds of each bound of one kernel and their max plus launch."""
    per_sm = max(fit.blocks_per_sm, 1)
    resident = sympy.Min(per_sm, sympy.ceiling(work.blocks / spec.sm_count))
    warps = resident * fit.warps_per_block
    issue = sympy.Min(1, warps / SATURATING_WARPS_PER_SM)
    used_sms = sympy.Min(spec.sm_count, work.blocks)  # grid extents included
    share = used_sms / spec.sm_count
    fp32_rate = spec.fp32_flops_per_s / 2 * share * issue  # FMA = 2 FLOPs, 1 instruction
    issue_rate = ISSUE_PER_SM_PER_CLOCK * spec.warp_size * spec.clock_hz * spec.sm_count
    bounds = {
        "fp32_s": work.fp32_instructions / fp32_rate,
        "sfu_s": work.sfu_operations / (spec.exp_per_s * share * issue),
        "shared_s": work.shared_bytes_moved / (spec.shared_bandwidth_bytes_per_s * share),
        "hbm_s": work.hbm_bytes / spec.hbm_bandwidth_bytes_per_s,
        "issue_s": work.instructions / (issue_rate * share * issue),
    }
    bounds["total_s"] = spec.launch_overhead_s + sympy.Max(*bounds.values())
    return bounds


def gpu_time_expression(
    plan: KernelPlan, spec: GpuSpec, registers: Mapping[str, int] | None = None
) -> tuple[sympy.Expr, dict[str, sympy.Expr], dict[str, Occupancy]]:
    """Return (total seconds, per-bound sums, occupancy per kernel) as sympy in the extents."""
    total = sympy.Integer(0)
    bounds: dict[str, sympy.Expr] = {}
    fits: dict[str, Occupancy] = {}
    for kernel in plan.kernels:
        count = (registers or {}).get(kernel.name, DEFAULT_REGISTERS)
        fit = occupancy(spec, plan.tiling.threads_per_block, count, plan.shared_bytes(kernel))
        fits[kernel.name] = fit
        times = kernel_time(spec, kernel_work(plan, kernel, spec.l2_size_bytes), fit)
        total += times.pop("total_s")
        for key, value in times.items():
            bounds[key] = bounds.get(key, sympy.Integer(0)) + value
    return total, bounds, fits
