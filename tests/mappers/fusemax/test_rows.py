"""Plain rows read and write CSVs as pandas does, and the reproduction imports no pandas."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pandas as pd

from mappers.fusemax.rows import from_frame, read_csv, to_frame, write_csv

ROWS = [
    {"model": "BERT", "seq_len": "1K", "traffic": 402653184.0, "points": 24, "note": "a, b"},
    {"model": "TrXL", "seq_len": "4K", "traffic": 1.5e18, "points": 7, "share": 0.125},
    {"model": "T5", "seq_len": "1M", "traffic": 0.1 + 0.2, "points": 3, "share": float("nan")},
]


def test_written_files_are_byte_for_byte_what_pandas_writes(tmp_path: Path) -> None:
    ours, theirs = tmp_path / "ours.csv", tmp_path / "theirs.csv"
    write_csv(ROWS, ours)
    pd.DataFrame(ROWS).to_csv(theirs, index=False)
    assert ours.read_bytes() == theirs.read_bytes()


def test_read_rows_are_what_pandas_reads(tmp_path: Path) -> None:
    path = tmp_path / "artifact.csv"
    path.write_text(
        "model,seq_len,traffic,latency,,empty\nBERT,1K,1308622848,0.5,,\nT5,4K,2.5,,,\n"
    )
    rows = read_csv(path)
    frame = pd.read_csv(path).dropna(axis=1, how="all")
    frame = frame.loc[:, ~frame.columns.str.startswith("Unnamed")]
    assert list(rows[0]) == list(frame.columns) == ["model", "seq_len", "traffic", "latency"]
    expected = from_frame(frame)
    for mine, theirs in zip(rows, expected, strict=True):
        for key, value in theirs.items():
            if isinstance(value, float) and math.isnan(value):
                assert math.isnan(mine[key])
            else:
                assert mine[key] == value and type(mine[key]) is type(value), key
    assert to_frame(rows).equals(frame)


def test_importing_the_reproduction_imports_neither_pandas_nor_sympy() -> None:
    code = (
        "import json, sys\n"
        "import mappers.fusemax\n"
        "from mappers.fusemax.reproduce import reproduce_fusemax\n"
        "from mappers.cost.model import build_cost_model, evaluate_costs\n"
        "print(json.dumps([m for m in ('pandas', 'sympy', 'networkx', 'matplotlib')"
        " if m in sys.modules]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == []
