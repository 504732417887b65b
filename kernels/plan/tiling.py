"""The tiling a kernel plan is built for: tile sizes, threads, placement, unroll, dtype."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from kernels.errors import KernelError

INPUT_DTYPES = ("float32", "float16")
TILE_PLACEMENTS = ("shared", "register")


@dataclass(frozen=True, slots=True)
class Tiling:
    """How a cascade is mapped onto CUDA threads.

    Attributes:
        parallel_rank: One thread per coordinate of this rank (queries, ``P``).
        sequence_rank: The rank walked tile by tile (keys, ``M``).
        tile: Coordinates of the sequence rank per tile (``M0``).
        threads_per_block: Threads (parallel coordinates) per block.
        static_extents: Compile-time extents of every other rank, e.g. ``(("E", 64),)``.
        tile_placement: Where per-thread tensors with an in-tile rank live: ``shared``
            (one column per thread of a shared array) or ``register`` (a per-thread array).
        unroll: Unroll factor of in-tile loops (1 keeps compiles fast); static loops are
            unrolled fully.
        input_dtype: ``float32`` or ``float16`` inputs; accumulation is always fp32.
        grid_ranks: Extra parallel ranks (batch, heads) mapped to the grid's y dimension:
            one block row per coordinate combination, e.g. ``("H",)`` or ``("G", "R")``.
    """

    parallel_rank: str = "P"
    sequence_rank: str = "M"
    tile: int = 32
    threads_per_block: int = 64
    static_extents: tuple[tuple[str, int], ...] = (("E", 64), ("F", 64))
    tile_placement: str = "shared"
    unroll: int = 1
    input_dtype: str = "float32"
    grid_ranks: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        """Check the values a user can get wrong."""
        problems = []
        if self.tile < 1 or self.threads_per_block < 1 or self.unroll < 1:
            problems.append("tile, threads_per_block and unroll must be positive")
        if self.threads_per_block > 1024:
            problems.append(f"{self.threads_per_block} threads per block is over CUDA's 1024")
        if self.input_dtype not in INPUT_DTYPES:
            problems.append(f"input dtype '{self.input_dtype}' is not one of {INPUT_DTYPES}")
        if self.tile_placement not in TILE_PLACEMENTS:
            problems.append(
                f"tile placement '{self.tile_placement}' is not one of {TILE_PLACEMENTS}"
            )
        if any(value < 1 for _, value in self.static_extents):
            problems.append("static extents must be positive")
        claimed = {self.parallel_rank, self.sequence_rank} | {r for r, _ in self.static_extents}
        if set(self.grid_ranks) & claimed or len(set(self.grid_ranks)) != len(self.grid_ranks):
            problems.append(
                "a grid rank must differ from the parallel, sequence and static ranks and "
                "appear once"
            )
        if problems:
            raise KernelError.single("K003", "; ".join(problems))

    def with_extents(self, **extents: int) -> Tiling:
        """Return a copy with static extents replaced or added (sorted by rank)."""
        merged = dict(self.static_extents) | extents
        return dataclasses.replace(self, static_extents=tuple(sorted(merged.items())))
