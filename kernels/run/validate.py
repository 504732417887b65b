"""Compare a plan's backends with the interpreter, and run its sanitizer builds."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from einsum_cascade import TensorKind, evaluate
from kernels.build.shim import BufferSpec, LaunchSpec, SanitizerRun, run_sanitized
from kernels.build.source import KernelSource
from kernels.plan.lower import KernelPlan
from kernels.render.cuda import ELEMENT_CTYPE, render_cuda
from kernels.run.binding import bind_extents
from kernels.run.execute import launch_shape

# (rtol, atol) against the float64 interpreter on the same (rounded) inputs: an element passes
# when |got - want| <= atol + rtol * |want|. SIMT kernels (twin, shim, CUDA) and the Triton
# interpreter accumulate in fp32 (inputs rounded to fp16 first for float16). Triton fp16
# kernels also round P to fp16 before the PV dot (~2e-4 on outputs of order 1), and Triton
# fp32 dots run as TF32 on a GPU (10-bit mantissa).
TOLERANCES = {
    ("simt", "float32"): (1e-4, 1e-5),
    ("simt", "float16"): (1e-4, 1e-5),
    ("triton", "float32"): (1e-4, 1e-5),
    ("triton", "float16"): (2e-3, 2e-3),
    ("triton-gpu", "float32"): (5e-3, 5e-3),
    ("triton-gpu", "float16"): (2e-3, 2e-3),
}


def tolerance(kind: str, dtype: str) -> tuple[float, float]:
    """Return (rtol, atol) for a kind of kernel (simt, triton, triton-gpu) and input dtype."""
    return TOLERANCES[(kind, dtype)]


def within(
    outputs: Mapping[str, np.ndarray],
    expected: Mapping[str, np.ndarray],
    rtol: float,
    atol: float,
) -> bool:
    """Tell whether every output element is within ``atol + rtol * |want|`` and not NaN."""
    for name, want in expected.items():
        got = np.asarray(outputs[name], dtype=np.float64)
        if np.isnan(got).any():
            return False
        if not np.all(np.abs(got - want) <= atol + rtol * np.abs(want)):
            return False
    return True


@dataclass(frozen=True, slots=True)
class Comparison:
    """The largest difference between a backend's outputs and the interpreter's."""

    max_abs_error: float
    max_rel_error: float
    nan_count: int


def reference(
    plan: KernelPlan, inputs: Mapping[str, np.ndarray], extents: Mapping[str, int]
) -> dict[str, np.ndarray]:
    """Evaluate the cascade with the NumPy interpreter in float64 on the kernel's inputs."""
    dtype = np.float16 if plan.tiling.input_dtype == "float16" else np.float32
    arrays = {k: np.asarray(v).astype(dtype).astype(np.float64) for k, v in inputs.items()}
    free = {
        k: v
        for k, v in extents.items()
        if k not in {r for t in plan.cascade.inputs for r in t.ranks}
    }
    if plan.cascade.has_rank(plan.tile_extent):
        free[plan.tile_extent] = plan.tiling.tile
    return {k: np.asarray(v) for k, v in evaluate(plan.cascade, **arrays, **free).items()}


def compare(outputs: Mapping[str, np.ndarray], expected: Mapping[str, np.ndarray]) -> Comparison:
    """Summarize the differences over every output."""
    worst_abs = worst_rel = 0.0
    nans = 0
    for name, want in expected.items():
        got = np.asarray(outputs[name], dtype=np.float64)
        nans += int(np.isnan(got).sum())
        difference = np.abs(got - want)
        worst_abs = max(worst_abs, float(np.nanmax(difference, initial=0.0)))
        scale = np.maximum(np.abs(want), 1e-30)
        worst_rel = max(worst_rel, float(np.nanmax(difference / scale, initial=0.0)))
    return Comparison(worst_abs, worst_rel, nans)


def sanitizer_case(
    plan: KernelPlan, extents: Mapping[str, int], source: KernelSource | None = None
) -> tuple[KernelSource, tuple[BufferSpec, ...], tuple[LaunchSpec, ...]]:
    """Return the source, exactly sized buffers and launches of a standalone driver."""
    source = source or render_cuda(plan)
    shapes: dict[str, tuple[int, ...]] = {
        t.name: tuple(extents[r] for r in t.ranks)
        for t in plan.cascade.tensors
        if all(r in extents for r in t.ranks)
    }
    element = ELEMENT_CTYPE[plan.tiling.input_dtype]
    buffers: dict[str, BufferSpec] = {}
    launches = []
    for index, kernel in enumerate(plan.kernels):
        signature = source.kernels[index]
        args: list[tuple[str, str | int | float]] = []
        for param in signature.params:
            if param.is_pointer:
                tensor = plan.cascade.tensor(param.name)
                is_input = tensor.kind is TensorKind.INPUT
                buffers.setdefault(
                    param.name,
                    BufferSpec(
                        param.name,
                        element if is_input else "float",
                        int(np.prod(shapes[param.name])),
                        "random" if is_input else "zero",
                    ),
                )
                args.append((param.name, param.name))
            else:
                args.append((param.name, extents[param.name]))
        grid, block = launch_shape(plan, kernel, extents)
        launches.append(LaunchSpec(kernel.name, grid, block, tuple(args)))
    return source, tuple(buffers.values()), tuple(launches)


def run_sanitizer(
    plan: KernelPlan,
    inputs_shape: Mapping[str, np.ndarray],
    sanitizer: str,
    extents: Mapping[str, int] | None = None,
    source: KernelSource | None = None,
) -> SanitizerRun:
    """Build and run the plan's source under ``-fsanitize=thread|address``."""
    bound = bind_extents(plan, inputs_shape, extents)
    case_source, buffers, launches = sanitizer_case(plan, bound, source)
    return run_sanitized(case_source, sanitizer, buffers, launches)
