import json

import pytest
from typer.testing import CliRunner

from einsum_cascade.cli import _register_commands, app
from einsum_cascade.cli import main as _main  # noqa: F401  (registers the commands)

_register_commands()
RUNNER = CliRunner()


def invoke(*args):
    return RUNNER.invoke(app, list(args))


def test_gen_writes_a_cuda_file(tmp_path):
    target = tmp_path / "out.cu"
    result = invoke("kernel", "gen", "attention/1pass", "-o", str(target))
    assert result.exit_code == 0, result.output
    text = target.read_text()
    assert 'extern "C" __global__ void __launch_bounds__(64)' in text
    assert "attention_1pass_k0(" in text


def test_gen_twin_prints_python():
    result = invoke("kernel", "gen", "attention/3pass", "--twin", "--tile", "M0=16,P0=32")
    assert result.exit_code == 0, result.output
    assert "def attention_3pass_k0(xp, tensors, extents):" in result.output
    assert "TILE = 16" in result.output


def test_check_reports_resources_for_sm90_without_spills():
    result = invoke("kernel", "check", "attention/1pass", "--target", "sm_90", "--json")
    assert result.exit_code == 0, result.output
    (row,) = json.loads(result.output)
    assert row["target"] == "sm_90" and row["spill_bytes"] == 0
    assert (
        row["shared_bytes"] == 32768
    )  # K and V tiles 2 x 64 x 32 x 4 B + BQK, SLN 2 x 32 x 64 x 4 B


def test_check_fails_on_an_oversize_tile():
    result = invoke("kernel", "check", "attention/1pass", "--tile", "M0=256,P0=64")
    assert result.exit_code == 1
    assert "error[K101]" in result.output


def test_run_on_the_shim_matches_the_interpreter():
    result = invoke(
        "kernel", "run", "attention/1pass", "--backend", "shim", "--shape", "M=70,P=45", "--json"
    )
    assert result.exit_code == 0, result.output
    record = json.loads(result.output)
    assert record["ok"] and record["max_abs_error"] < 1e-5 and record["nan_count"] == 0


def test_run_with_a_too_tight_tolerance_exits_1():
    result = invoke("kernel", "run", "attention/3pass", "--shape", "M=40,P=30", "--tolerance", "0")
    assert result.exit_code == 1
    assert "MISMATCH" in result.output


def test_run_on_cupy_without_a_gpu_says_why():
    pytest.importorskip("kernels.run.cupy_launch")
    from kernels.run.cupy_launch import cupy_unavailable_reason

    if cupy_unavailable_reason() is None:
        pytest.skip("a GPU is present")
    result = invoke("kernel", "run", "attention/1pass", "--backend", "cupy")
    assert result.exit_code == 1
    assert "error[K401]: the cupy backend cannot run" in result.output


def test_bench_names_the_shape_and_device():
    result = invoke(
        "kernel", "bench", "attention/1pass", "--shape", "M=256,P=128", "--repeats", "2", "--json"
    )
    assert result.exit_code == 0, result.output
    record = json.loads(result.output)
    assert record["shape"] == {"E": 64, "F": 64, "M": 256, "P": 128}
    assert record["device"].startswith("CPU")
    assert record["repeats"] == 2 and record["median_ms"] > 0


def test_unknown_backend_is_a_usage_error():
    result = invoke("kernel", "run", "attention/1pass", "--backend", "opencl")
    assert result.exit_code == 2
    assert "valid backends: numpy, shim, cupy" in result.output


def test_run_maps_head_ranks_to_the_grid_on_the_shim():
    result = invoke(
        "kernel", "run", "variants/gqa", "--grid", "G,R", "--extent", "E=16,F=8",
        "--tile", "M0=8,P0=16", "--shape", "M=21,P=33,G=2,R=3", "--backend", "shim",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.output.rstrip().endswith(": ok")


def test_unmapped_head_rank_hints_at_the_grid_option():
    result = invoke("kernel", "gen", "variants/mqa")
    assert result.exit_code == 1
    assert "rank 'H' needs a static extent" in result.output
    assert "--grid H" in result.output


def test_gen_never_overwrites_a_file_without_force(tmp_path):
    target = tmp_path / "mine.cu"
    target.write_text("// precious\n")
    refused = invoke("kernel", "gen", "attention/1pass", "-o", str(target))
    assert refused.exit_code == 1
    assert "exists; pass --force to overwrite" in refused.output
    assert target.read_text() == "// precious\n"
    forced = invoke("kernel", "gen", "attention/1pass", "-o", str(target), "--force")
    assert forced.exit_code == 0, forced.output
    assert "attention_1pass_k0(" in target.read_text()
