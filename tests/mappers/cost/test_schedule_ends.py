"""A tiled schedule's first load and last store (``ends: tile``), by hand: overlapped,
stages and pipelined."""

import numpy as np
import pytest
from ends_gemm import GEMM, SPEC

from mappers.cost.model import build_cost_model, evaluate_costs
from mappers.errors import MappingError
from mappers.mapping.loader import load_mapping, mapping_from_text
from mappers.mapping.writer import mapping_yaml


def mapping(schedule="overlapped", place="{DRAM: [A, W, Z], L3: [A, W, Z]}", tiles="{M: 8}"):
    return mapping_from_text(
        f"""version: 1
name: ends
cascade: gemm
batch_ranks: []
bind: {{pe2d: [Z]}}
spatial: {{pe2d: {{rows: m, cols: n}}}}
loop_order: [M]
tiles: {tiles}
place: {place}
schedule: {schedule}
"""
    )


def latency(m, point):
    return float(evaluate_costs(build_cost_model(GEMM, SPEC, m), point).latency_cycles)


def memory_cycles(m, point):
    return float(evaluate_costs(build_cost_model(GEMM, SPEC, m), point).traffic_bytes) / 32


def test_the_first_tile_is_loaded_before_and_the_last_stored_after_the_compute():
    point = {"M": 16, "K": 8, "N": 16}
    # compute: 16 x 8 x 16 MACs on 16 PEs = 128 cycles; DRAM: A 128 + W 128 + Z 256 words
    # = 32 cycles, hidden. First tile: A 8 x 8 + W (no loop indexes it: whole) 8 x 16 =
    # 192 words = 12 cycles; last tile: Z 8 x 16 = 128 words = 8 cycles.
    assert memory_cycles(mapping(), point) == 32
    assert latency(mapping("{overlapped: {ends: none}}"), point) == 128
    assert latency(mapping(), point) == 128 + 12 + 8


def test_a_ragged_last_tile_stores_its_real_size():
    point = {"M": 20, "K": 8, "N": 16}
    # M = 20 in tiles of 8: 8, 8, 4 rows; 2 + 2 + 1 row folds x 4 column folds x K = 8
    # cycles = 160. First tile 192 words (12 cycles); the last Z tile 4 x 16 = 64 words
    # (4 cycles), not a whole tile's 128.
    assert latency(mapping("{overlapped: {ends: none}}"), point) == 160
    assert latency(mapping(), point) == 160 + 12 + 4


def test_tensors_streamed_straight_from_dram_pass_no_tile_buffer():
    point = {"M": 16, "K": 8, "N": 16}
    # A is read from DRAM by the array, W and Z are staged in L3: W 128 words (8 cycles)
    # before, Z's 8 x 16 tile (8 cycles) after
    streamed = mapping(place="{DRAM: [A, W, Z], L3: [W, Z]}")
    assert memory_cycles(streamed, point) < 128
    assert latency(streamed, point) == 128 + 8 + 8


def test_one_tile_is_load_compute_store_and_a_memory_bound_run_hides_the_ends():
    point = {"M": 16, "K": 8, "N": 16}
    # tile M: whole: A 128 + W 128 words in (16 cycles), Z 256 out (16 cycles)
    assert latency(mapping(tiles="{M: whole}"), point) == 16 + 128 + 16
    slow = {**point, "DRAM.bandwidth_bytes_per_s": 2e9}  # 1 word a cycle: 512 cycles of DRAM
    assert latency(mapping(), slow) == 512  # > 128 + 192 + 128


def test_more_bandwidth_is_never_slower():
    point = {"M": 20, "K": 8, "N": 16, "DRAM.bandwidth_bytes_per_s": np.geomspace(1e8, 1e12, 25)}
    costs = evaluate_costs(build_cost_model(GEMM, SPEC, mapping()), point)
    assert np.all(np.diff(np.asarray(costs.latency_cycles)) <= 0)


def test_ends_is_overlapped_data_that_round_trips_and_defaults_to_tile():
    assert mapping().schedule.ends == "tile"
    none = mapping("{overlapped: {ends: none}}")
    assert none.schedule.ends == "none"
    assert mapping_from_text(mapping_yaml(none)) == none
    assert "overlapped: {ends: none}" in mapping_yaml(none)
    assert mapping_yaml(mapping()).count("schedule: overlapped") == 1


def test_an_unknown_ends_is_located():
    with pytest.raises(MappingError) as caught:
        mapping("{overlapped: {ends: tiles}}")
    text = str(caught.value)
    assert "M106" in text and "did you mean 'tile'" in text
    assert ":10:" in text  # the schedule line


def test_the_flat_and_fusemax_reproductions_say_the_artifact_charges_neither():
    for name in ("flat", "cascade-on-flat", "fusemax-binding", "fusemax-arch", "fusemax-pipelined"):
        assert load_mapping(name).schedule.ends == "none"


@pytest.mark.parametrize("kind", ["pipelined", "stages"])
def test_pipelined_and_stages_pay_the_ends_as_overlapped_does(kind):
    point = {"M": 16, "K": 8, "N": 16}
    # one einsum: pipelined over the 2 M tiles is (2 - 1) x 64 + 64 = 128 cycles of compute,
    # stages [[Z]] is Z's 128; the same first tile (12 cycles) and last tile (8 cycles)
    groups = "groups: [[Z]], " if kind == "stages" else ""
    plain = "{stages: [[Z]]}" if kind == "stages" else kind
    assert latency(mapping(f"{{{kind}: {{{groups}ends: none}}}}"), point) == 128
    assert latency(mapping(plain), point) == 128 + 12 + 8
    assert latency(mapping(f"{{{kind}: {{{groups}ends: tile}}}}"), point) == 128 + 12 + 8
    ragged = {"M": 20, "K": 8, "N": 16}  # last tile 4 rows: 4 cycles of store, as above
    assert latency(mapping(plain), ragged) == 160 + 12 + 4


def test_sequential_overlaps_each_group_and_takes_no_ends():
    point = {"M": 16, "K": 8, "N": 16}
    assert mapping("sequential").schedule.ends == "tile"  # ignored: no tile pipeline
    assert latency(mapping("sequential"), point) == 128


@pytest.mark.parametrize(
    "schedule",
    ["{pipelined: {ends: none}}", "{stages: {groups: [[Z]], ends: none}}", "{stages: [[Z]]}"],
)
def test_pipelined_and_stages_ends_round_trip(schedule):
    m = mapping(schedule)
    assert mapping_from_text(mapping_yaml(m)) == m
    assert ("ends: none" in mapping_yaml(m)) == ("none" in schedule)


def test_stages_options_need_their_groups_and_locate_a_bad_ends():
    with pytest.raises(MappingError) as caught:
        mapping("{stages: {ends: none}}")
    assert "M102" in str(caught.value) and "groups" in str(caught.value)
    with pytest.raises(MappingError) as caught:
        mapping("{pipelined: {ends: nope}}")
    assert "M106" in str(caught.value) and ":10:" in str(caught.value)
