"""The taxonomy of attention algorithms as data, and its classification of library cascades.

``TABLE_I`` maps the algorithms of the FuseMax paper's Table I (3-, 2- and 1-pass) to the
library cascade that expresses each; :func:`classify_library` computes, for every library
cascade, its pass class, passes per partition level and over a shared sequence, the
live-footprint bound, and its extra operations over the 3-pass baseline.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sympy

from einsum_cascade import library
from einsum_cascade.ir import Cascade
from einsum_cascade.passes import PassReport, count_passes
from einsum_cascade.shapes import count_ops
from einsum_cascade.symbols import extent_symbol, is_index_symbol

# The rank whose passes classify a cascade: the key sequence, or the sequence itself.
# The library groups the taxonomy classifies (``linear`` holds no attention algorithm).
ATTENTION_GROUPS = ("attention", "pedagogy", "variants")
SEQUENCE_RANKS = ("M", "N", "K")
# Free ranks a cascade may have and still be compared with the 3-pass baseline.
BASELINE_RANKS = frozenset({"E", "F", "M", "P", "M0", "W"})
# The shape at which extra operations are given as a fraction of the baseline's.
REFERENCE_SHAPE = {"E": 64, "F": 64, "M": 4096, "P": 4096, "M0": 256, "W": 512}


@dataclass(frozen=True, slots=True)
class Algorithm:
    """A published attention algorithm and the library cascade that expresses it."""

    name: str
    paper_class: int  # passes over M in the paper's Table I
    cascade: str
    note: str = ""


TABLE_I: tuple[Algorithm, ...] = (
    Algorithm("PyTorch", 3, "attention/3pass"),
    Algorithm("TensorFlow", 3, "attention/3pass"),
    Algorithm("FLAT (ASPLOS'23)", 3, "attention/3pass"),
    Algorithm("E.T. (SC'21)", 3, "attention/3pass"),
    Algorithm("TileFlow (MICRO'23)", 2, "attention/2pass-a", "local max per chunk, then fix"),
    Algorithm("Choi et al. (IISWC'22)", 2, "attention/2pass-b", "online max and sum in pass 1"),
    Algorithm("FlashAttention", 1, "attention/1pass", "normalises every step; same passes"),
    Algorithm("FlashAttention-2", 1, "attention/1pass"),
    Algorithm(
        "Rabe & Staats",
        1,
        "attention/2pass-c",
        "independent chunk summaries combined once: K and V read once",
    ),
)


def algorithms_for(cascade: str) -> tuple[Algorithm, ...]:
    """Return the Table I algorithms that ``cascade`` expresses."""
    return tuple(a for a in TABLE_I if a.cascade == cascade)


@dataclass(frozen=True, slots=True)
class TaxonomyRow:
    """The classification of one library cascade.

    Attributes:
        cascade: Library name.
        rank: The sequence rank counted (``M`` for attention).
        pass_class: Passes over whole fibers of ``rank``.
        level_passes: ``(level, passes)`` for each partition level of ``rank``.
        sequence_passes: Passes over the shared sequence when the cascade has both ``M``
            (keys) and ``P`` (queries), as in self-attention; None otherwise.
        buffer_bound: The live-footprint bound in words: the fibers that must stay live
            and their tensors, or ``tile``.
        baseline: The 3-pass cascade the operations are compared with, if any.
        extra_ops: Operations beyond the baseline (negative when fewer), with every
            derived extent ``ceil(M / M0)`` taken as ``M / M0``; None without a baseline,
            or when a filter leaves the counts without a closed form.
        extra_ops_fraction: ``extra_ops`` over the baseline's operations at
            :data:`REFERENCE_SHAPE`; None when either has no closed form there.
        algorithms: Table I algorithms this cascade expresses.
    """

    cascade: str
    rank: str
    pass_class: int
    level_passes: tuple[tuple[str, int], ...]
    sequence_passes: int | None
    buffer_bound: str
    baseline: str | None
    extra_ops: sympy.Expr | None
    extra_ops_fraction: float | None
    algorithms: tuple[str, ...]

    @property
    def extra_ops_text(self) -> str:
        """Return the extra operations as text, with the fraction when known."""
        if self.extra_ops is None:
            return "-"
        text = str(self.extra_ops)
        if self.extra_ops_fraction is not None:
            text += f" ({self.extra_ops_fraction:+.2%})"
        return text

    def to_dict(self) -> dict[str, Any]:
        """Return the row as JSON-ready data."""
        return {
            "cascade": self.cascade,
            "rank": self.rank,
            "pass_class": self.pass_class,
            "level_passes": dict(self.level_passes),
            "sequence_passes": self.sequence_passes,
            "buffer_bound": self.buffer_bound,
            "baseline": self.baseline,
            "extra_ops": None if self.extra_ops is None else str(self.extra_ops),
            "extra_ops_fraction": self.extra_ops_fraction,
            "algorithms": list(self.algorithms),
        }


def _sequence_rank(cascade: Cascade) -> str | None:
    return next((r for r in SEQUENCE_RANKS if cascade.has_rank(r)), None)


def _bound(report: PassReport) -> str | None:
    groups: dict[str, list[str]] = {}
    for footprint in report.footprints:
        if footprint.extent is not None:
            groups.setdefault(str(footprint.extent), []).append(footprint.tensor)
    if not groups:
        return None
    return "; ".join(f"{extent}: {', '.join(tensors)}" for extent, tensors in groups.items())


def _total_ops(cascade: Cascade) -> sympy.Expr:
    """Sum every operation count, with derived extents written out (``M1 = M / M0``)."""
    derived = {
        rank.symbol: rank.expression.replace(sympy.ceiling, lambda x: x)
        for rank in cascade.ranks
        if rank.expression is not None
    }
    counts = count_ops(cascade)
    total = sympy.Add(*(count for ops in counts.values() for count in ops.values()))
    for _ in derived:  # derived extents may be written with other derived extents
        total = total.xreplace(derived)
    return sympy.expand(total)


def baseline_for(name: str) -> str | None:
    """Return the 3-pass cascade with the same masking and scaling as ``name``, if any."""
    cascade = library.load(name)
    free = {rank.name for rank in cascade.free_ranks}
    if not {"E", "F", "M", "P"} <= free or free - BASELINE_RANKS:
        return None  # a different problem (heads, agents...): no like-for-like baseline
    for suffix in ("-causal", "-scaled", "-window"):
        if name.endswith(suffix):
            return f"attention/3pass{suffix}"
    return "attention/3pass"


def _extra_ops(name: str, baseline: str | None) -> tuple[sympy.Expr | None, float | None]:
    if baseline is None:
        return None, None
    base_total = _total_ops(library.load(baseline))
    extra = sympy.expand(_total_ops(library.load(name)) - base_total)
    symbols = extra.free_symbols | base_total.free_symbols
    if extra.has(sympy.Sum, sympy.Piecewise) or any(is_index_symbol(s) for s in symbols):
        return None, None  # counts under a filter, with no closed form
    at = {extent_symbol(k): v for k, v in REFERENCE_SHAPE.items()}
    numerator, denominator = extra.xreplace(at), base_total.xreplace(at)
    if numerator.free_symbols or denominator.free_symbols or denominator == 0:
        return extra, None
    return extra, float(numerator / denominator)


def classify(name: str) -> TaxonomyRow:
    """Classify library cascade ``name``: passes, buffer bound and extra operations."""
    cascade = library.load(name)
    rank = _sequence_rank(cascade)
    if rank is None:
        rank = cascade.free_ranks[0].name
    report = count_passes(cascade, rank)
    level_reports = [count_passes(cascade, level) for level in report.levels]
    bound = _bound(report)
    for level_report in level_reports:
        bound = bound or _bound(level_report)
    shared = None
    if cascade.has_rank("M") and cascade.has_rank("P"):
        shared = count_passes(cascade, "M", same_sequence=("P",)).num_passes
    baseline = baseline_for(name)
    extra, fraction = _extra_ops(name, baseline)
    return TaxonomyRow(
        cascade=name,
        rank=rank,
        pass_class=report.num_passes,
        level_passes=tuple((r.rank, r.num_passes) for r in level_reports),
        sequence_passes=shared,
        buffer_bound=bound or "tile",
        baseline=baseline,
        extra_ops=extra,
        extra_ops_fraction=fraction,
        algorithms=tuple(a.name for a in algorithms_for(name)),
    )


def classify_library() -> tuple[TaxonomyRow, ...]:
    """Classify every attention cascade of the library, in library order."""
    return tuple(classify(name) for name in library.names(ATTENTION_GROUPS))


__all__ = [
    "ATTENTION_GROUPS",
    "BASELINE_RANKS",
    "REFERENCE_SHAPE",
    "SEQUENCE_RANKS",
    "TABLE_I",
    "Algorithm",
    "TaxonomyRow",
    "algorithms_for",
    "baseline_for",
    "classify",
    "classify_library",
]
