"""Systolic timing as spec data: fill/drain per fold, partial folds, OS/WS/IS bindings."""

from dataclasses import replace

import pytest
from systolic_gemm import (
    gemm_mapping,
    mapping_from_text,
    scalesim_cycles,
    systolic_spec,
)

from einsum_cascade import load_cascade
from mappers.cost.model import build_cost_model, evaluate_costs
from mappers.errors import MappingError, SpecError
from mappers.hardware.spec_loader import load_spec
from mappers.mapping.loader import load_mapping

GEMM = load_cascade("gemm")
FUSEMAX = load_spec("fusemax")
SHAPES = [(64, 128, 256), (200, 300, 100), (33, 65, 129), (1024, 1024, 1024), (4096, 64, 4096)]


def cost(spec, mapping, m, k, n):
    return evaluate_costs(build_cost_model(GEMM, spec, mapping), {"M": m, "K": k, "N": n})


@pytest.mark.parametrize("dataflow", ["os", "ws", "is"])
@pytest.mark.parametrize("size", [32, 128, 256])
@pytest.mark.parametrize(("m", "k", "n"), SHAPES)
def test_cycles_follow_scalesim_within_one_percent(m, k, n, size, dataflow):
    ours = float(cost(systolic_spec(size, size), gemm_mapping(dataflow), m, k, n).latency_cycles)
    theirs = scalesim_cycles(m, k, n, size, size, dataflow)
    assert ours == pytest.approx(theirs, rel=0.01)
    assert ours == theirs + 1  # SCALE-Sim's last fold ends one cycle early


def test_rectangular_arrays_put_rows_and_columns_where_scalesim_does():
    for rows, cols, dataflow in [(32, 64, "os"), (64, 32, "ws"), (16, 128, "is")]:
        ours = cost(systolic_spec(rows, cols), gemm_mapping(dataflow), 200, 300, 100)
        assert (
            float(ours.latency_cycles) == scalesim_cycles(200, 300, 100, rows, cols, dataflow) + 1
        )


def test_without_fill_drain_only_partial_folds_are_charged():
    spec = systolic_spec(128, 128, extra="    fill_drain: false\n")
    # 200 rows on 128: 2 folds; 100 columns: 1 fold; K = 300 streamed per fold
    assert float(cost(spec, gemm_mapping("os"), 200, 300, 100).latency_cycles) == 2 * 300


def test_weight_stationary_writes_each_k_folds_partial_sums():
    out = cost(systolic_spec(128, 128), gemm_mapping("ws"), 200, 300, 100)
    # reads A and W once; Z leaves the array once per fold of K over the rows (3 folds)
    # and its partial sums come back for the next fold (2 read-backs)
    assert float(out.traffic_bytes) == 200 * 300 + 300 * 100 + 3 * 200 * 100 + 2 * 200 * 100


def test_2d_arrays_default_to_fill_drain_and_fusemax_specs_turn_it_off():
    assert systolic_spec(8, 8).array("pe2d").fill_drain
    for name in ("fusemax", "flat", "fusemax-edge"):
        spec = load_spec(name)
        assert not spec.array("pe2d").fill_drain and not spec.array("pe1d").fill_drain


def test_fill_drain_must_be_a_boolean():
    with pytest.raises(SpecError) as info:
        systolic_spec(8, 8, extra="    fill_drain: maybe\n")
    assert info.value.codes == ("S104",)


def test_stationary_tensor_must_be_one_the_einsum_touches():
    text = "version: 1\nname: x\ncascade: gemm\nbind: {pe2d: [Z]}\nstationary: {Z: Q}\n"
    text += "schedule: sequential\n"
    with pytest.raises(MappingError) as info:
        build_cost_model(GEMM, systolic_spec(8, 8), mapping_from_text(text))
    assert info.value.codes == ("M205",)
    assert gemm_mapping("ws").stationary_of("Z") == "W"
    assert mapping_from_text(text.replace("stationary: {Z: Q}\n", "")).stationary_of("Z") == "Z"


def test_a_reduction_across_the_rows_holds_the_operand_and_streams_the_rest():
    # SLNV[f, m1, p] = SLN[m1, m0, p] * BV[f, m1, m0] with m0 on the rows and p on the
    # columns reduces m0 across the rows: its output cannot stay in a PE, so the SN tile
    # (computed in place by SLN on the same array) is held and F streams through each fold.
    arrays = [
        a if a.name != "pe2d" else replace(a, shape=(64, 64), fill_drain=True)
        for a in FUSEMAX.arrays
    ]
    spec = replace(FUSEMAX, arrays=tuple(arrays))
    mapping = load_mapping("fusemax-binding")
    model = build_cost_model(load_cascade("attention/1pass"), spec, mapping)
    point = {"B": 1, "H": 8, "E": 64, "F": 64, "M": 4096, "P": 4096}
    slnv = next(e for e in evaluate_costs(model, point).einsums if e.name == "SLNV")
    # MACs B*H*F*M*P = 8*64*4096*4096 on 64*64 PEs: 2,097,152 cycles of streamed work.
    # folds: B*H (8) x M1 (4096/64 = 64) x P chunks (4096/64 = 64) = 32768, each streaming
    # F = 64 values; fill/drain per fold (64 - 1) + (64 - 1) = 126 (no preload: SLN is
    # already in the PEs) -> 32768 * 126 = 4,128,768, about 2x the work, not one fold per f.
    assert float(slnv.fill_drain_cycles) == 32768 * 126
    assert float(slnv.cycles) == 2_097_152 + 32768 * 126
    bqk = next(e for e in evaluate_costs(model, point).einsums if e.name == "BQK")
    assert float(slnv.cycles) == float(bqk.cycles)  # BQK: output-stationary, E = 64 streamed


def test_holding_a_spatially_reduced_output_is_refused():
    # K on the rows: Z[m, n] is summed across them, so no PE can hold it
    mapping = replace(gemm_mapping("ws"), stationary=(("Z", "Z"),))
    with pytest.raises(MappingError) as caught:
        build_cost_model(GEMM, systolic_spec(32, 32), mapping)
    assert "M205" in str(caught.value) and "'k'" in str(caught.value)
