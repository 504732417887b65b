"""Measurement: host calibration and the modelled-versus-measured comparison of kernels."""

from kernels.measure.calibrate import CalibrationSettings, calibrate_host
from kernels.measure.compare import CompareRow, summarize
from kernels.measure.compare_report import plot_errors, run_comparison, write_results

__all__ = [
    "CalibrationSettings",
    "CompareRow",
    "calibrate_host",
    "plot_errors",
    "run_comparison",
    "summarize",
    "write_results",
]
