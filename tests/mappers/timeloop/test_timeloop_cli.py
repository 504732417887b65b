"""``timeloop export|import`` from the command line: an exact round trip (issue 12 #12)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from typer.testing import CliRunner

from einsum_cascade.cli import _register_commands, app
from mappers.hardware.spec_loader import load_spec
from mappers.hardware.spec_writer import spec_to_yaml

_register_commands()
RUNNER = CliRunner()
DATA = Path(__file__).parents[2] / "data" / "timeloop"


def run(*args: str) -> tuple[int, str]:
    result = RUNNER.invoke(app, list(args))
    return result.exit_code, result.output


def same_hardware(a: object, b: object) -> bool:
    keep = ("clock_hz", "word_bytes", "levels", "arrays", "cost_tables")
    return all(getattr(a, f) == getattr(b, f) for f in keep)


@pytest.mark.parametrize("name", ["fusemax", "flat", "fusemax-edge"])
def test_export_then_import_gives_back_the_spec_with_every_array(tmp_path: Path, name: str) -> None:
    code, output = run("timeloop", "export", "--arch", name, "-o", str(tmp_path / "tl"))
    assert code == 0, output
    assert sorted(p.name for p in (tmp_path / "tl").iterdir()) == [
        "arch-1-pe2d.yaml",
        "arch-2-pe1d.yaml",
    ]
    spec_file = tmp_path / "mine.yaml"
    code, output = run(
        "timeloop", "import", str(tmp_path / "tl"), "--base", name, "-o", str(spec_file)
    )
    assert code == 0, output
    assert f"use it with --arch {spec_file}" in output
    imported, original = load_spec(spec_file), load_spec(name)
    assert [a.name for a in imported.arrays] == ["pe2d", "pe1d"]
    assert same_hardware(imported, original)


def test_an_imported_spec_runs_the_model_as_the_original(tmp_path: Path) -> None:
    # the artifact's own Timeloop files of FuseMax, with energies from the built-in spec
    spec_file = tmp_path / "fusemax-artifact.yaml"
    code, output = run(
        "timeloop", "import", str(DATA / "fusemax-arch-2d.yaml"),
        str(DATA / "fusemax-arch-1d.yaml"), "--base", "fusemax", "-o", str(spec_file),
    )  # fmt: skip
    assert code == 0, output
    model = ["model", "--mapping", "fusemax-binding", "--workload", "BERT", "--seq", "4K"]
    code, ours = run(*model, "--arch", str(spec_file), "--json")
    assert code == 0, ours
    _, theirs = run(*model, "--arch", "fusemax", "--json")
    import json

    # equal up to the clock, which the file gives as a rounded cycle time
    assert json.loads(ours)["metrics"] == pytest.approx(json.loads(theirs)["metrics"], rel=1e-9)


def test_spec_writer_round_trips_every_built_in_spec() -> None:
    from mappers.hardware.spec_loader import available_specs, spec_from_text

    for name in available_specs():
        spec = load_spec(name)
        assert spec_from_text(spec_to_yaml(spec)) == dataclasses.replace(spec)


def test_import_refuses_to_replace_a_file_and_reports_a_missing_one(tmp_path: Path) -> None:
    mine = tmp_path / "mine.yaml"
    mine.write_text("precious")
    code, output = run("timeloop", "import", str(DATA / "flat-arch-2d.yaml"), "-o", str(mine))
    assert code == 1 and "exists; pass --force" in output and mine.read_text() == "precious"
    missing = tmp_path / "nope.yaml"
    code, output = run("timeloop", "import", str(missing), "-o", str(tmp_path / "x.yaml"))
    assert code == 1 and "Traceback" not in output and "nope.yaml" in output
