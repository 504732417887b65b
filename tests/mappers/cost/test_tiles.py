"""Legal tiles for any extent: tile <= extent, ragged last tiles, compulsory traffic, PE bound."""

import functools

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from systolic_gemm import gemm_mapping, systolic_spec

from einsum_cascade import load_cascade
from mappers.cost.model import build_cost_model, evaluate_costs, tiles_fit
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
