import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from mappers.sweep.errors import SweepError
from mappers.sweep.executors import DaskExecutor, ProcessExecutor, SerialExecutor, choose_executor
from mappers.sweep.run import evaluate_sweep, run_sweep
from mappers.sweep.spec import sweep_from_text
from mappers.sweep.store import read_results

HERE = Path(__file__).parent
REPO = HERE.parents[2]
TOY = "test_sweep_evaluator:toy_roofline"

SPEC = f"""\
version: 1
name: toy
evaluator: {TOY}
base: {{workload: BERT}}
axes:
  workload: [BERT, XLM]
  seq: 1K..64K x4
  pe2d.shape: [[16, 16], [32, 32], [64, 64]]
  clock_hz: [1e9, 2e9]
chunk_points: 7
"""


@pytest.fixture(autouse=True)
def _toy_importable(monkeypatch):
    monkeypatch.syspath_prepend(str(HERE))


def toy_spec(text=SPEC):
    return sweep_from_text(text)


def test_run_sweep_writes_hand_computed_rows(tmp_path):
    summary = run_sweep(toy_spec(), tmp_path / "r.parquet")
    # 2 workloads x 4 seq (1K, 4K, 16K, 64K) x 3 shapes x 2 clocks = 48 points, 7 per chunk
    assert (summary.num_points, summary.num_chunks, summary.rows_written) == (48, 7, 48)
    frame = read_results(tmp_path / "r.parquet")
    assert frame["point_id"].tolist() == list(range(48))
    first = frame.iloc[0]
    assert (first["workload"], first["seq"], first["pe2d.shape"], first["clock_hz"]) == (
        "BERT",
        1024,
        "16x16",
        1e9,
    )
    # 2 * 1024 * 1024 * 64 MACs / (256 PEs * 1e9 Hz) = 134217728 / 2.56e11 = 5.24288e-4 s
    assert first["latency_s"] == pytest.approx(5.24288e-4)
    assert first["area_um2"] == 256_000.0  # 256 PEs * 1000 um^2
    xlm = frame[(frame["workload"] == "XLM") & (frame["point_id"] == 24)].iloc[0]
    # XLM head dim 128 doubles the MACs of the first BERT point
    assert xlm["latency_s"] == pytest.approx(2 * 5.24288e-4)


def test_evaluate_sweep_matches_the_written_rows(tmp_path):
    run_sweep(toy_spec(), tmp_path / "r.parquet")
    pd.testing.assert_frame_equal(read_results(tmp_path / "r.parquet"), evaluate_sweep(toy_spec()))


def test_metrics_and_constraints_select_columns_and_rows():
    text = SPEC + "metrics: [latency_s]\nconstraints: ['clock_hz >= 2e9', 'latency_s < 1e-3']\n"
    frame = evaluate_sweep(toy_spec(text))
    assert "area_um2" not in frame.columns and "macs" not in frame.columns
    assert (frame["clock_hz"] == 2e9).all()
    assert (frame["latency_s"] < 1e-3).all()
    # at 2 GHz latency = 2*seq^2*E / (PEs * 2e9) = seq^2*E / (PEs * 1e9):
    # BERT (E=64) 1K: 6.7e7/(PEs*1e9) <= 2.6e-4 on every shape -> 3 rows;
    # BERT 4K: 1.07e9/(1024e9) = 1.05e-3 fails on 32x32, 2.6e-4 passes on 64x64 -> 1 row;
    # BERT 16K on 64x64: 1.7e10/4.096e12 = 4.2e-3 -> 0; XLM (E=128) 1K: <= 5.2e-4 -> 3 rows;
    # XLM 4K: 2.1e9/4.096e12 = 5.2e-4 on 64x64 only -> 1 row. Total 3 + 1 + 3 + 1 = 8
    assert len(frame) == 8


def test_unknown_metric_is_located_with_suggestion():
    with pytest.raises(SweepError) as caught:
        evaluate_sweep(toy_spec(SPEC + "metrics: [latency_s, area_um]\n"))
    diagnostic = caught.value.diagnostics[0]
    assert diagnostic.code == "SW304"
    assert (diagnostic.span.line, diagnostic.span.col) == (11, 22)
    assert diagnostic.hint == "did you mean 'area_um2'?"


def test_constraint_on_unknown_column_is_sw305():
    with pytest.raises(SweepError) as caught:
        evaluate_sweep(toy_spec(SPEC + "constraints: ['latency < 1']\n"))
    assert caught.value.codes == ("SW305",)
    assert "did you mean 'latency_s'?" in str(caught.value)


def test_strict_evaluator_errors_become_sweep_errors_with_their_diagnostics():
    spec = toy_spec(SPEC.replace(TOY, "test_sweep_evaluator:failing_evaluator"))
    with pytest.raises(SweepError) as caught:
        evaluate_sweep(spec, strict=True)
    assert caught.value.codes == ("S999",)


def test_evaluator_errors_become_infeasible_rows():
    frame = evaluate_sweep(toy_spec(SPEC.replace(TOY, "test_sweep_evaluator:failing_evaluator")))
    assert len(frame) == 48
    assert not frame["feasible"].any()
    assert set(frame["reason"]) == {"error[S999]: spec 'None' is broken"}
    assert frame["latency_s"].isna().all() if "latency_s" in frame else True


def test_existing_output_needs_force(tmp_path):
    out = tmp_path / "r.parquet"
    run_sweep(toy_spec(), out)
    with pytest.raises(SweepError) as caught:
        run_sweep(toy_spec(), out)
    assert caught.value.codes == ("SW201",)
    summary = run_sweep(toy_spec(), out, force=True)
    assert summary.chunks_run == 7
    assert len(read_results(out)) == 48


def test_force_refuses_to_delete_a_foreign_directory(tmp_path):
    (tmp_path / "data").mkdir()
    with pytest.raises(SweepError) as caught:
        run_sweep(toy_spec(), tmp_path / "data", force=True)
    assert caught.value.codes == ("SW203",)


def test_resume_runs_only_missing_chunks(tmp_path):
    out = tmp_path / "r.parquet"
    run_sweep(toy_spec(), out)
    expected = read_results(out)
    (out / "part-00000003.parquet").unlink()
    (out / ".part-00000004.parquet.tmp").write_bytes(b"half-written")
    summary = run_sweep(toy_spec(), out, resume=True)
    assert (summary.chunks_skipped, summary.chunks_run, summary.rows_written) == (6, 1, 7)
    assert not list(out.glob(".part-*"))
    pd.testing.assert_frame_equal(read_results(out), expected)


def test_resume_of_a_different_sweep_is_refused(tmp_path):
    out = tmp_path / "r.parquet"
    run_sweep(toy_spec(), out)
    with pytest.raises(SweepError) as caught:
        run_sweep(toy_spec(SPEC.replace("1K..64K", "1K..16K")), out, resume=True)
    assert caught.value.codes == ("SW202",)


def test_process_pool_gives_the_same_rows(tmp_path):
    run_sweep(toy_spec(), tmp_path / "serial.parquet")
    run_sweep(toy_spec(), tmp_path / "pool.parquet", executor=ProcessExecutor(2))
    pd.testing.assert_frame_equal(
        read_results(tmp_path / "pool.parquet"), read_results(tmp_path / "serial.parquet")
    )


def test_dask_local_cluster_gives_the_same_rows(tmp_path):
    distributed = pytest.importorskip("distributed")
    run_sweep(toy_spec(), tmp_path / "local.parquet")
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
    ) as cluster:
        run_sweep(
            toy_spec(), tmp_path / "dask.parquet", executor=DaskExecutor(cluster.scheduler_address)
        )
    local, remote = (
        read_results(tmp_path / "local.parquet"),
        read_results(tmp_path / "dask.parquet"),
    )
    assert len(local) == 48
    pd.testing.assert_frame_equal(remote, local)


def test_choose_executor_follows_the_cli_options():
    assert isinstance(choose_executor(1), SerialExecutor)
    assert choose_executor(3) == ProcessExecutor(3)
    assert choose_executor(2, "tcp://host:8786") == DaskExecutor("tcp://host:8786")
    with pytest.raises(SweepError):
        choose_executor(0)


SLOW = SPEC.replace("base: {workload: BERT}", "base: {workload: BERT, delay_s: '0.03'}").replace(
    "chunk_points: 7", "chunk_points: 2"
)


@pytest.mark.parametrize("kill_after_parts", [1, 7, 15], ids=["early", "middle", "late"])
def test_sigkill_then_resume_gives_exactly_the_uninterrupted_rows(tmp_path, kill_after_parts):
    spec_file = tmp_path / "slow.yaml"
    spec_file.write_text(SLOW)
    out = tmp_path / "r.parquet"
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), str(REPO)])}
    command = [sys.executable, "-m", "einsum_cascade", "sweep", str(spec_file), "--out", str(out)]
    process = subprocess.Popen([*command, "--workers", "1"], env=environment)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        if out.exists() and len(list(out.glob("part-*.parquet"))) >= kill_after_parts:
            break
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait()
    parts_before = len(list(out.glob("part-*.parquet")))
    assert 0 < parts_before < 24  # 48 points in chunks of 2: the run was cut short
    run_sweep(toy_spec(SLOW), out, resume=True)
    resumed = read_results(out)
    assert resumed["point_id"].is_unique
    pd.testing.assert_frame_equal(resumed, evaluate_sweep(toy_spec(SLOW)))
