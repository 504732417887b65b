"""Workloads of your own (issue 12) through model, search, sweep and kernel."""

import json

import pytest
from typer.testing import CliRunner

from einsum_cascade.cli import app
from mappers.sweep.store import read_results

LAYERNORM = """\
cascade layernorm
rank D, P
input X[D, P]
output Y
S[p] = X[d, p]
Y[d, p] = X[d, p] - S[p]
"""


@pytest.fixture(autouse=True)
def _commands():
    from einsum_cascade.cli import _register_commands

    _register_commands()


def invoke(*arguments):
    return CliRunner().invoke(app, [str(a) for a in arguments])


@pytest.fixture
def files(tmp_path):
    cascade = tmp_path / "layernorm.cascade"
    cascade.write_text(LAYERNORM)
    workload = tmp_path / "ln.yaml"
    workload.write_text("version: 1\nname: ln4k\nextents: {D: 768, P: 4K}\n")
    return cascade, workload


def _best(*arguments):
    result = invoke("search", "--arch", "fusemax", *arguments, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)["best"][0]["latency_s"]


def test_search_with_a_workload_file_or_none_uses_only_its_extents(files):
    cascade, workload = files
    own = _best("--cascade", cascade, "--workload", workload)
    bare = _best("--cascade", cascade, "--workload", "none", "--extent", "D=768", "--extent",
                 "P=4096")  # fmt: skip
    batched = _best("--cascade", cascade, "--extent", "D=768", "--extent", "P=4096")
    assert own == pytest.approx(bare, rel=1e-12)
    # the default workload (BERT) repeats the cascade over B = 64 and H = 12, and says so
    assert batched == pytest.approx(64 * 12 * bare, rel=1e-9)
    shown = invoke("search", "--arch", "fusemax", "--cascade", cascade, "--extent", "D=768",
                   "--extent", "P=4096")  # fmt: skip
    assert "BERT (B=64 H=12 E=64 F=64 D=768 S=3072 M=64K P=4K)" in shown.output


def test_search_saves_a_mapping_named_after_its_extents(files, tmp_path):
    cascade, workload = files
    out = tmp_path / "best.yaml"
    result = invoke("search", "--arch", "fusemax", "--cascade", cascade, "--workload", workload,
                    "--out", out)  # fmt: skip
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert "name: layernorm-on-fusemax-searched-ln4k-D768-P4K" in text
    assert "# extents: ln4k (D=768 P=4K)" in text


def test_model_header_and_json_state_the_workload(tmp_path):
    workload = tmp_path / "bert1k.yaml"
    workload.write_text(
        "version: 1\nname: bert1k\nextents: {B: 64, H: 12, E: 64, F: 64, M: 1K, P: 1K}\n"
    )
    table = invoke("model", "--arch", "fusemax", "--mapping", "fusemax-binding", "--workload",
                   workload)  # fmt: skip
    assert table.exit_code == 0, table.output
    assert "fusemax-binding on fusemax: bert1k (B=64 H=12 E=64 F=64 M=1K P=1K)" in table.output
    own = invoke("model", "--arch", "fusemax", "--mapping", "fusemax-binding", "--workload",
                 workload, "--json")  # fmt: skip
    builtin = invoke("model", "--arch", "fusemax", "--mapping", "fusemax-binding", "--seq",
                     "1K", "--json")  # fmt: skip
    mine, theirs = json.loads(own.output), json.loads(builtin.output)
    assert mine["metrics"]["latency_s"] == theirs["metrics"]["latency_s"]
    provenance = theirs["provenance"]
    assert provenance["workload"]["extents"]["B"] == 64
    assert provenance["arch"]["text"] and provenance["mapping"]["text"]
    assert provenance["cascade"]["text"].startswith("cascade attention_1pass")
    assert provenance["table"] == "default"
    assert provenance["package_version"] and provenance["git_revision"]


def test_workload_errors_are_located(tmp_path):
    workload = tmp_path / "bad.yaml"
    workload.write_text("version: 1\nname: bad\nextents: {D: 0}\n")
    result = invoke("model", "--arch", "fusemax", "--mapping", "fusemax-binding", "--workload",
                    workload)  # fmt: skip
    assert result.exit_code == 1
    assert f"{workload}:3:14: error[W102]" in result.output


def test_sweep_reads_a_workload_file(tmp_path):
    bert = tmp_path / "bert.yaml"
    bert.write_text("version: 1\nname: b\nextents: {B: 64, H: 12, E: 64, F: 64, M: 1K, P: 1K}\n")
    out = tmp_path / "r.parquet"
    result = invoke("sweep", "--base", "mapping=fusemax-binding", "--axis",
                    f"workload=[{bert}, BERT]", "--base", "seq=1K", "--out", out,
                    "--workers", "1")  # fmt: skip
    assert result.exit_code == 0, result.output
    frame = read_results(out)
    assert frame["latency_s"][0] == frame["latency_s"][1]


def test_kernel_run_takes_its_extents_from_a_workload(tmp_path):
    workload = tmp_path / "tiny.yaml"
    workload.write_text("version: 1\nname: tiny\nextents: {E: 16, F: 8, M: 50, P: 33}\n")
    result = invoke("kernel", "run", "attention/1pass", "--workload", workload, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["shape"] == {"M": 50, "P": 33}


def test_kernel_model_takes_its_extents_from_a_workload_and_states_them(tmp_path):
    workload = tmp_path / "tiny.yaml"
    workload.write_text("version: 1\nname: tiny\nextents: {E: 16, F: 8, M: 50, P: 33}\n")
    model = ("kernel", "model", "attention/1pass", "--renderer", "cuda", "--workload", workload)
    result = invoke(*model, "--json")
    assert result.exit_code == 0, result.output
    record = json.loads(result.output)
    assert (record["shape"], record["static"]) == ({"M": 50, "P": 33}, {"E": 16, "F": 8})
    table = invoke(*model)
    assert "attention_1pass (cuda) on h100-sxm5-80gb, E=16,F=8,M=50,P=33:" in table.output


def test_model_tables_state_the_extents_not_a_bare_sequence_length():
    point = ["--extent", "B=1", "--extent", "H=1", "--extent", "E=64", "--extent", "F=64",
             "--extent", "M=1K", "--extent", "P=1K"]  # fmt: skip
    result = invoke("model", "--arch", "fusemax", "--mapping", "fusemax-binding", "--workload",
                    "none", *point)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "fusemax-binding on fusemax: none (B=1 H=1 E=64 F=64 M=1K P=1K)" in result.output
    assert " seq " not in result.output  # was a second title: 'none seq 1024'
    from einsum_cascade import load_cascade
    from mappers.cost.model import estimate_cost
    from mappers.hardware.spec_loader import load_spec
    from mappers.mapping.loader import load_mapping
    from mappers.workloads import get_workload

    mapping = load_mapping("fusemax-binding")
    report = estimate_cost(load_cascade(mapping.cascade), load_spec("fusemax"), mapping,
                           get_workload("BERT", "1K"), extents={"B": 2})  # fmt: skip
    assert report.tables()[0].title == report.heading()
    assert (
        report.heading() == "fusemax-binding on fusemax: BERT (B=2 H=12 E=64 F=64 D=768 "
        "S=3072 M=1K P=1K)"
    )


def test_a_sweep_without_a_workload_takes_m_and_p_from_its_seq_setting(tmp_path):
    out = tmp_path / "r.parquet"
    result = invoke("sweep", "--base", "mapping=fusemax-binding", "--base", "seq=1K",
                    "--axis", "E=[64]", "--axis", "F=[64]", "--axis", "B=[1]", "--axis", "H=[1]",
                    "--out", out, "--workers", "1")  # fmt: skip
    assert result.exit_code == 0, result.output
    frame = read_results(out)
    assert frame["feasible"][0], frame["reason"][0]  # was M402: 'needs extents M, P'
    model = invoke("model", "--arch", "fusemax", "--mapping", "fusemax-binding", "--workload",
                   "none", "--seq", "1K", "--extent", "E=64", "--extent", "F=64", "--extent",
                   "B=1", "--extent", "H=1", "--json")  # fmt: skip
    assert frame["latency_s"][0] == json.loads(model.output)["metrics"]["latency_s"]


def test_kernel_run_states_the_static_extents_too():
    result = invoke("kernel", "run", "attention/1pass", "--extent", "E=32,F=16", "--shape",
                    "M=40,P=30")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "attention_1pass on numpy, E=32,F=16,M=40,P=30:" in result.output


def test_kernel_workload_none_means_only_extent_and_shape():
    run = ("kernel", "run", "attention/1pass", "--workload", "none")
    result = invoke(*run, "--shape", "M=40,P=30")
    assert result.exit_code == 1 and "needs a static extent" in result.output  # no E=64 default
    result = invoke(*run, "--extent", "E=16,F=8")
    assert result.exit_code == 1 and "give the extent of P, M with --shape" in result.output
    result = invoke(*run, "--extent", "E=16,F=8", "--shape", "M=40,P=30")
    assert result.exit_code == 0 and "E=16,F=8,M=40,P=30" in result.output
    model = ("kernel", "model", "attention/1pass", "--renderer", "cuda", "--workload", "none",
             "--extent", "E=16,F=8")  # fmt: skip
    result = invoke(*model)
    assert result.exit_code == 1 and "M=4096" not in result.output  # no M=4096,P=4096 default
