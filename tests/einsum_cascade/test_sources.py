"""The one cascade resolver: library names, former names, files, and their errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from einsum_cascade import DiagnosticError, LibraryError, load_cascade, to_text, to_yaml
from einsum_cascade.cli import _register_commands, app

_register_commands()


def test_library_name_and_former_name_are_the_same_cascade() -> None:
    assert load_cascade("gemm") == load_cascade("linear/gemm")
    assert load_cascade("gemm").name == "gemm"


def test_a_file_path_resolves_by_suffix(tmp_path: Path) -> None:
    cascade = load_cascade("attention/3pass")
    text_file = tmp_path / "mine.cascade"
    text_file.write_text(to_text(cascade))
    yaml_file = tmp_path / "mine.yaml"
    yaml_file.write_text(to_yaml(cascade))
    assert load_cascade(str(text_file)) == cascade
    assert load_cascade(yaml_file) == cascade
    assert load_cascade(str(text_file)).source_file == str(text_file)


def test_an_existing_file_wins_over_a_library_name(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("gemm").write_text("cascade mine\nrank K\ninput A[K]\nY[] = A[k]\n")
    assert load_cascade("gemm").name == "mine"


def test_unknown_name_suggests_a_library_name() -> None:
    with pytest.raises(LibraryError) as caught:
        load_cascade("attention/1pas")
    assert caught.value.codes == ("E501",)
    assert "did you mean 'attention/1pass'" in str(caught.value)


def test_missing_file_is_e001(tmp_path: Path) -> None:
    with pytest.raises(DiagnosticError) as caught:
        load_cascade(str(tmp_path / "absent.cascade"))
    assert caught.value.codes == ("E001",)


@pytest.mark.parametrize("name", ["gemm", "linear/gemm"])
def test_check_resolves_gemm(name: str) -> None:
    result = CliRunner().invoke(app, ["check", name])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("ok: gemm: 1 einsum")
