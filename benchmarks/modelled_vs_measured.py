"""Modelled vs measured on this host: 3-pass, 1-pass and linear attention, NumPy twin and shim.

Usage (from the repository root)::

    python benchmarks/modelled_vs_measured.py --out-dir /tmp/mvm

Calibrates the host into ``OUT_DIR/host.yaml`` (unless ``--machine`` names a spec), times
every point (best of N; the twin single-threaded, the shim on every core) with the NumPy
twin and with the generated CUDA source on the CPU shim (smaller shapes), models each point,
and prints a markdown table of the error per cascade and backend. Writes
``results-<backend>.csv`` and ``errors-<backend>.png``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CASCADES = ("attention/3pass", "attention/1pass", "variants/linear")
SIZES = "M=512,1024,2048;P=256,1024;E=64,128;M0=32,128"  # 3 * 2 * 2 * 2 = 24 per cascade
SHIM_SIZES = "M=256,512,1024;P=128,256;E=32,64;M0=32"  # 3 * 2 * 2 = 12 per cascade


def main() -> None:
    """Run the benchmark and print the README table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out-dir", type=Path, required=True)
    parser.add_argument("--machine", help="an existing CPU spec; default: calibrate now")
    parser.add_argument("--sizes", default=SIZES, help="twin sweep")
    parser.add_argument("--shim-sizes", default=SHIM_SIZES, help="shim sweep")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))

    from kernels.measure.calibrate import CalibrationSettings, calibrate_host, cpu_model
    from kernels.measure.compare import parse_sizes, summarize, sweep_points
    from kernels.measure.compare_report import plot_errors, run_comparison, write_results
    from mappers.hardware.machine_loader import load_machine
    from mappers.hardware.machine_writer import cpu_spec_to_yaml

    args.out_dir.mkdir(parents=True, exist_ok=True)
    if args.machine is None:
        spec_path = args.out_dir / "host.yaml"
        spec = calibrate_host(CalibrationSettings(cascades=CASCADES))
        spec_path.write_text(cpu_spec_to_yaml(spec), encoding="utf-8")
    machine = load_machine(args.machine or args.out_dir / "host.yaml")
    conditions = dict(getattr(machine, "conditions", ()))
    print(f"Host: {cpu_model()}, numpy {conditions.get('numpy', '?')}, best of {args.repeats}; "
          f"twin single-threaded over {args.sizes}; shim over {args.shim_sizes}\n")  # fmt: skip
    print("| backend | cascade | points | median abs error | worst abs error | Spearman | bias |")
    print("|---|---|---|---|---|---|---|")
    everything = []
    for backend, sizes in (("numpy", args.sizes), ("shim", args.shim_sizes)):
        grid = parse_sizes(sizes)
        rows = []
        for name in CASCADES:
            rows += run_comparison(sweep_points(name, grid), machine, backend, 1, args.repeats)
        write_results(rows, args.out_dir / f"results-{backend}.csv")
        overall = summarize(rows)
        plot_errors(rows, overall, args.out_dir / f"errors-{backend}.png")
        for name in CASCADES:
            _print_row(backend, name, [r for r in rows if r.cascade == name])
        _print_row(backend, "all", rows)
        everything += rows
    for backend in ("numpy", "shim"):
        mine = [r for r in everything if r.backend == backend]
        worst = max(mine, key=lambda r: abs(r.relative_error))
        print(
            f"\nworst {backend} point: {worst.cascade} M={worst.sequence} P={worst.queries} "
            f"E={worst.head_dim} M0={worst.tile}: measured {worst.measured_s * 1e3:.2f} ms, "
            f"modelled {worst.modelled_s * 1e3:.2f} ms"
        )


def _print_row(backend: str, label: str, rows: list[Any]) -> None:
    from kernels.measure.compare import summarize

    summary = summarize(rows)
    bias = sorted(r.relative_error for r in rows)[len(rows) // 2]
    print(
        f"| {backend} | {label} | {summary.points} "
        f"| {100 * summary.median_abs_relative_error:.1f} % "
        f"| {100 * summary.worst_abs_relative_error:.1f} % | {summary.spearman:.3f} "
        f"| {100 * bias:+.1f} % |"
    )


if __name__ == "__main__":
    main()
