import numpy as np
import pytest

from einsum_cascade import library
from kernels.plan.lower import plan_kernels
from kernels.plan.tiling import Tiling
from kernels.run.execute import run_cupy, run_twin

TILING = Tiling(tile=32, threads_per_block=64, static_extents=(("E", 64), ("F", 64)))


def inputs(keys, queries, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "Q": rng.standard_normal((64, queries)).astype(np.float32),
        "K": rng.standard_normal((64, keys)).astype(np.float32),
        "V": rng.standard_normal((64, keys)).astype(np.float32),
    }


@pytest.mark.gpu
@pytest.mark.parametrize("name", ["attention/1pass", "attention/3pass", "attention/1pass-causal"])
def test_cupy_kernel_matches_the_twin(name):
    plan = plan_kernels(library.load(name), TILING)
    data = inputs(1000, 777)
    gpu = run_cupy(plan, data)
    twin = run_twin(plan, data)
    np.testing.assert_allclose(gpu["AV"], twin["AV"], rtol=1e-5, atol=1e-5)


@pytest.mark.gpu
def test_cuda_event_timing_reports_the_median_of_the_repeats():
    import cupy

    from kernels.render.cuda import render_cuda
    from kernels.run.execute import launch_all, load_on_device
    from kernels.run.timing import time_cuda

    plan = plan_kernels(library.load("attention/1pass"), TILING)
    data = {k: cupy.asarray(v) for k, v in inputs(2048, 2048).items()}
    data["AV"] = cupy.empty((64, 2048), dtype=cupy.float32)
    _, functions = load_on_device(plan, None, "nvrtc")
    source = render_cuda(plan)
    timing = time_cuda(
        lambda: launch_all(plan, source, functions, data, {"M": 2048, "P": 2048}), repeats=20
    )
    assert timing.repeats == 20
    assert timing.median_ms > 0.0
