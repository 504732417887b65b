import numpy as np
import pytest

from kernels.build.source import KernelParam, KernelSignature
from kernels.errors import KernelError
from kernels.run.cupy_launch import typed_arguments
from kernels.run.timing import MIN_REPEATS, summarize, time_cuda, time_host


def test_summarize_takes_the_median():
    timing = summarize([3.0, 1.0, 2.0, 10.0], warmup=2)
    assert (timing.median_ms, timing.min_ms, timing.max_ms) == (2.5, 1.0, 10.0)  # (2+3)/2
    assert (timing.repeats, timing.warmup) == (4, 2)


def test_time_host_counts_runs():
    calls = []
    timing = time_host(lambda: calls.append(1), warmup=2, repeats=7)
    assert len(calls) == 9  # 2 warm-up + 7 timed
    assert timing.repeats == 7
    assert timing.median_ms >= 0.0


def test_cuda_timing_needs_enough_repeats():
    with pytest.raises(KernelError) as info:
        time_cuda(lambda: None, repeats=MIN_REPEATS - 1)
    assert info.value.codes == ("K405",)


def test_typed_arguments_wraps_scalars_as_32_bit():
    signature = KernelSignature(
        "k",
        (KernelParam("x", "const float*"), KernelParam("n", "int"), KernelParam("s", "float")),
    )
    buffer = np.zeros(3, dtype=np.float32)
    x, n, s = typed_arguments(signature, {"s": 0.5, "n": 3, "x": buffer})
    assert x is buffer
    assert type(n) is np.int32 and n == 3
    assert type(s) is np.float32 and s == np.float32(0.5)


def test_typed_arguments_reports_a_missing_argument():
    signature = KernelSignature("k", (KernelParam("n", "int"),))
    with pytest.raises(KernelError) as info:
        typed_arguments(signature, {})
    assert "kernel 'k' needs 'n'" in str(info.value)
