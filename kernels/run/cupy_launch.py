"""Load and launch compiled cubins through CuPy, and name the device's compile target.

With :mod:`kernels.run.timing`, the only module that imports cupy.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import ModuleType
from typing import Any

import numpy as np

from kernels.build.source import KernelSignature
from kernels.errors import DeviceUnavailableError, KernelError

_SCALAR_TYPES: dict[str, Any] = {"int": np.int32, "float": np.float32, "unsigned": np.uint32}


def cupy_unavailable_reason() -> str | None:
    """Return why CuPy cannot launch kernels here, or None when it can."""
    try:
        import cupy
    except ImportError:
        return "CuPy is not installed (pip install -e '.[gpu]')"
    try:
        if not cupy.cuda.is_available():
            return "cupy.cuda.is_available() is False: no CUDA device on this machine"
    except Exception as exc:  # CuPy raises several CUDA runtime error types here
        return f"cupy.cuda.is_available() failed: {exc}"
    return None


def require_cupy() -> ModuleType:
    """Import and return cupy, or raise DeviceUnavailableError saying why it cannot run."""
    reason = cupy_unavailable_reason()
    if reason is not None:
        raise DeviceUnavailableError.single("K401", f"the cupy backend cannot run: {reason}")
    import cupy

    return cupy


def typed_arguments(signature: KernelSignature, values: Mapping[str, Any]) -> tuple[Any, ...]:
    """Order arguments by the signature and wrap scalars as 32-bit NumPy scalars.

    CuPy passes a Python ``int`` as 64 bits and a ``float`` as a double; a kernel
    parameter declared ``int`` or ``float`` would read garbage.
    """
    ordered: list[Any] = []
    for param in signature.params:
        if param.name not in values:
            raise KernelError.single("K403", f"kernel '{signature.name}' needs '{param.name}'")
        value = values[param.name]
        ordered.append(value if param.is_pointer else _SCALAR_TYPES[param.ctype](value))
    return tuple(ordered)


def load_function(cubin_path: str, name: str) -> Any:
    """Load kernel ``name`` from a cached cubin (the binary checked in CI)."""
    cupy = require_cupy()
    return cupy.RawModule(path=str(cubin_path)).get_function(name)


def launch(
    function: Any,
    signature: KernelSignature,
    grid: tuple[int, int, int],
    block: tuple[int, int, int],
    values: Mapping[str, Any],
) -> None:
    """Launch a loaded kernel with typed arguments (arrays must already be on the device)."""
    function(grid, block, typed_arguments(signature, values))


def device_target() -> str:
    """Return ``sm_XX`` of the current CUDA device."""
    cupy = require_cupy()
    return f"sm_{cupy.cuda.Device().compute_capability}"  # CuPy gives "90" for 9.0
