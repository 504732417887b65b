"""Time ``einsum-cascade reproduce fusemax`` in a fresh process and record the wall time.

The command costs 120 attention points (5 configurations x 4 models x 6 sequence lengths)
and 48 linear-layer points (2 hardwares x 24), writes every CSV and the comparison. The
time includes interpreter start-up and imports, as a user sees it. Usage::

    python benchmarks/reproduce_fusemax.py [--out DIR] [--record FILE] [--repeat N]

The record (JSON: wall times, point counts, headline, platform) goes to ``--record``, by
default ``DIR/benchmark.json``.
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ATTENTION_POINTS = 5 * 4 * 6
LINEAR_POINTS = 2 * 4 * 6


def run_once(out: Path) -> float:
    """Run the command in a new interpreter; return its wall time in seconds."""
    command = [sys.executable, "-m", "einsum_cascade", "reproduce", "fusemax", "--out", str(out)]
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    """Time the command, print a line and write the JSON record."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="output folder of the command")
    parser.add_argument("--record", type=Path, default=None, help="JSON record to write")
    parser.add_argument("--repeat", type=int, default=3, help="runs; the minimum is reported")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="reproduce-fusemax-"))
    walls = [run_once(out) for _ in range(max(1, args.repeat))]
    with (out / "headline.csv").open(encoding="utf-8") as handle:
        headline = {row["quantity"]: float(row["mean"]) for row in csv.DictReader(handle)}
    record = {
        "command": "einsum-cascade reproduce fusemax --out DIR",
        "wall_s": walls,
        "best_wall_s": min(walls),
        "attention_points": ATTENTION_POINTS,
        "linear_points": LINEAR_POINTS,
        "headline_means": headline,
        "python": platform.python_version(),
        "machine": platform.platform(),
    }
    path = args.record or out / "benchmark.json"
    path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    print(
        f"reproduce fusemax: {ATTENTION_POINTS} attention + {LINEAR_POINTS} linear points, "
        f"fresh process, best of {len(walls)}: {min(walls):.2f} s -> {path}"
    )


if __name__ == "__main__":
    main()
