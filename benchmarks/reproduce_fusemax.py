"""Time ``einsum-cascade reproduce fusemax`` in fresh processes and record the wall times.

The command costs 120 attention points (5 configurations x 4 models x 6 sequence lengths)
and 48 linear-layer points (2 hardwares x 24), writes every CSV, the comparison and the
figures. The time includes interpreter start-up and imports, as a user sees it. Each run
writes into a new empty folder under ``--out`` (default: a new temporary folder). Usage::

    python benchmarks/reproduce_fusemax.py [--out DIR] [--record FILE] [--repeat N]
        [--no-figures] [--cold]

``--cold`` runs with the cost-model cache off (``--no-cache``: every model built and
compiled); by default one untimed run fills the cache first. The record (JSON: wall and CPU
times, load averages, point counts, headline, platform) goes to ``--record``, by default
``DIR/benchmark.json``.
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import time_command

ATTENTION_POINTS = 5 * 4 * 6
LINEAR_POINTS = 2 * 4 * 6


def main() -> None:
    """Time the command, print a line and write the JSON record."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="folder for the runs' outputs")
    parser.add_argument("--record", type=Path, default=None, help="JSON record to write")
    parser.add_argument("--repeat", type=int, default=3, help="runs; the minimum is reported")
    parser.add_argument("--no-figures", action="store_true", help="time without the figures")
    parser.add_argument("--cold", action="store_true", help="cost-model cache off")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="reproduce-fusemax-"))
    out.mkdir(parents=True, exist_ok=True)
    runs: list[Path] = []

    def fresh(_: int) -> list[str]:
        runs.append(Path(tempfile.mkdtemp(prefix="run-", dir=out)))
        return ["--out", str(runs[-1])]

    command = [sys.executable, "-m", "einsum_cascade", "reproduce", "fusemax"]
    command += ["--no-figures"] if args.no_figures else []
    command += ["--no-cache"] if args.cold else []
    if not args.cold:
        time_command("fill the cache", command, 1, fresh)
    timing = time_command(
        " ".join(["reproduce fusemax", *command[5:]]), command, args.repeat, fresh
    )
    with (runs[-1] / "headline.csv").open(encoding="utf-8") as handle:
        headline = {row["quantity"]: float(row["mean"]) for row in csv.DictReader(handle)}
    record = {
        "command": "einsum-cascade " + " ".join(command[3:]) + " --out DIR",
        **timing.to_dict(),
        "cache": "off" if args.cold else "warm",
        "attention_points": ATTENTION_POINTS,
        "linear_points": LINEAR_POINTS,
        "headline_means": headline,
        "python": platform.python_version(),
        "machine": platform.platform(),
    }
    path = args.record or out / "benchmark.json"
    path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    print(
        f"{ATTENTION_POINTS} attention + {LINEAR_POINTS} linear points, fresh process, "
        f"cache {record['cache']}: {timing.line()} -> {path}"
    )


if __name__ == "__main__":
    main()
