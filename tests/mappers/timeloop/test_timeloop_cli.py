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


def test_a_spec_with_its_own_array_names_round_trips(tmp_path: Path) -> None:
    # arrays named tensor and vector, not pe2d and pe1d: export names the containers after
    # them (tensor_cols, tensor_rows), and import finds the array again by that name
    from mappers.hardware.spec_loader import spec_path

    text = spec_path("fusemax").read_text().replace("pe2d", "tensor").replace("pe1d", "vector")
    own = tmp_path / "own.yaml"
    own.write_text(text.replace("name: fusemax", "name: own", 1))
    code, output = run("timeloop", "export", "--arch", str(own), "-o", str(tmp_path / "tl"))
    assert code == 0, output
    back = tmp_path / "back.yaml"
    code, output = run(
        "timeloop", "import", str(tmp_path / "tl"), "--base", str(own), "-o", str(back)
    )
    assert code == 0, output  # was S304: the base spec 'own' has no array 'pe2d'
    imported, original = load_spec(back), load_spec(own)
    assert [a.name for a in imported.arrays] == ["tensor", "vector"]
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


# ---- one mapped einsum: problem, mapping and architecture (issue 12 #12) ----


def _yaml(path: Path) -> dict:
    import yaml

    return yaml.safe_load(path.read_text())


@pytest.fixture(scope="module")
def bqk_export(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("export") / "tl"
    code, output = run(
        "timeloop", "export", "--arch", "fusemax", "--mapping", "fusemax-binding",
        "--workload", "BERT", "--seq", "4K", "--einsum", "BQK", "-o", str(out),
    )  # fmt: skip
    assert code == 0, output
    return out, output


def test_mapped_einsum_export_writes_problem_mapping_and_architecture(bqk_export) -> None:
    out, output = bqk_export
    assert sorted(p.name for p in out.iterdir()) == [
        "architecture.yaml",
        "mapping.yaml",
        "problem.yaml",
    ]
    label = "BERT (B=64 H=12 E=64 F=64 D=768 S=3072 M=4K P=4K)"
    assert label in output and "problem bounds B=64 H=12 M1=16 M0=256 P=4096 E=64" in output
    for path in out.iterdir():  # every file says what it is and at which extents
        head = path.read_text().splitlines()[:2]
        assert head == [
            "# einsum BQK of attention_1pass under fusemax-binding on fusemax",
            f"# extents: {label}",
        ]


def test_problem_dimensions_and_bounds_are_the_workload_extents(bqk_export) -> None:
    out, _ = bqk_export
    problem = _yaml(out / "problem.yaml")["problem"]
    assert str(problem["version"]) == "0.4"
    dimensions, instance = problem["shape"]["dimensions"], problem["instance"]
    assert list(instance) == dimensions
    workload = {"B": 64, "H": 12, "E": 64, "P": 4096}
    assert {rank: instance[rank] for rank in workload} == workload
    assert instance["M1"] * instance["M0"] == 4096  # M, split by the mapping's M0 = 256
    for space in problem["shape"]["data_spaces"]:
        used = {rank for index in space["projection"] for term in index for rank in term[:1]}
        assert used <= set(dimensions), space["name"]
    assert [s["name"] for s in problem["shape"]["data_spaces"] if s.get("read_write")] == ["BQK"]


def test_mapping_factors_multiply_to_the_bounds_and_name_architecture_levels(bqk_export) -> None:
    out, _ = bqk_export
    instance = _yaml(out / "problem.yaml")["problem"]["instance"]
    entries = _yaml(out / "mapping.yaml")["mapping"]
    product = dict.fromkeys(instance, 1)
    for entry in entries:
        for factor in entry.get("factors", []):
            rank, value = factor.split("=")
            product[rank] *= int(value)
        if entry["type"] in ("temporal", "spatial"):
            assert sorted(entry["permutation"]) == sorted(instance)
    assert product == instance
    names = {node["name"] for node in _yaml_tagged(out / "architecture.yaml")}
    assert {entry["target"] for entry in entries} <= names
    # one mesh axis per container: the rows container maps every loop to meshY (split 0)
    splits = {e["target"]: e["split"] for e in entries if e["type"] == "spatial"}
    assert splits == {"pe2d_cols": len(instance), "pe2d_rows": 0}


def _yaml_tagged(path: Path) -> list[dict]:
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    for tag in ("!Container", "!Component"):
        Loader.add_constructor(tag, lambda loader, node: loader.construct_mapping(node))
    return yaml.load(path.read_text(), Loader=Loader)["architecture"]["nodes"]


def test_importing_the_mapped_export_gives_back_its_architecture(bqk_export, tmp_path) -> None:
    out, _ = bqk_export
    spec_file = tmp_path / "back.yaml"
    code, output = run("timeloop", "import", str(out), "--base", "fusemax", "-o", str(spec_file))
    assert code == 0, output  # the folder's problem and mapping files are not architectures
    back, original = load_spec(spec_file), load_spec("fusemax")
    assert back.levels == original.levels
    assert back.arrays == (original.array("pe2d"),)
    assert (back.clock_hz, back.word_bytes) == (original.clock_hz, original.word_bytes)


def test_a_workload_file_sets_the_bounds_and_its_batch_ranks(tmp_path: Path) -> None:
    workload = tmp_path / "tiny.yaml"
    workload.write_text("version: 1\nname: tiny\nextents: {E: 32, F: 64, M: 1K, P: 512}\n"
                        "batch_ranks: []\n")  # fmt: skip
    out = tmp_path / "tl"
    code, output = run("timeloop", "export", "--arch", "fusemax", "--mapping",
                       "fusemax-binding", "--workload", str(workload), "--einsum", "SLNV",
                       "-o", str(out))  # fmt: skip
    assert code == 0, output
    instance = _yaml(out / "problem.yaml")["problem"]["instance"]
    assert instance == {"F": 64, "M1": 4, "P": 512, "M0": 256}
    assert "tiny (E=32 F=64 M=1K P=512; batch -)" in (out / "mapping.yaml").read_text()


def test_mapped_export_mistakes_are_diagnostics(tmp_path: Path) -> None:
    out = tmp_path / "tl"
    mapped = ("timeloop", "export", "--arch", "fusemax", "--mapping", "fusemax-binding")
    code, output = run(*mapped, "-o", str(out))
    assert code == 2 and "give --einsum, one of BQK, LM, SLD, SLNV, SPD, SPNV" in output
    code, output = run(*mapped, "--einsum", "RM", "-o", str(out))
    assert code == 1 and "attention/1pass.cascade:17:1: error[M510]" in output
    assert "Timeloop cannot project index 'm1 + 1' of tensor 'RM'" in output
    code, output = run(*mapped, "--einsum", "BQ", "-o", str(out))
    assert code == 1 and "error[M508]" in output and "did you mean 'BQK'" in output
    code, output = run("timeloop", "export", "--arch", "fusemax", "--einsum", "BQK", "-o",
                       str(out))  # fmt: skip
    assert code == 2 and "--einsum needs --mapping" in output
    code, output = run("timeloop", "export", "--arch", "fusemax", "--seq", "4K", "--workload",
                       "BERT", "-o", str(out))  # fmt: skip
    assert code == 2 and "--workload, --seq need --mapping" in output  # not silently ignored
    assert not out.exists() and "Traceback" not in output
