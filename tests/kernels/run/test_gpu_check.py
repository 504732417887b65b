"""The device check stops with a clear message where it cannot run (no CuPy or no GPU)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kernels.run.cupy_launch import cupy_unavailable_reason

SCRIPT = Path(__file__).parents[3] / "benchmarks" / "gpu_check.py"


@pytest.mark.skipif(cupy_unavailable_reason() is None, reason="a GPU is present: run it for real")
def test_gpu_check_names_what_is_missing_and_how_to_carry_it(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(tmp_path / "x.csv")],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 2
    assert "missing packages: cupy" in done.stderr or "no GPU:" in done.stderr
    assert "wheels" in done.stderr or "no GPU:" in done.stderr
    assert not (tmp_path / "x.csv").exists()
