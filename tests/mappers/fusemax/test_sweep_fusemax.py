import json
import subprocess
import sys

import pandas as pd
import pytest

from mappers.fusemax.tables import attention_rows, attention_table, pe_sweep_columns, pe_sweep_table
from mappers.sweep import plots
from mappers.sweep.errors import SweepError
from mappers.sweep.plots import write_fusemax_figures


@pytest.fixture(scope="module")
def pe_table():
    return pe_sweep_table(workloads=("BERT",))


@pytest.mark.parametrize(
    ("pe_dim", "latency_s"),
    [(256, 118.28), (64, 1891.83)],  # the artifact note, section 6
    ids=["pe256", "pe64"],
)
def test_pe_sweep_matches_the_artifact_latency(pe_table, pe_dim, latency_s):
    row = pe_table[pe_table["pe_dim"] == pe_dim]
    assert row["latency_s"].item() == pytest.approx(latency_s, rel=1e-4)


def test_pe_sweep_area_grows_with_the_pe_count(pe_table):
    area = pe_table.set_index("pe_dim")["area_um2"]
    # 2D PEs dominate: 18426.05 um^2 per PE, so going from 256^2 to 512^2 PEs adds
    # 196608 * 18426.05 = 3.623e9 um^2 (the 1D array and L3 add a little more)
    assert area[512] - area[256] == pytest.approx(3.623e9, rel=0.02)


def test_pe_sweep_rejects_mismatched_buffer_sizes():
    with pytest.raises(SweepError) as caught:
        pe_sweep_table(pe_dims=(16, 32), l3_bytes=(32768,))
    assert caught.value.codes == ("SW107",)


def test_attention_table_converts_artifact_columns():
    rows = pd.DataFrame(
        {"model": ["BERT"], "seq_len": ["4K"], "latency": [2.0], "energy": [3.0], "util_2d": [1.0]}
    )
    table = attention_table({"binding": rows})
    assert table.to_dict("records") == [
        {
            "config": "binding",
            "workload": "BERT",
            "seq": 4096,
            "latency_s": 2.0,
            "energy_pj": 3.0,
            "util_2d": 1.0,
        }
    ]


def test_pe_sweep_figure_from_the_cost_model(pe_table, tmp_path):
    written = write_fusemax_figures({"pe_sweep": pe_table}, tmp_path)
    assert [p.name for p in written] == ["fusemax-pe-sweep.png"]
    assert written[0].read_bytes()[:4] == b"\x89PNG"


def test_pe_sweep_columns_are_the_tables_columns(pe_table):
    columns = pe_sweep_columns(workloads=("BERT",))
    assert list(columns) == list(pe_table.columns)
    for name, values in columns.items():
        assert values.tolist() == pe_table[name].tolist(), name


def test_attention_rows_are_the_tables_rows():
    rows = [
        {"model": "BERT", "seq_len": "4K", "latency": 2.0, "energy": 3.0, "util_2d": 1.0},
        {"model": "T5", "seq_len": "1M", "latency": 4.0, "energy": 5.0, "util_2d": 0.5},
    ]
    table = attention_table({"binding": pd.DataFrame(rows)})
    assert attention_rows({"binding": rows}) == table.to_dict("records")


def _tables():
    """Small FuseMax tables as row lists: two configurations, two workloads, two lengths."""
    attention, linear = [], []
    for config, speed in (("unfused", 1.0), ("binding", 3.0)):
        for workload in ("BERT", "T5"):
            for seq in (1024, 4096):
                latency = seq / speed
                attention.append(
                    {"config": config, "workload": workload, "seq": seq, "latency_s": latency,
                     "energy_pj": 2 * latency, "util_2d": speed / 4, "util_1d": speed / 3}
                )  # fmt: skip
                linear.append(
                    {"config": config, "workload": workload, "seq": seq, "latency_s": 10.0,
                     "energy_pj": 20.0}
                )  # fmt: skip
    pe = [
        {"workload": "BERT", "pe_dim": d, "latency_s": 1e4 / d**2, "area_um2": 1e4 * d * d}
        for d in (16, 64, 256)
    ]
    return {"attention": attention, "linear": linear, "pe_sweep": pe}


def test_figures_from_rows_columns_and_frames_are_the_same(tmp_path):
    rows = _tables()
    frames = {name: pd.DataFrame(table) for name, table in rows.items()}
    sweep = {key: [row[key] for row in rows["pe_sweep"]] for key in rows["pe_sweep"][0]}
    mine = write_fusemax_figures(rows, tmp_path / "rows")
    theirs = write_fusemax_figures(frames, tmp_path / "frames")
    assert [p.name for p in mine] == [p.name for p in theirs] and len(mine) == 6
    for ours, pandas in zip(mine, theirs, strict=True):
        assert ours.read_bytes() == pandas.read_bytes(), ours.name
    (columns,) = write_fusemax_figures({"pe_sweep": sweep}, tmp_path / "columns")
    assert columns.read_bytes() == theirs[-1].read_bytes()


def test_figures_drawn_on_two_cores_are_the_figures_drawn_on_one(tmp_path, monkeypatch):
    both = write_fusemax_figures(_tables(), tmp_path / "two")
    monkeypatch.setattr(plots.os, "cpu_count", lambda: 1)
    one = write_fusemax_figures(_tables(), tmp_path / "one")
    assert [p.name for p in both] == [p.name for p in one] and len(one) == 6
    for forked, alone in zip(both, one, strict=True):
        assert forked.read_bytes() == alone.read_bytes(), forked.name


def test_a_figure_that_fails_in_the_forked_half_fails_here(tmp_path, monkeypatch):
    def broken(_table):
        raise RuntimeError("the utilisation figure broke")

    monkeypatch.setattr(plots, "_utilisation_figure", broken)
    with pytest.raises(RuntimeError, match="utilisation figure broke"):
        write_fusemax_figures(_tables(), tmp_path)


def test_figure_columns_of_different_lengths_are_refused(tmp_path):
    tables = {"pe_sweep": {"workload": ["BERT"], "pe_dim": [16, 32], "latency_s": [1.0, 2.0],
                           "area_um2": [1.0, 4.0]}}  # fmt: skip
    with pytest.raises(SweepError) as caught:
        write_fusemax_figures(tables, tmp_path)
    assert caught.value.codes == ("SW407",)


def test_the_reproductions_figure_path_imports_neither_pandas_nor_pyarrow(tmp_path):
    code = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from mappers.fusemax.reproduce import _write_figures\n"
        "rows = [{'model': 'BERT', 'seq_len': '1K', 'latency': 1.0, 'energy': 2.0,"
        " 'util_2d': 0.5, 'util_1d': 0.25}]\n"
        "from mappers.fusemax.reproduce import _plan\n"
        "pairing = _plan()['end_to_end']\n"
        "attention = {c: rows for c in pairing}\n"
        "linear = {p: rows for p in set(pairing.values())}\n"
        f"files = _write_figures(attention, linear, Path({str(tmp_path)!r}))\n"
        "print(json.dumps([len(files)] + [m for m in ('pandas', 'pyarrow') if m in sys.modules]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == [6]
