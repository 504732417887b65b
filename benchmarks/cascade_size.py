"""Time ``check`` and ``passes`` on chained cascades of 2,000 and 10,000 einsums.

Each command runs as a fresh process (``python -m einsum_cascade``), as a user runs it; the
figures include start-up (about 1.5 s of imports). Wall and CPU time are printed beside the
load average, since other work on the machine stretches the wall time.

Usage::

    python benchmarks/cascade_size.py [--sizes 2000,10000]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def chain(n: int) -> str:
    """A cascade of ``n + 1`` einsums, each reading the one before it."""
    lines = ["cascade chain", "rank K", "input A[K]", f"output T{n}", "T0[k] = A[k]"]
    lines += [f"T{i}[k] = T{i - 1}[k] + A[k]" for i in range(1, n + 1)]
    return "\n".join(lines) + "\n"


def timed(args: list[str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "einsum_cascade", *args], check=True, stdout=subprocess.DEVNULL
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="2000,10000")
    sizes = [int(s) for s in parser.parse_args().sizes.split(",")]
    with tempfile.TemporaryDirectory() as folder:
        for n in sizes:
            path = Path(folder) / f"chain{n}.cascade"
            path.write_text(chain(n))
            for command in (["check", str(path)], ["passes", str(path), "--rank", "K"]):
                wall, cpu = timed(command)
                load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
                print(f"{command[0]:7s} {n:6d} einsums: {wall:6.2f} s wall, {cpu:6.2f} s CPU"
                      f"  (load average {load})")  # fmt: skip


if __name__ == "__main__":
    main()
