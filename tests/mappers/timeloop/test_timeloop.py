"""Timeloop v4: import the FuseMax artifact's architecture files, export one einsum."""

from pathlib import Path

import pytest
import yaml

import einsum_cascade.library as library
from mappers.cost.model import build_cost_model, evaluate_design_points
from mappers.errors import MappingError, SpecError
from mappers.hardware.spec_loader import load_spec
from mappers.mapping.loader import load_mapping
from mappers.timeloop.reader import import_timeloop_arch
from mappers.timeloop.writer import timeloop_documents, write_timeloop
from mappers.workloads import get_workload

DATA = Path(__file__).parents[2] / "data" / "timeloop"
FUSEMAX_FILES = [DATA / "fusemax-arch-2d.yaml", DATA / "fusemax-arch-1d.yaml"]
ONE_PASS = library.load("attention/1pass")


@pytest.fixture(scope="module")
def imported():
    return import_timeloop_arch(FUSEMAX_FILES, load_spec("fusemax"), "fusemax-timeloop")


def test_import_reads_structure(imported):
    # global_cycle_seconds 1.0638297873e-9 -> 940 MHz; L3: 32768 rows x 4096 bit = 16 MiB
    assert imported.clock_hz == pytest.approx(940e6)
    assert imported.level("L3").size_bytes == 32768 * 4096 / 8
    assert imported.level("L3").access_bits == 4096
    assert imported.array("pe2d").shape == (256, 256)  # meshY 256 (PE) x meshX 256 (PE_col)
    assert imported.array("pe2d").register_words_per_pe == 16  # reg_file depth 16
    assert imported.array("pe1d").shape == (256,)
    assert imported.array("pe1d").register_words_per_pe == 32
    assert "reg_file_1d" in imported.description  # storage outside the arrays: not modelled


def test_imported_spec_costs_like_the_builtin(imported):
    mapping = load_mapping("fusemax-binding")
    point = get_workload("BERT", "1K").extents()
    ours = evaluate_design_points(build_cost_model(ONE_PASS, imported, mapping, "artifact"), point)
    builtin = load_spec("fusemax")
    ref = evaluate_design_points(build_cost_model(ONE_PASS, builtin, mapping, "artifact"), point)
    # [max(E+1, F+1+F/M1) + F + 9] * c0 = 154 * 12288 cycles (test_cost_first_principles)
    assert float(ours["latency_cycles"]) == pytest.approx(1892352)
    assert float(ours["energy_pj"]) == pytest.approx(float(ref["energy_pj"]))


def test_files_that_disagree_are_a_located_error():
    # the artifact's baseline 1D file declares a different L3 than its 2D file
    files = [DATA / "flat-arch-2d.yaml", DATA / "flat-arch-1d.yaml"]
    with pytest.raises(SpecError) as info:
        import_timeloop_arch(files, load_spec("flat"))
    assert info.value.codes == ("S307",)
    assert info.value.diagnostics[0].span.file.endswith("flat-arch-1d.yaml")


def test_level_missing_from_base_spec(tmp_path):
    text = (DATA / "fusemax-arch-1d.yaml").read_text().replace("name: L3", "name: GLB")
    path = tmp_path / "arch.yaml"
    path.write_text(text)
    with pytest.raises(SpecError) as info:
        import_timeloop_arch(path, load_spec("fusemax"))
    assert info.value.codes == ("S306",)
    assert info.value.diagnostics[0].span.line > 1


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    docs = timeloop_documents(
        ONE_PASS,
        load_spec("fusemax"),
        load_mapping("fusemax-binding"),
        "BQK",
        get_workload("BERT", "4K").extents(),
    )
    folder = tmp_path_factory.mktemp("timeloop")
    write_timeloop(docs, folder)
    return docs, folder


def test_export_problem(exported):
    docs, _ = exported
    shape = docs["problem"]["problem"]["shape"]
    assert shape["dimensions"] == ["B", "H", "M1", "M0", "P", "E"]
    spaces = {s["name"]: s for s in shape["data_spaces"]}
    assert spaces["BK"]["projection"] == [[["B"]], [["H"]], [["E"]], [["M1"]], [["M0"]]]
    assert spaces["BQK"]["read_write"] is True
    # M1 = 4096 / 256 = 16
    assert docs["problem"]["problem"]["instance"] == {
        "B": 64, "H": 12, "M1": 16, "M0": 256, "P": 4096, "E": 64
    }  # fmt: skip


def test_export_mapping_factors_multiply_to_the_instance(exported):
    docs, _ = exported
    instance = docs["problem"]["problem"]["instance"]
    product = dict.fromkeys(instance, 1)
    for entry in docs["mapping"]["mapping"]:
        for factor in entry.get("factors", []):
            rank, value = factor.split("=")
            product[rank] *= int(value)
    assert product == instance
    temporal = {
        e["target"]: e["factors"] for e in docs["mapping"]["mapping"] if e["type"] == "temporal"
    }
    # P1 rule at 4K: P/256 = 16 query tiles fit L3 -> P1 = 16 at L3, P0 = 1 at DRAM
    assert "P=16" in temporal["L3"] and "P=1" in temporal["DRAM"]
    assert "M1=16" in temporal["DRAM"]  # key tiles stream from DRAM, innermost there


def test_exported_architecture_imports_back(exported):
    _, folder = exported
    spec = load_spec("fusemax")
    text = (folder / "architecture.yaml").read_text()
    assert "!Component" in text and "!Container" in text
    back = import_timeloop_arch(folder / "architecture.yaml", spec)
    assert back.clock_hz == pytest.approx(spec.clock_hz)
    assert back.level("L3").size_bytes == spec.level("L3").size_bytes
    assert back.backing.bandwidth_bytes_per_s == pytest.approx(spec.backing.bandwidth_bytes_per_s)
    assert back.array("pe2d").shape == spec.array("pe2d").shape
    assert back.array("pe2d").register_words_per_pe == spec.array("pe2d").register_words_per_pe
    assert yaml.safe_load((folder / "mapping.yaml").read_text())["mapping"][0]["target"] == "DRAM"


def test_export_of_unbound_einsum_is_an_error():
    with pytest.raises(MappingError) as info:
        timeloop_documents(
            ONE_PASS,
            load_spec("fusemax"),
            load_mapping("fusemax-binding"),
            "BK",  # a view of K: no computation, bound to no array
            get_workload("BERT", "1K").extents(),
        )
    assert info.value.codes == ("M509",)
