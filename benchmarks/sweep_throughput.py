"""Design points per second of a 100,000-point sweep through the cost model, on one core.

Runs the whole engine as ``einsum-cascade sweep --workers 1`` does: point expansion, the
``cost`` evaluator (one compiled FuseMax model, all points vectorised), constraint
filtering and crash-safe Parquet parts on disk. Usage::

    python benchmarks/sweep_throughput.py [--points-per-axis-b 100] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

from mappers.executors import SerialExecutor  # noqa: E402
from mappers.sweep import run_sweep  # noqa: E402
from mappers.sweep_spec import sweep_from_text  # noqa: E402
from mappers.sweep_store import read_results  # noqa: E402

SPEC = """\
version: 1
name: throughput
evaluator: cost
base: {{mapping: fusemax-binding, workload: BERT}}
axes:
  seq: 1K..100K +1K                       # 100 sequence lengths
  B: 1..{batches}                         # batch sizes
  H: [4, 8, 12, 16, 24, 32, 48, 64, 96, 128]
metrics: [latency_s, energy_pj, traffic_bytes, util_pe2d, util_pe1d, area_um2]
constraints: ["latency_s <= 1e9"]
"""


def measure(batches: int, out: Path) -> tuple[int, float]:
    """Run the sweep once into ``out`` and return (points, seconds)."""
    spec = sweep_from_text(SPEC.format(batches=batches), "<benchmark>")
    start = time.perf_counter()
    summary = run_sweep(spec, out, executor=SerialExecutor(), force=True)
    seconds = time.perf_counter() - start
    assert summary.rows_written == summary.num_points == len(read_results(out))
    return summary.num_points, seconds


def main() -> None:
    """Warm the model cache, time several runs and print the best rate."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points-per-axis-b", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    options = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    with tempfile.TemporaryDirectory() as folder:
        measure(1, Path(folder) / "warm.parquet")
        runs = [
            measure(options.points_per_axis_b, Path(folder) / "bench.parquet")
            for _ in range(options.repeats)
        ]
    points, seconds = min(runs, key=lambda run: run[1])
    rate = points / seconds
    print(
        f"sweep throughput: {points:,} design points in {seconds:.2f} s = {rate:,.0f} points/s "
        f"(one core, cost model fusemax-binding, Parquet output; best of {options.repeats}; "
        f"{platform.processor() or platform.machine()}, Python {platform.python_version()})"
    )


if __name__ == "__main__":
    main()
