"""Design points per second of 100,000-point sweeps through the cost model, on one core.

Runs the whole engine as ``einsum-cascade sweep --workers 1`` does: point expansion, the
``cost`` evaluator, constraint filtering and crash-safe Parquet parts on disk. Two sweeps:

* ``workload``: sequence length x batch x heads (extents only: one compiled FuseMax model,
  all points vectorised);
* ``spec``: 2D/1D PE-array shape x L3 size x sequence length (10 x 100 x 100). The spec
  parameters are symbols of the compiled model, so this is also one model and one
  vectorised call per chunk; before they were, it built one model per (shape, L3 size).

Usage::

    python benchmarks/sweep_throughput.py [--sweep workload|spec|both] [--repeats 3]
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

from mappers.sweep.executors import SerialExecutor  # noqa: E402
from mappers.sweep.run import run_sweep  # noqa: E402
from mappers.sweep.spec import sweep_from_text  # noqa: E402
from mappers.sweep.store import read_results  # noqa: E402

METRICS = "[latency_s, energy_pj, traffic_bytes, util_pe2d, util_pe1d, area_um2]"

WORKLOAD_SWEEP = f"""\
version: 1
name: throughput
evaluator: cost
base: {{mapping: fusemax-binding, workload: BERT}}
axes:
  seq: 1K..100K +1K                       # 100 sequence lengths
  B: 1..{{scale}}                         # batch sizes
  H: [4, 8, 12, 16, 24, 32, 48, 64, 96, 128]
metrics: {METRICS}
constraints: ["latency_s <= 1e9"]
"""

SPEC_SWEEP = f"""\
version: 1
name: throughput-spec
evaluator: cost
base: {{mapping: fusemax-binding, workload: BERT}}
axes:
  pe2d.shape: [[16, 16], [32, 32], [48, 48], [64, 64], [96, 96], [128, 128], [192, 192],
               [256, 256], [384, 384], [512, 512]]
  pe1d.shape: [[16], [32], [48], [64], [96], [128], [192], [256], [384], [512]]
  L3.size_bytes: 1MiB..{{scale}}MiB +1MiB   # L3 sizes
  seq: 1K..100K +1K                       # 100 sequence lengths
zip: [[pe2d.shape, pe1d.shape]]
metrics: {METRICS}
constraints: ["latency_s <= 1e9"]
"""

SWEEPS = {"workload": WORKLOAD_SWEEP, "spec": SPEC_SWEEP}


def _text(sweep: str, scale: int) -> str:
    return SWEEPS[sweep].replace("{scale}", str(scale))


def measure(sweep: str, scale: int, out: Path) -> tuple[int, float]:
    """Run one sweep once into ``out`` and return (points, seconds)."""
    spec = sweep_from_text(_text(sweep, scale), "<benchmark>")
    start = time.perf_counter()
    summary = run_sweep(spec, out, executor=SerialExecutor(), force=True)
    seconds = time.perf_counter() - start
    assert summary.rows_written == summary.num_points == len(read_results(out))
    return summary.num_points, seconds


def main() -> None:
    """Warm the model cache, time several runs of each sweep and print the best rates."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sweep", choices=("workload", "spec", "both"), default="both")
    parser.add_argument("--scale", type=int, default=100, help="values of the B / L3 axis")
    parser.add_argument("--repeats", type=int, default=3)
    options = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    sweeps = ("workload", "spec") if options.sweep == "both" else (options.sweep,)
    for sweep in sweeps:
        with tempfile.TemporaryDirectory() as folder:
            measure(sweep, 1, Path(folder) / "warm.parquet")
            runs = [
                measure(sweep, options.scale, Path(folder) / "bench.parquet")
                for _ in range(options.repeats)
            ]
        points, seconds = min(runs, key=lambda run: run[1])
        rate = points / seconds
        print(
            f"sweep throughput ({sweep}): {points:,} design points in {seconds:.2f} s = "
            f"{rate:,.0f} points/s (one core, cost model fusemax-binding, Parquet output; "
            f"best of {options.repeats}; {platform.processor() or platform.machine()}, "
            f"Python {platform.python_version()})"
        )


if __name__ == "__main__":
    main()
