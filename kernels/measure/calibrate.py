"""Measure the host with NumPy microbenchmarks and build a CPU machine spec.

Rates are measured in a fresh Python process per thread count, with the BLAS and OpenMP
thread variables set before NumPy is imported (``threadpoolctl`` is not a dependency):
call overheads of every array function the twin uses, bandwidth per cache level, exp and
reduction throughput, ``numpy.einsum`` at the contraction shapes the kernel plans issue,
and BLAS ``matmul`` at the same shapes. ``python -m kernels.measure.calibrate`` is the worker.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kernels.errors import KernelError
from kernels.measure.calibrate_bench import profile_from_json
from mappers.hardware.machine import (
    CpuProfile,
    CpuSpec,
)

THREAD_VARIABLES = (
    "OPENBLAS_NUM_THREADS",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)
DEFAULT_CASCADES = ("attention/1pass", "attention/3pass", "variants/linear")


@dataclass(frozen=True, slots=True)
class CalibrationSettings:
    """What to measure: tiles, head dims and query counts of the contractions, repeats."""

    tiles: tuple[int, ...] = (16, 32, 64, 128, 256)
    head_dims: tuple[int, ...] = (64, 128)
    queries: tuple[int, ...] = (256, 1024)
    repeats: int = 7
    quick: bool = False
    cascades: tuple[str, ...] = DEFAULT_CASCADES
    shim: bool = True

    @classmethod
    def quick_settings(
        cls, cascades: tuple[str, ...] = DEFAULT_CASCADES, shim: bool = True
    ) -> CalibrationSettings:
        """Return a few-second calibration for tests: one head dim, two tiles, few repeats."""
        return cls((32, 64), (64,), (256,), 3, True, cascades, shim)


def thread_environment(threads: int) -> dict[str, str]:
    """Return a copy of the environment with every BLAS/OpenMP thread variable set."""
    env = dict(os.environ)
    env.update({name: str(threads) for name in THREAD_VARIABLES})
    return env


def run_worker(module: str, request: dict[str, Any], threads: int, code: str, what: str) -> Any:
    """Run ``python -m module REQUEST`` with ``threads`` threads; return its JSON answer.

    Timings run in a fresh process so that the thread variables take effect before NumPy
    and its BLAS load.

    Raises:
        KernelError: ``code`` when the worker fails (the end of its stderr is in the message).
    """
    done = subprocess.run(
        [sys.executable, "-m", module, json.dumps(request)],
        env=thread_environment(threads),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise KernelError.single(code, f"the {what} worker failed: {done.stderr.strip()[-800:]}")
    return json.loads(done.stdout)


def contraction_shapes(settings: CalibrationSettings) -> tuple[tuple[str, tuple[Any, ...]], ...]:
    """Trace the plans of ``settings.cascades`` and return their distinct einsum calls."""
    from einsum_cascade import load_cascade
    from kernels.model.cpu import trace_twin
    from kernels.plan.lower import plan_kernels
    from kernels.plan.tiling import Tiling

    found: dict[tuple[str, tuple[Any, ...]], None] = {}
    for name in settings.cascades:
        cascade = load_cascade(name)
        for tile in settings.tiles:
            for head in settings.head_dims:
                tiling = Tiling(tile=tile, static_extents=(("E", head), ("F", head)))
                plan = plan_kernels(cascade, tiling)
                for queries in settings.queries:
                    extents = {"M": 2 * tile, "P": queries}
                    for op in trace_twin(plan, extents):
                        if op.function == "einsum":
                            found.setdefault((op.subscripts, op.shapes), None)
    return tuple(found)


def measure_profile(threads: int, settings: CalibrationSettings) -> CpuProfile:
    """Run the microbenchmarks in a fresh process with ``threads`` threads; return the rates.

    Raises:
        KernelError: the worker process failed (its stderr is in the message).
    """
    request = {
        "threads": threads,
        "repeats": settings.repeats,
        "quick": settings.quick,
        "einsum": [[s, [list(x) for x in shapes]] for s, shapes in contraction_shapes(settings)],
    }
    return profile_from_json(
        run_worker("kernels.measure.calibrate_bench", request, threads, "K601", "calibration")
    )


def measurement_conditions(settings: CalibrationSettings, threads: Sequence[int]) -> dict[str, str]:
    """Return what a reader needs to judge the numbers: when, what CPU, which libraries."""
    import numpy

    blas = "unknown"
    config = getattr(numpy, "__config__", None)
    info = getattr(config, "CONFIG", {}) if config is not None else {}
    dependency = info.get("Build Dependencies", {}).get("blas", {})
    if dependency:
        blas = f"{dependency.get('name', '?')} {dependency.get('version', '')}".strip()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return {
        "measured_at_utc": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "cpu_model": cpu_model(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "blas": blas,
        "thread_control": "BLAS/OpenMP environment variables in a fresh process per count",
        "threads_measured": ", ".join(str(t) for t in threads),
        "load_average_1min_at_start": f"{load:.2f}",
        "quick": str(settings.quick).lower(),
        "repeats": f"best of {settings.repeats}",
        "cascades_traced": ", ".join(settings.cascades),
    }


def cpu_model() -> str:
    """Return the CPU model name from /proc/cpuinfo, or the platform's processor string."""
    info = Path("/proc/cpuinfo")
    if info.exists():
        for line in info.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def calibrate_host(settings: CalibrationSettings, name: str = "host") -> CpuSpec:
    """Measure single-threaded and all-core profiles of this host; return the CPU spec."""
    cores = os.cpu_count() or 1
    counts = (1,) if cores == 1 else (1, cores)
    profiles = tuple(measure_profile(count, settings) for count in counts)
    conditions = measurement_conditions(settings, counts)
    shim = None
    if settings.shim:
        from kernels.measure.calibrate_shim import measure_shim

        try:
            shim = measure_shim(repeats=settings.repeats, quick=settings.quick)
            conditions["shim"] = "g++ build of the shim (run_shim's flags), one block a launch"
        except KernelError as error:  # no g++: the spec still serves the numpy model
            conditions["shim"] = f"not measured: {error.diagnostics[0].message}"
    return CpuSpec(
        name=name,
        logical_cores=cores,
        profiles=profiles,
        conditions=tuple(conditions.items()),
        description=f"{cpu_model()}, measured by einsum-cascade calibrate",
        shim=shim,
    )
