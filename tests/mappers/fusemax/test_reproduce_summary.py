"""``reproduce fusemax`` prints what it found and where it wrote it (issue 12 #15, issue 15)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from einsum_cascade.cli import _register_commands, app
from mappers.fusemax.reproduce import worst_cells

_register_commands()
RUNNER = CliRunner()


def test_reproduce_prints_headline_worst_cells_and_where_the_files_are(tmp_path: Path) -> None:
    out = tmp_path / "rf"
    result = RUNNER.invoke(app, ["reproduce", "fusemax", "--out", str(out), "--no-figures"])
    assert result.exit_code == 0, result.output
    text = result.output
    assert "headline: FuseMax over FLAT" in text
    assert "attention_speedup" in text and "end_to_end_energy_ratio" in text
    assert "worst cell against the artifact, per quantity" in text
    for quantity in ("latency", "energy", "traffic", "util_2d"):
        assert f"│ {quantity} " in text
    assert f"wrote 10 files to {out}/ (9 CSV, 1 MD)" in text
    assert f"every cell against the artifact: {out / 'comparison.md'}" in text


def test_worst_cells_pick_the_largest_error_of_each_quantity_over_files() -> None:
    a = pd.DataFrame({"model": ["BERT", "TrXL"], "seq_len": ["1K", "4K"], "latency": [0.01, -0.2]})
    b = pd.DataFrame({"model": ["T5"], "seq_len": ["1M"], "latency": [0.1]})
    (cell,) = worst_cells({"a.csv": a, "b.csv": b})
    assert (cell.quantity, cell.file, cell.model, cell.seq_len, cell.error) == (
        "latency", "a.csv", "TrXL", "4K", -0.2,
    )  # fmt: skip


def test_reproduce_into_a_file_is_refused_even_with_force(tmp_path: Path) -> None:
    mine = tmp_path / "notes.txt"
    mine.write_text("precious")
    for extra in ([], ["--force"]):
        result = RUNNER.invoke(app, ["reproduce", "fusemax", "--out", str(mine), *extra])
        assert result.exit_code == 1
        assert f"{mine} is a file" in result.output and "Traceback" not in result.output
    assert mine.read_text() == "precious"
