"""Time ``einsum-cascade reproduce fusemax`` in fresh processes, with and without figures.

The command costs 120 attention points (5 configurations x 4 models x 6 sequence lengths)
and 48 linear-layer points (2 hardwares x 24), writes every CSV, the comparison and (unless
``--no-figures``) the six figures. The time includes interpreter start-up and imports, as a
user sees it; the code timed is this checkout's (it leads ``PYTHONPATH``). Each run writes
into a new empty folder under ``--out`` (default: a new temporary folder). Usage::

    python benchmarks/reproduce_fusemax.py [--out DIR] [--record FILE] [--repeat N]
        [--no-figures] [--cold]

By default both forms are timed (issue 13's goals: 2 s with figures, 1 s without); with
``--no-figures`` only the second. ``--cold`` runs with the cost-model cache off
(``--no-cache``: every model built and compiled); by default one untimed run fills the
cache first. Each line gives the best wall time of ``--repeat`` runs (default 5), its CPU
time and the 1-minute load average after it; on a busy machine the CPU time is the figure
to compare. The record (JSON: wall and CPU times, load averages, point counts, headline,
platform) goes to ``--record``, by default ``DIR/benchmark.json``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import Timing, time_command

ROOT = Path(__file__).resolve().parents[1]
ATTENTION_POINTS = 5 * 4 * 6
LINEAR_POINTS = 2 * 4 * 6
GOALS = {False: 2.0, True: 1.0}  # seconds wall, by --no-figures


def main() -> None:
    """Time the command, print a line per form and write the JSON record."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="folder for the runs' outputs")
    parser.add_argument("--record", type=Path, default=None, help="JSON record to write")
    parser.add_argument("--repeat", type=int, default=5, help="runs; the fastest is reported")
    parser.add_argument("--no-figures", action="store_true", help="time without figures only")
    parser.add_argument("--cold", action="store_true", help="cost-model cache off")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="reproduce-fusemax-"))
    out.mkdir(parents=True, exist_ok=True)
    env = {"PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    runs: list[Path] = []

    def fresh(_: int) -> list[str]:
        runs.append(Path(tempfile.mkdtemp(prefix="run-", dir=out)))
        return ["--out", str(runs[-1])]

    base = [sys.executable, "-m", "einsum_cascade", "reproduce", "fusemax"]
    base += ["--no-cache"] if args.cold else []
    if not args.cold:
        time_command("fill the cache", base, 1, fresh, env)
    timings: list[tuple[bool, Timing]] = []
    for no_figures in (False, True):
        if args.no_figures and not no_figures:
            continue
        command = [*base, "--no-figures"] if no_figures else base
        label = " ".join(["reproduce fusemax", *command[5:]])
        timings.append((no_figures, time_command(label, command, args.repeat, fresh, env)))
    with (runs[-1] / "headline.csv").open(encoding="utf-8") as handle:
        headline = {row["quantity"]: float(row["mean"]) for row in csv.DictReader(handle)}
    record = {
        "runs": [
            {
                "command": f"einsum-cascade {t.label} --out DIR",
                "figures": not no_figures,
                "goal_wall_s": GOALS[no_figures],
                **t.to_dict(),
            }
            for no_figures, t in timings
        ],
        "cache": "off" if args.cold else "warm",
        "attention_points": ATTENTION_POINTS,
        "linear_points": LINEAR_POINTS,
        "headline_means": headline,
        "python": platform.python_version(),
        "machine": platform.platform(),
        "cpus": os.cpu_count(),
    }
    path = args.record or out / "benchmark.json"
    path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    print(
        f"{ATTENTION_POINTS} attention + {LINEAR_POINTS} linear points, fresh processes, "
        f"cost-model cache {record['cache']} -> {path}"
    )
    for no_figures, timing in timings:
        print(f"{timing.line()} (goal: {GOALS[no_figures]:.0f} s wall)")


if __name__ == "__main__":
    main()
