"""Time `search` on every library cascade in a fresh process per cascade.

Usage: python benchmarks/search_library.py [--arch fusemax] [--seq 4K] [--budget 30] [NAME...]

Prints, per cascade: wall seconds of the whole command (a fresh process: imports,
search, verification), the best latency, whether the search was exhaustive, the models
built, and the load average beside the time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# extents a cascade needs beyond the transformer workload's (the search names them, M503)
WORKLOAD_EXTENTS = {
    "gemm": ("K=768", "N=768"),
    "gqa": ("G=4", "R=3"),
    "mqa": ("R=12",),
    "window": ("W=256",),
    "sliding-window": ("W=256",),
    "streaming-llm": ("W=256",),
}


def library() -> list[str]:
    base = ROOT / "einsum_cascade" / "library"
    names = [
        str(p.relative_to(base).with_suffix(""))
        for p in sorted(base.rglob("*.cascade"))
        if p.parent.name in {"attention", "variants", "pedagogy"}
    ]
    return [*names, "gemm"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("names", nargs="*")
    parser.add_argument("--arch", default="fusemax")
    parser.add_argument("--seq", default="4K")
    parser.add_argument("--budget", default="30")
    parser.add_argument("--extent", action="append", default=[])
    args = parser.parse_args()
    names = args.names or library()
    print(f"{'cascade':34} {'wall_s':>7} {'load':>5} {'latency_s':>11} {'exh':>4} {'models':>6}")
    for name in names:
        extents = [x for e in args.extent for x in ("--extent", e)]
        for needs, given in WORKLOAD_EXTENTS.items():
            if needs in name and not args.extent:
                extents += [x for e in given for x in ("--extent", e)]
        command = [
            sys.executable, "-m", "einsum_cascade", "search", "--arch", args.arch,
            "--cascade", name, "--seq", args.seq, "--budget", args.budget, "--keep", "1",
            "--json", *extents,
        ]  # fmt: skip
        start = time.perf_counter()
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - start
        load = os.getloadavg()[0]
        if done.returncode != 0:
            message = (done.stdout + done.stderr).strip().splitlines()
            print(f"{name:34} {wall:7.1f} {load:5.2f} error: {message[-1] if message else '?'}")
            continue
        data = json.loads(done.stdout)
        counts = data["counts"]
        latency = data["best"][0]["latency_s"]
        exhaustive = "yes" if counts["exhaustive"] else "no"
        models = counts["models_built"]
        print(f"{name:34} {wall:7.1f} {load:5.2f} {latency:11.6g} {exhaustive:>4} {models:6d}")


if __name__ == "__main__":
    main()
