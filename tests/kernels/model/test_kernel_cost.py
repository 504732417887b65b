import math

import pytest
import sympy

from einsum_cascade import library
from kernels.errors import KernelError
from kernels.model.cpu import price_op, price_trace, trace_twin
from kernels.model.gpu import kernel_work, occupancy, ops_per_point
from kernels.model.predict import estimate_kernel_time
from kernels.model.shim import shim_time, shim_work
from kernels.model.trace import TracedOp
from kernels.plan.lower import plan_kernels
from kernels.plan.tiling import Tiling
from mappers.hardware.machine import (
    BandwidthLevel,
    CallTime,
    CpuProfile,
    CpuSpec,
    EinsumRate,
    ShimRates,
)
from mappers.hardware.machine_loader import load_machine


def _plan(name, tile=32, head=64):
    cascade = library.load(name)
    return plan_kernels(cascade, Tiling(tile=tile, static_extents=(("E", head), ("F", head))))


PROFILE = CpuProfile(
    threads=1,
    call_overhead_s=(("default", 1e-6),),
    levels=(BandwidthLevel("L2", 2**20, 1e11), BandwidthLevel("DRAM", 2**50, 1e10)),
    exp_per_s=1e9,
    einsum=(EinsumRate("ca,cb->ab", ((64, 256), (64, 32)), 1e10),),
)
CPU = CpuSpec("toy", 1, (PROFILE,))


@pytest.mark.parametrize(
    ("regs", "shared", "threads", "blocks", "limiter"),
    [
        # the cuda_occupancy.h oracle values of kernels-research.md section 3.5 (sm_80):
        # 223 regs -> 224*32 = 7168 per warp, 14336 per 2-warp block, 65536 // 14336 = 4
        (223, 16384, 64, 4, "registers"),
        # 167 regs -> 168*32 = 5376 per warp, 10752 per block, 65536 // 10752 = 6;
        # smem 24704 + 1024 = 25728 -> 167936 // 25728 = 6 as well
        (167, 24704, 64, 6, "registers"),
        # 32 regs, 256 threads: 2048 // 256 = 8 blocks by threads, 65536 // 8192 = 8 by regs
        (32, 0, 256, 8, "registers"),
    ],
    ids=["reg-limited", "reg-and-smem", "full"],
)
def test_occupancy_matches_the_cuda_calculator_on_a100(regs, shared, threads, blocks, limiter):
    fit = occupancy(load_machine("a100"), threads, regs, shared)
    assert fit.blocks_per_sm == blocks
    assert fit.limiter in (limiter, "threads")


def test_ops_per_point_fuses_multiply_and_sum_into_a_mac():
    plan = _plan("attention/3pass")
    steps = {s.einsum.name: s for seg in plan.kernels[0].segments for s in seg.steps}
    assert ops_per_point(steps["QK"]) == {"mac": 1}
    assert ops_per_point(steps["SN"]) == {"sub": 1, "exp": 1}
    assert ops_per_point(steps["GM"]) == {"max": 1}


def test_gpu_work_of_3pass_counts_qk_three_times_and_av_once():
    plan = _plan("attention/3pass", tile=32)
    work = kernel_work(plan, plan.kernels[0])
    m, p = (
        sympy.Symbol("M", positive=True, integer=True),
        sympy.Symbol("P", positive=True, integer=True),
    )
    values = {s: {"M": 64, "P": 64}[s.name] for s in work.fp32_instructions.free_symbols}
    # per thread per tile: QK is 32 * 64 = 2048 macs in each of 3 passes (recomputed), AV
    # 32 * 64 = 2048 macs in pass 3; at M = 64 (2 tiles), P = 64 (one block of 64 threads):
    # (3 + 1) * 2 tiles * 2048 * 64 threads = 1048576 instructions
    total = float(work.fp32_instructions.subs(values))
    assert total > 1048576
    assert total < 1048576 * 1.1  # the softmax adds a few per score, not another E per score
    assert {str(s) for s in work.hbm_bytes.free_symbols} <= {str(m), str(p)}


@pytest.mark.parametrize("name", ["attention/1pass", "attention/3pass", "variants/linear"])
def test_gpu_time_grows_with_sequence_length_and_h100_beats_a100(name):
    plan = _plan(name)
    a100, h100 = load_machine("a100"), load_machine("h100")
    short = estimate_kernel_time(plan, a100, {"M": 1024, "P": 4096}, "cupy")
    long = estimate_kernel_time(plan, a100, {"M": 8192, "P": 4096}, "cupy")
    fast = estimate_kernel_time(plan, h100, {"M": 8192, "P": 4096}, "cupy")
    assert long.total_s > short.total_s
    assert fast.total_s < long.total_s


def test_trace_of_3pass_has_one_contraction_per_pass_and_tile():
    plan = _plan("attention/3pass", tile=32)
    ops = trace_twin(plan, {"M": 100, "P": 10})
    einsums = [op for op in ops if op.function == "einsum"]
    # ceil(100 / 32) = 4 tiles; QK in passes 1, 2, 3 and AV in pass 3: 4 * 4 = 16
    assert len(einsums) == 16
    # QK: 2 * E * P * tile FLOPs = 2 * 64 * 10 * 32 = 40960 for a full tile
    assert einsums[0].flops == 40960
    # the last tile holds 100 - 96 = 4 keys
    assert min(op.flops for op in einsums) == 2 * 64 * 10 * 4


def test_price_op_uses_overhead_plus_data_term():
    einsum = TracedOp("einsum", 256 * 32, 0, flops=10**6, subscripts="ca,cb->ab",
                      shapes=((64, 256), (64, 32)))  # fmt: skip
    # 1 us call + 1e6 FLOPs at 1e10 FLOP/s = 1e-6 + 1e-4
    assert price_op(einsum, PROFILE) == ("einsum", pytest.approx(1.01e-4))
    stream = TracedOp("ufunc", 1000, 4 * 2**20)
    # 4 MiB does not fit the 1 MiB L2: 1e-6 + 4194304 / 1e10
    assert price_op(stream, PROFILE)[1] == pytest.approx(1e-6 + 4194304 / 1e10)
    inner = TracedOp("ufunc", 10, 40, inside="rt.settle")
    assert price_op(inner, PROFILE)[1] == pytest.approx(40 / 1e11)  # no second overhead


def test_cpu_estimate_scales_roughly_linearly_in_sequence_length():
    plan = _plan("attention/1pass")
    short = estimate_kernel_time(plan, CPU, {"M": 1024, "P": 256})
    long = estimate_kernel_time(plan, CPU, {"M": 4096, "P": 256})
    assert 3.0 < long.total_s / short.total_s < 4.5
    assert dict(long.breakdown_s)["einsum"] > 0
    assert "attention_1pass" in long.report()


def test_a_gpu_backend_on_a_cpu_spec_names_the_modelled_pairs():
    with pytest.raises(KernelError) as caught:
        estimate_kernel_time(_plan("attention/1pass"), CPU, {"M": 64, "P": 64}, "cupy")
    assert caught.value.codes == ("K603",)
    assert "numpy on a cpu spec" in str(caught.value)
    assert "shim on a cpu spec" in str(caught.value)


def test_shim_model_needs_measured_shim_rates():
    with pytest.raises(KernelError) as caught:
        estimate_kernel_time(_plan("attention/1pass"), CPU, {"M": 64, "P": 64}, "shim")
    assert caught.value.codes == ("K604",)


SHIM = ShimRates(
    threads_per_block=64,
    launch_s=1e-4,
    block_s=1e-3,
    barrier_s=1e-5,
    accumulate_s=1e-9,
    elementwise_s=2e-9,
    exp_s=3e-9,
    divide_s=4e-9,
)


def test_shim_work_of_1pass_counts_thread_points_from_the_plan():
    plan = _plan("attention/1pass", tile=16, head=16)
    work = shim_work(plan, plan.kernels[0], {"M": 128, "P": 100})
    # P = 100 rows in blocks of 64: 2 blocks, 128 threads (the idle 28 run the loops too);
    # M = 128 in tiles of 16: 8 tiles, 2 barriers each
    assert (work.blocks, work.threads, work.barriers_per_block) == (2, 128, 16)
    # reductions per thread and tile: BQK 16 * 16 + LM 16 + SLD 16 + SLNV 16 * 16 = 544
    assert work.accumulate_points == 544 * 8 * 128
    # updates per tile: SLN 16, RM/PRM/SPD/RD 1 each, SPNV 16, RNV 16 = 52, and AV 16 once;
    # staged K and V tiles: 2 * 16 * 16 = 512 elements per block and tile
    assert work.update_points == (52 * 8 + 16) * 128 + 512 * 2 * 8
    # exp: SLN 16 + PRM 1 per tile; divisions: AV 16 once
    assert work.exp_calls == 17 * 8 * 128
    assert work.divisions == 16 * 128


def test_shim_time_prices_each_cause():
    plan = _plan("attention/1pass", tile=16, head=16)
    work = shim_work(plan, plan.kernels[0], {"M": 128, "P": 100})
    times = shim_time(work, SHIM)
    assert times["launch"] == pytest.approx(1e-4)
    assert times["threads"] == pytest.approx(2 * 1e-3)
    assert times["barriers"] == pytest.approx(2 * 16 * 1e-5)
    compute = (
        work.accumulate_points * 1e-9 + work.update_points * 2e-9
        + work.exp_calls * 3e-9 + work.divisions * 4e-9
    )  # fmt: skip
    assert times["compute"] == pytest.approx(compute)


def test_shim_estimate_sums_the_launches_of_linear_attention():
    plan = _plan("variants/linear", tile=32, head=16)
    spec = CpuSpec("toy", 2, (PROFILE,), shim=SHIM)
    estimate = estimate_kernel_time(plan, spec, {"M": 256, "P": 64}, "shim")
    # two launches (state kernel over E = 16 rows, query kernel over P = 64): one block each
    assert estimate.operations == 2
    breakdown = dict(estimate.breakdown_s)
    assert breakdown["launch"] == pytest.approx(2e-4)
    assert breakdown["threads"] == pytest.approx(2e-3)
    assert breakdown["barriers"] == pytest.approx(2 * 8 * 1e-5)  # 8 tiles in the state kernel
    assert estimate.total_s == pytest.approx(sum(breakdown.values()))


def test_measured_call_times_price_elementwise_calls():
    profile = CpuProfile(
        1,
        (("default", 1e-6),),
        PROFILE.levels,
        1e9,
        call_times=(CallTime("where", 16, 1e-6), CallTime("where", 1040, 3e-6)),
        interpreter_s_per_call=1e-7,
    )
    # 528 elements: halfway from 16 to 1040, so halfway from 1 us to 3 us
    assert price_op(TracedOp("where", 528, 0), profile) == ("elementwise", pytest.approx(2e-6))
    # inside a helper the call itself is the helper's: 2 us - 1 us at the smallest size
    inner = TracedOp("where", 528, 0, inside="rt.reduce")
    assert price_op(inner, profile)[1] == pytest.approx(1e-6)
    totals = price_trace((TracedOp("where", 16, 0), inner), profile)
    assert totals["interpreter"] == pytest.approx(1e-7)  # one top-level call


@pytest.mark.parametrize(
    ("name", "expected"),
    [("variants/linear", True), ("attention/1pass", False)],
    ids=["elu-mask-from-data", "presence-masks-only"],
)
def test_trace_tells_data_masks_from_presence_masks(name, expected):
    ops = trace_twin(_plan(name), {"M": 64, "P": 64})
    # linear attention's elu selects on K > 0 (unpredictable on data); 1-pass only masks by
    # presence, which comes from full() and never depends on values
    assert any(op.function == "where_data" for op in ops) is expected
    assert any(op.function == "where" for op in ops)


def test_gpu_model_reports_a_missing_extent():
    plan = _plan("attention/1pass")
    with pytest.raises(KernelError) as caught:
        estimate_kernel_time(plan, load_machine("h100"), {"M": 64}, "cupy")
    assert "P" in str(caught.value)
    assert math.isfinite(
        estimate_kernel_time(plan, load_machine("h100"), {"M": 64, "P": 64}, "cupy").total_s
    )
