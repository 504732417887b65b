"""Legal tiles for any extent: tile <= extent, ragged last tiles, compulsory traffic, PE bound."""

import functools

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from systolic_gemm import gemm_mapping, systolic_spec

from einsum_cascade import load_cascade
from mappers.cost.model import build_cost_model, evaluate_costs, tiles_fit
from mappers.errors import MappingError
from mappers.hardware.spec_loader import load_spec
from mappers.mapping.loader import load_mapping

GEMM = load_cascade("gemm")


def test_streamed_gemm_shorter_than_the_array_moves_at_least_every_word_once():
    spec = load_spec("fusemax")
    costs = evaluate_costs(
        build_cost_model(GEMM, spec, load_mapping("gemm-streamed")), {"M": 64, "K": 1024, "N": 1024}
    )
    compulsory = (64 * 1024 + 1024 * 1024 + 64 * 1024) * spec.word_bytes
    assert float(costs.traffic_bytes) == compulsory  # was 393,216 bytes: tile M = 256 > M
    assert dict(costs.tiles)["M"] == 64


def test_output_stationary_utilisation_counts_only_the_rows_it_can_use():
    spec = load_spec("fusemax")  # 256 x 256, no fill/drain
    costs = evaluate_costs(
        build_cost_model(GEMM, spec, load_mapping("gemm-resident")), {"M": 64, "K": 128, "N": 256}
    )
    # M = 64 rows of 256: a quarter of the PEs; the DRAM transfer bounds the latency
    assert float(costs.array("pe2d").util) <= 0.25
    assert float(costs.einsum("Z").cycles) == 128  # K streamed once, one fold


def test_a_ragged_fit_tile_covers_the_extent():
    spec = systolic_spec(128, 128, l3="64KiB")
    loop = "loop_order: [M]\n"
    tiles = "tiles: {M: {fit: L3, step: {array: pe2d, dim: rows}, tensors: [A]}}\n"
    costs = evaluate_costs(
        build_cost_model(GEMM, spec, gemm_mapping("os", loop, tiles)),
        {"M": 1000, "K": 100, "N": 50},
    )
    # A: 100 words per row, so 655 rows fit 64 KiB: two tiles at least; 640 rows (5 folds
    # of 128) make two, the last one ragged (360 rows, 3 folds). The divisor rule took 512
    # (the largest divisor of 8 folds that fits is 4), which is no longer the rule.
    assert dict(costs.tiles)["M"] == 640
    assert float(costs.traffic_bytes) == 1000 * 100 + 100 * 50 + 1000 * 50  # each word once
    assert float(costs.latency_cycles) == 8 * (100 + 128 + 128 - 2)


TILINGS = {
    "none": ("", ""),
    "fixed": ("loop_order: [M, N]\n", "tiles: {{M: {fixed}, N: {{array: pe2d, dim: cols}}}}\n"),
    "fit": (
        "loop_order: [M]\n",
        "tiles: {{M: {{fit: L3, step: {{array: pe2d, dim: rows}}, tensors: [A]}}}}\n",
    ),
    "both": (
        "loop_order: [N, K]\n",
        "tiles: {{N: {fixed}, K: {{fit: L3, step: 8, tensors: [W]}}}}\n",
    ),
}
POINT = st.tuples(
    st.integers(1, 3000),
    st.integers(1, 3000),
    st.integers(1, 3000),
    st.sampled_from([4, 16, 32, 48, 128, 256]),
    st.sampled_from([4, 16, 32, 96, 128, 256]),
    st.sampled_from([16, 256, 4096]),
)


@functools.cache
def tiled_model(dataflow, tiling, fixed, fill_drain):
    spec = systolic_spec(8, 8, extra="" if fill_drain else "    fill_drain: false\n")
    loop, tiles = TILINGS[tiling]
    return build_cost_model(GEMM, spec, gemm_mapping(dataflow, loop, tiles.format(fixed=fixed)))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    dataflow=st.sampled_from(["os", "ws", "is"]),
    tiling=st.sampled_from(list(TILINGS)),
    fixed=st.sampled_from([1, 37, 300]),
    fill_drain=st.booleans(),
    points=st.lists(POINT, min_size=1, max_size=30),
)
def test_traffic_and_utilisation_are_physical(dataflow, tiling, fixed, fill_drain, points):
    model = tiled_model(dataflow, tiling, fixed, fill_drain)
    m, k, n, rows, cols, l3_kib = (np.array(c, dtype=float) for c in zip(*points, strict=True))
    columns = {
        "M": m,
        "K": k,
        "N": n,
        "pe2d.shape.rows": rows,
        "pe2d.shape.cols": cols,
        "L3.size_bytes": l3_kib * 1024,
    }
    fits = tiles_fit(model, columns)
    assume(fits.any())
    columns = {name: values[fits] for name, values in columns.items()}
    m, k, n, rows, cols = (
        columns[c] for c in ("M", "K", "N", "pe2d.shape.rows", "pe2d.shape.cols")
    )
    costs = evaluate_costs(model, columns)
    extents = {"M": m, "K": k, "N": n}
    for rank, tile in costs.tiles:
        assert (tile >= 1).all() and (tile <= extents[rank]).all()
    assert (costs.traffic_bytes >= m * k + k * n + m * n).all()
    spatial = {"os": (m, n), "ws": (k, n), "is": (k, m)}[dataflow]
    usable = np.minimum(spatial[0], rows) * np.minimum(spatial[1], cols) / (rows * cols)
    assert (costs.array("pe2d").util <= usable * (1 + 1e-12)).all()
    assert (costs.einsum("Z").cycles >= m * k * n / (rows * cols)).all()


@pytest.mark.parametrize("extent", [1, 7, 255, 256, 257, 1000])
def test_fixed_tiles_never_exceed_the_extent(extent):
    costs = evaluate_costs(
        build_cost_model(GEMM, load_spec("fusemax"), load_mapping("gemm-streamed")),
        {"M": extent, "K": 64, "N": extent},
    )
    assert dict(costs.tiles)["N"] == min(256, extent)
    assert float(costs.traffic_bytes) >= 2 * (extent * 64 * 2 + extent * extent)


# Monotone fit tiles: with one mapping, a larger array or a larger buffer never moves more
# DRAM bytes, and a larger array is never slower (docs/model.md, "Tile fitting").
FIT_MAPPINGS = ("gemm-streamed", "gemm-resident")  # the library GEMM mappings with fit tiles


@functools.cache
def library_model(name):
    return build_cost_model(GEMM, load_spec("fusemax"), load_mapping(name))  # no fill/drain


def random_points(seed, count):
    rng = np.random.default_rng(seed)
    small = rng.random(count) < 0.3  # extents below an array step, and ragged ones
    extent = lambda: np.where(small, rng.integers(1, 300, count), rng.integers(1, 6000, count))  # noqa: E731
    return rng, {
        "M": extent().astype(float),
        "K": rng.integers(1, 3000, count).astype(float),
        "N": extent().astype(float),
        "L3.size_bytes": 2.0 ** rng.uniform(12, 25, count).round(),
        "DRAM.bandwidth_bytes_per_s": 2.0 ** rng.uniform(30, 39, count),
    }


def at(columns, mask):
    return {name: values[mask] for name, values in columns.items()}


def compulsory_bytes(columns):
    m, k, n = columns["M"], columns["K"], columns["N"]
    return 2 * (m * k + k * n + m * n)  # fusemax: 2-byte words


@pytest.mark.parametrize("name", FIT_MAPPINGS)
@pytest.mark.parametrize("seed", range(3))
def test_a_larger_array_is_never_slower_nor_moves_more(name, seed):
    model = library_model(name)
    rng, columns = random_points(seed, 3000)
    small = rng.integers(1, 300, len(columns["M"])).astype(float)
    large = small + rng.integers(1, 300, len(small))
    ways = [{**columns, "pe2d.shape.rows": r, "pe2d.shape.cols": r} for r in (small, large)]
    both = tiles_fit(model, ways[0]) & tiles_fit(model, ways[1])
    assert both.sum() > 500
    before, after = (evaluate_costs(model, at(way, both)) for way in ways)
    assert (after.traffic_bytes <= before.traffic_bytes).all()
    assert (after.latency_cycles <= before.latency_cycles * (1 + 1e-12)).all()
    assert (after.traffic_bytes >= compulsory_bytes(at(columns, both))).all()


@pytest.mark.parametrize("name", FIT_MAPPINGS)
@pytest.mark.parametrize("seed", range(3))
def test_a_larger_buffer_never_moves_more(name, seed):
    model = library_model(name)
    rng, columns = random_points(10 + seed, 3000)
    rows = rng.integers(1, 300, len(columns["M"])).astype(float)
    columns |= {"pe2d.shape.rows": rows, "pe2d.shape.cols": rows}
    bigger = {**columns, "L3.size_bytes": columns["L3.size_bytes"] * 2.0 ** rng.uniform(0, 4)}
    both = tiles_fit(model, columns)  # a larger buffer fits wherever the smaller one does
    assert tiles_fit(model, bigger)[both].all() and both.sum() > 500
    before, after = (evaluate_costs(model, at(c, both)) for c in (columns, bigger))
    assert (after.traffic_bytes <= before.traffic_bytes).all()
    assert (after.traffic_bytes >= compulsory_bytes(at(columns, both))).all()
    m, k, n, r = (at(columns, both)[c] for c in ("M", "K", "N", "pe2d.shape.rows"))
    fold = np.ceil(n / r) * k  # cycles of one fold of M (no fill/drain)
    cycles = after.einsum("Z").cycles
    if not library_model(name).fits[0].refetch:
        # the tile count moves no bytes: whole steps always, so compute never grows
        assert (after.latency_cycles <= before.latency_cycles * (1 + 1e-12)).all()
        assert np.allclose(cycles, np.ceil(m / r) * fold, rtol=1e-12)
    else:
        # fewer tiles first: at most one partial fold per tile more than the fewest folds
        tiles = np.ceil(m / dict(after.tiles)["M"])
        assert (cycles <= (np.ceil(m / r) + tiles) * fold * (1 + 1e-12)).all()


def test_fewer_tiles_can_cost_partial_folds():
    # gemm-streamed re-streams W once per tile of A's rows. M = 4608, K = 1024 on 96 x 96:
    # 480 rows of A fit the first budget (10 tiles, 48 folds of 96 rows); 512 rows fit the
    # second, and 9 tiles of 512 rows (5 folds of 96 and one of 32 each, 54 folds) move
    # fewer bytes than 10 tiles of 480: the larger buffer trades 6 folds for one W pass.
    model = library_model("gemm-streamed")
    point = {"M": 4608, "K": 1024, "N": 4608, "pe2d.shape.rows": 96, "pe2d.shape.cols": 96}
    budget = {480: 2 * 480 * 1024 * 2, 512: 2 * 512 * 1024 * 2}  # A in half of L3, 2 B words
    costs = {r: evaluate_costs(model, point | {"L3.size_bytes": b}) for r, b in budget.items()}
    assert dict(costs[480].tiles)["M"] == 480 and dict(costs[512].tiles)["M"] == 512
    w = 1024 * 4608 * 2
    assert float(costs[480].traffic_bytes - costs[512].traffic_bytes) == w
    assert float(costs[480].einsum("Z").cycles) == 48 * 48 * 1024
    assert float(costs[512].einsum("Z").cycles) == 54 * 48 * 1024


@pytest.mark.parametrize(("rows", "tile"), [(48, 4080), (56, 4088), (64, 4096), (96, 4032)])
def test_streamed_gemm_over_array_sizes(rows, tile):
    # the point: M = N = 4608, K = 1024, 8 MiB of L3 for A (4096 rows); the divisor
    # rule gave R = 56 a tile of one step (83 pieces have no other divisor that fits): 83
    # passes of W, 11.8x the bytes of R = 48. Now every size takes the longest multiple of
    # R that fits, two tiles, and moves the same bytes.
    costs = evaluate_costs(
        library_model("gemm-streamed"),
        {"M": 4608, "K": 1024, "N": 4608, "pe2d.shape.rows": rows, "pe2d.shape.cols": rows},
    )
    assert dict(costs.tiles)["M"] == tile
    assert float(costs.traffic_bytes) == 2 * (4608 * 1024 + 2 * 1024 * 4608 + 4608 * 4608)


@pytest.mark.parametrize("name", FIT_MAPPINGS)
def test_an_extent_the_buffer_holds_is_one_tile(name):
    # the issue: a ragged M = 200 got a tile of 192 (three steps of 64), not the extent
    costs = evaluate_costs(
        library_model(name),
        {"M": 200, "K": 64, "N": 300, "pe2d.shape.rows": 64, "pe2d.shape.cols": 64},
    )
    assert dict(costs.tiles)["M"] == 200
    assert float(costs.traffic_bytes) == 2 * (200 * 64 + 64 * 300 + 200 * 300)


def test_refetch_follows_the_traffic_forms():
    assert library_model("gemm-streamed").fits[0].refetch  # W once per tile of A
    assert not library_model("gemm-resident").fits[0].refetch  # W fetched once


def test_divides_keeps_the_artifacts_divisor_rule():
    spec = systolic_spec(128, 128, l3="64KiB")
    loop = "loop_order: [M]\n"
    rule = "{fit: L3, step: {array: pe2d, dim: rows}, tensors: [A], divides: true}"
    mapping = gemm_mapping("os", loop, f"tiles: {{M: {rule}}}\n")
    assert mapping.tiles[0].divides
    costs = evaluate_costs(build_cost_model(GEMM, spec, mapping), {"M": 1000, "K": 100, "N": 50})
    assert dict(costs.tiles)["M"] == 512  # 4 of 8 folds: the largest divisor of 8 within 5


def test_divides_must_be_true_or_false():
    rule = "{fit: L3, step: 8, divides: 3}"
    with pytest.raises(MappingError) as caught:
        gemm_mapping("os", "loop_order: [M]\n", f"tiles: {{M: {rule}}}\n")
    assert caught.value.codes == ("M104",)
    assert "divides of the tile of M must be true or false" in str(caught.value)
    span = caught.value.diagnostics[0].span
    assert (span.line, span.col) == (9, 40)  # the value 3 on the tiles line
