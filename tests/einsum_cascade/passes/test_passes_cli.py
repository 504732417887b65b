"""The ``passes`` command as a user runs it: counts, detail tables, JSON and errors."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from einsum_cascade import count_passes, library
from einsum_cascade.cli import _register_commands, app

_register_commands()
RUNNER = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = RUNNER.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_passes_over_m1_prints_one_pass_with_detail() -> None:
    code, out, _ = run("passes", "attention/1pass", "--rank", "M1")
    assert code == 0
    assert out.startswith("attention_1pass: 1 pass over M1")
    assert "pass of every einsum" in out
    assert "tensors read over M1" in out


def test_passes_over_m0_prints_two_passes_and_the_barrier() -> None:
    code, out, _ = run("passes", "attention/1pass", "--rank", "M0")
    assert code == 0
    assert out.startswith("attention_1pass: 2 passes over M0")
    assert "fiber of M0" in out  # BQK is read in passes 1 and 2
    assert "barriers: RM -> SLN" in out


def test_passes_json_matches_the_report() -> None:
    code, out, _ = run("passes", "attention/3pass", "--rank", "M", "--json")
    assert code == 0
    assert json.loads(out) == count_passes(library.load("attention/3pass"), "M").to_dict()


def test_passes_over_a_shared_sequence() -> None:
    code, out, _ = run(
        "passes", "attention/3pass-deferred", "--rank", "M", "--same-sequence", "P", "--json"
    )
    assert code == 0
    assert json.loads(out)["num_passes"] == 2
    assert json.loads(out)["rank"] == "M+P"


def test_passes_of_a_user_file(tmp_path: Path) -> None:
    file = tmp_path / "mine.cascade"
    file.write_text(library.path("attention/3pass").read_text(encoding="utf-8"))
    code, out, _ = run("passes", str(file), "--rank", "M")
    assert code == 0
    assert out.startswith("attention_3pass: 3 passes over M")


def test_passes_unknown_rank_exits_1_with_a_hint() -> None:
    code, _, err = run("passes", "attention/1pass", "--rank", "M2")
    assert code == 1
    assert "error[P101]: cascade 'attention_1pass' has no rank 'M2'" in err
    assert "hint:" in err
    assert "Traceback" not in err


def test_passes_needs_a_rank() -> None:
    code, _, _ = run("passes", "attention/1pass")
    assert code == 2
