"""Machine spec YAML (``kind: gpu`` or ``kind: cpu``) -> validated spec; located SpecErrors.

Codes: H101 unknown key, H102 missing key, H103 wrong type, H104 out of range, H105 version,
H106 unknown kind, H107 no profile.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from einsum_cascade.diagnostics import suggest
from mappers.errors import SpecError
from mappers.hardware.catalog import SpecKind, resolve_spec, user_machine_dir
from mappers.hardware.machine import (
    BandwidthLevel,
    CallTime,
    CpuProfile,
    CpuSpec,
    EinsumRate,
    GpuSpec,
    MachineSpec,
    MatmulRate,
    ReduceRate,
    ShimRates,
)
from mappers.yaml_source import Node, Validator, compose

SUPPORTED_VERSIONS = (1,)
KINDS = ("gpu", "cpu")
_COMMON = ("version", "kind", "name", "description")
GPU_NUMBERS = (
    "clock_hz",
    "fp32_flops_per_s",
    "tensor_fp16_flops_per_s",
    "tensor_tf32_flops_per_s",
    "exp_per_s",
    "hbm_bandwidth_bytes_per_s",
    "shared_bandwidth_bytes_per_s",
    "launch_overhead_s",
)
GPU_SIZES = (
    "l2_size_bytes",
    "shared_bytes_per_sm",
    "max_shared_bytes_per_block",
    "reserved_shared_bytes_per_block",
)
GPU_INTEGERS = (
    "sm_count",
    "registers_per_sm",
    "max_registers_per_thread",
    "register_allocation_unit",
    "shared_allocation_unit",
    "max_threads_per_sm",
    "max_blocks_per_sm",
    "warp_size",
)
_CPU = ("logical_cores", "conditions", "profiles", "shim")
_PROFILE = (
    "threads",
    "exp_per_s",
    "call_overhead_s",
    "levels",
    "einsum",
    "matmul",
    "reduce",
    "call_times",
    "interpreter_s_per_call",
)
SHIM_NUMBERS = (
    "launch_s",
    "block_s",
    "barrier_s",
    "accumulate_s",
    "elementwise_s",
    "exp_s",
    "divide_s",
)
_LEVEL = ("name", "size_bytes", "bandwidth_bytes_per_s")


def machine_path(name_or_path: str | Path) -> Path:
    """Resolve a machine name (``a100``, a calibrated ``host``) or a path to a machine spec."""
    try:
        return resolve_spec(name_or_path, SpecKind.MACHINE)
    except SpecError as error:
        if str(name_or_path) != "host" or error.codes != ("S100",):
            raise
        raise SpecError.single(
            "H100",
            "no machine spec 'host'",
            None,
            "measure this machine first: einsum-cascade calibrate "
            f"(it writes {user_machine_dir() / 'host.yaml'}), or pass --machine FILE",
        ) from None


def load_machine(name_or_path: str | Path) -> MachineSpec:
    """Load a GPU or CPU machine spec by built-in name or path.

    Raises:
        SpecError: the file is missing or breaks the schema (every problem, located).
    """
    path = machine_path(name_or_path)
    return machine_from_text(path.read_text(encoding="utf-8"), str(path))


def machine_from_text(text: str, file: str = "<string>") -> MachineSpec:
    """Validate machine spec YAML text and build the spec."""
    root = compose(text, file, SpecError)
    if root.get("kind") is None and root.get("arrays") is not None:
        raise SpecError.single(
            "S105",
            "this is an accelerator spec (it has arrays), not a machine spec",
            root.span,
            "--arch takes accelerator specs; --machine takes machine specs (kind: gpu or cpu)",
        )
    check = Validator("H")
    check.mapping(root, "the machine spec")
    check.raise_if_any(SpecError)
    check.version(root, SUPPORTED_VERSIONS)
    kind_node = root.get("kind")
    kind = check.string(kind_node, "kind") if kind_node is not None else ""
    if kind_node is None:
        check.error(102, "missing key 'kind' in the machine spec", root.span, "kind: gpu or cpu")
    elif kind not in KINDS:
        check.error(
            106, f"unknown machine kind '{kind}'", kind_node.span, suggest(kind, KINDS) or None
        )
    if kind == "gpu":
        spec: MachineSpec | None = _gpu(check, root, file)
    elif kind == "cpu":
        spec = _cpu(check, root, file)
    else:
        spec = None
    check.raise_if_any(SpecError)
    assert spec is not None
    return spec


def _description(top: dict[str, Node]) -> str:
    node = top.get("description")
    return str(node.value) if node is not None else ""


def _gpu(check: Validator, root: Node, file: str) -> GpuSpec:
    keys = (*_COMMON, *GPU_NUMBERS, *GPU_SIZES, *GPU_INTEGERS)
    required = tuple(k for k in keys if k not in ("version", "description"))
    top = check.keys(root, keys, required, "the GPU spec")
    values: dict[str, float] = {}
    for key in GPU_NUMBERS:
        values[key] = check.number(top.get(key), key)
    for key in GPU_SIZES:
        strict = key != "reserved_shared_bytes_per_block"
        node = top.get(key)
        values[key] = check.size(node, key) if strict else _size_or_zero(check, node, key)
    # int and float fields by name: the dataclass checks nothing, the validator did
    numbers: dict[str, Any] = {
        **values,
        **{key: _integer(check, top.get(key), key) for key in GPU_INTEGERS},
    }
    return GpuSpec(
        name=check.string(top.get("name"), "name"),
        description=_description(top),
        source_file=file,
        **numbers,
    )


def _size_or_zero(check: Validator, node: Node | None, what: str) -> float:
    if node is not None and node.value in (0, "0"):
        return 0.0
    return check.size(node, what)


def _integer(check: Validator, node: Node | None, what: str) -> int:
    if node is None:
        return 0
    if not isinstance(node.value, int) or isinstance(node.value, bool):
        check.error(103, f"{what} must be a whole number, found '{node.value}'", node.span)
        return 0
    if node.value < 1:
        check.error(104, f"{what} must be at least 1, found {node.value}", node.span)
    return int(node.value)


def _cpu(check: Validator, root: Node, file: str) -> CpuSpec:
    required = ("kind", "name", "logical_cores", "profiles")
    top = check.keys(root, (*_COMMON, *_CPU), required, "the CPU spec")
    conditions = tuple(
        (key, str(node.value))
        for key, node in check.mapping(top.get("conditions"), "conditions").items()
    )
    profiles_node = top.get("profiles")
    profiles = tuple(_profile(check, item) for item in check.sequence(profiles_node, "profiles"))
    if profiles_node is not None and isinstance(profiles_node.value, list) and not profiles:
        check.error(107, "a CPU spec needs at least one profile", profiles_node.span)
    return CpuSpec(
        name=check.string(top.get("name"), "name"),
        logical_cores=_integer(check, top.get("logical_cores"), "logical_cores"),
        profiles=profiles,
        conditions=conditions,
        description=_description(top),
        source_file=file,
        shim=_shim(check, top["shim"]) if "shim" in top else None,
    )


def _shim(check: Validator, node: Node) -> ShimRates:
    keys = ("threads_per_block", *SHIM_NUMBERS)
    fields = check.keys(node, keys, keys, "the shim rates")
    numbers = {k: check.number(fields.get(k), k, strict=False) for k in SHIM_NUMBERS}
    return ShimRates(
        threads_per_block=_integer(check, fields.get("threads_per_block"), "threads_per_block"),
        **numbers,
    )


def _call_time(check: Validator, node: Node) -> CallTime:
    keys = ("function", "elements", "seconds")
    fields = check.keys(node, keys, keys, "a call time")
    return CallTime(
        check.string(fields.get("function"), "function"),
        _integer(check, fields.get("elements"), "elements"),
        check.number(fields.get("seconds"), "seconds"),
    )


def _profile(check: Validator, node: Node) -> CpuProfile:
    fields = check.keys(
        node, _PROFILE, ("threads", "exp_per_s", "call_overhead_s", "levels"), "a profile"
    )
    overheads = tuple(
        (name, check.number(value, f"call_overhead_s of '{name}'", strict=False))
        for name, value in check.mapping(fields.get("call_overhead_s"), "call_overhead_s").items()
    )
    levels = []
    for item in check.sequence(fields.get("levels"), "levels"):
        level = check.keys(item, _LEVEL, _LEVEL, "a level")
        levels.append(
            BandwidthLevel(
                check.string(level.get("name"), "level name"),
                check.size(level.get("size_bytes"), "size_bytes"),
                check.number(level.get("bandwidth_bytes_per_s"), "bandwidth_bytes_per_s"),
            )
        )
    return CpuProfile(
        threads=_integer(check, fields.get("threads"), "threads"),
        call_overhead_s=overheads,
        levels=tuple(levels),
        exp_per_s=check.number(fields.get("exp_per_s"), "exp_per_s"),
        einsum=tuple(_einsum(check, item) for item in check.sequence(fields.get("einsum"), "e")),
        matmul=tuple(_matmul(check, item) for item in check.sequence(fields.get("matmul"), "m")),
        reduce=tuple(_reduce(check, item) for item in check.sequence(fields.get("reduce"), "r")),
        call_times=tuple(
            _call_time(check, item) for item in check.sequence(fields.get("call_times"), "c")
        ),
        interpreter_s_per_call=(
            check.number(fields["interpreter_s_per_call"], "interpreter_s_per_call", strict=False)
            if "interpreter_s_per_call" in fields
            else 0.0
        ),
    )


def _einsum(check: Validator, node: Node) -> EinsumRate:
    keys = ("subscripts", "shapes", "flops_per_s")
    fields = check.keys(node, keys, keys, "an einsum rate")
    shapes = tuple(
        tuple(_integer(check, d, "a dimension") for d in check.sequence(shape, "a shape"))
        for shape in check.sequence(fields.get("shapes"), "shapes")
    )
    return EinsumRate(
        check.string(fields.get("subscripts"), "subscripts"),
        shapes,
        check.number(fields.get("flops_per_s"), "flops_per_s"),
    )


def _matmul(check: Validator, node: Node) -> MatmulRate:
    keys = ("m", "n", "k", "flops_per_s")
    fields = check.keys(node, keys, keys, "a matmul rate")
    return MatmulRate(
        _integer(check, fields.get("m"), "m"),
        _integer(check, fields.get("n"), "n"),
        _integer(check, fields.get("k"), "k"),
        check.number(fields.get("flops_per_s"), "flops_per_s"),
    )


def _reduce(check: Validator, node: Node) -> ReduceRate:
    keys = ("inner", "elements_per_s")
    fields = check.keys(node, keys, keys, "a reduce rate")
    return ReduceRate(
        _integer(check, fields.get("inner"), "inner"),
        check.number(fields.get("elements_per_s"), "elements_per_s"),
    )
