"""The kernel plan's frozen nodes: roles, storage, buffers, steps, segments, kernels, plan.

A plan holds no arrays; every renderer (CUDA, NumPy twin) reads the same nodes.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

from einsum_cascade import Cascade, Einsum
from einsum_cascade.symbols import rank_of_variable
from kernels.plan.tiling import Tiling


class Role(enum.Enum):
    """What an index variable is inside one kernel."""

    PARALLEL = "parallel"  # one thread per coordinate
    TILE = "tile"  # the tile counter of a partitioned sequence rank (m1)
    IN_TILE = "in_tile"  # the coordinate inside the current tile (m0, or m itself)
    STATIC = "static"  # a compile-time loop (e, f)
    GRID = "grid"  # one block row per coordinate (batch, heads): blockIdx.y


class Storage(enum.Enum):
    """Where a tensor lives inside a kernel."""

    GLOBAL = "global"  # a kernel parameter (inputs, outputs, workspace)
    STAGED = "staged"  # a shared-memory tile of a global input along the sequence rank
    REGISTER = "register"  # per-thread values (scalars or static-extent arrays)
    SHARED = "shared"  # per-thread column of a shared array with an in-tile rank
    VIEW = "view"  # an alias of a staged input (BK[e, m1, m0] = K[e, m1 * M0 + m0])


@dataclass(frozen=True, slots=True)
class Buffer:
    """A tensor's storage in one kernel: dims are the index variables it keeps per thread.

    ``presence_dims`` (a subsequence of ``dims``) are the dims a presence flag can vary
    along; the flag of a ``maybe_absent`` buffer is stored only over those.
    """

    tensor: str
    storage: Storage
    dims: tuple[str, ...]
    iterative: bool = False
    maybe_absent: bool = True
    empty: float = 0.0
    alias: str | None = None  # the staged input a VIEW reads
    presence_dims: tuple[str, ...] = ()

    def presence_of(self, variables: tuple[str, ...]) -> tuple[str, ...]:
        """Keep the entries of ``variables`` (one per dim) that index the presence flag."""
        return tuple(
            v for d, v in zip(self.dims, variables, strict=True) if d in self.presence_dims
        )


@dataclass(frozen=True, slots=True)
class Step:
    """One einsum in a kernel: ``local`` variables loop inside a thread."""

    einsum: Einsum
    local: tuple[str, ...]  # loop order: in-tile first, then static; kept before reduced
    reduced: tuple[str, ...]
    across_tiles: bool  # a reduction over the sequence rank spanning every tile
    fusion: int | None = None  # steps with the same number share their outermost (static) loop


@dataclass(frozen=True, slots=True)
class Segment:
    """Straight-line steps, or a loop over the sequence tiles (``pass_number`` set)."""

    steps: tuple[Step, ...]
    pass_number: int | None = None
    staged: tuple[str, ...] = ()  # inputs staged tile by tile in shared memory

    @property
    def is_loop(self) -> bool:
        """Tell whether this segment walks the sequence rank."""
        return self.pass_number is not None


@dataclass(frozen=True, slots=True)
class KernelSpec:
    """One kernel launch: its parallel variable, buffers and segments."""

    name: str
    parallel: str
    roles: tuple[tuple[str, Role], ...]
    buffers: tuple[Buffer, ...]
    segments: tuple[Segment, ...]
    params: tuple[str, ...]  # global tensors, in parameter order
    extents: tuple[str, ...]  # runtime extents passed as int parameters

    def role(self, variable: str) -> Role:
        """Return the role of index variable ``variable``."""
        return dict(self.roles)[variable]

    def buffer(self, tensor: str) -> Buffer:
        """Return the storage of ``tensor`` in this kernel."""
        for item in self.buffers:
            if item.tensor == tensor:
                return item
        raise KeyError(tensor)


@dataclass(frozen=True, slots=True)
class KernelPlan:
    """A cascade lowered for one tiling: kernels in launch order."""

    cascade: Cascade
    tiling: Tiling
    kernels: tuple[KernelSpec, ...]
    sequence: str  # the sequence variable (m)
    tile_variable: str | None  # m1 for a partitioned cascade
    in_tile_variable: str  # m0 (partitioned) or m
    tile_extent: str  # the rank whose extent is the tile size (M0), for extent refs

    @property
    def static_extents(self) -> dict[str, int]:
        """Return the compile-time extents, the tile size included."""
        return {**dict(self.tiling.static_extents), self.tile_extent: self.tiling.tile}

    def runtime_extents(self) -> tuple[str, ...]:
        """Return the extents every launch needs as integers, sorted."""
        return tuple(sorted({e for k in self.kernels for e in k.extents}))

    def shared_bytes(self, kernel: KernelSpec) -> int:
        """Return the static shared memory one block of ``kernel`` declares."""
        static = self.static_extents

        def count(dims: tuple[str, ...]) -> int:
            return math.prod(
                self.tiling.tile if d == self.in_tile_variable else static[rank_of_variable(d)]
                for d in dims
            )

        total = 0
        for item in kernel.buffers:
            copies = 2 if item.iterative else 1
            if item.storage is Storage.STAGED:
                total += 4 * count(item.dims)
            elif item.storage is Storage.SHARED:
                flags = count(item.presence_dims) if item.maybe_absent else 0  # one byte each
                per_thread = 4 * count(item.dims) + flags
                total += copies * per_thread * self.tiling.threads_per_block
        return total
