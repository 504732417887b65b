"""Compile CUDA source for a target with a registered compiler, and gate its resources.

The target is ``sm_XX``; the compiler NVRTC or nvcc; the resources come from ``ptxas -v``.

Compilers form a string-keyed registry (:data:`COMPILERS`, :func:`get_compiler`) whose error
lists the valid names. Compiled cubins and their logs live in the content-hash cache
(``kernels.build.cache``), keyed by source, options, target, compiler and its version.
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import kernels.build.nvrtc as nvrtc
from einsum_cascade import Diagnostic, Severity
from kernels.build.cache import content_key, entry_dir
from kernels.build.source import KernelSource
from kernels.errors import KernelError

TARGETS = ("sm_80", "sm_90")
STATIC_SHARED_LIMIT_BYTES = 48 * 1024
_BASE_OPTIONS = ("-std=c++17",)

_ENTRY = re.compile(r"Compiling entry function '(\w+)' for '(\w+)'")
_PROPERTIES = re.compile(
    r"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads"
)
_USED = re.compile(r"Used (\d+) registers(?:, used (\d+) barriers)?(?:, (\d+) bytes smem)?")
_TOO_MUCH_SHARED = re.compile(
    r"Entry function '(\w+)' uses too much shared data \((0x[0-9a-f]+) bytes, (0x[0-9a-f]+) max\)"
)


@dataclass(frozen=True, slots=True)
class FunctionResources:
    """Resources ptxas reports for one kernel function."""

    name: str
    registers: int
    shared_bytes: int
    stack_bytes: int
    spill_store_bytes: int
    spill_load_bytes: int
    barriers: int

    @property
    def spills(self) -> bool:
        """Tell whether any register was spilled to local memory."""
        return self.spill_store_bytes > 0 or self.spill_load_bytes > 0


@dataclass(frozen=True, slots=True)
class CompiledKernel:
    """A cubin in the cache with the resources of each of its functions."""

    target: str
    compiler: str
    cubin_path: Path
    log: str
    resources: tuple[FunctionResources, ...]
    key: str

    def function(self, name: str) -> FunctionResources:
        """Return the resources of kernel function ``name``."""
        for item in self.resources:
            if item.name == name:
                return item
        raise KeyError(name)


def parse_ptxas_log(log: str) -> tuple[FunctionResources, ...]:
    """Parse the per-function resource report of ``ptxas -v`` (nvcc or NVRTC)."""
    found: list[FunctionResources] = []
    name: str | None = None
    stack = stores = loads = 0
    for line in log.splitlines():
        if match := _ENTRY.search(line):
            name, stack, stores, loads = match.group(1), 0, 0, 0
        elif (match := _PROPERTIES.search(line)) and name is not None:
            stack, stores, loads = (int(g) for g in match.groups())
        elif (match := _USED.search(line)) and name is not None:
            registers, barriers, shared = match.groups()
            found.append(
                FunctionResources(
                    name, int(registers), int(shared or 0), stack, stores, loads, int(barriers or 0)
                )
            )
            name = None
    return tuple(found)


def check_resources(
    compiled: CompiledKernel, shared_limit_bytes: int = STATIC_SHARED_LIMIT_BYTES
) -> None:
    """Raise a KernelError when a function spills or uses too much static shared memory."""
    for item in compiled.resources:
        if item.spills:
            raise KernelError.single(
                "K102",
                f"kernel '{item.name}' spills registers on {compiled.target} "
                f"({item.spill_store_bytes} bytes stored, {item.spill_load_bytes} bytes loaded)",
                hint="use smaller tiles or move a register tensor to shared memory",
            )
        if item.shared_bytes > shared_limit_bytes:
            raise _shared_error(item.name, item.shared_bytes, shared_limit_bytes, compiled.target)


def _shared_error(name: str, used: int, limit: int, target: str) -> KernelError:
    return KernelError(  # built directly so the type stays KernelError
        [
            _diagnostic(
                "K101",
                f"kernel '{name}' needs {used} bytes of static shared memory on {target}, "
                f"more than the {limit} bytes allowed",
                hint="use smaller tiles or fewer threads per block",
            )
        ]
    )


def _diagnostic(code: str, message: str, hint: str | None = None) -> Diagnostic:
    return Diagnostic(Severity.ERROR, code, message, None, hint)


@functools.cache
def cuda_include_dir() -> Path | None:
    """Return the CUDA include folder of the nvcc on PATH (for cuda_fp16.h), if any."""
    if shutil.which("nvcc") is None:
        return None
    done = subprocess.run(
        ["nvcc", "--dryrun", "-E", "-x", "cu", "/dev/null", "-o", "/dev/null"],
        capture_output=True,
        text=True,
    )
    for line in done.stderr.splitlines():
        if line.startswith("#$ TOP="):
            include = Path(line.removeprefix("#$ TOP=").strip()) / "include"
            return include.resolve() if include.is_dir() else None
    return None


@dataclass(frozen=True, slots=True)
class Compiler:
    """A CUDA compiler: ``compile(text, target, options) -> (cubin, ptxas log)`` and a version."""

    name: str
    compile: Callable[[str, str, tuple[str, ...]], tuple[bytes, str]]
    version: Callable[[], str]


def get_compiler(name: str) -> Compiler:
    """Return the compiler called ``name``.

    Raises:
        KernelError: K204 for an unknown name; the hint lists the valid ones.
    """
    compiler = COMPILERS.get(name)
    if compiler is None:
        raise KernelError.single(
            "K204",
            f"unknown compiler '{name}'",
            hint=f"valid compilers: {', '.join(COMPILERS)}",
        )
    return compiler


@functools.cache
def compiler_version(name: str) -> str:
    """Return a version string of the compiler, part of every cache key."""
    return get_compiler(name).version()


def compile_source(
    source: KernelSource | str,
    target: str = "sm_90",
    compiler: str = "nvcc",
    options: tuple[str, ...] = (),
) -> CompiledKernel:
    """Compile to a cubin for ``target`` with ``compiler`` (cached); parse its resources.

    Raises:
        KernelError: unknown compiler or target, a compile error, or static shared memory
            beyond the 48 KiB ptxas accepts (code K101).
    """
    text = source.text if isinstance(source, KernelSource) else source
    chosen = get_compiler(compiler)
    if not re.fullmatch(r"sm_\d+a?", target):
        raise KernelError.single(
            "K205",
            f"target '{target}' is not of the form sm_XX",
            hint=f"for example {', '.join(TARGETS)}",
        )
    all_options = (*_BASE_OPTIONS, *options)
    key = content_key(text, "\0".join(all_options), target, compiler, compiler_version(compiler))
    folder = entry_dir("cubin", key)
    cubin_path, log_path = folder / "kernel.cubin", folder / "ptxas.log"
    if not (cubin_path.exists() and log_path.exists()):
        cubin, log = chosen.compile(text, target, all_options)
        log_path.write_text(log, encoding="utf-8")
        partial = folder / "kernel.cubin.partial"
        partial.write_bytes(cubin)
        partial.replace(cubin_path)
    log = log_path.read_text(encoding="utf-8")
    return CompiledKernel(target, compiler, cubin_path, log, parse_ptxas_log(log), key)


def _raise_compile_error(log: str, compiler: str, target: str) -> None:
    if match := _TOO_MUCH_SHARED.search(log):
        raise _shared_error(
            match.group(1), int(match.group(2), 16), int(match.group(3), 16), target
        )
    for item in parse_ptxas_log(log):  # NVRTC fails without printing ptxas's reason
        if item.shared_bytes > STATIC_SHARED_LIMIT_BYTES:
            raise _shared_error(item.name, item.shared_bytes, STATIC_SHARED_LIMIT_BYTES, target)
    raise KernelError.single("K206", f"{compiler} failed to compile for {target}:\n{log.strip()}")


def _include_options() -> tuple[str, ...]:
    include = cuda_include_dir()
    return (f"-I{include}",) if include is not None else ()


def _compile_nvrtc(text: str, target: str, options: tuple[str, ...]) -> tuple[bytes, str]:
    full = (f"-arch={target}", "-Xptxas=-v", *_include_options(), *options)
    try:
        output = nvrtc.compile_cubin(text, "kernel.cu", full)
    except KernelError as exc:
        _raise_compile_error(str(exc), "nvrtc", target)
        raise
    return output.cubin, output.log


def _compile_nvcc(text: str, target: str, options: tuple[str, ...]) -> tuple[bytes, str]:
    with tempfile.TemporaryDirectory(prefix="einsum-cascade-nvcc-") as scratch:
        source_path = Path(scratch) / "kernel.cu"
        cubin_path = Path(scratch) / "kernel.cubin"
        source_path.write_text(text, encoding="utf-8")
        command = [
            "nvcc",
            f"-arch={target}",
            "-cubin",
            "-Xptxas",
            "-v",
            *options,
            "-o",
            str(cubin_path),
            str(source_path),
        ]
        done = subprocess.run(command, capture_output=True, text=True)
        log = done.stdout + done.stderr
        if done.returncode != 0:
            _raise_compile_error(log, "nvcc", target)
        return cubin_path.read_bytes(), log


def _nvrtc_version() -> str:
    major, minor = nvrtc.version()
    return f"nvrtc {major}.{minor}"


def _nvcc_version() -> str:
    if shutil.which("nvcc") is None:
        raise KernelError.single("K203", "nvcc is not on PATH", hint="try --compiler nvrtc")
    done = subprocess.run(["nvcc", "--version"], capture_output=True, text=True)
    return done.stdout.strip().splitlines()[-1]


COMPILERS: dict[str, Compiler] = {
    "nvrtc": Compiler("nvrtc", _compile_nvrtc, _nvrtc_version),
    "nvcc": Compiler("nvcc", _compile_nvcc, _nvcc_version),
}
