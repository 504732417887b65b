"""Predict the run time of a kernel plan on a machine spec: the modelled half of ``compare``.

A string-keyed registry picks the model by (machine kind, backend):

* ``cpu``/``numpy``: the NumPy twin traced by shape and priced op by op with the rates the
  host's calibration measured (:mod:`kernels.model.cpu`);
* ``cpu``/``shim``: the generated CUDA source on the CPU shim, counted from the plan (thread
  points, ``expf`` and divisions, barriers, blocks) and priced with the shim rates the host's
  calibration measured (:mod:`kernels.model.shim`);
* ``gpu``/``cupy``: per-tile work from the plan, occupancy from registers and shared
  memory, a roofline per launch over FP32, SFU, shared memory and HBM
  (:mod:`kernels.model.gpu`), symbolic in the extents.
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
    totals = price_trace(ops, machine.profile(threads))
    return KernelEstimate(
        plan.cascade.name,
        machine.name,
        "numpy",
        tuple(sorted(extents.items())),
        sum(totals.values()),
        tuple(totals.items()),
        len(ops),
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
    missing = [r for r in plan.runtime_extents() if r not in extents]
    if missing:
        raise KernelError.single("K602", f"the model needs the extent of {', '.join(missing)}")
    totals = price_plan(plan, extents, machine.shim)
    return KernelEstimate(
        plan.cascade.name,
        machine.name,
        "shim",
        tuple(sorted(extents.items())),
        sum(totals.values()),
        tuple(totals.items()),
        len(plan.kernels),
    )


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
    return KernelEstimate(
        plan.cascade.name,
        machine.name,
        "cupy",
        tuple(sorted(extents.items())),
        float(total(*values)),
        tuple((k, float(f(*values))) for k, f in bounds.items()),
        len(plan.kernels),
    )


MODELS: dict[tuple[str, str], Model] = {
    ("cpu", "numpy"): _cpu_numpy,
    ("cpu", "shim"): _cpu_shim,
    ("gpu", "cupy"): _gpu_cupy,
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
