"""Measure the CPU shim: microbenchmark kernels built by the shim's own g++ build, timed per launch.

The kernels are CUDA C++ written in the generated code's forms (a dependent accumulation over a
static rank, independent updates of a shared-memory tile column, ``expf``, a division) and
compiled with exactly the flags ``run_shim`` uses (:func:`kernels.build.shim.build_shared_library`).
Every launch runs one block of ``threads_per_block`` std::threads, so the measured per-point
costs include how the block's threads share the cores.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from kernels.build.source import KernelParam, KernelSignature, KernelSource
from mappers.hardware.machine import ShimRates

STATIC = 64  # the static loop length (E) and the tile-column count of the shared array
MICROBENCHMARK = """\
extern "C" __global__ void mb_empty(int n) {}

extern "C" __global__ void mb_sync(int n) {
    for (int i = 0; i < n; ++i) __syncthreads();
}

extern "C" __global__ void mb_accumulate(const float* __restrict__ a, float* __restrict__ out,
                                         int n, int P) {
    constexpr int E = 64;
    __shared__ float t[E * E];
    const int row = threadIdx.x;
    const bool row_ok = row < P;
    float total = 0.0f;
    for (int j = 0; j < n; ++j) {
        float acc = 0.0f;
        #pragma unroll
        for (int e = 0; e < E; ++e) {
            acc = acc + ((row_ok ? a[(e) * P + row] : 0.0f) * t[(e) * E + (j & (E - 1))]);
        }
        total += acc;
    }
    out[row] = total;
}

extern "C" __global__ void mb_update(float* __restrict__ out, int n, int op) {
    constexpr int E = 64;
    constexpr int BLOCK = 64;
    __shared__ float s[E][BLOCK];
    const float m = static_cast<float>(threadIdx.x % 7) * 0.125f;
    for (int j = 0; j < E; ++j) s[j][threadIdx.x] = 0.5f;
    for (int i = 0; i < n; ++i) {
        #pragma unroll 1
        for (int j = 0; j < E; ++j) {
            const float x = s[j][threadIdx.x];
            const float y = op == 0 ? (x - m) : op == 1 ? expf(x - m) : (m + 1.0f) / (x + 2.0f);
            s[j][threadIdx.x] = y;  // stays normal: no denormals slow the loop
        }
    }
    out[threadIdx.x] = s[threadIdx.x % E][threadIdx.x];
}
"""


def _source() -> KernelSource:
    def sig(name: str, *params: tuple[str, str]) -> KernelSignature:
        return KernelSignature(name, tuple(KernelParam(n, c) for n, c in params))

    return KernelSource(
        MICROBENCHMARK,
        (
            sig("mb_empty", ("n", "int")),
            sig("mb_sync", ("n", "int")),
            sig("mb_accumulate", ("a", "const float*"), ("out", "float*"), ("n", "int"),
                ("P", "int")),
            sig("mb_update", ("out", "float*"), ("n", "int"), ("op", "int")),
        ),
    )  # fmt: skip


def _typical(run: Callable[[], Any], repeats: int) -> float:
    """Return the median time of ``repeats`` runs after one warm-up.

    The median, not the best: how a block's threads land on the cores (false sharing of the
    shared tile, who waits at a barrier) changes from run to run, and a kernel launch of
    many tiles sees the typical placement, not the luckiest.
    """
    import statistics
    import time

    run()
    samples = []
    for _ in range(repeats):
        began = time.perf_counter()
        run()
        samples.append(time.perf_counter() - began)
    return statistics.median(samples)


def measure_shim(threads_per_block: int = 64, repeats: int = 5, quick: bool = False) -> ShimRates:
    """Build the microbenchmarks with the shim's flags and measure every shim cost.

    The launch cost is an empty kernel's launch with one thread; the block cost the slope of
    empty launches over 1 and ``1 + many`` blocks; the barrier a kernel that only
    synchronises; per-point costs the difference between ``n`` and ``3 n`` iterations of each
    loop (one block), divided by the thread-points added.

    Raises:
        KernelError: g++ is missing or the build failed.
    """
    from kernels.build.shim import build_shared_library

    library = build_shared_library(_source())
    scale = 1 if quick else 8

    def launch(name: str, grid: int, threads: int, **args: Any) -> Callable[[], None]:
        return lambda: library.launch(name, (grid, 1, 1), (threads, 1, 1), args)

    block = threads_per_block
    launch_s = _typical(launch("mb_empty", 1, 1, n=0), repeats)
    many = 4 * scale
    one_block = _typical(launch("mb_empty", 1, block, n=0), repeats)
    block_s = (_typical(launch("mb_empty", 1 + many, block, n=0), repeats) - one_block) / many
    syncs = 50 * scale
    sync_time = _typical(launch("mb_sync", 1, block, n=syncs), repeats) - one_block
    out = np.zeros(block, np.float32)
    a = np.ones(STATIC * block, np.float32)

    def per_point(name: str, **args: Any) -> float:
        n = 256 * scale  # 2 n iterations of STATIC points: compute far above the spawn time
        short = _typical(launch(name, 1, block, out=out, n=n, **args), repeats)
        long = _typical(launch(name, 1, block, out=out, n=3 * n, **args), repeats)
        return max(long - short, 0.0) / (2 * n * STATIC * block)

    accumulate = per_point("mb_accumulate", a=a, P=block)
    elementwise = per_point("mb_update", op=0)
    return ShimRates(
        threads_per_block=block,
        launch_s=launch_s,
        block_s=max(block_s, 0.0),
        barrier_s=max(sync_time, 0.0) / syncs,
        accumulate_s=accumulate,
        elementwise_s=elementwise,
        exp_s=max(per_point("mb_update", op=1) - elementwise, 0.0),
        divide_s=max(per_point("mb_update", op=2) - elementwise, 0.0),
    )
