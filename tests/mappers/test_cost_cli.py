import json

from typer.testing import CliRunner

from einsum_cascade.cli import _register_commands
from einsum_cascade.cli.app import app
from mappers.spec_loader import SPEC_DIR

_register_commands()
RUNNER = CliRunner()


def test_model_json_reports_binding_latency():
    result = RUNNER.invoke(
        app,
        [
            "model",
            "--arch",
            "fusemax",
            "--mapping",
            "fusemax-binding",
            "--workload",
            "BERT",
            "--seq",
            "1K",
            "--json",
        ],
    )
    assert result.exit_code == 0
    metrics = json.loads(result.stdout)["metrics"]
    # 1892352 cycles (see test_cost_first_principles) / 940e6 Hz
    assert abs(metrics["latency_s"] - 1892352 / 940e6) < 1e-12


def test_model_with_misspelt_spec_exits_1(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text((SPEC_DIR / "fusemax.yaml").read_text().replace("clock_hz", "clok_hz"))
    result = RUNNER.invoke(app, ["model", "--arch", str(bad), "--mapping", "fusemax-binding"])
    assert result.exit_code == 1
    assert "error[S101]: unknown key 'clok_hz'" in result.stderr
    assert "did you mean 'clock_hz'?" in result.stderr


def test_reproduce_writes_csvs(tmp_path):
    result = RUNNER.invoke(
        app, ["reproduce", "fusemax", "--out", str(tmp_path), "--artifact", str(tmp_path / "none")]
    )
    assert result.exit_code == 0
    for name in ("attn-binding.csv", "end2end-flat.csv", "end2end-proposal.csv", "headline.csv"):
        assert (tmp_path / name).exists(), name
    assert not (tmp_path / "comparison.md").exists()  # no artifact CSVs to compare with
    figures = [
        "fusemax-utilisation.png",
        "fusemax-attention-speedup.png",
        "fusemax-attention-energy.png",
        "fusemax-end-to-end-speedup.png",
        "fusemax-end-to-end-energy.png",
        "fusemax-pe-sweep.png",
    ]
    for name in figures:
        assert (tmp_path / name).read_bytes().startswith(b"\x89PNG"), name


def test_reproduce_compares_attention_and_end_to_end(tmp_path):
    result = RUNNER.invoke(app, ["reproduce", "fusemax", "--out", str(tmp_path)])
    assert result.exit_code == 0
    text = (tmp_path / "comparison.md").read_text()
    assert "## binding (attn-binding.csv)" in text
    assert "## linear layers, proposal (end2end-proposal.csv)" in text
    assert "| end_to_end_speedup | 5.30" in text
