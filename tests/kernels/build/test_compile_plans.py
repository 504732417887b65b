import dataclasses

import pytest

from einsum_cascade import library
from kernels.build.compile import check_resources, compile_source
from kernels.errors import KernelError
from kernels.plan.lower import plan_kernels
from kernels.plan.tiling import Tiling
from kernels.render.cuda import render_cuda

TILING = Tiling(tile=32, threads_per_block=64, static_extents=(("E", 64), ("F", 64)))
CI_PLANS = [
    ("attention/1pass", TILING),
    ("attention/3pass", TILING),
    ("attention/1pass-scaled", TILING),
    ("attention/3pass-scaled", TILING),
    ("attention/3pass-causal", TILING),
    # per-row presence flags and one fused loop over f keep these at E = F = 64 unspilled
    ("attention/1pass-causal", TILING),
    ("attention/1pass-window", TILING),
    ("attention/1pass", dataclasses.replace(TILING, input_dtype="float16")),
]


@pytest.mark.parametrize("arch", ["sm_80", "sm_90"])
@pytest.mark.parametrize(
    ("name", "tiling"),
    CI_PLANS,
    ids=[f"{n}-{t.input_dtype}-E{t.static_extents[0][1]}" for n, t in CI_PLANS],
)
def test_ci_plans_compile_without_spills_and_within_shared_limit(name, tiling, arch):
    plan = plan_kernels(library.load(name), tiling)
    compiled = compile_source(render_cuda(plan), arch, "nvrtc")
    check_resources(compiled)
    for kernel in plan.kernels:
        resources = compiled.function(kernel.name)
        assert resources.shared_bytes == plan.shared_bytes(kernel)  # the plan predicts ptxas
        assert 0 < resources.registers <= 255


def test_one_pass_kernel_compiles_for_sm90_with_nvcc():
    plan = plan_kernels(library.load("attention/1pass"), TILING)
    compiled = compile_source(render_cuda(plan), "sm_90", "nvcc")
    check_resources(compiled)
    assert not compiled.function("attention_1pass_k0").spills


def test_oversize_tile_fails_with_a_clear_error():
    # K and V tiles: 2 x 64 x 128 x 4 B = 65536 B alone, over the 49152 B static limit
    tiling = dataclasses.replace(TILING, tile=128, threads_per_block=32)
    plan = plan_kernels(library.load("attention/1pass"), tiling)
    with pytest.raises(KernelError) as info:
        compile_source(render_cuda(plan), "sm_90", "nvrtc")
    assert info.value.codes == ("K101",)
    assert "static shared memory on sm_90, more than the 49152 bytes allowed" in str(info.value)
