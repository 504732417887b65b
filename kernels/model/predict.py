"""Predict the run time of a kernel plan on a machine spec: the modelled half of ``compare``.

A string-keyed registry picks the model by (machine kind, backend):

* ``cpu``/``numpy``: the NumPy twin traced by shape and priced op by op with the rates the
  host's calibration measured (:mod:`kernels.model.cpu`);
* ``cpu``/``shim``: the generated CUDA source on the CPU shim, counted from the plan (thread
  points, ``expf`` and divisions, barriers, blocks) and priced with the shim rates the host's
  calibration measured (:mod:`kernels.model.shim`);
* ``gpu``/``cupy``: the CUDA SIMT kernels: per-thread work from the plan, occupancy from
  registers and shared memory, bounds over FP32, SFU, issue slots, shared memory/L1 and HBM
  (:mod:`kernels.model.gpu`), symbolic in the extents;
* ``gpu``/``triton``: the tensor-core kernels: dots at the tensor peak, SFU, issue slots
  from the SASS loop body (or the plan), shared memory and HBM per visited tile, occupancy
  from the compiled registers and shared memory (:mod:`kernels.model.gpu_tensor`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import sympy

from kernels.errors import KernelError
from kernels.plan.lower import KernelPlan
from mappers.hardware.machine import CpuSpec, GpuSpec, MachineSpec


@dataclass(frozen=True, slots=True)
class KernelEstimate:
    """Modelled seconds of one plan at one set of extents, with a breakdown by cause."""

    cascade: str
    machine: str
    backend: str
    extents: tuple[tuple[str, int], ...]
    total_s: float
    breakdown_s: tuple[tuple[str, float], ...]
    operations: int = 0  # traced array calls (CPU) or launches (GPU)

    def report(self) -> str:
        """Return a one-line human summary."""
        parts = ", ".join(f"{k} {v * 1e3:.3g} ms" for k, v in self.breakdown_s if v > 0)
        shape = ", ".join(f"{k}={v}" for k, v in self.extents)
        total = f"{self.total_s * 1e3:.3g} ms"
        return f"{self.cascade} on {self.machine} ({self.backend}, {shape}): {total} [{parts}]"


def require_extents(plan: KernelPlan, extents: Mapping[str, int]) -> None:
    """Check that ``extents`` gives every runtime extent of ``plan``.

    Raises:
        KernelError: K602 naming the missing extents.
    """
    missing = [r for r in plan.runtime_extents() if r not in extents]
    if missing:
        raise KernelError.single("K602", f"the model needs the extent of {', '.join(missing)}")


def _estimate(
    plan: KernelPlan,
    machine: MachineSpec,
    backend: str,
    extents: Mapping[str, int],
    breakdown_s: Mapping[str, float],
    operations: int,
    total_s: float | None = None,
) -> KernelEstimate:
    """Return the estimate of ``plan``; the total is the sum of the breakdown unless given."""
    return KernelEstimate(
        plan.cascade.name,
        machine.name,
        backend,
        tuple(sorted(extents.items())),
        sum(breakdown_s.values()) if total_s is None else total_s,
        tuple(breakdown_s.items()),
        operations,
    )


Model = Callable[
    [KernelPlan, MachineSpec, Mapping[str, int], int, Mapping[str, int]], KernelEstimate
]


def _cpu_numpy(
    plan: KernelPlan,
    machine: MachineSpec,
    extents: Mapping[str, int],
    threads: int,
    registers: Mapping[str, int],
) -> KernelEstimate:
    from kernels.model.cpu import price_trace, trace_twin

    assert isinstance(machine, CpuSpec)
    ops = trace_twin(plan, extents)
    return _estimate(
        plan, machine, "numpy", extents, price_trace(ops, machine.profile(threads)), len(ops)
    )


def _cpu_shim(
    plan: KernelPlan,
    machine: MachineSpec,
    extents: Mapping[str, int],
    threads: int,
    registers: Mapping[str, int],
) -> KernelEstimate:
    from kernels.model.shim import price_plan

    assert isinstance(machine, CpuSpec)
    if machine.shim is None:
        raise KernelError.single(
            "K604",
            f"the CPU spec '{machine.name}' has no shim rates",
            hint="re-run `einsum-cascade calibrate` on a host with g++",
        )
    require_extents(plan, extents)
    totals = price_plan(plan, extents, machine.shim)
    return _estimate(plan, machine, "shim", extents, totals, len(plan.kernels))


@functools.cache
def _gpu_functions(
    plan: KernelPlan, machine: GpuSpec, registers: tuple[tuple[str, int], ...]
) -> tuple[tuple[str, ...], Callable[..., float], dict[str, Callable[..., float]]]:
    from kernels.model.gpu import gpu_time_expression

    total, bounds, _ = gpu_time_expression(plan, machine, dict(registers))
    symbols = sorted(
        total.free_symbols | set().union(*(b.free_symbols for b in bounds.values())), key=str
    )
    names = tuple(s.name for s in symbols)
    return (
        names,
        sympy.lambdify(symbols, total, "math"),
        {k: sympy.lambdify(symbols, v, "math") for k, v in bounds.items()},
    )


def _gpu_cupy(
    plan: KernelPlan,
    machine: MachineSpec,
    extents: Mapping[str, int],
    threads: int,
    registers: Mapping[str, int],
) -> KernelEstimate:
    assert isinstance(machine, GpuSpec)
    names, total, bounds = _gpu_functions(plan, machine, tuple(sorted(registers.items())))
    missing = [n for n in names if n not in extents]
    if missing:
        raise KernelError.single("K602", f"the model needs the extent of {', '.join(missing)}")
    values = [extents[n] for n in names]
    breakdown = {k: float(f(*values)) for k, f in bounds.items()}
    return _estimate(
        plan, machine, "cupy", extents, breakdown, len(plan.kernels), float(total(*values))
    )


TARGET_BY_NAME = (("h100", "sm_90a"), ("h200", "sm_90a"), ("gh200", "sm_90a"), ("a100", "sm_80"))


def machine_target(machine: GpuSpec) -> str | None:
    """Return the Triton target of a GPU spec by its name (h100 -> sm_90a, a100 -> sm_80)."""
    name = machine.name.lower()
    return next((target for key, target in TARGET_BY_NAME if key in name), None)


def triton_resources(
    plan: KernelPlan, machine: GpuSpec, compile_kernels: bool = True
) -> dict[str, object]:
    """Return each kernel's resources: from an AOT compile for the machine's target (cached)
    when Triton is installed, else the plan's defaults (255 registers, staged tiles x 3)."""
    from kernels.build.triton_build import compile_kernel, triton_unavailable_reason
    from kernels.model.gpu_tensor import KernelResources, staged_tile_bytes
    from kernels.render.triton import render_triton

    source = render_triton(plan)
    target = machine_target(machine)
    found: dict[str, object] = {}
    for kernel in source.kernels:
        if compile_kernels and target is not None and triton_unavailable_reason() is None:
            binary = compile_kernel(source, kernel, target, kernel.warps, 3)
            found[kernel.name] = KernelResources(
                binary.num_warps,
                binary.registers,
                binary.shared_bytes,
                binary.loop_instructions,
                target == "sm_90a",
            )
        else:
            word = 2 if plan.tiling.input_dtype == "float16" else 4
            spec = next(k for k in plan.kernels if k.name == kernel.name)
            names = {n for segment in spec.segments for n in segment.staged}
            staged = sum(staged_tile_bytes(plan, name, word) for name in names)
            found[kernel.name] = KernelResources(
                kernel.warps, 255, 3 * staged, 0, target != "sm_80"
            )
    return found


def _gpu_triton(
    plan: KernelPlan,
    machine: MachineSpec,
    extents: Mapping[str, int],
    threads: int,
    registers: Mapping[str, int],
) -> KernelEstimate:
    from kernels.model.gpu_tensor import predict_tensor

    assert isinstance(machine, GpuSpec)
    require_extents(plan, extents)
    resources = triton_resources(plan, machine)
    prediction = predict_tensor(plan, machine, extents, resources)  # type: ignore[arg-type]
    bounds = dict(prediction.bounds)
    return _estimate(
        plan, machine, "triton", extents, bounds, len(plan.kernels), prediction.total_s
    )


MODELS: dict[tuple[str, str], Model] = {
    ("cpu", "numpy"): _cpu_numpy,
    ("cpu", "shim"): _cpu_shim,
    ("gpu", "cupy"): _gpu_cupy,
    ("gpu", "triton"): _gpu_triton,
}


def estimate_kernel_time(
    plan: KernelPlan,
    machine: MachineSpec,
    extents: Mapping[str, int],
    backend: str = "numpy",
    threads: int = 1,
    registers: Mapping[str, int] | None = None,
) -> KernelEstimate:
    """Predict the run time of ``plan`` at ``extents`` on ``machine`` for ``backend``.

    Args:
        plan: The kernel plan (cascade plus tiling).
        machine: A GPU spec from a datasheet or a CPU spec from ``calibrate``.
        extents: Runtime extents, e.g. ``{"M": 4096, "P": 1024}``.
        backend: ``numpy`` (the twin) or ``shim`` (the CPU shim) on a CPU spec, ``cupy`` on a
            GPU spec.
        threads: Which CPU profile to use (measured thread count).
        registers: Registers per thread of each kernel (from ptxas); 64 when unknown.

    Raises:
        KernelError: no model for this machine kind and backend (K603), a missing extent
            (K602), or a CPU spec without shim rates for ``shim`` (K604).
    """
    key = (machine.kind.value, backend)
    model = MODELS.get(key)
    if model is None:
        valid = ", ".join(f"{b} on a {k} spec" for k, b in MODELS)
        raise KernelError.single(
            "K603",
            f"no cost model for the {backend} backend on a {machine.kind.value} machine spec",
            hint=f"modelled: {valid}",
        )
    return model(plan, machine, extents, threads, registers or {})
