import re
from pathlib import Path

import pytest

from einsum_cascade import library, load_cascade
from kernels.plan.lower import plan_kernels
from kernels.plan.tiling import Tiling
from kernels.render.cuda import render_cuda

DATA = Path(__file__).parents[1] / "data"
TILING = Tiling(tile=32, threads_per_block=64, static_extents=(("E", 64), ("F", 64)))


def load(name):
    if name == "linear":
        return load_cascade(DATA / "linear.cascade")
    return library.load(name)


@pytest.mark.parametrize(
    "name", ["attention/1pass", "attention/3pass", "attention/1pass-causal", "linear"]
)
def test_cuda_source_is_deterministic_and_matches_golden(name, golden):
    source = render_cuda(plan_kernels(load(name), TILING))
    again = render_cuda(plan_kernels(load(name), TILING))
    assert source == again
    golden(f"kernels/cuda_{name.replace('/', '_')}.cu", source.text)


def test_cuda_source_structure_of_the_one_pass_kernel():
    source = render_cuda(plan_kernels(library.load("attention/1pass"), TILING))
    text = source.text
    assert [k.name for k in source.kernels] == ["attention_1pass_k0"]
    assert 'extern "C" __global__ void __launch_bounds__(64)' in text
    assert "printf" not in text
    assert text.count("__syncthreads()") == 2  # before staging (WAR) and after staging (RAW)
    assert "for (int t = 0; t < (M + TILE - 1) / TILE; ++t)" in text  # one running-state loop
    assert len(re.findall(r"c1 < count \?", text)) == 2  # bounds guards on the K and V tiles
    assert "if (row_ok)" in text  # the output store is guarded
    assert "#pragma unroll 1" in text  # in-tile loops stay rolled with unroll=1
    params = [(p.name, p.ctype) for p in source.kernels[0].params]
    assert params == [
        ("Q", "const float*"),
        ("K", "const float*"),
        ("V", "const float*"),
        ("AV", "float*"),
        ("M", "int"),
        ("P", "int"),
    ]


def test_three_pass_kernel_has_three_tile_loops():
    text = render_cuda(plan_kernels(library.load("attention/3pass"), TILING)).text
    assert text.count("for (int t = 0; t < (M + TILE - 1) / TILE; ++t)") == 3


def test_fp16_inputs_are_converted_on_load():
    tiling = Tiling(tile=32, threads_per_block=64, input_dtype="float16")
    source = render_cuda(plan_kernels(library.load("attention/1pass"), tiling))
    assert "#include <cuda_fp16.h>" in source.text
    assert "__half2float(K[" in source.text
    assert source.kernels[0].params[0].ctype == "const __half*"
    assert source.kernels[0].params[3].ctype == "float*"  # fp32 output
