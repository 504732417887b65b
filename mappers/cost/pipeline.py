"""The tile pipeline a pipelined or simulated schedule reads: tile count and einsum graph."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Pipeline:
    """What a pipelined schedule needs beyond the cycles: tile count and the einsum graph.

    ``tiles`` is the number of DRAM-loop tiles per point; ``looped`` the einsums run once per
    tile; ``order`` a dependency order of the costed einsums, ``preds`` their costed
    predecessors and ``recurrences`` the einsum chains a loop-carried state runs through.
    For the simulation: ``current`` are the predecessors read at the same tile, ``carried``
    those read at their previous generation (the previous tile of the innermost loop:
    ``RM[m1]`` in ``RM[m1 + 1] = max(RM[m1], LM[m1])``), and ``inner_tiles`` the extent of
    the innermost DRAM loop (the tiles one loop-carried state runs through).
    """

    tiles: Array
    looped: frozenset[str]
    order: tuple[str, ...]
    preds: tuple[tuple[str, tuple[str, ...]], ...]
    recurrences: tuple[tuple[str, ...], ...]
    current: tuple[tuple[str, tuple[str, ...]], ...] = ()
    carried: tuple[tuple[str, tuple[str, ...]], ...] = ()
    inner_tiles: Array | None = None
