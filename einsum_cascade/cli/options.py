"""Options shared by several commands: their values (read with the one quantity grammar),
the kernel backend, compiler, target and machine flags, and the tiling options declared once.

Extents (``--extent M=1K``, ``--shape E=64,M=1K``, ``--tile M0=32``) are counts of
:mod:`mappers.units`: ``1K`` = 1024, ``1M`` = 2**20; a bad value is a usage error that names
the option and the value, never a traceback.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

import typer

from einsum_cascade.cli.app import fail
from mappers.units import COUNT, Kind, QuantityError, parse_quantity

# The design point of the model commands (model, search), declared once.
ArchOption = Annotated[
    str, typer.Option("--arch", help="accelerator spec: a name (fusemax, flat) or a YAML file")
]
WorkloadOption = Annotated[
    str,
    typer.Option(
        "--workload", help="BERT, TrXL, T5, XLM, a workload YAML file, or none (only --extent)"
    ),
]
SeqOption = Annotated[
    str | None,
    typer.Option("--seq", help="sequence length M = P: 65536, 64K, 1M (built-ins: default 64K)"),
]
ExtentOption = Annotated[
    list[str] | None,
    typer.Option("--extent", help="extra or replaced extent of the point, NAME=VALUE (K=768)"),
]
CostTableOption = Annotated[str, typer.Option("--costs", help="cost table: default or artifact")]

MAX_REPEATS = 10**6
"""The most timed runs ``--repeats`` asks for: a bound, so that a typo cannot run forever."""


def quantity_option(text: str, flag: str, kind: Kind = COUNT) -> int | float:
    """Read one option value as a quantity of :mod:`mappers.units` (a count by default).

    Raises:
        typer.BadParameter: naming ``flag`` and the value that is wrong.
    """
    try:
        return parse_quantity(text.strip(), kind)
    except QuantityError as exc:
        hint = f" ({exc.hint})" if exc.hint else ""
        raise typer.BadParameter(f"value {exc.message}{hint}", param_hint=flag) from None


def _assignment(item: str, flag: str) -> tuple[str, str]:
    name, equals, value = item.partition("=")
    if not equals or not name.strip().isidentifier():
        raise typer.BadParameter(f"'{item}' is not NAME=VALUE", param_hint=flag)
    return name.strip(), value


def extent_options(items: list[str], flag: str = "--extent") -> dict[str, int]:
    """Parse repeated ``--extent NAME=VALUE`` options (``VALUE`` may be ``64K`` or ``1M``)."""
    out: dict[str, int] = {}
    for item in items:
        name, value = _assignment(item, flag)
        out[name] = int(quantity_option(value, f"{flag} {name}"))
    return out


def extents_option(text: str | None, flag: str = "--shape", kind: Kind = COUNT) -> dict[str, int]:
    """Parse one comma-separated option such as ``E=64,M=1K`` into extents by name."""
    if not text:
        return {}
    return {
        name: int(quantity_option(value, f"{flag} {name}", kind))
        for name, value in (_assignment(item, flag) for item in text.split(","))
    }


def _backend(name: str) -> str:
    """Check a ``--backend`` against the registry; a usage error (exit 2) lists the names."""
    from kernels.run.backends import BACKENDS

    if name not in BACKENDS:
        raise fail(f"unknown backend '{name}'; valid backends: {', '.join(BACKENDS)}", 2)
    return name


def _compiler(name: str) -> str:
    """Check a ``--compiler`` against the registry; a usage error (exit 2) lists the names."""
    from kernels.build.compile import COMPILERS

    if name not in COMPILERS:
        raise fail(f"unknown compiler '{name}'; valid compilers: {', '.join(COMPILERS)}", 2)
    return name


BackendOpt = Annotated[
    str,
    typer.Option(
        "--backend",
        help="Where the kernel runs: numpy (twin), shim, cupy (CUDA on a GPU), triton "
        "(Triton's interpreter) or triton-gpu.",
        callback=_backend,
    ),
]
CompilerOpt = Annotated[
    str, typer.Option("--compiler", help="CUDA compiler: nvrtc or nvcc.", callback=_compiler)
]
TargetOpt = Annotated[
    str,
    typer.Option(
        "--target",
        help="GPU compile targets, comma-separated (default sm_80,sm_90; triton: sm_80,sm_90a).",
    ),
]
MachineOpt = Annotated[
    str | None,
    typer.Option(
        "--machine",
        help="Machine spec of the measured host or GPU: a name (host, h100) or a YAML file "
        "(default host, or h100 for a GPU backend).",
    ),
]


def retired_flag(old: str, new: str, meaning: str) -> Callable[[str | None], None]:
    """Return the callback of a hidden option kept for a retired spelling.

    Giving ``old`` is a usage error (exit 2) that says what ``old`` names instead
    (``meaning``) and how to write the value with ``new``.
    """

    def refuse(value: str | None) -> None:
        if value is not None:
            raise fail(f"{old} {meaning}; write {new} {value}", 2)

    return refuse


@dataclass(frozen=True, slots=True)
class TilingOptions:
    """The kernel tiling options, declared once for every kernel command."""

    tile: str = ""
    extent: str = ""
    dtype: str = "float32"
    unroll: int = 1
    parallel: str = "P"
    sequence: str = "M"
    placement: str = "shared"
    grid: str = ""


DEFAULT_TILING = TilingOptions()
DEFAULT_EXTENT = "E=64,F=64"  # the static extents when neither --extent nor a workload gives them
_TILING_HELP = {
    "tile": (
        "--tile",
        "Tile sizes: <sequence>0 (default 32) and <parallel>0 (rows per block, default 64), "
        "e.g. M0=64,P0=128.",
    ),
    "extent": ("--extent", f"Static extents (default {DEFAULT_EXTENT})."),
    "dtype": ("--dtype", "Input dtype: float32 or float16."),
    "unroll": ("--unroll", "Unroll factor of in-tile loops."),
    "parallel": ("--parallel", "One thread per index of this rank."),
    "sequence": ("--sequence", "The rank walked tile by tile."),
    "placement": ("--placement", "In-tile tensors in 'shared' or 'register' memory."),
    "grid": ("--grid", "Batch/head ranks mapped to the grid's y, e.g. G,R."),
}

_TILING_BOUNDS: dict[str, tuple[int, int]] = {"unroll": (1, 2**31 - 1)}  # (min, max)
R = TypeVar("R")


def tiling_options(command: Callable[..., R]) -> Callable[..., R]:
    """Give ``command`` the tiling options as CLI flags, passed as one ``tiling`` argument.

    ``command`` takes a keyword ``tiling: TilingOptions``; the returned function's signature
    has the eight flags instead (typer reads it), so each command declares none of them.
    """
    return tiling_options_with(DEFAULT_TILING)(command)


def tiling_options_with(
    defaults: TilingOptions,
) -> Callable[[Callable[..., R]], Callable[..., R]]:
    """Return :func:`tiling_options` with other defaults (``kernel model``: float16)."""
    return functools.partial(_with_tiling, defaults=defaults)


def _with_tiling(command: Callable[..., R], defaults: TilingOptions) -> Callable[..., R]:
    signature = inspect.signature(command)
    hints = typing.get_type_hints(command, include_extras=True)
    flags = [
        inspect.Parameter(
            name,
            inspect.Parameter.KEYWORD_ONLY,
            default=getattr(defaults, name),
            annotation=Annotated[
                type(getattr(defaults, name)),
                typer.Option(
                    flag,
                    help=text,
                    min=_TILING_BOUNDS.get(name, (None, None))[0],
                    max=_TILING_BOUNDS.get(name, (None, None))[1],
                ),
            ],
        )
        for name, (flag, text) in _TILING_HELP.items()
    ]
    kept = [
        p.replace(annotation=hints.get(p.name, p.annotation))
        for p in signature.parameters.values()
        if p.name != "tiling"
    ]
    keyword = [p for p in kept if p.kind is inspect.Parameter.KEYWORD_ONLY]
    positional = [p for p in kept if p.kind is not inspect.Parameter.KEYWORD_ONLY]
    parameters = [
        *positional,
        *(p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in flags),
        *keyword,
    ]

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> R:
        values = {name: kwargs.pop(name) for name in _TILING_HELP}
        return command(*args, tiling=TilingOptions(**values), **kwargs)

    wrapper.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in parameters}
    return wrapper
