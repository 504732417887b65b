"""Long fuzz runs: seeded mutants of specs, mappings, sweeps, sweep axes and Timeloop YAML.

Usage::

    python benchmarks/fuzz.py --n 1000 [--surface spec|mapping|sweep|axis|timeloop] [--seed 0]

Prints, per surface, the counts of mutants that ran (exit 0, physical numbers), were refused
with a diagnostic (exit 1) and findings (anything else), each finding with its mutant, and
the load average beside the time.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fuzz_inputs import SURFACES, fuzz, summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--surface", choices=sorted(SURFACES), action="append")
    args = parser.parse_args()
    for surface in args.surface or sorted(SURFACES):
        start = time.perf_counter()
        outcomes = []
        for outcome, text in fuzz(surface, args.n, args.seed):
            outcomes.append(outcome)
            if outcome.startswith("FINDING"):
                print(f"{surface}: {outcome}\n{text}---")
        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
        counts = summary(outcomes)
        print(f"{surface}: {args.n} mutants: {counts['ok']} ok, {counts['error']} diagnostics, "
              f"{counts['finding']} findings in {time.perf_counter() - start:.0f} s "
              f"(load average {load})")  # fmt: skip


if __name__ == "__main__":
    main()
