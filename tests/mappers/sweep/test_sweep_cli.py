from pathlib import Path

import pytest
from typer.testing import CliRunner

from einsum_cascade.cli import app
from mappers.sweep.store import read_results

HERE = Path(__file__).parent
EXAMPLES = HERE.parents[2] / "examples" / "sweeps"
TOY = "test_sweep_evaluator:toy_roofline"


@pytest.fixture(autouse=True)
def _commands(monkeypatch):
    from einsum_cascade.cli import _register_commands

    monkeypatch.syspath_prepend(str(HERE))
    _register_commands()


def invoke(*arguments: str):
    return CliRunner().invoke(app, list(arguments))


def test_sweep_from_flags_only(tmp_path):
    out = tmp_path / "r.parquet"
    result = invoke(
        "sweep",
        "--evaluator",
        TOY,
        "--axis",
        "seq=1K..4K x2",
        "--axis",
        "pe2d.shape=[[16,16],[32,32]]",
        "--constraint",
        "area_um2 <= 300000",
        "--workers",
        "1",
        "--out",
        str(out),
    )
    assert result.exit_code == 0, result.output
    # 3 seq x 2 shapes = 6 points; area 256000 (16x16) passes, 1024000 (32x32) does not
    assert "6 points in 1 chunks" in result.output
    frame = read_results(out)
    assert frame["pe2d.shape"].tolist() == ["16x16"] * 3


def test_sweep_refuses_existing_output_then_resumes(tmp_path):
    out = tmp_path / "r.parquet"
    arguments = ("sweep", "--evaluator", TOY, "--axis", "seq=[1K]", "--workers", "1")
    assert invoke(*arguments, "--out", str(out)).exit_code == 0
    refused = invoke(*arguments, "--out", str(out))
    assert refused.exit_code == 1
    assert "error[SW201]" in refused.output
    resumed = invoke(*arguments, "--out", str(out), "--resume", "--json")
    assert resumed.exit_code == 0
    assert '"chunks_skipped": 1' in resumed.output


def test_sweep_reports_spec_errors_with_location(tmp_path):
    spec = tmp_path / "bad.yaml"
    spec.write_text("version: 1\naxes:\n  seq: 1K..1M x1\n")
    result = invoke("sweep", str(spec), "--out", str(tmp_path / "r.parquet"))
    assert result.exit_code == 1
    assert f"{spec}:3:8: error[SW111]" in result.output


def test_pe_size_example_runs_and_plots(tmp_path):
    out = tmp_path / "r.parquet"
    result = invoke("sweep", str(EXAMPLES / "pe-size.yaml"), "--out", str(out), "--workers", "1")
    assert result.exit_code == 0, result.output
    frame = read_results(out)
    assert len(frame) == 24  # 4 workloads x 6 PE sizes
    bert_256 = frame[(frame["workload"] == "BERT") & (frame["pe2d.shape"] == "256x256")]
    # the artifact's pareto.csv row for BERT at PE 256 equals attn-binding at 256K: 118.28 s
    assert bert_256["latency_s"].item() == pytest.approx(118.28, rel=1e-3)
    png = tmp_path / "front.png"
    plotted = invoke(
        "plot", str(out), "--pareto", "area_um2,latency_s", "--hue", "workload",
        "--kind", "scatter", "--logx", "--logy", "-o", str(png),
    )  # fmt: skip
    assert plotted.exit_code == 0, plotted.output
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_plot_where_filters_rows_and_unknown_columns_fail(tmp_path):
    out = tmp_path / "r.parquet"
    invoke("sweep", "--evaluator", TOY, "--axis", "seq=1K..4K x2", "--axis",
           "workload=[BERT, XLM]", "--workers", "1", "--out", str(out))  # fmt: skip
    png = tmp_path / "line.png"
    ok = invoke("plot", str(out), "--x", "seq", "--y", "latency_s", "--where", "workload=XLM",
                "-o", str(png))  # fmt: skip
    assert ok.exit_code == 0, ok.output
    mixed = invoke("plot", str(out), "--x", "seq", "--y", "latency_s", "-o",
                   str(tmp_path / "mixed.png"))  # fmt: skip
    assert mixed.exit_code == 1
    assert "error[SW405]" in mixed.output
    missing = invoke("plot", str(out), "--x", "seqq", "--y", "latency_s", "-o",
                     str(tmp_path / "missing.png"))  # fmt: skip
    assert "did you mean 'seq'?" in missing.output


def test_plot_never_overwrites_an_image_without_force(tmp_path):
    out = tmp_path / "r.parquet"
    invoke("sweep", "--evaluator", TOY, "--axis", "seq=1K..4K x2", "--workers", "1",
           "--out", str(out))  # fmt: skip
    png = tmp_path / "mine.png"
    png.write_bytes(b"precious")
    refused = invoke("plot", str(out), "--x", "seq", "--y", "latency_s", "-o", str(png))
    assert refused.exit_code == 1
    assert "exists; pass --force to overwrite" in refused.output
    assert png.read_bytes() == b"precious"
    forced = invoke("plot", str(out), "--x", "seq", "--y", "latency_s", "-o", str(png), "--force")
    assert forced.exit_code == 0, forced.output
    assert png.read_bytes().startswith(b"\x89PNG")
