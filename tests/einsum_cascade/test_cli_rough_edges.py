"""The rough edges a new user hit (issue 12): version, help labels, plurals, show, counts."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from einsum_cascade.cli import _register_commands, app

_register_commands()
RUNNER = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = RUNNER.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_counts_at_a_shape_when_a_count_is_a_bare_rank() -> None:
    # Y = A * B over K counts K macs: substituting K = 8 used to leave a plain int
    code, out, err = run("counts", "pedagogy/cascade1", "--shape", "K=8", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["per_einsum"] == {"Y": {"mac": 8}, "Z": {"mac": 8}}
    assert data["totals"] == {"mac": 16}


def test_version_flag_prints_the_package_version() -> None:
    code, out, _ = run("--version")
    assert code == 0
    assert out.startswith("einsum-cascade ")
    assert out.split()[1][0].isdigit() or out.split()[1] == "unknown"


def test_flags_in_help_carry_no_type_label() -> None:
    code, out, _ = run("counts", "--help")
    assert code == 0
    assert "<bool>" not in out
    assert "--json" in out


def test_check_says_one_einsum_not_one_einsums(tmp_path: Path) -> None:
    source = tmp_path / "one.cascade"
    source.write_text("cascade one\nrank K\ninput A[K]\noutput Y\nY = A[k]\n")
    code, out, _ = run("check", str(source))
    assert code == 0
    assert "1 einsum," in out and "2 tensors" in out


def test_show_keeps_the_indices_rich_would_read_as_markup() -> None:
    code, out, _ = run("show", "attention/1pass")
    assert code == 0
    assert "PRM[m1, p] = exp(RM[m1, p] - RM[m1 + 1, p])" in out
    assert "RNV[f, m1 + 1, p] = SLNV[f, m1, p] + SPNV[f, m1, p]" in out
