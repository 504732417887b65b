import pytest

from mappers.sweep.errors import SweepError
from mappers.sweep.run import evaluate_sweep
from mappers.sweep.spec import sweep_from_text

BASE = """\
version: 1
evaluator: cost
base: {mapping: fusemax-binding, workload: BERT}
metrics: [latency_s, energy_pj, area_um2, util_pe2d]
"""


def sweep(axes: str):
    return evaluate_sweep(sweep_from_text(BASE + "axes:\n" + axes))


def test_cost_sweep_matches_single_point_estimates():
    from einsum_cascade import library
    from mappers import estimate_cost, get_workload, load_mapping, load_spec

    frame = sweep("  seq: [1K, 64K]\n")
    mapping = load_mapping("fusemax-binding", "BERT", 65536)
    report = estimate_cost(
        library.load("attention/1pass"), load_spec("fusemax"), mapping, get_workload("BERT", 65536)
    )
    assert frame["latency_s"].iloc[1] == pytest.approx(report.metric("latency_s"), rel=1e-12)
    assert frame["energy_pj"].iloc[1] == pytest.approx(report.metric("energy_pj"), rel=1e-12)


def test_pe_array_shape_axis_changes_area_by_the_pe_count():
    frame = sweep("  seq: [1K]\n  pe2d.shape: [[16, 16], [32, 32]]\n")
    # (32*32 - 16*16) PEs * 18426.05 um^2 per 2D PE = 768 * 18426.05 = 14151206.4 um^2
    assert frame["area_um2"].iloc[1] - frame["area_um2"].iloc[0] == pytest.approx(14151206.4)


def test_latency_depends_on_work_per_pe_squared():
    # latency depends only on B*H*M*P/PE^2 and M/PE (artifact note section 6), and both
    # agree for (PE 64, M = P = 256K) and (PE 256, M = P = 1M):
    # M*P/PE^2 = 2^36/2^12 = 2^24 = 2^40/2^16 and M/PE = 2^18/2^6 = 2^12 = 2^20/2^8
    text = """\
  seq: [256K, 1M]
  pe2d.shape: [[64, 64], [256, 256]]
  pe1d.shape: [[64], [256]]
zip: [[pe2d.shape, pe1d.shape]]
"""
    frame = sweep(text)
    small_at_256k = frame[(frame["seq"] == 262144) & (frame["pe2d.shape"] == "64x64")]
    large_at_1m = frame[(frame["seq"] == 1048576) & (frame["pe2d.shape"] == "256x256")]
    assert small_at_256k["latency_s"].item() == pytest.approx(large_at_1m["latency_s"].item())


def test_unknown_spec_parameter_suggests_one():
    with pytest.raises(SweepError) as caught:
        sweep("  pe2d.shap: [[16, 16]]\n")
    assert caught.value.codes == ("SW307",)
    assert "did you mean 'pe2d.shape'" in str(caught.value)


def test_cost_evaluator_needs_a_mapping():
    text = "version: 1\nevaluator: cost\naxes:\n  seq: [1K]\n"
    with pytest.raises(SweepError) as caught:
        evaluate_sweep(sweep_from_text(text))
    assert caught.value.codes == ("SW306",)


def test_a_spec_parameter_sweep_builds_one_model_and_matches_rebuilt_specs():
    import dataclasses

    from einsum_cascade import library
    from mappers import estimate_cost, get_workload, load_mapping, load_spec
    from mappers.cost.model import build_cost_model

    build_cost_model.cache_clear()
    frame = sweep(
        "  seq: [4K]\n"
        "  pe2d.shape: [[32, 32], [64, 64], [128, 128]]\n"
        "  L3.size_bytes: [1MiB, 4MiB]\n"
        "  clock_hz: [5e8, 1e9]\n"
    )
    # 12 points differing only in spec numbers: one compiled model
    assert build_cost_model.cache_info().currsize == 1
    assert len(frame) == 12
    last = frame.iloc[-1]  # 128 x 128, 4 MiB, 1 GHz
    spec = load_spec("fusemax")
    pe2d = dataclasses.replace(spec.array("pe2d"), shape=(128, 128))
    spec = dataclasses.replace(spec.replace_array(pe2d), clock_hz=1e9)
    spec = spec.replace_level(dataclasses.replace(spec.level("L3"), size_bytes=4 * 2**20))
    report = estimate_cost(
        library.load("attention/1pass"),
        spec,
        load_mapping("fusemax-binding", "BERT", 4096),
        get_workload("BERT", 4096),
    )
    assert last["latency_s"] == pytest.approx(report.metric("latency_s"), rel=1e-12)
    assert last["energy_pj"] == pytest.approx(report.metric("energy_pj"), rel=1e-12)
    # area: 128^2 2D PEs * 18426.05 + 256 1D PEs * 42200 um^2 + 4 MiB of L3 at its area per
    # byte (issue 11: the area used to ignore the buffer size)
    per_byte = spec.level("L3").area_um2_per_byte
    assert last["area_um2"] == pytest.approx(128**2 * 18426.05 + 256 * 42200 + 4 * 2**20 * per_byte)


def test_gemm_mapping_resolves_its_cascade_as_model_does():
    # The mapping names the cascade 'gemm': the sweep finds it where 'model' does.
    from einsum_cascade import load_cascade
    from mappers import estimate_cost, get_workload, load_mapping, load_spec

    text = """\
version: 1
evaluator: cost
base: {mapping: gemm-resident, arch: fusemax}
metrics: [latency_s]
axes:
  M: [4M]
  K: [768]
  N: [768]
"""
    frame = evaluate_sweep(sweep_from_text(text))
    mapping = load_mapping("gemm-resident")
    extents = {"M": 4 * 2**20, "K": 768, "N": 768}
    shape = get_workload("BERT", 1024)  # its extents are not the GEMM's: M, K, N override
    report = estimate_cost(
        load_cascade("gemm"), load_spec("fusemax"), mapping, shape, extents=extents
    )
    assert frame["latency_s"].item() == pytest.approx(report.metric("latency_s"), rel=1e-12)


def test_an_upper_case_axis_that_is_no_declared_rank_is_refused():
    # 'Q' is neither a rank of attention/1pass, an extent of BERT nor a batch rank: the
    # declared names decide, not the capital letter
    with pytest.raises(SweepError) as caught:
        sweep("  seq: [1K]\n  Q: [1, 2]\n")
    assert caught.value.codes == ("SW307",)


def test_a_workload_extent_axis_is_an_extent():
    # B (the batch) is an extent of the BERT workload, not a rank of the cascade
    frame = sweep("  seq: [1K]\n  B: [1, 2]\n")
    assert frame["latency_s"].iloc[1] > frame["latency_s"].iloc[0]
