"""Sweeps that never die (issue 12) and hardened sweep inputs and outputs (issue 15)."""

import json
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from einsum_cascade.cli import app
from einsum_cascade.diagnostics import SourceSpan
from mappers.errors import MappingError
from mappers.sweep.errors import SweepError
from mappers.sweep.run import evaluate_sweep, run_sweep
from mappers.sweep.spec import load_sweep, sweep_from_text
from mappers.sweep.store import MANIFEST, open_store, read_provenance, read_results

HERE = Path(__file__).parent
REPO = HERE.parents[2]
TOY = "test_sweep_evaluator:toy_roofline"
L3_AXIS = "L3.size_bytes=[4KiB,16MiB]"
COST = ("--base", "mapping=fusemax-binding", "--axis", "workload=[BERT]", "--axis", "seq=[64K]")

TOY_SPEC = f"""\
version: 1
name: toy
evaluator: {TOY}
base: {{workload: BERT, infeasible_from_seq: '16384'}}
axes:
  seq: [1K, 4K, 16K, 64K]
  clock_hz: [1e9, 2e9]
chunk_points: 3
"""


@pytest.fixture(autouse=True)
def _commands(monkeypatch):
    from einsum_cascade.cli import _register_commands

    monkeypatch.syspath_prepend(str(HERE))
    _register_commands()


def invoke(*arguments: str):
    return CliRunner().invoke(app, list(arguments))


def test_diagnostic_errors_survive_pickling():
    error = MappingError.single("M401", "no tile", SourceSpan.point("f.yaml", 3, 4, "a\nb\nc"))
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is MappingError
    assert again.diagnostics == error.diagnostics
    assert str(again) == str(error)


def test_infeasible_point_is_a_row_located_at_the_axis_value(tmp_path):
    out = tmp_path / "t.parquet"
    result = invoke("sweep", *COST, "--axis", L3_AXIS, "--out", str(out), "--workers", "2")
    assert result.exit_code == 0, result.output
    frame = read_results(out)
    assert frame["feasible"].tolist() == [False, True]
    reason = frame["reason"][0]
    assert reason.startswith("<--axis L3.size_bytes>:1:2: error[M401]: no tile of P fits")
    assert "(4096 bytes)" in reason
    assert pd.isna(frame["latency_s"][0]) and frame["latency_s"][1] > 0


def test_strict_stops_at_the_first_failure_located_and_leaves_no_output(tmp_path):
    out = tmp_path / "t.parquet"
    result = invoke(
        "sweep", *COST, "--axis", L3_AXIS, "--out", str(out), "--workers", "1", "--strict"
    )
    assert result.exit_code == 1
    assert "<--axis L3.size_bytes>:1:2: error[M401]" in result.output
    assert "Traceback" not in result.output
    assert not out.exists()


def test_infeasible_points_keep_the_feasible_rows_of_their_block():
    frame = evaluate_sweep(sweep_from_text(TOY_SPEC))
    assert frame["point_id"].tolist() == list(range(8))
    assert frame["feasible"].tolist() == [True] * 4 + [False] * 4
    assert set(frame["reason"][4:]) == {
        "<string>:6:17: error[T401]: seq 16384 and above does not fit",
        "<string>:6:22: error[T401]: seq 16384 and above does not fit",
    }


def test_a_failing_point_is_found_among_the_others():
    text = TOY_SPEC.replace("infeasible_from_seq: '16384'", "broken_seq: '4096'")
    frame = evaluate_sweep(sweep_from_text(text))
    assert frame["feasible"].tolist() == [True, True, False, False, True, True, True, True]
    assert frame["reason"][2] == "error[SW310]: evaluator '" + TOY + (
        "' failed: ValueError: cannot evaluate seq 4096"
    )


def test_unknown_metric_under_a_process_pool_is_a_diagnostic(tmp_path):
    out = tmp_path / "w.parquet"
    spec = REPO / "examples" / "sweeps" / "pe-size.yaml"
    result = invoke("sweep", str(spec), "--out", str(out), "--metric", "nope", "--workers", "2")
    assert result.exit_code == 1
    assert "error[SW304]: evaluator 'cost' gives no metric 'nope'" in result.output
    assert "BrokenProcessPool" not in result.output
    assert not out.exists()  # a sweep that fails leaves no output behind


def test_a_sweep_without_axes_is_one_point(tmp_path):
    out = tmp_path / "one.parquet"
    result = invoke(
        "sweep", "--base", "mapping=fusemax-binding", "--base", "workload=BERT",
        "--base", "seq=4K", "--out", str(out), "--workers", "1",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    frame = read_results(out)
    assert len(frame) == 1 and frame["feasible"][0]


def test_base_arch_is_used_and_unknown_settings_are_errors(tmp_path):
    flat = invoke(
        "sweep", *COST, "--base", "arch=flat", "--out", str(tmp_path / "a.parquet"),
        "--workers", "1",
    )  # fmt: skip
    assert flat.exit_code == 0, flat.output
    record = read_provenance(tmp_path / "a.parquet")
    assert record["groups"][0]["arch"]["name"] == "flat"
    typo = invoke("sweep", *COST, "--base", "achr=flat", "--out", str(tmp_path / "b.parquet"))
    assert typo.exit_code == 1
    assert "error[SW113]: evaluator 'cost' has no setting 'achr'" in typo.output
    assert "did you mean 'arch'?" in typo.output
    assert not (tmp_path / "b.parquet").exists()


def test_a_builtin_workload_needs_a_sequence_length():
    text = "version: 1\nevaluator: cost\nbase: {mapping: fusemax-binding, workload: BERT}\n"
    with pytest.raises(SweepError) as caught:
        evaluate_sweep(sweep_from_text(text + "axes:\n  B: [1, 2]\n"))
    assert caught.value.codes == ("SW308",)


@pytest.mark.parametrize("name", [":", "a:", ":b"])
def test_malformed_evaluator_paths_are_diagnostics(tmp_path, name):
    result = invoke("sweep", "--evaluator", name, "--axis", "seq=[1K]", "--out",
                    str(tmp_path / "e.parquet"))  # fmt: skip
    assert result.exit_code == 1
    assert "error[SW302]" in result.output


def test_an_unreachable_scheduler_is_a_diagnostic(tmp_path):
    result = invoke("sweep", "--evaluator", TOY, "--axis", "seq=[1K]", "--scheduler",
                    "tcp://127.0.0.1:1", "--out", str(tmp_path / "d.parquet"))  # fmt: skip
    assert result.exit_code == 1
    assert "error[SW210]: cannot reach the Dask scheduler at 'tcp://127.0.0.1:1'" in result.output


def test_point_counts_are_limited_before_anything_is_allocated(tmp_path):
    huge = invoke("sweep", "--evaluator", TOY, "--axis", "B=1..1000000000000", "--out",
                  str(tmp_path / "h.parquet"))  # fmt: skip
    assert huge.exit_code == 1 and "error[SW111]" in huge.output
    product = invoke(
        "sweep", "--evaluator", TOY, "--axis", "B=1..100000", "--axis", "H=1..100000",
        "--axis", "E=1..100000", "--out", str(tmp_path / "p.parquet"),
    )  # fmt: skip
    assert product.exit_code == 1
    assert "error[SW114]: the sweep has 1,000,000,000,000,000 points" in product.output


def test_force_replaces_only_a_sweep_output(tmp_path):
    precious = tmp_path / "existing.txt"
    precious.write_text("mine")
    result = invoke("sweep", "--evaluator", TOY, "--axis", "seq=[1K]", "--out", str(precious),
                    "--force")  # fmt: skip
    assert result.exit_code == 1 and "error[SW203]" in result.output
    assert precious.read_text() == "mine"


def test_force_through_a_symlink_replaces_the_output_it_points_to(tmp_path):
    real = tmp_path / "real.parquet"
    run_sweep(sweep_from_text(TOY_SPEC), real)
    link = tmp_path / "link.parquet"
    link.symlink_to(real)
    result = invoke("sweep", "--evaluator", TOY, "--axis", "seq=[1K]", "--out", str(link),
                    "--force", "--workers", "1")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and len(read_results(real)) == 1
    file_link = tmp_path / "file-link"
    file_link.symlink_to(tmp_path / "missing")
    dangling = invoke("sweep", "--evaluator", TOY, "--axis", "seq=[1K]", "--out",
                      str(file_link), "--force")  # fmt: skip
    assert dangling.exit_code == 1 and "error[SW203]" in dangling.output


def test_a_running_sweep_locks_its_output(tmp_path):
    out = tmp_path / "r.parquet"
    spec = sweep_from_text(TOY_SPEC)
    held = open_store(out, "f", 3, {}, resume=False, force=False)
    in_flight = out / ".part-00000001.parquet.tmp"
    in_flight.write_bytes(b"being written")
    for options in ({"resume": True}, {"force": True}):
        with pytest.raises(SweepError) as caught:
            run_sweep(spec, out, **options)
        assert caught.value.codes == ("SW208",)
    assert in_flight.read_bytes() == b"being written"
    held.close()


def test_resume_refuses_a_sweep_whose_files_changed(tmp_path):
    mapping = tmp_path / "m.yaml"
    source = REPO / "mappers" / "data" / "mappings" / "fusemax-binding.yaml"
    mapping.write_text(source.read_text())
    text = (
        "version: 1\nevaluator: cost\nbase: {mapping: m.yaml, workload: BERT}\n"
        "axes:\n  seq: [1K, 4K]\n"
    )
    spec_file = tmp_path / "s.yaml"
    spec_file.write_text(text)
    out = tmp_path / "r.parquet"
    arguments = ("sweep", str(spec_file), "--out", str(out), "--workers", "1")
    assert invoke(*arguments).exit_code == 0
    assert invoke(*arguments, "--resume").exit_code == 0
    mapping.write_text(source.read_text().replace("spill_fraction", "spill_fraction") + "\n# x\n")
    refused = invoke(*arguments, "--resume")
    assert refused.exit_code == 1 and "error[SW202]" in refused.output


def test_provenance_is_in_the_manifest_the_parts_and_sweep_info(tmp_path):
    out = tmp_path / "p.parquet"
    assert invoke("sweep", *COST, "--out", str(out), "--workers", "1").exit_code == 0
    manifest = json.loads((out / MANIFEST).read_text())
    record = manifest["provenance"]
    assert record == read_provenance(next(out.glob("part-*.parquet")))
    assert record["package_version"] and record["git_revision"]
    group = record["groups"][0]
    assert group["mapping"]["name"] == "fusemax-binding"
    assert group["arch"]["name"] == "fusemax"
    assert group["table"] == "default"
    assert group["cascade"]["text"].startswith("cascade attention_1pass")
    assert any(path.endswith("fusemax.yaml") for path in record["files"])
    info = invoke("sweep", "info", str(out))
    assert info.exit_code == 0, info.output
    assert "git revision" in info.output and "cascade attention_1pass" in info.output


SLOW = f"""\
version: 1
name: slow
evaluator: {TOY}
base: {{workload: BERT, delay_s: '0.03', infeasible_from_seq: '16384'}}
axes:
  workload: [BERT, XLM]
  seq: 1K..64K x4
  pe2d.shape: [[16, 16], [32, 32], [64, 64]]
  clock_hz: [1e9, 2e9]
chunk_points: 2
"""


def _run_in_background(tmp_path, workers):
    spec_file = tmp_path / "slow.yaml"
    spec_file.write_text(SLOW)
    out = tmp_path / "r.parquet"
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), str(REPO)])}
    command = [sys.executable, "-m", "einsum_cascade", "sweep", str(spec_file), "--out", str(out)]
    process = subprocess.Popen([*command, "--workers", str(workers)], env=environment)
    return process, out


def _wait_for_parts(process, out, count):
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        if out.exists() and len(list(out.glob("part-*.parquet"))) >= count:
            return
        time.sleep(0.005)


def test_sigkill_with_infeasible_points_then_resume_gives_the_uninterrupted_rows(tmp_path):
    process, out = _run_in_background(tmp_path, 1)
    _wait_for_parts(process, out, 9)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert 0 < len(list(out.glob("part-*.parquet"))) < 24
    spec = load_sweep(tmp_path / "slow.yaml")
    run_sweep(spec, out, resume=True)
    resumed = read_results(out)
    expected = evaluate_sweep(spec)
    assert (~expected["feasible"]).sum() == 24  # 16K and 64K of every combination
    pd.testing.assert_frame_equal(resumed, expected)


def _children(pid):
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc to find the workers")
def test_pool_workers_exit_when_the_sweep_is_killed(tmp_path):
    process, out = _run_in_background(tmp_path, 2)
    _wait_for_parts(process, out, 2)
    workers = _children(process.pid)
    assert workers
    process.send_signal(signal.SIGKILL)
    process.wait()
    deadline = time.monotonic() + 30
    alive = workers
    while alive and time.monotonic() < deadline:
        time.sleep(0.05)
        alive = [pid for pid in workers if Path(f"/proc/{pid}").exists() and not _zombie(pid)]
    assert alive == []


def _zombie(pid):
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return False
