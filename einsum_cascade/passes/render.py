"""Plain-text rendering of a pass report (the CLI draws the same data as rich tables)."""

from __future__ import annotations

from collections.abc import Sequence

from einsum_cascade.passes.report import PassReport


def _table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = []
    for row in [header, *rows]:
        lines.append(
            "  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        )
    return lines


def render_text(report: PassReport) -> str:
    """Render ``report``: the count, the pass of each einsum, each tensor's reads."""
    noun = "pass" if report.num_passes == 1 else "passes"
    title = f"{report.cascade}: {report.num_passes} {noun} over {report.rank}"
    if report.levels:
        title += f" (partitioned into {', '.join(report.levels)}; whole {report.rank} fibers)"
    lines = [title, ""]
    einsum_rows = [(name, "-" if n is None else str(n)) for name, n in report.einsum_passes]
    lines += _table(("einsum", "pass"), einsum_rows)
    if report.footprints:
        lines.append("")
        tensor_rows = [
            (f.tensor, ", ".join(str(p) for p in f.passes), f.describe()) for f in report.footprints
        ]
        lines += _table(("tensor", "read in passes", "live footprint"), tensor_rows)
    if report.barriers:
        lines.append("")
        pairs = ", ".join(f"{closed} -> {consumer}" for closed, consumer in report.barriers)
        lines.append(f"barriers: {pairs}")
    return "\n".join(lines) + "\n"
