"""Write a measured CPU machine spec as YAML that :func:`load_machine` reads back."""

from __future__ import annotations

from typing import Any

import yaml

from mappers.hardware.machine import CpuProfile, CpuSpec, ShimRates
from mappers.hardware.machine_loader import SHIM_NUMBERS

HEADER = (
    "# CPU machine spec written by `einsum-cascade calibrate`: every rate below was measured\n"
    "# on the host named in `conditions`, under those conditions. Re-run calibrate rather than\n"
    "# editing numbers by hand; rates are best-of-N, so they are optimistic on a busy host.\n"
)


def _profile(profile: CpuProfile) -> dict[str, Any]:
    return {
        "threads": profile.threads,
        "exp_per_s": float(f"{profile.exp_per_s:.4g}"),
        "call_overhead_s": {k: float(f"{v:.4g}") for k, v in profile.call_overhead_s},
        "levels": [
            {
                "name": level.name,
                "size_bytes": int(level.size_bytes),
                "bandwidth_bytes_per_s": float(f"{level.bandwidth_bytes_per_s:.4g}"),
            }
            for level in profile.levels
        ],
        "einsum": [
            {
                "subscripts": rate.subscripts,
                "shapes": [list(shape) for shape in rate.shapes],
                "flops_per_s": float(f"{rate.flops_per_s:.4g}"),
            }
            for rate in profile.einsum
        ],
        "matmul": [
            {"m": r.m, "n": r.n, "k": r.k, "flops_per_s": float(f"{r.flops_per_s:.4g}")}
            for r in profile.matmul
        ],
        "reduce": [
            {"inner": r.inner, "elements_per_s": float(f"{r.elements_per_s:.4g}")}
            for r in profile.reduce
        ],
        "call_times": [
            {"function": c.function, "elements": c.elements, "seconds": float(f"{c.seconds:.4g}")}
            for c in profile.call_times
        ],
        "interpreter_s_per_call": float(f"{profile.interpreter_s_per_call:.4g}"),
    }


def _shim(rates: ShimRates) -> dict[str, Any]:
    values = {k: float(f"{getattr(rates, k):.4g}") for k in SHIM_NUMBERS}
    return {"threads_per_block": rates.threads_per_block, **values}


def cpu_spec_to_yaml(spec: CpuSpec) -> str:
    """Return ``spec`` as commented YAML (version 1, ``kind: cpu``)."""
    data: dict[str, Any] = {
        "version": 1,
        "kind": "cpu",
        "name": spec.name,
        "description": spec.description,
        "logical_cores": spec.logical_cores,
        "conditions": dict(spec.conditions),
        "profiles": [_profile(p) for p in spec.profiles],
    }
    if spec.shim is not None:
        data["shim"] = _shim(spec.shim)
    body = yaml.safe_dump(data, sort_keys=False, default_flow_style=False, width=100)
    return HEADER + body
