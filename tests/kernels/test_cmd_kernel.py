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


# ---- issue 12 findings 6 and 7, issue 15 crashes, issue 14's triton renderer


def test_run_of_the_help_example_passes_a_relative_and_absolute_tolerance():
    # An absolute 1e-5 failed at 1.04e-5 on outputs of order 1 (issue 12, finding 6).
    result = invoke("kernel", "run", "attention/1pass", "--shape", "M=1000,P=777", "--json")
    assert result.exit_code == 0, result.output
    record = json.loads(result.output)
    assert record["ok"] and record["rtol"] > 0 and record["tolerance"] == 1e-5


def test_gemm_cascade_compiles_and_runs_without_a_tile_option():
    gemm = "linear/gemm"
    common = ["--parallel", "M", "--sequence", "K", "--extent", "N=64"]
    result = invoke("kernel", "check", gemm, *common, "--target", "sm_80", "--json")
    assert result.exit_code == 0, result.output  # no runtime-sized __shared__ array
    result = invoke("kernel", "run", gemm, *common, "--shape", "K=70,M=50", "--backend", "shim")
    assert result.exit_code == 0, result.output


def test_gemm_twin_reads_its_global_input_one_tile_at_a_time():
    # A[K, M] has the runtime-sized parallel rank, so it is read in place, not staged; K = 70
    # is three tiles of 32 (the last ragged), so a read of all of K fails to broadcast
    gemm = ["linear/gemm", "--parallel", "M", "--sequence", "K", "--extent", "N=64"]
    result = invoke("kernel", "run", *gemm, "--shape", "K=70,M=50", "--backend", "numpy")
    assert result.exit_code == 0, result.output
    assert "ok" in result.output


def test_an_unknown_tile_names_the_ranks_of_this_plan():
    result = invoke("kernel", "gen", "attention/1pass", "--tile", "K0=32")
    assert result.exit_code == 2
    assert "the tiles are M0 and P0" in result.output


def test_a_tile_past_32_bits_is_a_diagnostic_not_a_crash():
    result = invoke(
        "kernel", "run", "attention/1pass", "--backend", "shim", "--tile", "M0=4294967296"
    )
    assert result.exit_code == 2
    assert "must be at most 2147483647" in result.output


@pytest.mark.parametrize("twin", [[], ["--twin"]])
def test_sink_cascade_renders(twin):
    result = invoke("kernel", "gen", "variants/sink", *twin)
    assert result.exit_code == 0, result.output
    result = invoke("kernel", "run", "variants/sink", "--shape", "M=50,P=30")
    assert result.exit_code == 0, result.output


def test_gen_output_into_a_directory_or_a_missing_folder_is_a_diagnostic(tmp_path):
    result = invoke("kernel", "gen", "attention/1pass", "-o", str(tmp_path))
    assert result.exit_code == 1 and "is a directory" in result.output
    result = invoke("kernel", "gen", "attention/1pass", "-o", str(tmp_path / "nope" / "x.cu"))
    assert result.exit_code == 1 and "does not exist" in result.output


def test_two_pass_cascades_are_refused_at_their_einsum():
    # They were planned, but the reduction over M1 was dropped: wrong results in every renderer.
    result = invoke("kernel", "gen", "attention/2pass-a")
    assert result.exit_code == 1
    assert "2pass-a.cascade:15:1: error[K001]" in result.output
    assert "reduces the tile rank 'M1'" in result.output


def test_gen_triton_writes_a_python_module(tmp_path):
    pytest.importorskip("triton")
    target = tmp_path / "attention.py"
    result = invoke(
        "kernel", "gen", "attention/1pass", "--renderer", "triton", "-o", str(target),
        "--tile", "M0=64,P0=128", "--dtype", "float16",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    text = target.read_text()
    compile(text, str(target), "exec")
    assert "@triton.jit" in text and text.count("tl.dot(") == 2


def test_run_triton_interpreter_backend():
    pytest.importorskip("triton")
    result = invoke(
        "kernel", "run", "attention/1pass-causal", "--backend", "triton", "--dtype", "float16",
        "--tile", "M0=32,P0=32", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["ok"]


def test_check_triton_prints_sass_counts_for_sm90a():
    pytest.importorskip("triton")
    result = invoke(
        "kernel", "check", "attention/1pass", "--renderer", "triton", "--target", "sm_90a",
        "--tile", "M0=64,P0=128", "--dtype", "float16", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    (row,) = json.loads(result.output)
    assert row["HGMMA"] == 16 and row["HMMA"] == 0 and row["spill_ldl_stl"] == 0
    assert row["gate"] == "ok" and row["registers"] <= 255


def test_a_tile_whose_shared_arrays_overflow_32_bits_is_refused_before_any_source():
    result = invoke(
        "kernel", "run", "attention/1pass", "--backend", "shim", "--tile", "M0=2147483647"
    )
    assert result.exit_code == 1
    assert "error[K007]" in result.output


def test_kernel_model_prints_the_prediction_and_its_bound():
    pytest.importorskip("triton")
    result = invoke(
        "kernel", "model", "attention/1pass", "--machine", "h100", "--shape", "M=4096,P=4096",
        "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    record = json.loads(result.output)
    assert record["renderer"] == "triton" and record["instructions"] == "sass"
    assert record["limiter"] in {"tensor", "sfu", "issue", "shared", "hbm", "serial"}
    assert 0 < record["tflops"] <= 989.4
    simt = invoke("kernel", "model", "attention/1pass", "--renderer", "cuda", "--json")
    assert simt.exit_code == 0, simt.output
    assert json.loads(simt.output)["total_s"] > record["total_s"]
