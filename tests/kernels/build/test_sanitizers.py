import numpy as np
import pytest

from einsum_cascade import library
from kernels.build.source import KernelSource
from kernels.plan.lower import plan_kernels
from kernels.plan.tiling import Tiling
from kernels.render.cuda import render_cuda
from kernels.run.validate import run_sanitizer

TILING = Tiling(tile=8, threads_per_block=16, static_extents=(("E", 8), ("F", 8)))
# 21 keys = 2 full tiles + a ragged one; 20 queries = a full and a ragged block
SHAPES = {
    "Q": np.zeros((8, 20), np.float32),
    "K": np.zeros((8, 21), np.float32),
    "V": np.zeros((8, 21), np.float32),
}
WAR_BARRIER = "__syncthreads();  // every thread is done with the previous tile"
GUARD = "c1 < count ? "


@pytest.fixture(scope="module")
def plan():
    return plan_kernels(library.load("attention/1pass"), TILING)


@pytest.mark.parametrize("sanitizer", ["thread", "address"], ids=["tsan", "asan"])
def test_generated_kernel_is_sanitizer_clean(plan, sanitizer):
    run = run_sanitizer(plan, SHAPES, sanitizer)
    assert run.clean, run.report


def test_causal_kernel_is_thread_sanitizer_clean():
    causal = plan_kernels(library.load("attention/1pass-causal"), TILING)
    run = run_sanitizer(causal, SHAPES, "thread")
    assert run.clean, run.report


def test_removing_a_barrier_fails_the_thread_sanitizer(plan):
    source = render_cuda(plan)
    assert WAR_BARRIER in source.text
    mutated = KernelSource(source.text.replace(WAR_BARRIER, "", 1), source.kernels)
    run = run_sanitizer(plan, SHAPES, "thread", source=mutated)
    assert run.returncode == 66
    assert "ThreadSanitizer: data race" in run.report


def test_removing_a_bounds_guard_fails_the_address_sanitizer(plan):
    source = render_cuda(plan)
    # the V tile is staged second; V is the last input, so its overrun leaves the allocation
    position = source.text.rindex(GUARD)
    mutated_text = source.text[:position] + "true ? " + source.text[position + len(GUARD) :]
    run = run_sanitizer(plan, SHAPES, "address", source=KernelSource(mutated_text, source.kernels))
    assert run.returncode != 0
    assert "heap-buffer-overflow" in run.report
