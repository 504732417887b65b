"""Design points per second of cost-model sweeps, and the peak memory of a long sweep.

Two measurements, each printed with the machine's load average (``os.getloadavg()``):

* ``cli``: ``einsum-cascade sweep --workers 1`` in a fresh process, end to end (start-up,
  model compilation, point expansion, the ``cost`` evaluator, constraint filtering and
  crash-safe Parquet parts on disk), over 2D/1D PE-array shape (10) x L3 size x sequence
  length (100): ``--points 1000000`` gives 10 x 1000 x 100. The issue-13 goal is
  >= 300,000 points/s for 10^6 points. With ``--rss`` the same run's peak resident memory
  (``ru_maxrss`` of the child) is printed too; the goal for 10^7 points is <= 1 GiB.
* ``engine``: the same sweep through :func:`mappers.sweep.run.run_sweep` in this process
  after a warm-up (model compiled), which leaves out start-up and compilation.

Usage::

    python benchmarks/sweep_throughput.py [--mode cli|engine|both] [--points 1000000]
        [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

ROOT = Path(__file__).resolve().parents[1]
METRICS = "[latency_s, energy_pj, traffic_bytes, util_pe2d, util_pe1d, area_um2]"
SHAPES = (16, 32, 48, 64, 96, 128, 192, 256, 384, 512)
SEQS = 100


def sweep_text(points: int) -> str:
    """Return the spec sweep of ``points`` points (a multiple of 1,000)."""
    sizes = max(1, points // (len(SHAPES) * SEQS))
    pe2d = ", ".join(f"[{s}, {s}]" for s in SHAPES)
    pe1d = ", ".join(f"[{s}]" for s in SHAPES)
    return f"""\
version: 1
name: throughput-spec
evaluator: cost
base: {{mapping: fusemax-binding, workload: BERT}}
axes:
  pe2d.shape: [{pe2d}]
  pe1d.shape: [{pe1d}]
  L3.size_bytes: 1MiB..{sizes}MiB +1MiB
  seq: 1K..{SEQS}K +1K
zip: [[pe2d.shape, pe1d.shape]]
metrics: {METRICS}
constraints: ["latency_s <= 1e9"]
"""


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f}"


def run_cli(points: int, folder: Path) -> tuple[float, int, str, float]:
    """Run the CLI once in a fresh process; return (seconds, peak RSS KiB, load, CPU s)."""
    spec = folder / "sweep.yaml"
    spec.write_text(sweep_text(points))
    out = folder / "cli.parquet"
    command = [sys.executable, "-m", "einsum_cascade", "sweep", str(spec), "--workers", "1"]
    command += ["--out", str(out), "--force"]
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    environment.pop("PYTHONDONTWRITEBYTECODE", None)  # an installed package has its .pyc files
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, check=True, env=environment, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return seconds, max(after.ru_maxrss, before.ru_maxrss), _load(), cpu


def run_engine(points: int, folder: Path) -> tuple[float, str]:
    """Run the engine in this process (model already compiled); return (seconds, load)."""
    sys.path.insert(0, str(ROOT))
    from mappers.sweep.executors import SerialExecutor
    from mappers.sweep.run import run_sweep
    from mappers.sweep.spec import sweep_from_text

    spec = sweep_from_text(sweep_text(points), "<benchmark>")
    start = time.perf_counter()
    summary = run_sweep(spec, folder / "engine.parquet", executor=SerialExecutor(), force=True)
    seconds = time.perf_counter() - start
    assert summary.rows_written == summary.num_points == points
    return seconds, _load()


def main() -> None:
    """Time the sweeps and print the best rates with the load average beside each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("cli", "engine", "both"), default="both")
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rss", action="store_true", help="print the CLI run's peak RSS")
    options = parser.parse_args()
    where = f"{platform.processor() or platform.machine()}, Python {platform.python_version()}"
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        if options.mode in ("cli", "both"):
            runs = [run_cli(options.points, folder) for _ in range(options.repeats)]
            seconds, _, load, cpu = min(runs)
            print(
                f"sweep CLI end to end: {options.points:,} points in {seconds:.2f} s = "
                f"{options.points / seconds:,.0f} points/s, CPU {cpu:.2f} s = "
                f"{options.points / cpu:,.0f} points per CPU-second (fresh process, "
                f"--workers 1, Parquet; best of {options.repeats}; {load}; {where})"
            )
            if options.rss:
                peak = max(run[1] for run in runs)
                print(
                    f"sweep CLI peak RSS: {peak / 1024:,.0f} MiB for {options.points:,} points "
                    f"(the largest of the runs; {_load()})"
                )
        if options.mode in ("engine", "both"):
            run_engine(1000, folder)  # compile the model
            runs_engine = [run_engine(options.points, folder) for _ in range(options.repeats)]
            seconds, load = min(runs_engine)
            print(
                f"sweep engine, model compiled: {options.points:,} points in {seconds:.2f} s = "
                f"{options.points / seconds:,.0f} points/s (one core, Parquet; best of "
                f"{options.repeats}; {load}; {where})"
            )


if __name__ == "__main__":
    main()
