"""The language commands as a user runs them: exit codes, output and located errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from einsum_cascade.cli import _register_commands, app

_register_commands()
RUNNER = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = RUNNER.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_check_library_cascade() -> None:
    code, out, _ = run("check", "attention/1pass")
    assert code == 0
    assert out.startswith("ok: attention_1pass: 14 einsums")
    assert "iterative over M1" in out


def test_check_reports_typo_with_location_and_suggestion(tmp_path: Path) -> None:
    source = Path(__file__).parents[2] / "einsum_cascade/library/attention/3pass.cascade"
    bad = tmp_path / "typo.cascade"
    bad.write_text(source.read_text().replace("* K[e, m]", "* Kk[e, m]"))
    code, _out, err = run("check", str(bad))
    assert code == 1
    assert f"{bad}:7:22: error[E201]: unknown tensor 'Kk'" in err
    assert "hint: did you mean 'K'?" in err
    assert "Traceback" not in err
    assert bad.read_text().count("Kk") == 1  # the user's file is untouched


def test_counts_with_shape_prints_totals_json() -> None:
    code, out, _ = run("counts", "attention/3pass", "--shape", "E=64,F=64,M=1K,P=1K", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["per_einsum"]["QK"] == {"mac": 64 * 1024 * 1024}
    assert data["totals"]["mac"] == 2 * 64 * 1024 * 1024  # QK and AV


def test_counts_symbolic() -> None:
    code, out, _ = run("counts", "attention/3pass", "--json")
    assert code == 0
    assert json.loads(out)["per_einsum"]["GM"] == {"max": "M*P"}


@pytest.mark.parametrize("flag", ["--dot", "--text", "--yaml", "--json"])
def test_show_formats(flag: str) -> None:
    code, out, _ = run("show", "attention/1pass", flag)
    assert code == 0
    assert "RNV" in out


def test_list_names_every_library_cascade() -> None:
    code, out, _ = run("list", "--json")
    assert code == 0
    names = {row["name"] for row in json.loads(out)}
    assert {"attention/1pass", "attention/3pass-causal"} <= names


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["check", "attention/nope"], 1),
        (["check", "missing-file.cascade"], 1),
        (["counts", "attention/3pass", "--shape", "E"], 2),
        (["counts", "attention/3pass", "--shape", "Q=64"], 1),
        (["nonsense-command"], 2),
    ],
    ids=["unknown-name", "missing-file", "bad-shape-syntax", "shape-not-a-rank", "bad-command"],
)
def test_exit_codes(args: list[str], code: int) -> None:
    exit_code, _, err = run(*args)
    assert exit_code == code
    assert "Traceback" not in err


def test_python_dash_m_entry_point() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "einsum_cascade", "check", "attention/3pass"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok: attention_3pass")
