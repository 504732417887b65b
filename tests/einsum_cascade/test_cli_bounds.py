"""Issue 15: numeric CLI options are bounded; output files are checked, and OS errors reported."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest
from typer.testing import CliRunner

from einsum_cascade.cli import _register_commands, app

TIMELOOP = Path(__file__).parents[1] / "data" / "timeloop" / "fusemax-arch-2d.yaml"
SWEEP = "version: 1\nbase: {mapping: fusemax-binding, workload: BERT}\naxes: {seq: [1K]}\n"
SEARCH = ("search", "--arch", "flat", "--cascade", "gemm", "--seq", "1K", "--extent", "M=64K",
          "--extent", "K=768", "--extent", "N=768")  # fmt: skip


def invoke(*arguments: str):
    _register_commands()
    return CliRunner().invoke(app, list(arguments))


@pytest.mark.parametrize(
    ("arguments", "option"),
    [
        # each of these ran and then crashed, looped for ever or wrote nonsense
        (("compare", "--cascade", "attention/1pass", "--repeats", "0"), "--repeats"),
        (("compare", "--cascade", "attention/1pass", "--threads", "0"), "--threads"),
        (("kernel", "run", "attention/1pass", "--seed", "-1"), "--seed"),
        (("kernel", "bench", "attention/1pass", "--repeats", "0"), "--repeats"),
        (("kernel", "bench", "attention/1pass", "--repeats", "99999999999999999999"), "--repeats"),
        (("kernel", "gen", "attention/1pass", "--unroll", "9999999999999999999"), "--unroll"),
        (("kernel", "check", "attention/1pass", "--renderer", "triton", "--stages", "0"),
         "--stages"),
        (("sweep", "SWEEP", "--chunk-points", "-1"), "--chunk-points"),
        (("sweep", "SWEEP", "--workers", "9999999999999999999"), "--workers"),
        ((*SEARCH, "--keep", "99999999999999999999"), "--keep"),
        ((*SEARCH, "--min-tile", "4294967296"), "--min-tile"),
    ],
    ids=["compare-repeats-0", "compare-threads-0", "run-seed-negative", "bench-repeats-0",
         "bench-repeats-huge", "gen-unroll-huge", "check-stages-0", "sweep-chunk-negative",
         "sweep-workers-huge", "search-keep-huge", "search-min-tile-huge"],
)  # fmt: skip
def test_out_of_range_numeric_options_are_usage_errors(tmp_path: Path, arguments, option):
    sweep = tmp_path / "s.yaml"
    sweep.write_text(SWEEP, encoding="utf-8")
    arguments = tuple(str(sweep) if a == "SWEEP" else a for a in arguments)
    result = invoke(*arguments, *(("--out", str(tmp_path / "o")) if "sweep" in arguments else ()))
    assert result.exit_code == 2, result.output
    assert option in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "o").exists()


def test_search_out_naming_a_folder_is_refused_before_searching(tmp_path: Path):
    result = invoke(*SEARCH, "--out", str(tmp_path))
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "is a folder" in result.output
    assert "cost" not in result.output  # refused before the search printed its table


def test_search_out_in_a_missing_folder_is_refused(tmp_path: Path):
    result = invoke(*SEARCH, "--out", str(tmp_path / "nope" / "best.yaml"))
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "does not exist" in result.output


@pytest.mark.parametrize(
    ("number", "reason"),
    [(errno.EROFS, "Read-only file system"), (errno.ENOSPC, "No space left on device")],
    ids=["read-only", "disk-full"],
)
@pytest.mark.parametrize(
    "command",
    [("kernel", "gen", "attention/1pass", "-o"),
     ("timeloop", "import", "TIMELOOP", "--base", "fusemax", "-o")],
    ids=["kernel-gen", "timeloop-import"],
)  # fmt: skip
def test_a_failing_write_is_a_diagnostic_with_the_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, number: int, reason: str, command
) -> None:
    # root writes into read-only folders and the disk is not full here: the OS error is
    # raised by the write itself, as the filesystem would
    def refuse(self: Path, *args: object, **kwargs: object) -> int:
        raise OSError(number, reason, str(self))

    arguments = [str(TIMELOOP) if a == "TIMELOOP" else a for a in command]
    out = tmp_path / "out.yaml"
    monkeypatch.setattr(Path, "write_text", refuse)
    result = invoke(*arguments, str(out))
    assert result.exit_code == 1, result.output
    assert f"cannot write {out}: {reason}" in result.output
    assert "Traceback" not in result.output


def test_a_bad_evaluator_option_is_located_at_the_option_not_the_file(tmp_path: Path):
    sweep = tmp_path / "s.yaml"
    sweep.write_text(SWEEP.replace("version: 1\n", "version: 1\nevaluator: cost\n"))
    result = invoke("sweep", str(sweep), "--out", str(tmp_path / "o"), "--evaluator", ":")
    assert result.exit_code == 1
    assert "<--evaluator :>:1:1: error[SW302]" in result.output
    assert "s.yaml" not in result.output
