import json

import pytest
from typer.testing import CliRunner

from einsum_cascade.cli import _register_commands
from einsum_cascade.cli.app import app
from mappers.hardware.catalog import ACCELERATOR_DIR

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
    bad.write_text((ACCELERATOR_DIR / "fusemax.yaml").read_text().replace("clock_hz", "clok_hz"))
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


def _model(*args):
    return RUNNER.invoke(app, ["model", "--arch", "fusemax", *args])


def test_model_linear_costs_the_workload_gemms():
    result = _model("--linear", "--workload", "BERT", "--seq", "64K", "--json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert [layer["name"] for layer in report["layers"]] == ["Q", "K", "V", "Z", "FFN1", "FFN2"]
    # 4194304 rows * (4*768*768 + 2*768*3072 = 7077888) MACs / 65536 PEs / 940 MHz
    assert report["latency_s"] == pytest.approx(4194304 * 7077888 / 65536 / 940e6)


def test_model_mapping_and_linear_report_end_to_end():
    result = _model("--mapping", "fusemax-binding", "--linear", "--seq", "1K", "--json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    attention, linear = report["attention"]["metrics"], report["linear"]
    # attention 1892352 cycles (test_cost_first_principles); linear layers at B*P = 65536
    # rows: 65536 * 7077888 MACs / 65536 PEs = 7077888 cycles; both at 940 MHz
    assert attention["latency_s"] == pytest.approx(1892352 / 940e6)
    assert linear["latency_s"] == pytest.approx(7077888 / 940e6)
    assert report["end_to_end"]["latency_s"] == pytest.approx((1892352 + 7077888) / 940e6)
    assert report["end_to_end"]["energy_pj"] == attention["energy_pj"] + linear["energy_pj"]


def test_model_gemm_mapping_takes_extents():
    args = ("--mapping", "gemm-resident", "--extent", "M=4M", "--extent", "K=768")
    result = _model(*args, "--extent", "N=768", "--json")
    assert result.exit_code == 0, result.stderr
    # 4194304*768*768 MACs / 65536 PEs = 37748736 cycles
    assert json.loads(result.stdout)["metrics"]["latency_cycles"] == 37748736


def test_model_gemm_mapping_without_its_extents_is_m402():
    result = _model("--mapping", "gemm-resident")
    assert result.exit_code == 1
    assert "error[M402]: cascade 'gemm' under mapping 'gemm-resident' needs extents K, N" in (
        result.stderr
    )
    assert "cascade: gemm" in result.stderr  # the caret line of the mapping file


@pytest.mark.parametrize(
    "args",
    [(), ("--mapping", "gemm-resident", "--extent", "K")],
    ids=["nothing-to-cost", "extent-without-value"],
)
def test_model_usage_errors_exit_2(args):
    assert _model(*args).exit_code == 2


def test_reproduce_refuses_a_directory_that_is_not_empty(tmp_path):
    mine = tmp_path / "attn-binding.csv"
    mine.write_text("precious\n")
    result = RUNNER.invoke(app, ["reproduce", "fusemax", "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert f"{tmp_path} is not empty; pass --force to overwrite" in result.stderr
    assert mine.read_text() == "precious\n"
