"""Build generated CUDA source with g++ against the CPU shim and call it through ctypes."""

from __future__ import annotations

import ctypes
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kernels.build.cache import content_key, entry_dir
from kernels.build.source import KernelParam, KernelSource
from kernels.errors import KernelError

SHIM_HEADER = Path(__file__).parent / "cuda_shim.h"
_BASE_FLAGS = ("-std=c++20", "-pthread", "-Wno-unknown-pragmas", "-fno-fast-math")
SANITIZER_FLAGS = {
    "none": ("-O2",),
    "thread": ("-O1", "-g", "-fsanitize=thread"),
    "address": ("-O1", "-g", "-fsanitize=address", "-fno-omit-frame-pointer"),
}
_CTYPES = {
    "int": ctypes.c_int32,
    "float": ctypes.c_float,
    "unsigned": ctypes.c_uint32,
}
_NUMPY_DTYPES: dict[str, type[np.generic]] = {
    "float": np.float32,
    "__half": np.float16,
    "int": np.int32,
}
Dim3 = tuple[int, int, int]


def numpy_dtype(ctype: str) -> type[np.generic]:
    """Return the NumPy dtype matching a pointee C type."""
    return _NUMPY_DTYPES[ctype]


def _compiler() -> str:
    found = shutil.which("g++")
    if found is None:
        raise KernelError.single("K301", "g++ is not on PATH; the CPU shim needs it")
    return found


def _launcher_text(source: KernelSource) -> str:
    lines = ['#include "cuda_shim.h"', '#include "kernel.cu"', ""]
    for signature in source.kernels:
        params = ", ".join(f"{p.ctype} {p.name}" for p in signature.params)
        names = ", ".join(p.name for p in signature.params)
        lines += [
            f'extern "C" void shim_launch_{signature.name}(unsigned gx, unsigned gy, unsigned gz,',
            f"        unsigned bx, unsigned by, unsigned bz, {params}) {{",
            "    ::cuda_shim::launch(dim3(gx, gy, gz), dim3(bx, by, bz),",
            f"                        [&] {{ {signature.name}({names}); }});",
            "}",
            "",
        ]
    return "\n".join(lines)


def _build(source_text: str, driver_text: str, flags: Sequence[str], output: str) -> Path:
    """Compile ``kernel.cu`` + a driver file into ``output`` inside a cache entry."""
    compiler = _compiler()
    header = SHIM_HEADER.read_text(encoding="utf-8")
    version = subprocess.run([compiler, "--version"], capture_output=True, text=True).stdout
    key = content_key(source_text, driver_text, header, " ".join(flags), version)
    folder = entry_dir("shim", key)
    target = folder / output
    if target.exists():
        return target
    (folder / "kernel.cu").write_text(source_text, encoding="utf-8")
    (folder / "cuda_shim.h").write_text(header, encoding="utf-8")
    (folder / "driver.cpp").write_text(driver_text, encoding="utf-8")
    partial = folder / f"{output}.partial"
    command = [compiler, *flags, f"-I{folder}", str(folder / "driver.cpp"), "-o", str(partial)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise KernelError.single(
            "K302", f"g++ could not build the kernel source against the CPU shim:\n{done.stderr}"
        )
    partial.replace(target)
    return target


@dataclass(frozen=True)
class ShimLibrary:
    """A shared library of shim launchers: ``launch`` runs one kernel on the CPU."""

    path: Path
    source: KernelSource

    def launch(
        self, name: str, grid: Dim3, block: Dim3, args: Mapping[str, np.ndarray | int | float]
    ) -> None:
        """Run kernel ``name`` over ``grid`` x ``block`` CPU threads with typed arguments.

        Arrays must be C-contiguous and of the parameter's element type; outputs are
        written in place.
        """
        signature = self.source.kernel(name)
        library = ctypes.CDLL(str(self.path))
        function = getattr(library, f"shim_launch_{name}")
        function.restype = None
        values: list[object] = [ctypes.c_uint32(v) for v in (*grid, *block)]
        values += [_ctypes_argument(p, args[p.name]) for p in signature.params]
        function(*values)


def _ctypes_argument(param: KernelParam, value: Any) -> object:
    if param.is_pointer:
        array = value
        if not isinstance(array, np.ndarray) or not array.flags.c_contiguous:
            raise KernelError.single(
                "K303", f"argument '{param.name}' must be a C-contiguous array"
            )
        expected = numpy_dtype(param.element_ctype)
        if array.dtype != expected:
            raise KernelError.single(
                "K303",
                f"argument '{param.name}' has dtype {array.dtype}, expected {np.dtype(expected)}",
            )
        return ctypes.c_void_p(array.ctypes.data)
    return _CTYPES[param.ctype](value)


def build_shared_library(source: KernelSource) -> ShimLibrary:
    """Build (or reuse from the cache) the shim shared library of ``source``."""
    flags = (*_BASE_FLAGS, *SANITIZER_FLAGS["none"], "-fPIC", "-shared")
    path = _build(source.text, _launcher_text(source), flags, "libkernel.so")
    return ShimLibrary(path, source)


@dataclass(frozen=True, slots=True)
class BufferSpec:
    """A buffer of the standalone driver: its element count and how it is filled."""

    name: str
    ctype: str
    count: int
    fill: str  # "random" (uniform in [-1, 1)) or "zero"


@dataclass(frozen=True, slots=True)
class LaunchSpec:
    """One kernel launch of the standalone driver; ``args`` name buffers or give scalars."""

    kernel: str
    grid: Dim3
    block: Dim3
    args: tuple[tuple[str, str | int | float], ...]


@dataclass(frozen=True, slots=True)
class SanitizerRun:
    """The result of running a sanitized standalone build."""

    sanitizer: str
    returncode: int
    report: str

    @property
    def clean(self) -> bool:
        """Tell whether the run exited 0 with no sanitizer report."""
        return self.returncode == 0 and "Sanitizer" not in self.report


def _driver_text(
    source: KernelSource, buffers: Sequence[BufferSpec], launches: Sequence[LaunchSpec]
) -> str:
    lines = [_launcher_text(source), "#include <cstdio>", "#include <cstdlib>", "", "int main() {"]
    lines.append("    unsigned state = 12345u;")
    for buffer in buffers:
        lines.append(
            f"    auto* {buffer.name} = static_cast<{buffer.ctype}*>("
            f"std::malloc(sizeof({buffer.ctype}) * {buffer.count}));"
        )
        lines.append(f"    for (long i = 0; i < {buffer.count}; ++i) {{")
        if buffer.fill == "random":
            lines.append("        state = state * 1664525u + 1013904223u;")
            lines.append(
                f"        {buffer.name}[i] = static_cast<{buffer.ctype}>("
                "static_cast<float>(state >> 8) / 8388608.0f - 1.0f);"
            )
        else:
            lines.append(f"        {buffer.name}[i] = static_cast<{buffer.ctype}>(0.0f);")
        lines.append("    }")
    for launch in launches:
        values = [str(v) for v in (*launch.grid, *launch.block)]
        values += [str(value) for _, value in launch.args]
        lines.append(f"    shim_launch_{launch.kernel}({', '.join(values)});")
    lines.append("    double checksum = 0.0;")
    for buffer in buffers:
        lines.append(
            f"    for (long i = 0; i < {buffer.count}; ++i) "
            f"checksum += static_cast<double>({buffer.name}[i]);"
        )
    lines += [f"    std::free({b.name});" for b in buffers]
    lines += ['    std::printf("checksum %.9g\\n", checksum);', "    return 0;", "}", ""]
    return "\n".join(lines)


def run_sanitized(
    source: KernelSource,
    sanitizer: str,
    buffers: Sequence[BufferSpec],
    launches: Sequence[LaunchSpec],
    timeout_s: float = 120.0,
) -> SanitizerRun:
    """Build a standalone driver with ``-fsanitize=thread|address`` and run it.

    Buffers are allocated with their exact sizes so a read past an array's end reaches
    the allocator's red zone. A run that deadlocks (a barrier some threads never reach)
    is reported with return code -1.
    """
    if sanitizer not in ("thread", "address"):
        raise KernelError.single(
            "K304", f"unknown sanitizer '{sanitizer}'", hint="use 'thread' or 'address'"
        )
    flags = (*_BASE_FLAGS, *SANITIZER_FLAGS[sanitizer])
    driver = _driver_text(source, buffers, launches)
    executable = _build(source.text, driver, flags, f"driver_{sanitizer}")
    try:
        done = subprocess.run(
            [str(executable)], capture_output=True, text=True, timeout=timeout_s, check=False
        )
    except subprocess.TimeoutExpired:
        return SanitizerRun(sanitizer, -1, f"timed out after {timeout_s} s (deadlock?)")
    return SanitizerRun(sanitizer, done.returncode, done.stdout + done.stderr)
