"""Ahead-of-time Triton builds for sm_80 and sm_90a (no GPU): SASS gates and their mutation.

Compiled binaries are cached by content (``EINSUM_CASCADE_KERNEL_CACHE``), so a second run
only reads SASS counts back. A cold compile of one kernel takes 2-6 s.
"""

from __future__ import annotations

import pytest

pytest.importorskip("triton", reason="Triton is not installed (pip install -e '.[triton]')")

from einsum_cascade.sources import load_cascade
from kernels import KernelError, Tiling, plan_kernels
from kernels.build.triton_build import check_binary, compile_kernel, sass_opcodes
from kernels.render.triton import render_triton


def _source(name: str, head: int, mutate: bool = False, tile: int = 64, rows: int = 128):
    tiling = Tiling(
        tile=tile,
        threads_per_block=rows,
        input_dtype="float16",
        static_extents=(("E", head), ("F", head)),
    )
    return render_triton(plan_kernels(load_cascade(name), tiling), mutate_dots=mutate)


# Tensor-core instructions of one loop body, both contractions (QK^T and PV):
# sm_90a, 4 warps = one warpgroup, 128 rows: 2 x (64 / 16) HGMMA 64x64x16 for each dot = 16;
# sm_80, 4 warps of 32 rows: QK^T 2 (m16) x 8 (n8) x 4 (k16) = 64 HMMA.16816, PV 2 x 8 x 4 = 64.
EXPECTED = {("sm_90a", 64, 4): ("HGMMA", 16), ("sm_80", 64, 4): ("HMMA", 128)}


@pytest.mark.parametrize(
    ("arch", "head", "warps"), [("sm_90a", 64, 4), ("sm_80", 64, 4), ("sm_90a", 128, 8)]
)
def test_both_contractions_on_tensor_cores_without_spills(arch: str, head: int, warps: int):
    source = _source("attention/1pass", head)
    kernel = source.kernels[0]
    assert kernel.dots == 2
    binary = compile_kernel(source, kernel, arch, num_warps=warps, num_stages=3)
    check_binary(binary, kernel.dots)  # tensor cores, no spills, shared memory fits
    assert binary.count("LDL") == binary.count("STL") == binary.stack_bytes == 0
    assert 0 < binary.registers <= 255 and binary.shared_bytes > 0
    if (arch, head, warps) in EXPECTED:
        opcode, count = EXPECTED[(arch, head, warps)]
        assert binary.count(opcode) == count
    else:  # d = 128: QK^T is 64x64x16 (N = tile), PV 64x128x16 (N = head dim)
        assert set(binary.mma_shapes) == {"HGMMA.64x64x16.F32", "HGMMA.64x128x16.F32"}
    assert binary.count("HMMA" if arch == "sm_90a" else "HGMMA") == 0


@pytest.mark.parametrize("arch", ["sm_90a", "sm_80"])
def test_the_tensor_core_gate_fails_when_the_dots_are_lowered_to_scalar_loops(arch: str):
    source = _source("attention/1pass", 64, mutate=True, tile=32, rows=64)
    kernel = source.kernels[0]
    binary = compile_kernel(source, kernel, arch, num_warps=4, num_stages=2)
    assert binary.tensor_core_instructions == 0
    with pytest.raises(KernelError) as info:
        check_binary(binary, kernel.dots)
    assert info.value.diagnostics[0].code == "K707"


def test_gemm_contraction_uses_tensor_cores() -> None:
    gemm = load_cascade("linear/gemm")
    tiling = Tiling(
        parallel_rank="M",
        sequence_rank="K",
        static_extents=(("N", 128),),
        tile=64,
        threads_per_block=128,
        input_dtype="float16",
    )
    source = render_triton(plan_kernels(gemm, tiling))
    binary = compile_kernel(source, source.kernels[0], "sm_90a", num_warps=8, num_stages=3)
    check_binary(binary, source.kernels[0].dots)
    assert binary.count("HGMMA") > 0


def test_sass_counting_reads_predicated_and_suffixed_opcodes() -> None:
    sass = (
        "        /*0100*/                   HGMMA.64x64x16.F32 R24, gdesc[UR4], RZ ;\n"
        "        /*0110*/              @!P0 LDL.64 R2, [R1+0x8] ;\n"
        "        /*0120*/                   STL [R1], R3 ;\n"
        "        code for sm_90a\n"
    )
    opcodes, shapes = sass_opcodes(sass)
    assert opcodes == {"HGMMA": 1, "LDL": 1, "STL": 1}
    assert shapes == {"HGMMA.64x64x16.F32"}
