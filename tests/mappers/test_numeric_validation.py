"""Issue 15: every numeric input is finite, in its physical range, and located when wrong."""

import warnings
from pathlib import Path

import pytest
from typer.testing import CliRunner

import einsum_cascade.library as library
from einsum_cascade.cli import app
from mappers.cost.model import build_cost_model
from mappers.errors import MappingError, SpecError
from mappers.hardware.spec_loader import load_spec, spec_from_text
from mappers.mapping.loader import mapping_from_text
from mappers.sweep.errors import SweepError
from mappers.sweep.run import evaluate_sweep
from mappers.sweep.spec import axis_from_option, sweep_from_text, with_options
from mappers.timeloop.reader import import_timeloop_arch

DATA = Path(__file__).parents[2] / "mappers" / "data"
SPEC = (DATA / "accelerators" / "fusemax.yaml").read_text()
MAPPING = (DATA / "mappings" / "fusemax-binding.yaml").read_text()
TIMELOOP = Path(__file__).parents[1] / "data" / "timeloop"
ONE_PASS = library.load("attention/1pass")


@pytest.fixture(autouse=True)
def _commands():
    from einsum_cascade.cli import _register_commands

    _register_commands()


@pytest.mark.parametrize(
    ("old", "new", "code"),
    [
        ("word_bytes: 2", "word_bytes: 0.5", "S104"),
        ("word_bytes: 2", "word_bytes: 1e999", "S103"),
        ("register_words_per_pe: 12", "register_words_per_pe: inf", "S103"),
        ("shape: [256, 256]", "shape: [nan, 256]", "S103"),
        ("shape: [256, 256]", "shape: [0.5, 256]", "S104"),
        ("access_bits: 64", "access_bits: nan", "S103"),
        ("clock_hz: 940e6", "clock_hz: 1e-300", "S104"),
        ("clock_hz: 940e6", "clock_hz: nan", "S103"),
        ("clock_hz: 940e6", "clock_hz: .inf", "S103"),
        ("read_energy_pj: 249.6", "read_energy_pj: nan", "S103"),
        ("read_energy_pj: 249.6", "read_energy_pj: -1", "S104"),
        ("size_bytes: 16MiB", "size_bytes: 16MHz", "S103"),
        ("bandwidth_bytes_per_s: 400GiB", "bandwidth_bytes_per_s: 1e-300", "S104"),
    ],
    ids=lambda v: str(v).replace(" ", ""),
)
def test_spec_numbers_are_checked_where_written(old, new, code):
    assert old in SPEC
    text = SPEC.replace(old, new, 1)
    with pytest.raises(SpecError) as caught:
        spec_from_text(text, "bad.yaml")
    assert caught.value.codes == (code,)
    assert caught.value.diagnostics[0].span.line == _line_of(text, new)


def _line_of(text, fragment):
    return text[: text.index(fragment)].count("\n") + 1


def test_renamed_array_dims_are_a_mapping_error_not_a_key_error():
    spec = spec_from_text(SPEC.replace("dims: [rows, cols]", "dims: [r, c]"), "renamed.yaml")
    mapping = mapping_from_text(MAPPING, "m.yaml")
    with pytest.raises(MappingError) as caught:
        build_cost_model(ONE_PASS, spec, mapping)
    assert set(caught.value.codes) == {"M207"}
    assert "did you mean" not in str(caught.value) or "dimensions" in str(caught.value)


@pytest.mark.parametrize(
    ("old", "new", "code", "line"),
    [
        ("P: {fit: L3, step: {array: pe2d, dim: cols}, divides: true}", "P: 0.5", "M104", 18),
        ("L3: [Q, BK,", "L3: [QQ, BK,", "M210", 21),
        ("- [RM]", "- [RM, XX]", "M206", 23),
        ("dim: rows}", "dim: diagonal}", "M207", 9),
        ("M0: {array", "P: nan\n  M0: {array", "M103", 9),
        ("M0: {array", "P: 1e999\n  M0: {array", "M103", 9),
        ("    - [SLNV, SPNV]\n", "", "M208", 23),
    ],
    ids=["tile-0.5", "unknown-placed-tensor", "unknown-stage-einsum", "dim-diagonal",
         "extent-nan", "extent-1e999", "deleted-stage"],
)  # fmt: skip
def test_mapping_mistakes_are_located_errors(old, new, code, line):
    assert old in MAPPING
    spec = load_spec("fusemax")
    with pytest.raises(MappingError) as caught:
        mapping = mapping_from_text(MAPPING.replace(old, new), "m.yaml")
        build_cost_model(ONE_PASS, spec, mapping)
    assert set(caught.value.codes) == {code}  # the deleted stage held two einsums
    assert caught.value.diagnostics[0].span.line == line


def test_an_unknown_cost_table_is_an_error():
    mapping = mapping_from_text(MAPPING, "m.yaml")
    with pytest.raises(MappingError) as caught:
        build_cost_model(ONE_PASS, load_spec("fusemax"), mapping, "nope")
    assert caught.value.codes == ("M209",)
    result = CliRunner().invoke(
        app, ["model", "--arch", "fusemax", "--mapping", "fusemax-binding", "--costs", "nope"]
    )
    assert result.exit_code == 1
    assert "unknown cost table 'nope'" in result.output


@pytest.mark.parametrize(
    ("axis", "value", "code"),
    [
        ("seq", "[abc, 1M]", "SW110"),
        ("seq", "[[1K]]", "SW106"),
        ("seq", "[-1024]", "SW115"),
        ("seq", "[9223372036854775807]", "SW115"),
        ("B", "[-3]", "SW115"),
        ("clock_hz", "[-940e6]", "SW115"),
        ("clock_hz", "[940M]", "SW110"),
        ("pe2d.shape", "[[-16, 16]]", "SW115"),
        ("pe2d.shape", "[[0, 0]]", "SW115"),
        ("B", "1..1000000000000", "SW111"),
        ("B", "1..8 +0.5", "SW115"),
        ("workload", "[BERT, 4K]", "SW106"),
        ("DRAM.bandwidth_bytes_per_s", "[1e-300]", "SW115"),  # overflowed a divide
        ("pe2d_pe1d.energy_pj_per_word", "[-1]", "SW115"),  # was a negative energy
        ("pe2d_pe1d.bandwidth_words_per_cycle", "[0]", "SW115"),  # was a divide by zero
    ],
    ids=lambda v: str(v).replace(" ", ""),
)
def test_sweep_axis_values_are_checked(axis, value, code):
    with pytest.raises(SweepError) as caught:
        axis_from_option(axis, value)
    assert caught.value.codes == (code,)
    assert caught.value.diagnostics[0].span is not None


def test_a_mixed_axis_in_a_file_points_at_the_bad_value():
    with pytest.raises(SweepError) as caught:
        sweep_from_text("version: 1\naxes:\n  seq: [1M, abc]\n", "s.yaml")
    span = caught.value.diagnostics[0].span
    assert (span.line, span.col) == (3, 13)


def test_sweep_base_arch_works_and_spec_is_an_error_suggesting_arch(tmp_path):
    spec = sweep_from_text(
        "version: 1\nbase: {mapping: fusemax-binding, workload: BERT}\naxes: {seq: [1K]}\n"
    )
    edge = evaluate_sweep(with_options(spec, base=("arch=fusemax-edge",)))
    fusemax = evaluate_sweep(with_options(spec, base=("arch=fusemax",)))
    assert edge["latency_s"].item() != fusemax["latency_s"].item()
    with pytest.raises(SweepError) as caught:
        evaluate_sweep(with_options(spec, base=("spec=fusemax",)))
    assert caught.value.codes == ("SW113",)
    assert "'arch'" in str(caught.value)


def _timeloop(tmp_path, old, new):
    text = (TIMELOOP / "fusemax-arch-2d.yaml").read_text()
    assert old in text, old
    path = tmp_path / "arch.yaml"
    path.write_text(text.replace(old, new, 1))
    return path


@pytest.mark.parametrize(
    ("old", "new"),
    [("meshX: 256", "meshX: -3"), ("global_cycle_seconds: ", "global_cycle_seconds: 0 #")],
    ids=["negative-mesh", "zero-cycle"],
)
def test_timeloop_numbers_are_checked(tmp_path, old, new):
    path = _timeloop(tmp_path, old, new)
    with pytest.raises(SpecError) as caught:
        import_timeloop_arch([path], load_spec("fusemax"))
    span = caught.value.diagnostics[0].span
    text = path.read_text()
    value = new.split(": ")[1].split(" ")[0]
    # located at the value, not at the component that holds it
    assert span.line == _line_of(text, new)
    assert text.splitlines()[span.line - 1][span.col - 1 :].startswith(value)


def test_timeloop_missing_file_and_wrong_shapes(tmp_path):
    with pytest.raises(SpecError):
        import_timeloop_arch([tmp_path / "nope.yaml"], load_spec("fusemax"))
    listed = tmp_path / "list.yaml"
    listed.write_text("architecture: [1, 2]\n")
    with pytest.raises(SpecError) as caught:
        import_timeloop_arch([listed], load_spec("fusemax"))
    assert caught.value.codes == ("S301",)


def test_a_fit_rule_whose_level_holds_no_tensor_tiles_the_whole_extent_without_warnings():
    # Found by the mapping fuzz: with the L3 placement deleted, the P tile's fit rule for L3
    # had 0 bytes per tile, and (capacity - 0) / 0 warned "divide by zero" (0 / 0 at a full
    # buffer gave NaN). Nothing in L3 depends on the tile, so the tile is the whole extent.
    from mappers.cost.model import estimate_cost
    from mappers.workloads import get_workload

    text = MAPPING.replace("  L3: [Q, BK, BV, RM, RD, RNV]\n", "")
    assert text != MAPPING
    mapping = mapping_from_text(text, "m.yaml")
    workload = get_workload("BERT", 4096)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        report = estimate_cost(ONE_PASS, load_spec("fusemax"), mapping, workload)
    assert dict(report.costs.tiles)["P"] == 4096  # the full extent P = 4K
