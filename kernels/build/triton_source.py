"""Rendered Triton source with the launch description of its kernels (what builds and runs read)."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TritonParam:
    """One argument of a Triton kernel: a tensor pointer (``*fp16``) or an ``i32`` extent."""

    name: str
    kind: str  # "*fp16", "*fp32" or "i32"

    @property
    def is_pointer(self) -> bool:
        """Tell whether the argument is a tensor."""
        return self.kind.startswith("*")


@dataclass(frozen=True, slots=True)
class TritonKernel:
    """One ``@triton.jit`` function of a rendered file and how to launch it."""

    name: str
    params: tuple[TritonParam, ...]
    constexprs: tuple[tuple[str, int], ...]
    parallel_rank: str  # grid x = ceil(extent / BLOCK_P)
    grid_ranks: tuple[str, ...]  # grid y = product of these extents
    block_p: int
    dots: int  # tl.dot calls in the rendered body
    sequence_rank: str  # EVEN (a constexpr) says its extent is a multiple of TILE
    warps: int  # the default warps per program

    def specialization(self, extents: dict[str, int]) -> dict[str, bool]:
        """Return the launch-time constexprs for runtime extents (``EVEN``)."""
        return {"EVEN": extents[self.sequence_rank] % dict(self.constexprs)["TILE"] == 0}

    def grid(self, extents: dict[str, int]) -> tuple[int, int]:
        """Return the launch grid for runtime extents."""
        rows = extents[self.parallel_rank]
        heads = math.prod(extents[r] for r in self.grid_ranks)
        return max(1, -(-rows // self.block_p)), max(1, heads)


@dataclass(frozen=True, slots=True)
class TritonSource:
    """A rendered Python module of Triton kernels, in launch order."""

    text: str
    kernels: tuple[TritonKernel, ...]
