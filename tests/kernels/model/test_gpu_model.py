"""The GPU models are right by construction: grid extents, per-thread shared traffic, peaks."""

from __future__ import annotations

import math

import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from einsum_cascade.sources import load_cascade
from kernels import Tiling, plan_kernels
from kernels.model.gpu import kernel_work
from kernels.model.gpu_tensor import KernelResources, predict_tensor
from kernels.model.predict import estimate_kernel_time
from mappers.hardware.machine_loader import load_machine

H100 = load_machine("h100")
A100 = load_machine("a100")
GRIDS = {"variants/gqa": ("G", "R"), "variants/mqa": ("H",)}


def _plan(name: str, tensor: bool = False):
    tiling = Tiling(
        tile=64 if tensor else 32,
        threads_per_block=128 if tensor else 64,
        input_dtype="float16" if tensor else "float32",
        grid_ranks=GRIDS.get(name, ()),
    )
    return plan_kernels(load_cascade(name), tiling)


def _resources(plan, registers: int = 200, loop: int = 0):
    return {k.name: KernelResources(4, registers, 65536, loop) for k in plan.kernels}


def test_grid_extents_multiply_the_simt_work():
    plan = _plan("variants/gqa")
    work = kernel_work(plan, plan.kernels[0])
    values = {"M": 4096, "P": 4096, "G": 8}
    blocks = {r: work.blocks.subs({sympy.Symbol(k, positive=True, integer=True): v
              for k, v in {**values, "R": r}.items()}) for r in (1, 4)}  # fmt: skip
    assert blocks[4] == 4 * blocks[1] == 4 * 8 * 64
    many = estimate_kernel_time(plan, H100, {**values, "R": 4}, "cupy").total_s
    one = estimate_kernel_time(plan, H100, {**values, "R": 1}, "cupy").total_s
    assert many > 2 * one  # 32 query heads are not 8 (the old model priced them equal)


def test_shared_traffic_is_per_thread_not_per_block():
    plan = _plan("attention/1pass")
    work = kernel_work(plan, plan.kernels[0])
    symbols = {s.name: s for s in work.shared_bytes_moved.free_symbols}
    moved = float(work.shared_bytes_moved.subs({symbols["M"]: 64, symbols["P"]: 64}))
    # one block of 64 threads, 2 tiles of 32 keys; QK^T alone reads K (and Q from L1) for
    # E = 64 at every key: 2 operands x 4 B x 64 x 32 keys x 2 tiles x 64 threads
    assert moved >= 2 * 4 * 64 * 32 * 2 * 64


def test_tensor_core_gqa_costs_like_as_many_heads():
    gqa, mqa = _plan("variants/gqa", True), _plan("variants/mqa", True)
    shape = {"M": 4096, "P": 4096}
    grouped = predict_tensor(gqa, H100, {**shape, "G": 8, "R": 4}, _resources(gqa)).total_s
    multi = predict_tensor(mqa, H100, {**shape, "H": 32}, _resources(mqa)).total_s
    single = predict_tensor(gqa, H100, {**shape, "G": 8, "R": 1}, _resources(gqa)).total_s
    assert grouped == pytest.approx(multi, rel=0.05)
    assert grouped == pytest.approx(4 * single, rel=0.1)


def test_causal_visits_about_half_the_tiles():
    full, causal = _plan("attention/1pass", True), _plan("attention/1pass-causal", True)
    shape = {"M": 8192, "P": 8192}
    dense = predict_tensor(full, H100, shape, _resources(full))
    half = predict_tensor(causal, H100, shape, _resources(causal))
    assert 0.45 < half.dot_flops / dense.dot_flops < 0.56


@settings(max_examples=40, deadline=None)
@given(
    name=st.sampled_from(
        [
            "attention/1pass",
            "attention/1pass-causal",
            "attention/3pass",
            "variants/gqa",
            "attention/1pass-window",
        ]
    ),
    length=st.integers(1, 1 << 15),
    rows=st.integers(1, 1 << 15),
    heads=st.integers(1, 64),
    registers=st.integers(32, 255),
    loop=st.sampled_from([0, 300, 900, 3000]),
    machine=st.sampled_from([H100, A100]),
)
def test_no_prediction_beats_the_machine(name, length, rows, heads, registers, loop, machine):
    shape = {"M": length, "P": rows, "G": heads, "R": 1, "W": 128}
    tensor = _plan(name, True)
    extents = {k: v for k, v in shape.items() if k in tensor.runtime_extents()}
    predicted = predict_tensor(tensor, machine, extents, _resources(tensor, registers, loop))
    bounds = dict(predicted.bounds)
    assert all(predicted.total_s >= value for value in bounds.values())
    assert predicted.flops_per_s <= machine.tensor_fp16_flops_per_s * (1 + 1e-9)
    simt = _plan(name)
    estimate = estimate_kernel_time(simt, machine, extents, "cupy", registers={
        k.name: registers for k in simt.kernels})  # fmt: skip
    work = kernel_work(simt, simt.kernels[0])
    symbols = {s.name: s for s in work.flops.free_symbols}
    flops = float(work.flops.subs({symbols[k]: v for k, v in extents.items() if k in symbols}))
    hbm = work.hbm_bytes.subs(
        {s: extents[s.name] for s in work.hbm_bytes.free_symbols if s.name in extents}
    )
    assert flops / estimate.total_s <= machine.fp32_flops_per_s * (1 + 1e-9)
    assert float(hbm) / estimate.total_s <= machine.hbm_bandwidth_bytes_per_s * (1 + 1e-9)
    assert math.isfinite(estimate.total_s)


def test_the_1pass_tensor_core_prediction_at_4k_is_at_least_half_of_fa2():
    pytest.importorskip("triton")
    from kernels.model.predict import triton_resources

    plan = _plan("variants/mqa", True)  # 32 heads of the 1-pass cascade, d = 64
    predicted = predict_tensor(plan, H100, {"M": 4096, "P": 4096, "H": 32},
                               triton_resources(plan, H100))  # fmt: skip
    assert predicted.instruction_source == "sass"
    assert predicted.flops_per_s >= 0.5 * 335e12  # FlashAttention-2 on an H100
    assert predicted.flops_per_s <= H100.tensor_fp16_flops_per_s
