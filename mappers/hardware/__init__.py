"""Hardware descriptions: accelerator specs (levels, arrays, per-action costs) and machine specs
(GPUs, measured CPUs), with their loaders, writer and name catalog.
"""

from mappers.hardware.catalog import SpecKind, resolve_spec, spec_names, user_machine_dir
from mappers.hardware.machine import CpuSpec, GpuSpec, MachineKind, MachineSpec
from mappers.hardware.machine_loader import load_machine, machine_from_text
from mappers.hardware.machine_writer import cpu_spec_to_yaml
from mappers.hardware.spec import (
    ArchSpec,
    ComputeArray,
    Level,
    Link,
    OpCost,
    op_cycles_and_energy,
)
from mappers.hardware.spec_loader import available_specs, load_spec, spec_from_text, spec_path

__all__ = [
    "ArchSpec",
    "ComputeArray",
    "CpuSpec",
    "GpuSpec",
    "Level",
    "Link",
    "MachineKind",
    "MachineSpec",
    "OpCost",
    "SpecKind",
    "available_specs",
    "cpu_spec_to_yaml",
    "load_machine",
    "load_spec",
    "machine_from_text",
    "op_cycles_and_energy",
    "resolve_spec",
    "spec_from_text",
    "spec_names",
    "spec_path",
    "user_machine_dir",
]
