"""The backends, where a kernel runs: one string-keyed registry whose error lists the names.

``numpy`` is the NumPy twin, ``shim`` the CUDA source built for the CPU shim, ``cupy`` the
CUDA source on a GPU, ``triton`` Triton's interpreter and ``triton-gpu`` Triton on a GPU.
Each backend runs a plan (``run(plan, inputs, extents)``) and times it (host clocks on the
CPU backends, CUDA events around the launches on a GPU).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from kernels.errors import KernelError
from kernels.plan.lower import KernelPlan
from kernels.run.execute import run_cupy, run_shim, run_twin, time_cupy, time_shim, time_twin
from kernels.run.triton_launch import (
    run_triton_cupy_host,
    run_triton_interpreter,
    time_triton_cupy,
)

Runner = Callable[..., dict[str, Any]]
Timer = Callable[[KernelPlan, Mapping[str, np.ndarray], Any, int], tuple[Any, str]]


@dataclass(frozen=True, slots=True)
class Backend:
    """Where a kernel runs: ``run``, ``time`` (None: not timed) and whether it needs a GPU."""

    name: str
    run: Runner
    time: Timer | None
    device: bool


def _time_triton(
    plan: KernelPlan, inputs: Mapping[str, np.ndarray], extents: Any, repeats: int
) -> tuple[Any, str]:
    import platform

    from kernels.run.timing import time_host

    timing = time_host(lambda: run_triton_interpreter(plan, inputs, extents), repeats=repeats)
    return timing, f"CPU {platform.processor() or platform.machine()} (Triton's interpreter)"


def _time_triton_gpu(
    plan: KernelPlan, inputs: Mapping[str, np.ndarray], extents: Any, repeats: int
) -> tuple[Any, str]:
    from kernels.run.cupy_launch import require_cupy

    cupy = require_cupy()
    timing = time_triton_cupy(plan, inputs, extents, repeats)
    name = cupy.cuda.runtime.getDeviceProperties(0)["name"].decode()
    return timing, f"{name} (Triton cubin)"


BACKENDS: dict[str, Backend] = {
    "numpy": Backend("numpy", run_twin, time_twin, device=False),
    "shim": Backend("shim", run_shim, time_shim, device=False),
    "cupy": Backend("cupy", run_cupy, time_cupy, device=True),
    "triton": Backend("triton", run_triton_interpreter, _time_triton, device=False),
    "triton-gpu": Backend("triton-gpu", run_triton_cupy_host, _time_triton_gpu, device=True),
}


def get_backend(name: str) -> Backend:
    """Return the backend called ``name``.

    Raises:
        KernelError: K402 for an unknown name; the message lists the valid ones.
    """
    backend = BACKENDS.get(name)
    if backend is None:
        raise KernelError.single(
            "K402", f"unknown backend '{name}'; valid backends: {', '.join(BACKENDS)}"
        )
    return backend


def time_plan(
    plan: KernelPlan,
    backend: str,
    inputs: Mapping[str, np.ndarray],
    extents: Mapping[str, int] | None = None,
    repeats: int = 20,
) -> tuple[Any, str]:
    """Time the plan on ``backend``; return (Timing, a description of the device).

    The numpy and shim backends are timed on the host with ``perf_counter``; cupy with
    CUDA events around the kernel launches only (inputs already on the device).

    Raises:
        KernelError: K402 for an unknown backend, K407 for one that is not timed.
    """
    chosen = get_backend(backend)
    if chosen.time is None:
        timed = ", ".join(name for name, b in BACKENDS.items() if b.time is not None)
        raise KernelError.single(
            "K407",
            f"backend '{backend}' runs kernels but does not time them",
            hint=f"timed backends: {timed}",
        )
    return chosen.time(plan, inputs, extents, repeats)
