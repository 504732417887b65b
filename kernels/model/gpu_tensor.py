"""Model a Triton (tensor-core) kernel plan on a GPU spec, right by construction.

Per program (``BLOCK_P`` rows of one grid coordinate) and per tile it visits:

* tensor-core FLOPs of every ``tl.dot`` (padded block sizes: what the hardware executes),
  at the fp16 (or TF32) tensor peak;
* special-function operations (``exp``...) at the SFU rate;
* issued warp instructions: the SASS loop body when the kernel was compiled, else the
  plan's instruction mix (every element of a non-dot step: its operations, one select, one
  move), at 4 warp instructions per clock per SM;
* shared memory: each staged tile is written once and read by every warp (sm_80 ldmatrix)
  or once per warpgroup (sm_90a wgmma reads shared memory directly);
* HBM: each staged tensor once if all of it fits in L2, else once per program and tile;
  per-program blocks and outputs once.

Programs are the row blocks times every grid-rank extent; tiles a filter removes are not
visited (``kernels.plan.skipping``), counted program by program. Each SM gets an equal share
of every total, and never less than the largest program. Occupancy (registers, shared
memory, warps) sets the programs resident per SM: with two or more, one program's dots
overlap another's softmax and the SM time is the largest bound; with one, the dots and the
instruction stream serialise. Every bound is work over a rate no higher than the peak, and
the time is at least each bound, so no prediction beats the machine.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from einsum_cascade.ir import Binary, TensorRef
from einsum_cascade.symbols import extent_symbol, rank_of_variable
from kernels.model.gpu import _SFU, ISSUE_PER_SM_PER_CLOCK, Occupancy, occupancy, ops_per_point
from kernels.plan.nodes import KernelPlan, KernelSpec, Role, Step, Storage
from kernels.plan.skipping import tile_bounds
from mappers.hardware.machine import GpuSpec

WARPGROUP = 4  # warps sharing one wgmma on sm_90a
OTHER_INSTRUCTIONS = 2  # per element of a non-dot step: a select and a move


@dataclass(frozen=True, slots=True)
class KernelResources:
    """What a compile tells about one kernel (or what is assumed without one)."""

    warps: int
    registers: int
    shared_bytes: int
    loop_instructions: int = 0  # per warp per tile, from SASS; 0: use the plan's mix
    wgmma: bool = True  # sm_90a reads dot operands from shared memory once per warpgroup


@dataclass(frozen=True, slots=True)
class TensorPrediction:
    """Modelled seconds of one plan: bounds in seconds, the limiter and occupancy."""

    total_s: float
    bounds: tuple[tuple[str, float], ...]
    limiter: str
    dot_flops: float
    occupancy: tuple[tuple[str, Occupancy], ...]
    instruction_source: str  # "sass" or "plan"

    @property
    def flops_per_s(self) -> float:
        """Return the executed tensor-core FLOPs per second."""
        return self.dot_flops / self.total_s if self.total_s > 0 else 0.0


def _size(plan: KernelPlan, kernel: KernelSpec, variable: str) -> int:
    role = kernel.role(variable)
    if role is Role.PARALLEL:
        return plan.tiling.threads_per_block
    if role is Role.IN_TILE:
        return plan.tiling.tile
    value = plan.static_extents[rank_of_variable(variable)]
    return 1 << max(0, (value - 1).bit_length())


def _is_dot(plan: KernelPlan, kernel: KernelSpec, step: Step) -> bool:
    """Mirror the renderer's choice: a sum of two reads, one without the parallel rank."""
    expr = step.einsum.expression
    if step.einsum.reduce_op.value != "+" or len(step.reduced) != 1 or len(step.local) != 2:
        return False
    if not (isinstance(expr, Binary) and expr.op == "*"):
        return False
    if not (isinstance(expr.left, TensorRef) and isinstance(expr.right, TensorRef)):
        return False
    shared = [
        r
        for r in (expr.left, expr.right)
        if kernel.parallel not in {str(i) for i in r.indices}
        and kernel.buffer(r.tensor).storage in (Storage.STAGED, Storage.VIEW, Storage.GLOBAL)
    ]
    sizes = [_size(plan, kernel, v) for v in (kernel.parallel, *step.local)]
    return len(shared) == 1 and min(sizes) >= 16


def _tiles_per_program(
    plan: KernelPlan, kernel: KernelSpec, extents: Mapping[str, int], segment_index: int
) -> list[int]:
    """Return the tiles each row block visits (the same for every grid coordinate)."""
    segment = kernel.segments[segment_index]
    rows = extents[rank_of_variable(kernel.parallel)]
    block, tile = plan.tiling.threads_per_block, plan.tiling.tile
    tiles = -(-extents[plan.tiling.sequence_rank] // tile)
    blocks = max(1, -(-rows // block))
    bounds = tile_bounds(plan, kernel, segment)
    if bounds is None:
        return [tiles] * blocks
    values = {extent_symbol(k): v for k, v in extents.items()}
    values[extent_symbol(plan.tile_extent)] = tile
    counts = []
    for index in range(blocks):
        first, last = index * block, min(rows, index * block + block) - 1
        low_tile, high_tile = 0, tiles
        if bounds.lowest is not None:
            expr = bounds.lowest.subs(values)
            low = min(int(expr.subs(dict.fromkeys(expr.free_symbols, first))), 10**12)
            low = min(low, int(expr.subs(dict.fromkeys(expr.free_symbols, last))))
            low_tile = max(low, 0) // tile
        if bounds.highest is not None:
            expr = bounds.highest.subs(values)
            high = max(
                int(expr.subs(dict.fromkeys(expr.free_symbols, first))),
                int(expr.subs(dict.fromkeys(expr.free_symbols, last))),
            )
            high_tile = min(tiles, (max(high, -1) + tile) // tile)
        counts.append(max(0, high_tile - low_tile))
    return counts


WORK = ("tensor", "sfu", "issue", "shared")  # the per-SM work kinds, each with its own rate


@dataclass(frozen=True, slots=True)
class _KernelWork:
    """One kernel's work: summed over its programs, in its largest program, and HBM bytes."""

    total: dict[str, float]
    largest: dict[str, float]
    hbm_bytes: float
    dot_flops: float


def staged_tile_bytes(plan: KernelPlan, name: str, word: int) -> int:
    """Return the bytes of one staged tile of tensor ``name`` (tile x its static extents)."""
    size = word * plan.tiling.tile
    for rank in plan.cascade.tensor(name).ranks:
        if rank in plan.static_extents:
            size *= plan.static_extents[rank]
    return size


def _per_tile(
    plan: KernelPlan,
    kernel: KernelSpec,
    segment_index: int,
    spec: GpuSpec,
    used: KernelResources,
    word: int,
) -> dict[str, float]:
    """Return the work of one program on one tile of a segment, by kind (see :data:`WORK`)."""
    segment = kernel.segments[segment_index]
    block = plan.tiling.threads_per_block
    per_tile = dict.fromkeys(WORK, 0.0)
    instructions = 0.0
    for step in segment.steps:
        elements = block * math.prod(_size(plan, kernel, v) for v in step.local)
        if _is_dot(plan, kernel, step):
            per_tile["tensor"] += 2.0 * elements
            continue
        counts = ops_per_point(step)
        per_tile["sfu"] += elements * sum(_SFU.get(k, 0) * n for k, n in counts.items())
        instructions += elements * (sum(counts.values()) + OTHER_INSTRUCTIONS)
    staged_bytes = float(sum(staged_tile_bytes(plan, name, word) for name in segment.staged))
    readers = max(1, used.warps // WARPGROUP) if used.wgmma else used.warps
    per_tile["shared"] = staged_bytes * (1 + readers)
    if used.loop_instructions and segment.is_loop:
        per_tile["issue"] = used.warps * used.loop_instructions
    else:
        per_tile["issue"] = instructions / spec.warp_size
    return per_tile


def _kernel_work(
    plan: KernelPlan,
    kernel: KernelSpec,
    extents: Mapping[str, int],
    spec: GpuSpec,
    used: KernelResources,
    word: int,
) -> _KernelWork:
    """Return the work of one kernel over every program and tile it visits."""
    heads = math.prod(extents[r] for r in plan.tiling.grid_ranks)
    block = plan.tiling.threads_per_block
    programs = max(1, -(-extents[rank_of_variable(kernel.parallel)] // block)) * heads
    total = dict.fromkeys(WORK, 0.0)
    largest = dict.fromkeys(WORK, 0.0)
    hbm = 0.0
    flops = 0.0
    counted: set[str] = set()
    for index, segment in enumerate(kernel.segments):
        tiles = _tiles_per_program(plan, kernel, extents, index) if segment.is_loop else [1]
        streamed = 0.0
        for name in segment.staged:
            whole = word * math.prod(extents[r] for r in plan.cascade.tensor(name).ranks)
            if whole > spec.l2_size_bytes:  # streamed by every program that visits it
                streamed += staged_tile_bytes(plan, name, word) * (sum(tiles) * heads)
            elif name not in counted:  # read from HBM once, then from L2
                counted.add(name)
                hbm += whole
        hbm += streamed
        per_tile = _per_tile(plan, kernel, index, spec, used, word)
        visits = sum(tiles) * heads if segment.is_loop else programs
        for key in WORK:
            total[key] += per_tile[key] * visits
            largest[key] += per_tile[key] * max(tiles)
        flops += per_tile["tensor"] * visits
    for name in kernel.params:  # per-program blocks and outputs once
        tensor = plan.cascade.tensor(name)
        if plan.tiling.sequence_rank not in tensor.ranks:
            size = math.prod(extents[r] for r in tensor.ranks)
            hbm += size * (word if tensor.kind.value == "input" else 4)
    return _KernelWork(total, largest, hbm, flops)


def _kernel_bounds(
    work: _KernelWork, spec: GpuSpec, rates: Mapping[str, float], fit: Occupancy
) -> tuple[dict[str, float], float]:
    """Return one kernel's bounds in seconds and its time on the chip (without the launch).

    With two or more resident programs the time is the largest bound; with one, the dots
    and the instruction stream serialise (the ``serial_s`` bound).
    """
    bounds = {
        f"{key}_s": max(
            work.total[key] / (spec.sm_count * rates[key]), work.largest[key] / rates[key]
        )
        for key in WORK
    }
    bounds["hbm_s"] = work.hbm_bytes / spec.hbm_bandwidth_bytes_per_s
    if fit.blocks_per_sm >= 2:
        return bounds, max(bounds.values())
    chip = max(
        bounds["tensor_s"] + max(bounds["issue_s"], bounds["sfu_s"]),
        bounds["shared_s"],
        bounds["hbm_s"],
    )
    bounds["serial_s"] = chip
    return bounds, chip


def _rates(spec: GpuSpec, word: int) -> dict[str, float]:
    """Return the per-SM rate of each kind of work: FLOP/s, SFU op/s, instructions/s, B/s."""
    tensor = spec.tensor_fp16_flops_per_s if word == 2 else spec.tensor_tf32_flops_per_s
    return {
        "tensor": tensor / spec.sm_count,
        "sfu": spec.exp_per_s / spec.sm_count,
        "issue": ISSUE_PER_SM_PER_CLOCK * spec.clock_hz,
        "shared": spec.shared_bandwidth_bytes_per_s / spec.sm_count,
    }


def predict_tensor(
    plan: KernelPlan,
    spec: GpuSpec,
    extents: Mapping[str, int],
    resources: Mapping[str, KernelResources],
) -> TensorPrediction:
    """Predict the run time of the plan's Triton kernels at ``extents``."""
    word = 2 if plan.tiling.input_dtype == "float16" else 4
    rates = _rates(spec, word)
    extents = {**plan.static_extents, **extents}
    total = 0.0
    sums: dict[str, float] = {}
    flops_total = 0.0
    fits: list[tuple[str, Occupancy]] = []
    for kernel in plan.kernels:
        used = resources[kernel.name]
        work = _kernel_work(plan, kernel, extents, spec, used, word)
        flops_total += work.dot_flops
        fit = occupancy(spec, spec.warp_size * used.warps, used.registers, used.shared_bytes)
        fits.append((kernel.name, fit))
        bounds, chip = _kernel_bounds(work, spec, rates, fit)
        total += spec.launch_overhead_s + chip
        for key, value in bounds.items():
            sums[key] = sums.get(key, 0.0) + value
    limiter = max(sums, key=lambda k: sums[k])
    source = "sass" if all(resources[k.name].loop_instructions for k in plan.kernels) else "plan"
    return TensorPrediction(
        total, tuple(sums.items()), limiter.removesuffix("_s"), flops_total, tuple(fits), source
    )
