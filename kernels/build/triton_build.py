"""Build rendered Triton: a real ``.py`` file in the cache, its interpreted and AOT-compiled forms.

Triton parses a ``@triton.jit`` function from its source file, so the rendered module is
written to the content-hash cache and imported from there. The same function is run by
Triton's interpreter (no GPU: NumPy arrays behind a storage adapter) and compiled ahead of
time for ``sm_80``/``sm_90a`` with ``triton.compile(ASTSource(...), GPUTarget(...))`` (no GPU
needed). A compiled kernel's cubin, metadata and SASS counts (``cuobjdump`` from Triton's
wheel) are cached by the source, signature, options, target and Triton version, so CI compiles
a kernel once. Triton is imported inside functions only: it is the ``[triton]`` extra.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from kernels.build.cache import content_key, entry_dir
from kernels.build.triton_source import TritonKernel, TritonSource
from kernels.errors import KernelError

TARGETS = {"sm_80": 80, "sm_90a": 90, "sm_90": 90}  # compile target: compute capability
TENSOR_CORE_OPCODES = ("HGMMA", "HMMA")
REPORTED = ("HGMMA", "HMMA", "LDSM", "LDGSTS", "UTMALDG", "MUFU", "FFMA", "LDL", "STL", "BAR")
_SASS_LINE = re.compile(
    r"^\s+/\*[0-9a-f]{4,}\*/\s+(?:@!?U?P\w+\s+)?([A-Z][A-Z0-9_]*)((?:\.[A-Za-z0-9_]+)*)"
)
_RESOURCES = re.compile(r"REG:(\d+) STACK:(\d+) SHARED:(\d+) LOCAL:(\d+)")
SHARED_LIMITS = {80: 163 * 1024, 90: 227 * 1024}  # opt-in dynamic shared memory per block
_modules: dict[str, ModuleType] = {}


def triton_unavailable_reason() -> str | None:
    """Return why Triton cannot be used here, or None when it can."""
    try:
        import triton  # noqa: F401
    except ImportError:
        return "Triton is not installed (pip install -e '.[triton]')"
    return None


def require_triton() -> ModuleType:
    """Import and return triton, or raise a KernelError saying how to get it."""
    reason = triton_unavailable_reason()
    if reason is not None:
        raise KernelError.single("K703", f"the triton renderer cannot build: {reason}")
    os.environ.setdefault("TRITON_DEFAULT_FP_FUSION", "1")  # 3.9 warns; the default flips
    import triton

    return triton


def module_file(source: TritonSource) -> Path:
    """Write the rendered module to the cache (once) and return its path."""
    key = content_key("triton-py", source.text)
    path = entry_dir("triton-py", key) / f"ec_triton_{key[:16]}.py"
    if not path.exists() or path.read_text(encoding="utf-8") != source.text:
        path.write_text(source.text, encoding="utf-8")
    return path


def load_module(source: TritonSource) -> ModuleType:
    """Import the rendered module from its cached file (one import per source)."""
    require_triton()
    path = module_file(source)
    name = path.stem
    if name not in _modules:
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        _modules[name] = module
    return _modules[name]


def interpreted(source: TritonSource, kernel: TritonKernel) -> Any:
    """Return the kernel as Triton's interpreter runs it (CPU, NumPy arrays).

    Call it inside :func:`interpreting`: Triton's own library functions (``tl.sum``,
    ``tl.max``...) are ``@jit`` functions too, decorated when triton was imported.
    """
    from triton.runtime.interpreter import InterpretedFunction

    jitted = getattr(load_module(source), kernel.name)
    return InterpretedFunction(jitted.fn)


@contextlib.contextmanager
def interpreting() -> Iterator[None]:
    """Let ``@jit`` library functions run in the interpreter while a kernel is interpreted.

    ``TRITON_INTERPRET=1`` would make every ``@triton.jit`` an interpreted function at
    import, which the AOT compiler cannot use; instead, for the duration of the block, a
    call of a ``JITFunction`` from an interpreted kernel runs its Python function through
    the interpreter (the device-function path of ``InterpretedFunction``).
    """
    from triton.runtime.interpreter import InterpretedFunction
    from triton.runtime.jit import JITFunction

    original = JITFunction.__call__
    cache: dict[int, Any] = {}

    def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        function = cache.setdefault(id(self), InterpretedFunction(self.fn))
        return function(*args, **kwargs)

    JITFunction.__call__ = call
    try:
        yield
    finally:
        JITFunction.__call__ = original


@dataclass(frozen=True, slots=True)
class TritonBinary:
    """One AOT-compiled Triton kernel: the cubin, its launch metadata and what SASS shows."""

    kernel: str
    target: str
    cubin_path: Path
    function: str  # the entry point in the cubin
    num_warps: int
    num_stages: int
    shared_bytes: int  # dynamic shared memory requested at launch
    registers: int
    stack_bytes: int
    spill_store_bytes: int | None  # from the ptxas log (None on a Triton cache hit)
    spill_load_bytes: int | None
    opcodes: tuple[tuple[str, int], ...]  # SASS instruction counts by base opcode
    mma_shapes: tuple[str, ...]
    scratch_bytes: int  # global + profile scratch; the CuPy launcher needs 0
    aligned: bool  # extents specialised as multiples of 16
    even: bool  # the sequence extent specialised as a multiple of the tile
    loop_instructions: int  # SASS instructions of the tile loop's body (per warp per tile)

    @property
    def instructions(self) -> int:
        """Return the SASS instruction count."""
        return sum(count for _, count in self.opcodes)

    def count(self, opcode: str) -> int:
        """Return the number of SASS instructions with base opcode ``opcode``."""
        return dict(self.opcodes).get(opcode, 0)

    @property
    def tensor_core_instructions(self) -> int:
        """Return HGMMA + HMMA instructions."""
        return sum(self.count(op) for op in TENSOR_CORE_OPCODES)

    @property
    def spills(self) -> bool:
        """Tell whether registers spill to local memory (SASS LDL/STL, stack, ptxas log)."""
        logged = (self.spill_store_bytes or 0) + (self.spill_load_bytes or 0)
        return logged > 0 or self.count("LDL") + self.count("STL") > 0 or self.stack_bytes > 0


def _binary_dir() -> Path:
    triton = require_triton()
    return Path(str(triton.__file__)).parent / "backends" / "nvidia" / "bin"


def sass_opcodes(sass: str) -> tuple[Counter[str], set[str]]:
    """Count SASS instructions by base opcode; collect the HGMMA/HMMA shapes."""
    opcodes: Counter[str] = Counter()
    shapes: set[str] = set()
    for line in sass.splitlines():
        match = _SASS_LINE.match(line)
        if match:
            opcodes[match.group(1)] += 1
            if match.group(1) in TENSOR_CORE_OPCODES:
                shapes.add(match.group(1) + match.group(2))
    return opcodes, shapes


_BRANCH = re.compile(r"^\s+/\*([0-9a-f]{4,})\*/\s+(?:@!?U?P\w+\s+)?BRA\s+0x([0-9a-f]+)")


def loop_instructions(sass: str) -> int:
    """Return the instructions of the longest loop: a backward branch's span (16 B each)."""
    longest = 0
    for line in sass.splitlines():
        match = _BRANCH.match(line)
        if match:
            here, target = int(match.group(1), 16), int(match.group(2), 16)
            if target <= here:
                longest = max(longest, (here - target) // 16 + 1)
    return longest


def _cuobjdump(*args: str) -> str:
    tool = _binary_dir() / "cuobjdump"
    done = subprocess.run([str(tool), *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise KernelError.single("K704", f"cuobjdump {' '.join(args)} failed: {done.stderr[:300]}")
    return done.stdout


def signature_of(kernel: TritonKernel) -> dict[str, str]:
    """Return Triton's signature mapping: every argument, constexprs included."""
    signature = {p.name: p.kind for p in kernel.params}
    signature.update({name: "constexpr" for name, _ in kernel.constexprs})
    signature["EVEN"] = "constexpr"
    return signature


def compile_kernel(
    source: TritonSource,
    kernel: TritonKernel,
    target: str,
    num_warps: int = 4,
    num_stages: int = 3,
    aligned: bool = True,
    even: bool = True,
) -> TritonBinary:
    """Compile one kernel ahead of time for ``target`` (no GPU needed), cached by content.

    ``even`` specialises the sequence extent as a multiple of the tile (no ragged last tile).
    With ``aligned``, pointers and the runtime extents are declared multiples of 16 (what
    Triton's JIT infers for such extents): loads vectorise and stream with ``cp.async``. The
    launcher uses this binary only when every extent is a multiple of 16.
    """
    triton = require_triton()
    if target not in TARGETS:
        raise KernelError.single(
            "K705",
            f"unknown Triton target '{target}'",
            hint=f"valid targets: {', '.join(sorted(TARGETS))}",
        )
    key = content_key(
        "triton-cubin 2",  # 2: the record names the target
        source.text,
        kernel.name,
        target,
        str(num_warps),
        str(num_stages),
        str(aligned),
        str(even),
        triton.__version__,
        os.environ.get("TRITON_PTXAS_BLACKWELL_PATH", ""),  # the 12.x fallback for sm_90a
    )
    folder = entry_dir("triton-cubin", key)
    record = folder / "binary.json"
    if record.exists():
        return _from_record(json.loads(record.read_text(encoding="utf-8")), folder)
    compiled, log = _compile(source, kernel, target, num_warps, num_stages, aligned, even)
    written = _write_binary(compiled, folder, log)
    data = {"kernel": kernel.name, "target": target, **written, "aligned": aligned, "even": even}
    record.write_text(json.dumps(data, indent=1), encoding="utf-8")
    return _from_record(data, folder)


def _compile(
    source: TritonSource,
    kernel: TritonKernel,
    target: str,
    num_warps: int,
    num_stages: int,
    aligned: bool,
    even: bool,
) -> tuple[Any, str]:
    """Run Triton's compiler on one kernel; return the compiled kernel and the ptxas log."""
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource

    triton = require_triton()
    jitted = getattr(load_module(source), kernel.name)
    names = list(jitted.arg_names)
    divisible = [["tt.divisibility", 16]]
    attrs = {(names.index(p.name),): divisible for p in kernel.params if p.is_pointer or aligned}
    ast = ASTSource(
        fn=jitted,
        signature=signature_of(kernel),
        constexprs={**dict(kernel.constexprs), "EVEN": even},
        attrs=attrs,
    )
    log = io.StringIO()
    os.environ["TRITON_DUMP_PTXAS_LOG"] = "1"
    try:
        with contextlib.redirect_stdout(log):
            compiled = triton.compile(
                ast,
                target=GPUTarget("cuda", TARGETS[target], 32),
                options={"num_warps": num_warps, "num_stages": num_stages},
            )
    except Exception as exc:  # Triton raises compilation errors of several types
        raise KernelError.single(
            "K706", f"triton could not compile '{kernel.name}' for {target}: {exc}"
        ) from None
    finally:
        os.environ.pop("TRITON_DUMP_PTXAS_LOG", None)
    return compiled, log.getvalue()


def _write_binary(compiled: Any, folder: Path, log: str) -> dict[str, Any]:
    """Write the cubin, PTX and SASS into ``folder``; return what they say of the kernel."""
    cubin = folder / "kernel.cubin"
    cubin.write_bytes(compiled.asm["cubin"])
    (folder / "kernel.ptx").write_text(compiled.asm["ptx"], encoding="utf-8")
    sass = _cuobjdump("-sass", str(cubin))
    (folder / "kernel.sass").write_text(sass, encoding="utf-8")
    resources = _RESOURCES.search(_cuobjdump("-res-usage", str(cubin)))
    registers, stack = (int(resources.group(1)), int(resources.group(2))) if resources else (0, 0)
    spill = re.search(r"(\d+) bytes spill stores, (\d+) bytes spill loads", log)
    opcodes, shapes = sass_opcodes(sass)
    metadata = compiled.metadata
    return {
        "function": metadata.name,
        "num_warps": metadata.num_warps,
        "num_stages": metadata.num_stages,
        "shared_bytes": metadata.shared,
        "registers": registers,
        "stack_bytes": stack,
        "spill_store_bytes": int(spill.group(1)) if spill else None,
        "spill_load_bytes": int(spill.group(2)) if spill else None,
        "opcodes": sorted(opcodes.items()),
        "mma_shapes": sorted(shapes),
        "scratch_bytes": metadata.global_scratch_size + metadata.profile_scratch_size,
        "loop_instructions": loop_instructions(sass),
    }


def _from_record(data: dict[str, Any], folder: Path) -> TritonBinary:
    return TritonBinary(
        data["kernel"],
        data["target"],
        folder / "kernel.cubin",
        data["function"],
        data["num_warps"],
        data["num_stages"],
        data["shared_bytes"],
        data["registers"],
        data["stack_bytes"],
        data["spill_store_bytes"],
        data["spill_load_bytes"],
        tuple((k, int(v)) for k, v in data["opcodes"]),
        tuple(data["mma_shapes"]),
        data["scratch_bytes"],
        data["aligned"],
        data["even"],
        data.get("loop_instructions")
        or loop_instructions((folder / "kernel.sass").read_text(encoding="utf-8")),
    )


def check_binary(binary: TritonBinary, dots: int) -> None:
    """Gate a compiled kernel: tensor cores for its dots, no spills, shared memory that fits.

    Raises:
        KernelError: K707 no HGMMA/HMMA although the kernel has ``tl.dot`` calls; K708 local
            memory spills; K709 dynamic shared memory over the target's per-block limit.
    """
    problems = []
    if dots and binary.tensor_core_instructions == 0:
        problems.append(
            ("K707", f"{dots} tl.dot call(s) but no HGMMA/HMMA instruction in the SASS")
        )
    if binary.spills:
        problems.append(
            (
                "K708",
                f"registers spill to local memory (LDL {binary.count('LDL')}, STL "
                f"{binary.count('STL')}, stack {binary.stack_bytes} B)",
            )
        )
    limit = SHARED_LIMITS[TARGETS[binary.target]]
    if binary.shared_bytes > limit:
        problems.append(
            (
                "K709",
                f"{binary.shared_bytes} B of shared memory is over the {limit} B a block of "
                f"{binary.target} can have",
            )
        )
    if problems:
        code, _ = problems[0]
        text = "; ".join(message for _, message in problems)
        raise KernelError.single(
            code,
            f"'{binary.kernel}' for {binary.target} fails its gate: {text}",
            hint="use smaller tiles (--tile M0=..,P0=..), fewer stages or more warps",
        )
