import numpy as np
import pytest

from kernels.build.shim import (
    BufferSpec,
    LaunchSpec,
    build_shared_library,
    run_sanitized,
)
from kernels.build.source import KernelParam, KernelSignature, KernelSource
from kernels.errors import KernelError

# A block reverses its 32-element tile through shared memory: element i of the output is
# element 31 - i of the input tile, so a missing barrier is a real write/read race.
REVERSE = r"""
extern "C" __global__ void __launch_bounds__(32)
reverse_tiles(const float* __restrict__ x, float* __restrict__ y, int n) {
    __shared__ float tile[32];
    const int i = blockIdx.x * 32 + threadIdx.x;
    tile[threadIdx.x] = i < n ? x[i] : 0.f;
    __syncthreads();
    if (i < n) y[i] = tile[31 - threadIdx.x];
}
"""
SIGNATURE = KernelSignature(
    "reverse_tiles",
    (KernelParam("x", "const float*"), KernelParam("y", "float*"), KernelParam("n", "int")),
)
SOURCE = KernelSource(REVERSE, (SIGNATURE,))
BUFFERS = (BufferSpec("x", "float", 40, "random"), BufferSpec("y", "float", 40, "zero"))
LAUNCHES = (
    LaunchSpec("reverse_tiles", (2, 1, 1), (32, 1, 1), (("x", "x"), ("y", "y"), ("n", 40))),
)


def test_shim_runs_blocks_with_shared_memory_and_barrier():
    library = build_shared_library(SOURCE)
    x = np.arange(40, dtype=np.float32)
    y = np.full(40, np.nan, dtype=np.float32)
    library.launch("reverse_tiles", (2, 1, 1), (32, 1, 1), {"x": x, "y": y, "n": 40})
    # block 0 reverses 0..31; block 1 holds 32..39 then zeros, so y[32 + t] = tile[31 - t]
    # which is 0 for t < 24, i.e. for every valid t (t = 0..7)
    np.testing.assert_array_equal(y[:32], np.arange(31, -1, -1, dtype=np.float32))
    np.testing.assert_array_equal(y[32:], np.zeros(8, dtype=np.float32))


def test_shim_rejects_wrong_dtype():
    library = build_shared_library(SOURCE)
    x = np.zeros(40)
    y = np.zeros(40, dtype=np.float32)
    with pytest.raises(KernelError) as info:
        library.launch("reverse_tiles", (2, 1, 1), (32, 1, 1), {"x": x, "y": y, "n": 40})
    assert info.value.codes == ("K303",)
    assert "expected float32" in str(info.value)


@pytest.mark.parametrize("sanitizer", ["thread", "address"], ids=["tsan", "asan"])
def test_sanitizers_are_clean_on_a_correct_kernel(sanitizer):
    run = run_sanitized(SOURCE, sanitizer, BUFFERS, LAUNCHES)
    assert run.clean, run.report
    assert "checksum" in run.report


def test_thread_sanitizer_flags_a_removed_barrier():
    racy = KernelSource(REVERSE.replace("__syncthreads();", ""), (SIGNATURE,))
    run = run_sanitized(racy, "thread", BUFFERS, LAUNCHES)
    assert run.returncode == 66
    assert "ThreadSanitizer: data race" in run.report


def test_address_sanitizer_flags_a_removed_guard():
    unguarded = KernelSource(REVERSE.replace("i < n ? x[i] : 0.f", "x[i]"), (SIGNATURE,))
    run = run_sanitized(unguarded, "address", BUFFERS, LAUNCHES)
    assert run.returncode != 0
    assert "heap-buffer-overflow" in run.report


def test_unknown_sanitizer_is_an_error():
    with pytest.raises(KernelError) as info:
        run_sanitized(SOURCE, "memory", BUFFERS, LAUNCHES)
    assert info.value.codes == ("K304",)
