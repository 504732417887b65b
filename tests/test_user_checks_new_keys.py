"""A demanding user's malformed values for today's new keys (overlapped ends, spec links,
fit tiles, link parameters as sweep axes): each is a located diagnostic, never a traceback
or a Python object's repr."""

from pathlib import Path

import pytest

import einsum_cascade.library as library
from mappers.cost.model import build_cost_model
from mappers.errors import MappingError, SpecError
from mappers.hardware.spec_loader import load_spec, spec_from_text, spec_path
from mappers.mapping.loader import mapping_from_text
from mappers.units import POSITIVE, field_kind

DATA = Path(__file__).resolve().parents[1] / "mappers" / "data"
STREAMED = (DATA / "mappings" / "gemm-streamed.yaml").read_text()
TILE = "M: {fit: L3, step: {array: pe2d, dim: rows}, fraction: 0.5, tensors: [A]}"


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_a_list_for_ends_is_located_without_a_repr() -> None:
    text = STREAMED.replace("schedule: sequential", "schedule: {overlapped: {ends: [tile]}}")
    with pytest.raises(MappingError) as info:
        mapping_from_text(text, "m.yaml")
    message = str(info.value)
    assert "M103" in message and "ends must be one of: tile, none" in message
    assert "Node(" not in message
    assert f"m.yaml:{_line_of(text, 'ends:')}:" in message


def test_a_list_for_a_link_end_is_located_without_a_repr() -> None:
    spec = spec_path("fusemax").read_text()
    old = "  - {from: pe1d, to: pe2d,"
    assert old in spec
    text = spec.replace(old, "  - {from: [pe1d], to: pe2d,")
    with pytest.raises(SpecError) as info:
        spec_from_text(text, "s.yaml")
    message = str(info.value)
    assert "S103" in message and "found a list" in message
    assert "Node(" not in message


@pytest.mark.parametrize(
    ("tile", "code", "words"),
    [
        (TILE.replace("fit: L3", "fit: L9"), "M203", "fits level 'L9'"),
        (TILE.replace("fit: L3", "fit: DRAM"), "M203", "fits level 'DRAM'"),
        (TILE.replace("tensors: [A]", "tensors: [Q]"), "M210", "fits tensor 'Q'"),
    ],
)
def test_a_fit_tile_naming_an_unknown_level_or_tensor_is_located(
    tile: str, code: str, words: str
) -> None:
    assert TILE in STREAMED
    text = STREAMED.replace(TILE, tile)
    mapping = mapping_from_text(text, "m.yaml")
    with pytest.raises(MappingError) as info:
        build_cost_model(library.load("gemm"), load_spec("fusemax"), mapping)
    message = str(info.value)
    assert code in message and words in message
    assert f"m.yaml:{_line_of(text, tile[:10])}:" in message


def test_a_fit_tile_with_its_own_budget_may_name_an_unsized_level() -> None:
    text = STREAMED.replace(TILE, TILE[:-1] + ", budget_bytes: 1MiB}").replace(
        "fit: L3", "fit: DRAM"
    )
    model = build_cost_model(library.load("gemm"), load_spec("fusemax"), mapping_from_text(text))
    assert model.mapping.tiles[0].fit_level == "DRAM"


def test_link_parameters_have_the_spec_loaders_ranges_as_sweep_axes() -> None:
    energy = field_kind("pe2d_pe1d.energy_pj_per_word")
    assert energy.low == 0
    assert field_kind("pe2d_pe1d.bandwidth_words_per_cycle") == POSITIVE


@pytest.mark.parametrize(
    ("schedule", "words"),
    [
        ("{sequential: {ends: none}}", "overlapped, stages and pipelined, not to sequential"),
        ("{simulate: {ends: none}}", "overlapped, stages and pipelined, not to simulate"),
        ("{pipelined: 5}", "pipelined must be a list of stages or {ends: tile | none}"),
        ("{overlapped: 5}", "overlapped must be a list of stages or {ends: tile | none}"),
    ],
)
def test_ends_on_another_schedule_or_a_scalar_says_where_ends_belongs(
    schedule: str, words: str
) -> None:
    text = STREAMED.replace("schedule: sequential", f"schedule: {schedule}")
    with pytest.raises(MappingError) as info:
        mapping_from_text(text, "m.yaml")
    message = str(info.value)
    assert "M103" in message and words in message
    assert f"m.yaml:{_line_of(text, 'schedule:')}:" in message


@pytest.mark.parametrize("command", ["model", "search", "timeloop"])
def test_a_workload_files_batch_rank_that_is_a_cascade_rank_is_refused_there(
    tmp_path: Path, command: str
) -> None:
    """M212 checked the mapping's own batch_ranks only: a workload file's [B, M] replaced
    them and M was dropped in silence (the heading still said 'batch B,M')."""
    from typer.testing import CliRunner

    from einsum_cascade.cli import _register_commands, app

    _register_commands()
    workload = tmp_path / "w.yaml"
    workload.write_text(
        "version: 1\nname: w\nextents: {B: 2, H: 2, E: 64, F: 64, M: 1K, P: 1K}\n"
        "batch_ranks: [B, M]\n"
    )
    arguments = {
        "model": ["model", "--arch", "fusemax", "--mapping", "fusemax-binding"],
        "search": ["search", "--arch", "fusemax", "--cascade", "attention/1pass"],
        "timeloop": [
            *("timeloop", "export", "--arch", "fusemax", "--mapping", "fusemax-binding"),
            *("--einsum", "BQK", "-o", str(tmp_path / "tl")),
        ],
    }[command]
    result = CliRunner().invoke(app, [*arguments, "--workload", str(workload)])
    assert result.exit_code == 1, result.output
    assert "error[M212]" in result.output and "batch rank 'M'" in result.output
    assert "w.yaml:4:14:" in result.output


@pytest.mark.parametrize(
    ("lowering", "cycle"),
    [("{lower_to: {pow: 1}}", "log -> pow -> log"), ("{lower_to: {log: 1}}", "log -> log")],
)
def test_a_lowering_that_leads_back_to_its_op_is_located(lowering: str, cycle: str) -> None:
    """pow lowers through log (today's specs): a log lowered back to pow loaded without a
    word, and both ops were silently missing from the array (lowering gave up at depth 8)."""
    spec = spec_path("fusemax").read_text()
    old = "      log: {lower_to: {mac: 6}}     # ln(2^k m)"
    assert old in spec
    text = spec.replace(old, f"      log: {lowering}     # ln(2^k m)")
    with pytest.raises(SpecError) as info:
        spec_from_text(text, "s.yaml")
    message = str(info.value)
    assert "S111" in message and f"lowers back to itself: {cycle}" in message
    assert f"s.yaml:{_line_of(text, 'log: ' + lowering)}:12:" in message
