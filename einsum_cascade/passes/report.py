"""The pass report: the passes over a rank, per einsum and per tensor, with footprints."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sympy

from einsum_cascade.diagnostics import suggest
from einsum_cascade.passes.rules import pass_error


@dataclass(frozen=True, slots=True)
class Footprint:
    """The live-footprint lower bound of one tensor over the counted rank.

    Attributes:
        tensor: The tensor.
        passes: The passes that read its fibers of the rank.
        extent: The size of the fiber that must stay live (or be re-fetched) between those
            passes, as a sympy expression of the extents; None when one tile suffices.
    """

    tensor: str
    passes: tuple[int, ...]
    extent: sympy.Expr | None

    @property
    def kind(self) -> str:
        """Return ``"fiber"`` when a whole fiber must stay live, else ``"tile"``."""
        return "tile" if self.extent is None else "fiber"

    def describe(self) -> str:
        """Return the bound in words: ``fiber of M`` or ``tile``."""
        return "tile" if self.extent is None else f"fiber of {self.extent}"


@dataclass(frozen=True, slots=True)
class PassReport:
    """The passes a cascade must make over a rank, per einsum and per tensor.

    Attributes:
        cascade: Name of the cascade.
        rank: What was counted: ``"M"``, or ``"M+P"`` for ranks sharing one sequence.
        ranks: The rank names counted (one, or several for a shared sequence).
        levels: The partition levels of ``rank`` (``("M1", "M0")``), if it is partitioned.
        num_passes: The lower bound on passes over the rank.
        einsum_passes: ``(einsum, pass)`` in dependency order; the pass is None for an
            einsum that does not iterate the rank.
        tensor_passes: ``(tensor, passes)`` for every tensor whose fibers of the rank are
            read, with the passes that read them.
        footprints: The live-footprint bound of each tensor in ``tensor_passes``.
        barriers: ``(closed tensor, consumer einsum)`` for every read that starts a pass.
    """

    cascade: str
    rank: str
    ranks: tuple[str, ...]
    levels: tuple[str, ...]
    num_passes: int
    einsum_passes: tuple[tuple[str, int | None], ...]
    tensor_passes: tuple[tuple[str, tuple[int, ...]], ...]
    footprints: tuple[Footprint, ...]
    barriers: tuple[tuple[str, str], ...]

    def pass_of(self, einsum: str) -> int | None:
        """Return the pass of ``einsum`` (1-based), or None when it does not iterate the rank.

        Raises:
            PassError: when the cascade has no einsum of that name.
        """
        for name, number in self.einsum_passes:
            if name == einsum:
                return number
        names = [name for name, _ in self.einsum_passes]
        hint = suggest(einsum, names)
        raise pass_error("P102", f"cascade '{self.cascade}' has no einsum '{einsum}'", hint)

    def einsums_in(self, number: int) -> tuple[str, ...]:
        """Return the einsums of pass ``number``, in dependency order."""
        return tuple(name for name, n in self.einsum_passes if n == number)

    @property
    def footprint(self) -> Footprint | None:
        """Return the first tensor that needs a whole fiber, or None when tiles suffice."""
        fibers = [f for f in self.footprints if f.extent is not None]
        return fibers[0] if fibers else None

    def to_dict(self) -> dict[str, Any]:
        """Return the report as JSON-ready data (extents as strings)."""
        return {
            "cascade": self.cascade,
            "rank": self.rank,
            "ranks": list(self.ranks),
            "levels": list(self.levels),
            "num_passes": self.num_passes,
            "einsums": [{"einsum": name, "pass": number} for name, number in self.einsum_passes],
            "tensors": [
                {
                    "tensor": f.tensor,
                    "passes": list(f.passes),
                    "footprint": f.kind,
                    "extent": None if f.extent is None else str(f.extent),
                }
                for f in self.footprints
            ],
            "barriers": [{"closed": t, "consumer": e} for t, e in self.barriers],
        }


__all__ = ["Footprint", "PassReport"]
