"""NVRTC through ctypes: the shared library from the ``nvidia-cuda-nvrtc`` wheel, no CuPy."""

from __future__ import annotations

import ctypes
import functools
import importlib.util
from dataclasses import dataclass
from pathlib import Path

from kernels.errors import KernelError


@functools.cache
def library_path() -> Path:
    """Locate ``libnvrtc.so.*`` inside the installed ``nvidia`` namespace package."""
    spec = importlib.util.find_spec("nvidia")
    roots = list(spec.submodule_search_locations or []) if spec is not None else []
    for root in sorted(roots):
        found = sorted(Path(root).glob("**/lib/libnvrtc.so*"))
        found = [p for p in found if "builtins" not in p.name]
        if found:
            return found[0]
    raise KernelError.single(
        "K201",
        "NVRTC is not installed: no libnvrtc.so in the 'nvidia' package",
        hint="pip install nvidia-cuda-nvrtc",
    )


@functools.cache
def _load() -> ctypes.CDLL:
    library = ctypes.CDLL(str(library_path()))
    library.nvrtcGetErrorString.restype = ctypes.c_char_p
    return library


def version() -> tuple[int, int]:
    """Return NVRTC's (major, minor) version."""
    major, minor = ctypes.c_int(), ctypes.c_int()
    _check(_load().nvrtcVersion(ctypes.byref(major), ctypes.byref(minor)), "nvrtcVersion")
    return major.value, minor.value


def _check(result: int, call: str, log: str = "") -> None:
    if result != 0:
        reason = _load().nvrtcGetErrorString(result).decode()
        raise KernelError.single("K202", f"NVRTC {call} failed ({reason}):\n{log}".rstrip())


@dataclass(frozen=True, slots=True)
class NvrtcOutput:
    """A cubin and the compile log (which holds the ``ptxas -v`` report)."""

    cubin: bytes
    log: str


def compile_cubin(source: str, name: str, options: tuple[str, ...]) -> NvrtcOutput:
    """Compile CUDA C++ ``source`` to a cubin with NVRTC; options must name ``-arch=sm_XX``."""
    library = _load()
    program = ctypes.c_void_p()
    _check(
        library.nvrtcCreateProgram(
            ctypes.byref(program), source.encode(), name.encode(), 0, None, None
        ),
        "nvrtcCreateProgram",
    )
    try:
        encoded = [o.encode() for o in options]
        array = (ctypes.c_char_p * len(encoded))(*encoded)
        result = library.nvrtcCompileProgram(program, len(encoded), array)
        log = _log(library, program)
        _check(result, "compile", log)
        size = ctypes.c_size_t()
        _check(library.nvrtcGetCUBINSize(program, ctypes.byref(size)), "nvrtcGetCUBINSize")
        buffer = ctypes.create_string_buffer(size.value)
        _check(library.nvrtcGetCUBIN(program, buffer), "nvrtcGetCUBIN")
        return NvrtcOutput(buffer.raw, log)
    finally:
        library.nvrtcDestroyProgram(ctypes.byref(program))


def _log(library: ctypes.CDLL, program: ctypes.c_void_p) -> str:
    size = ctypes.c_size_t()
    library.nvrtcGetProgramLogSize(program, ctypes.byref(size))
    buffer = ctypes.create_string_buffer(size.value)
    library.nvrtcGetProgramLog(program, buffer)
    return buffer.value.decode(errors="replace")
