"""Device check: correctness and speed of the generated kernels on one NVIDIA GPU, offline.

Run from the repository root on a machine with a GPU (about 3-5 minutes; no internet)::

    python3 benchmarks/gpu_check.py --out gpu_check.csv

It (1) checks the CUDA SIMT kernels (CuPy) and the Triton tensor-core kernels (their AOT cubin
launched by CuPy) against the cascade interpreter (float64) on small ragged shapes,
multi-head, causal and sliding-window; (2) times, with CUDA events (warm-up 5, median of
20), the SIMT kernel, the tensor-core kernel and torch's ``scaled_dot_product_attention``
(flash backend) at L = 1K, 2K, 4K, 8K, 16K, head dim 64 and 128, batch x heads = 32, fp16
inputs (the cascade ``variants/gqa`` with G = 32 groups of R = 1 query head is multi-head
attention); (3) writes one CSV row per kernel and shape: measured and modelled milliseconds,
TFLOP/s (4 L^2 d per head), the bound the model names, the model's error, the load average.

Packages. The machine is expected to have python3 with torch, triton (3.9) and cupy-cuda13x.
This repository's own dependencies (numpy, sympy, networkx, pyyaml, pydantic, typer, rich,
pandas, pyarrow, matplotlib; nvidia-cuda-nvrtc for the SIMT kernels) may be missing there;
they are not committed (the repository stays small). Carry them as wheels, made on any
machine with internet and the same Python version and platform::

    pip download --dest wheels --only-binary=:all: --python-version 3.11 \\
        --platform manylinux2014_x86_64 numpy sympy networkx pyyaml pydantic typer rich \\
        pandas pyarrow matplotlib nvidia-cuda-nvrtc

then on the GPU machine ``pip install --no-index --find-links wheels -e .`` (or add the
folder to ``PYTHONPATH`` after ``pip install --no-index --find-links wheels <names>``). The
script checks every import first and stops with the list of what is missing and this recipe.

Notes. Triton's sm_90a cubin is assembled by the wheel's ptxas 13.x (PTX 9.x), which needs
a CUDA 13 driver; when loading it fails the script rebuilds with the wheel's 12.x ptxas
(``TRITON_PTXAS_BLACKWELL_PATH``) and says so.
"""

from __future__ import annotations

import argparse
import csv
import importlib
import math
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LENGTHS = (1024, 2048, 4096, 8192, 16384)
HEADS = (64, 128)
BATCH_HEADS = 32
REQUIRED = ("numpy", "sympy", "networkx", "yaml", "pydantic", "typer", "rich", "cupy", "triton")
OPTIONAL = {"torch": "the SDPA (flash) baseline is skipped"}
RECIPE = (
    "carry the missing packages as wheels (see this script's docstring): on a machine with "
    "internet, `pip download --dest wheels --only-binary=:all: <names>`, copy the folder, then "
    "`pip install --no-index --find-links wheels <names>`"
)


def _missing() -> list[str]:
    missing = []
    for name in REQUIRED:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append("pyyaml" if name == "yaml" else name)
    return missing


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.2f}/{five:.2f}"


def _tflops(length: int, head: int, ms: float) -> float:
    return 4.0 * BATCH_HEADS * length * length * head / (ms * 1e-3) / 1e12


def _plan(head: int, tensor: bool, name: str = "variants/gqa") -> Any:
    from einsum_cascade.sources import load_cascade
    from kernels import Tiling, plan_kernels

    tiling = Tiling(
        tile=64 if tensor else 32,
        threads_per_block=128 if tensor else 64,
        input_dtype="float16",
        static_extents=(("E", head), ("F", head)),
        grid_ranks=("G", "R") if "gqa" in name else (),
    )
    return plan_kernels(load_cascade(name), tiling)


def _inputs(plan: Any, extents: dict[str, int], seed: int = 0) -> dict[str, Any]:
    import numpy as np

    rng = np.random.default_rng(seed)
    sizes = {**dict(plan.tiling.static_extents), **extents}
    return {
        t.name: rng.standard_normal(tuple(sizes[r] for r in t.ranks)).astype(np.float16)
        for t in plan.cascade.inputs
    }


def check_correctness() -> list[str]:
    """Compare both GPU backends with the interpreter on small shapes; return failures."""
    from kernels.run.execute import run_cupy
    from kernels.run.triton_launch import run_triton_cupy_host
    from kernels.run.validate import compare, reference, tolerance, within

    cases = [
        ("variants/gqa", 64, {"G": 2, "R": 2, "M": 100, "P": 77}),
        ("variants/gqa", 128, {"G": 1, "R": 3, "M": 65, "P": 33}),
        ("attention/1pass-causal", 64, {"M": 130, "P": 130}),
        ("attention/1pass-window", 64, {"M": 200, "P": 150, "W": 40}),
    ]
    failures = []
    for name, head, extents in cases:
        for tensor in (False, True):
            plan = _plan(head, tensor, name)
            arrays = _inputs(plan, extents)
            runtime = {k: v for k, v in extents.items() if k in ("W",)}
            kind = "triton-gpu" if tensor else "simt"
            try:
                run = run_triton_cupy_host if tensor else run_cupy
                got = run(plan, arrays, runtime)
            except Exception as exc:  # report every backend, do not stop at the first
                failures.append(f"{name} d={head} {kind}: {type(exc).__name__}: {exc}")
                continue
            sizes = {**dict(plan.tiling.static_extents), **extents}
            want = reference(plan, arrays, {k: v for k, v in sizes.items()
                                            if plan.cascade.has_rank(k)})  # fmt: skip
            rtol, atol = tolerance(kind, "float16")
            result = compare(got, want)
            ok = result.nan_count == 0 and within(got, want, rtol, atol)
            print(f"  {name:24s} d={head:3d} {kind:10s} max abs err {result.max_abs_error:.2e} "
                  f"(atol {atol:g} + rtol {rtol:g}) {'ok' if ok else 'MISMATCH'}")  # fmt: skip
            if not ok:
                failures.append(f"{name} d={head} {kind}: max abs error {result.max_abs_error}")
    return failures


def _time_sdpa(length: int, head: int) -> float | None:
    try:
        import torch
        from torch.nn.attention import SDPBackend, sdpa_kernel
    except ImportError:
        return None
    q, k, v = (
        torch.randn(1, BATCH_HEADS, length, head, device="cuda", dtype=torch.float16)
        for _ in range(3)
    )
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    samples = []
    with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
        for index in range(25):
            start.record()
            torch.nn.functional.scaled_dot_product_attention(q, k, v)
            end.record()
            end.synchronize()
            if index >= 5:
                samples.append(start.elapsed_time(end))
    samples.sort()
    return samples[len(samples) // 2]


def _measure_sdpa(length: int, head: int) -> tuple[float | None, None]:
    return _time_sdpa(length, head), None


def _time_simt(plan: Any, arrays: dict[str, Any], extents: dict[str, int]) -> tuple[float, Any]:
    from kernels.model.predict import estimate_kernel_time
    from kernels.run.execute import load_on_device, time_plan
    from mappers.hardware.machine_loader import load_machine

    timing, _ = time_plan(plan, "cupy", arrays, {}, repeats=20)
    compiled, _ = load_on_device(plan, None, "nvrtc")
    registers = {item.name: item.registers for item in compiled.resources}
    machine = load_machine(_machine_spec())
    model = estimate_kernel_time(plan, machine, extents, "cupy", registers=registers)
    bounds = dict(model.breakdown_s)
    return timing.median_ms, (model.total_s * 1e3, max(bounds, key=lambda k: bounds[k]))


def _time_tensor(plan: Any, arrays: dict[str, Any], extents: dict[str, int]) -> tuple[float, Any]:
    from kernels.model.gpu_tensor import KernelResources, predict_tensor
    from kernels.run.triton_launch import load_triton_on_device, time_triton_cupy
    from mappers.hardware.machine_loader import load_machine

    timing = time_triton_cupy(plan, arrays, {}, repeats=20)
    loaded = load_triton_on_device(plan, extents)
    resources = {
        item.kernel.name: KernelResources(
            item.binary.num_warps,
            item.binary.registers,
            item.binary.shared_bytes,
            item.binary.loop_instructions,
            item.binary.target == "sm_90a",
        )
        for item in loaded
    }
    machine = load_machine(_machine_spec())
    predicted = predict_tensor(plan, machine, extents, resources)  # type: ignore[arg-type]
    return timing.median_ms, (predicted.total_s * 1e3, predicted.limiter)


def _machine_spec() -> str:
    """Return the GPU spec to model with: h100 for Hopper (H100/H200), else a100."""
    import cupy

    major = int(cupy.cuda.Device().compute_capability) // 10
    return "h100" if major >= 9 else "a100"


def _check_triton_loads() -> None:
    """Load one tensor-core kernel; fall back to the 12.x ptxas for an older driver."""
    from kernels.run.triton_launch import load_triton_on_device

    plan = _plan(64, True)
    try:
        load_triton_on_device(plan, {"G": 1, "R": 1, "M": 128, "P": 128, "E": 64, "F": 64})
    except Exception as exc:
        import triton

        fallback = Path(str(triton.__file__)).parent / "backends" / "nvidia" / "bin" / "ptxas"
        print(f"loading the sm_90a cubin failed ({exc}); rebuilding with {fallback}")
        os.environ["TRITON_PTXAS_BLACKWELL_PATH"] = str(fallback)
        load_triton_on_device(plan, {"G": 1, "R": 1, "M": 128, "P": 128, "E": 64, "F": 64})


def main() -> int:
    """Check, time, and write the CSV; exit 1 on a correctness failure."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("gpu_check.csv"))
    parser.add_argument("--lengths", default=",".join(map(str, LENGTHS)))
    parser.add_argument("--skip-simt-above", type=int, default=16384,
                        help="time the SIMT baseline only up to this L (it is slow)")  # fmt: skip
    parser.add_argument("--budget", type=float, default=200.0,
                        help="seconds after which the slow SIMT runs are skipped")  # fmt: skip
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    missing = _missing()
    if missing:
        print(f"missing packages: {', '.join(missing)}", file=sys.stderr)
        print(RECIPE, file=sys.stderr)
        return 2
    for name, consequence in OPTIONAL.items():
        try:
            importlib.import_module(name)
        except ImportError:
            print(f"{name} is not installed: {consequence}")
    from kernels.run.cupy_launch import cupy_unavailable_reason

    reason = cupy_unavailable_reason()
    if reason is not None:
        print(f"no GPU: {reason}", file=sys.stderr)
        return 2
    import cupy

    device = cupy.cuda.runtime.getDeviceProperties(0)["name"].decode()
    began = time.perf_counter()
    print(f"device {device}, python {platform.python_version()}, load {_load()}")
    _check_triton_loads()
    print("correctness against the interpreter (float64):")
    failures = check_correctness()
    rows = []
    for head in HEADS:
        simt, tensor = _plan(head, False), _plan(head, True)
        for length in (int(x) for x in args.lengths.split(",")):
            extents = {"G": BATCH_HEADS, "R": 1, "M": length, "P": length}
            arrays = _inputs(tensor, extents)
            runs: list[tuple[str, Any, tuple[Any, ...]]] = [
                ("tensor-core (triton)", _time_tensor, (tensor, arrays, extents))
            ]
            late = time.perf_counter() - began > args.budget
            if length <= args.skip_simt_above and not late:
                runs.append(("simt (cuda)", _time_simt, (simt, arrays, extents)))
            elif late:
                print(
                    f"  simt (cuda) L={length} d={head}: skipped, past the {args.budget} s budget"
                )
            runs.append(("sdpa (torch flash)", _measure_sdpa, (length, head)))
            for kernel, measure, measure_args in runs:
                try:
                    measured, model = measure(*measure_args)
                except Exception as exc:
                    print(f"  {kernel} L={length} d={head}: {type(exc).__name__}: {exc}")
                    continue
                if measured is None:
                    continue
                modelled, bound = model if model else (math.nan, "")
                row = {
                    "device": device,
                    "kernel": kernel,
                    "L": length,
                    "d": head,
                    "batch_heads": BATCH_HEADS,
                    "dtype": "float16",
                    "measured_ms": round(measured, 4),
                    "modelled_ms": round(modelled, 4),
                    "model_bound": bound,
                    "measured_tflops": round(_tflops(length, head, measured), 1),
                    "modelled_tflops": round(_tflops(length, head, modelled), 1) if model else "",
                    "model_error": round(modelled / measured - 1, 3) if model else "",
                    "loadavg": _load(),
                }
                rows.append(row)
                print(f"  {kernel:22s} L={length:6d} d={head:3d} {measured:9.3f} ms "
                      f"({row['measured_tflops']} TFLOP/s) model {row['modelled_ms']} ms "
                      f"[{bound}] load {row['loadavg']}")  # fmt: skip
    if rows:
        with args.out.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        print(f"wrote {args.out} ({len(rows)} rows) in {time.perf_counter() - began:.0f} s")
    if failures:
        print("correctness failures:\n  " + "\n  ".join(failures), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
