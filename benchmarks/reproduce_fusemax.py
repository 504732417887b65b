"""Time ``reproduce fusemax`` (all 120 attention points) and print the wall time.

Run: python benchmarks/reproduce_fusemax.py [OUT_DIR]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from mappers.reproduce import reproduce_fusemax

ARTIFACT = Path(__file__).resolve().parent.parent / "tests" / "data" / "fusemax"


def main() -> None:
    """Run the reproduction once and report its wall time."""
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp())
    start = time.perf_counter()
    reproduce_fusemax(out, ARTIFACT)
    elapsed = time.perf_counter() - start
    print(f"reproduce fusemax: 120 attention points in {elapsed:.2f} s -> {out}")


if __name__ == "__main__":
    main()
