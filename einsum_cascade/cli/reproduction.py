"""The summary ``reproduce fusemax`` prints: headline, worst cell per quantity, files."""

from __future__ import annotations

import math
from collections import Counter
from typing import TYPE_CHECKING

from einsum_cascade.cli.app import print_table

if TYPE_CHECKING:
    from rich.console import Console

    from mappers.fusemax.reproduce import Reproduction


def _number(value: object) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.3g}"
    return str(value)


def print_reproduction(console: Console, result: Reproduction) -> None:
    """Print the headline table, the worst cell of every quantity and where the files are."""
    headline = result.headline
    present = {name for row in headline for name in row}
    columns = [c for c in ("quantity", "mean", "geomean", "artifact", "paper") if c in present]
    rows = [[_number(row.get(c, math.nan)) for c in columns] for row in headline]
    print_table(console, columns, rows, "headline: FuseMax over FLAT, over every model and length")
    if result.worst:
        worst = [
            (w.quantity, f"{100 * w.error:+.2f} %", w.file, w.model, w.seq_len)
            for w in sorted(result.worst, key=lambda w: -abs(w.error))
        ]
        print_table(
            console,
            ("quantity", "worst error", "file", "model", "seq"),
            worst,
            "worst cell against the artifact, per quantity",
            right=("worst error",),
        )
    kinds = Counter(path.suffix.lstrip(".") for path in result.files)
    listing = ", ".join(f"{n} {kind.upper()}" for kind, n in sorted(kinds.items()))
    console.print(f"wrote {len(result.files)} files to {result.out_dir}/ ({listing})", markup=False)
    if result.comparison:
        console.print(
            f"every cell against the artifact: {result.out_dir / 'comparison.md'}", markup=False
        )
