"""Modelled vs measured on this host: calibrate, run 3-pass, 1-pass and linear attention twins.

Usage (from the repository root)::

    python benchmarks/modelled_vs_measured.py --out-dir /tmp/mvm

Calibrates the host into ``OUT_DIR/host.yaml`` (unless ``--machine`` names a spec), times
every point single-threaded (best of N) with the NumPy twin, models it, and prints a
markdown table of the error per cascade. Writes ``results.csv`` and ``errors.png``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CASCADES = (
    "attention/3pass",
    "attention/1pass",
    str(ROOT / "tests" / "kernels" / "data" / "linear.cascade"),
)
SIZES = "M=512,1024,2048;P=256,1024;E=64,128;M0=32,128"  # 3 * 2 * 2 * 2 = 24 per cascade


def _label(name: str) -> str:
    return "attention/linear" if name.endswith("linear.cascade") else name


def main() -> None:
    """Run the benchmark and print the README table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out-dir", type=Path, required=True)
    parser.add_argument("--machine", help="an existing CPU spec; default: calibrate now")
    parser.add_argument("--sizes", default=SIZES)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))

    from kernels.calibrate import CalibrationSettings, calibrate_host, cpu_model
    from kernels.compare import parse_sizes, summarize, sweep_points
    from kernels.compare_report import plot_errors, run_comparison, write_results
    from mappers.machine_loader import load_machine
    from mappers.machine_writer import cpu_spec_to_yaml

    args.out_dir.mkdir(parents=True, exist_ok=True)
    if args.machine is None:
        spec_path = args.out_dir / "host.yaml"
        spec = calibrate_host(CalibrationSettings(cascades=CASCADES))
        spec_path.write_text(cpu_spec_to_yaml(spec), encoding="utf-8")
    machine = load_machine(args.machine or args.out_dir / "host.yaml")
    grid = parse_sizes(args.sizes)
    rows = []
    for name in CASCADES:
        rows += run_comparison(sweep_points(name, grid), machine, "numpy", 1, args.repeats)
    write_results(rows, args.out_dir / "results.csv")
    overall = summarize(rows)
    plot_errors(rows, overall, args.out_dir / "errors.png")
    conditions = dict(getattr(machine, "conditions", ()))
    print(f"Host: {cpu_model()}, numpy {conditions.get('numpy', '?')}, single-threaded, "
          f"best of {args.repeats}; sweep {args.sizes}\n")  # fmt: skip
    print("| cascade | points | median abs error | worst abs error | Spearman | bias |")
    print("|---|---|---|---|---|---|")
    for name in CASCADES:
        mine = [r for r in rows if r.cascade == name]
        summary = summarize(mine)
        bias = sorted(r.relative_error for r in mine)[len(mine) // 2]
        print(
            f"| {_label(name)} | {summary.points} "
            f"| {100 * summary.median_abs_relative_error:.1f} % "
            f"| {100 * summary.worst_abs_relative_error:.1f} % | {summary.spearman:.3f} "
            f"| {100 * bias:+.1f} % |"
        )
    print(
        f"| all | {overall.points} | {100 * overall.median_abs_relative_error:.1f} % "
        f"| {100 * overall.worst_abs_relative_error:.1f} % | {overall.spearman:.3f} | |"
    )
    worst = max(rows, key=lambda r: abs(r.relative_error))
    print(
        f"\nworst point: {_label(worst.cascade)} M={worst.sequence} P={worst.queries} "
        f"E={worst.head_dim} M0={worst.tile}: measured {worst.measured_s * 1e3:.2f} ms, "
        f"modelled {worst.modelled_s * 1e3:.2f} ms"
    )


if __name__ == "__main__":
    main()
