"""The cost engine against first-principles numbers when the spec or the shape changes."""

import dataclasses

import pytest

import einsum_cascade.library as library
from mappers.cost.model import build_cost_model, evaluate_design_points
from mappers.errors import MappingError
from mappers.hardware.spec_loader import load_spec
from mappers.mapping.loader import load_mapping, mapping_from_text, mapping_path

ONE_PASS = library.load("attention/1pass")
B, H = 64, 12


def binding(spec, **extents):
    mapping = load_mapping("fusemax-binding")
    model = build_cost_model(ONE_PASS, spec, mapping, "artifact")
    return evaluate_design_points(model, {"B": B, "H": H, **extents})


def test_binding_closed_form_256():
    # c0 = B*H*M*P/PE^2 = 64*12*1024*1024/65536 = 12288; M1 = 4
    # latency = [max(E+1, F+1+F/M1) + F + 9]*c0 = [81 + 64 + 9]*12288 = 1892352 cycles
    out = binding(load_spec("fusemax"), E=64, F=64, M=1024, P=1024)
    assert float(out["latency_cycles"]) == pytest.approx(1892352)


def test_binding_on_a_128_array():
    spec = load_spec("fusemax")
    pe2d = dataclasses.replace(spec.array("pe2d"), shape=(128, 128))
    pe1d = dataclasses.replace(spec.array("pe1d"), shape=(128,))
    spec = spec.replace_array(pe2d).replace_array(pe1d)
    # M0 = 128 -> M1 = 8; c0 = 64*12*1024*1024/128^2 = 49152
    # latency = [max(65, 65 + 64/8) + 64 + 9]*c0 = 146*49152 = 7176192 cycles
    out = binding(spec, E=64, F=64, M=1024, P=1024)
    assert float(out["latency_cycles"]) == pytest.approx(7176192)
    # util_2d = (E+F+9)/146 = 137/146
    assert float(out["util_pe2d"]) == pytest.approx(137 / 146)


def test_clock_scales_seconds_not_cycles():
    spec = load_spec("fusemax")
    fast = dataclasses.replace(spec, clock_hz=2 * spec.clock_hz)
    slow_out = binding(spec, E=64, F=64, M=1024, P=1024)
    fast_out = binding(fast, E=64, F=64, M=1024, P=1024)
    assert float(fast_out["latency_cycles"]) == pytest.approx(float(slow_out["latency_cycles"]))
    assert float(fast_out["latency_s"]) == pytest.approx(float(slow_out["latency_s"]) / 2)


def test_bandwidth_bounds_a_memory_bound_mapping():
    # FLAT at 256K is DRAM-bound: latency = traffic / bandwidth
    spec = load_spec("flat")
    half = spec.replace_level(
        dataclasses.replace(
            spec.backing, bandwidth_bytes_per_s=spec.backing.bandwidth_bytes_per_s / 2
        )
    )
    mapping = load_mapping("flat", "BERT", "256K")
    three = library.load("attention/3pass")
    cols = {"B": B, "H": H, "E": 64, "F": 64, "M": 262144, "P": 262144}
    full_out = evaluate_design_points(build_cost_model(three, spec, mapping, "artifact"), cols)
    half_out = evaluate_design_points(build_cost_model(three, half, mapping, "artifact"), cols)
    # traffic = 2*[4*BHMP + BH(E+F)P + BH(E+F)M*P2] bytes, P2 = 256
    bhmp = B * H * 262144 * 262144
    traffic = 2 * (4 * bhmp + B * H * 128 * 262144 + B * H * 128 * 262144 * 256)
    assert float(full_out["traffic_bytes"]) == pytest.approx(traffic)
    assert float(full_out["latency_s"]) == pytest.approx(traffic / (400 * 2**30))
    assert float(half_out["latency_s"]) == pytest.approx(2 * float(full_out["latency_s"]))


def test_head_dims_change_binding_latency():
    # E = F = 128, M = P = 1024: [max(129, 129 + 128/4) + 128 + 9]*12288 = 298*12288
    out = binding(load_spec("fusemax"), E=128, F=128, M=1024, P=1024)
    assert float(out["latency_cycles"]) == pytest.approx(298 * 12288)


def test_vectorised_points_match_single_points():
    import numpy as np

    spec = load_spec("fusemax")
    many = binding(spec, E=64, F=64, M=np.array([1024, 4096]), P=np.array([1024, 4096]))
    one = binding(spec, E=64, F=64, M=4096, P=4096)
    assert float(many["latency_s"][1]) == pytest.approx(float(one["latency_s"]))


def test_p1_rule_derives_tile_from_buffer():
    # avail = 16MiB - 256*(64+64)*2 B; per query row 2*(64+1+1+64) B -> cap 251 -> P1 = 128
    out = binding(load_spec("fusemax"), E=64, F=64, M=65536, P=65536)
    assert float(out["tile_P"]) == 128 * 256


def test_tile_that_cannot_fit_names_buffer_and_tensors():
    spec = load_spec("fusemax-edge")
    mapping = load_mapping("fusemax-binding")
    model = build_cost_model(ONE_PASS, spec, mapping, "artifact")
    with pytest.raises(MappingError) as info:
        evaluate_design_points(model, {"B": B, "H": H, "E": 4096, "F": 4096, "M": 1024, "P": 1024})
    assert info.value.codes == ("M401",)
    assert "L3" in str(info.value) and "BK" in str(info.value)


def test_binding_to_missing_array_is_located():
    text = mapping_path("fusemax-binding").read_text().replace("  pe1d: [RM", "  pe3d: [RM")
    mapping = mapping_from_text(text, "m.yaml")
    with pytest.raises(MappingError) as info:
        build_cost_model(ONE_PASS, load_spec("fusemax"), mapping)
    assert "M201" in info.value.codes
    diag = info.value.diagnostics[0]
    assert diag.span.file == "m.yaml" and diag.hint == "did you mean 'pe2d' or 'pe1d'?"


def test_edge_spec_is_costed():
    out = binding(load_spec("fusemax-edge"), E=64, F=64, M=1024, P=1024)
    # 32x32 array: c0 = 64*12*1024*1024/1024 = 786432, M1 = 32
    # [max(65, 65 + 2) + 64 + 9]*c0 = 140*786432
    assert float(out["latency_cycles"]) == pytest.approx(140 * 786432)


def test_unfused_l3_words_and_energy():
    # One head (B = H = 1), M = P = 1024, E = F = 64, 3-pass cascade, phases through DRAM.
    # L3 reads: Q, K (QK phase) and V (AV phase) multicast over 256 PEs: 3 * 64*M*P/256;
    # AV partial sums (m split 256 spatial x M/256 temporal) read back: 64*M*P/256 - 64*P;
    # QK read by GM and SN, SN read by A: 3*M*P; GM and SD read once each: 2*P.
    m = 1024
    reads = 4 * 64 * m * m // 256 - 64 * m + 3 * m * m + 2 * m
    # L3 writes: Q, K, V fills (64*P, 64*M, 64*M); AV partial sums 64*M*P/256; QK filled
    # for the softmax; SN; GM and SD. QK and A go from the PEs straight to DRAM.
    writes = 3 * 64 * m + 64 * m * m // 256 + 2 * m * m + 2 * m
    mapping = load_mapping("unfused")
    model = build_cost_model(library.load("attention/3pass"), load_spec("flat"), mapping)
    out = evaluate_design_points(model, {"B": 1, "H": 1, "E": 64, "F": 64, "M": m, "P": m})
    assert float(out["accesses_L3_words"]) == reads + writes
    # one 4096-bit row = 256 words: 23861 pJ per row read, 27098 pJ per row written
    energy = (reads * 23861 + writes * 27098) / 256
    assert float(out["energy_L3_pj"]) == pytest.approx(energy)


@pytest.mark.parametrize("table", ["default", "artifact"], ids=["default", "artifact"])
def test_gemm_register_file_words_and_energy(table):
    from einsum_cascade import load_cascade

    model = build_cost_model(
        load_cascade("gemm"), load_spec("fusemax"), load_mapping("gemm-resident"), table
    )
    m, k, n = 65536, 768, 768
    out = evaluate_design_points(model, {"M": m, "K": k, "N": n})
    # output-stationary Z[m,n] += A[k,m]*W[k,n]: per point 2 operand reads + 1 partial-sum
    # read (all but the first of each of the M*N results), 1 update and 2 fills (A and W
    # arrive once per PE and k): reads 3*M*K*N - M*N, writes 3*M*K*N
    reads, writes = 3 * m * k * n - m * n, 3 * m * k * n
    assert float(out["accesses_pe2d_registers_words"]) == reads + writes
    per_word = (2.194455, 1.906455) if table == "default" else (0.0, 0.0)
    energy = reads * per_word[0] + writes * per_word[1]
    assert float(out["energy_pe2d_registers_pj"]) == pytest.approx(energy, rel=1e-12)


def test_flat_register_energy_per_score_element():
    mapping = load_mapping("flat", "BERT", 65536)
    model = build_cost_model(library.load(mapping.cascade), load_spec("flat"), mapping, "default")
    out = evaluate_design_points(
        model, {"B": B, "H": H, "E": 64, "F": 64, "D": 768, "S": 3072, "M": 65536, "P": 65536}
    )
    bhmp = B * H * 65536 * 65536
    # 2D array, per (m,p): QK reads 2*64 operands + 63 partial sums = 191, writes 64 updates
    # + 2*64 fills = 192; AV reads 192 - F/M, writes 192 -> 383 reads, 384 writes
    pe2d = (383 - 64 / 65536) * 2.194455 + 384 * 1.906455
    assert float(out["energy_pe2d_registers_pj"]) / bhmp == pytest.approx(pe2d, rel=1e-9)
    # 1D array: GM, SN, SD, A read 2 words each (GM, SD: 2 - 1/M); writes: GM 2, SN 2
    # (update + QK fill), SD 2, A 2 less the GM and SD fills kept over m -> 8 reads, 7 writes
    pe1d = 8 * 2.194455 + 7 * 1.906455
    assert float(out["energy_pe1d_registers_pj"]) / bhmp == pytest.approx(pe1d, rel=1e-4)
