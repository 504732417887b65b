"""Spec parameters as columns of one compiled model: same numbers as a rebuilt spec."""

import dataclasses

import numpy as np
import pytest

import einsum_cascade.library as library
from mappers.cost.model import build_cost_model, evaluate_design_points, tiles_fit
from mappers.cost.parameters import parameter_defaults
from mappers.errors import MappingError
from mappers.hardware.spec_loader import load_spec
from mappers.mapping.loader import load_mapping

ONE_PASS = library.load("attention/1pass")
SPEC = load_spec("fusemax")
POINT = {"B": 64, "H": 12, "E": 64, "F": 64}


def model(table="artifact", mapping="fusemax-binding"):
    return build_cost_model(ONE_PASS, SPEC, load_mapping(mapping), table)


def with_shape(spec, size):
    pe2d = dataclasses.replace(spec.array("pe2d"), shape=(size, size))
    pe1d = dataclasses.replace(spec.array("pe1d"), shape=(size,))
    return spec.replace_array(pe2d).replace_array(pe1d)


def test_pe_shape_columns_give_the_closed_forms_of_both_arrays_in_one_call():
    # 256: c0 = 64*12*1024*1024/256^2 = 12288, M1 = 4:   [81 + 64 + 9]*12288 = 1892352
    # 128: c0 = 64*12*1024*1024/128^2 = 49152, M1 = 8: [65 + 8 + 64 + 9]*49152 = 7176192
    shapes = np.array([[256, 256], [128, 128]])
    out = evaluate_design_points(
        model(), {**POINT, "M": 1024, "P": 1024, "pe2d.shape": shapes, "pe1d.shape": shapes[:, :1]}
    )
    assert out["latency_cycles"] == pytest.approx([1892352, 7176192])
    # util_2d at 128 = (E + F + 9)/146 = 137/146
    assert out["util_pe2d"][1] == pytest.approx(137 / 146)


@pytest.mark.parametrize(
    ("size_bytes", "tile"),
    [
        # words = (E+F+2)*tile_P + (E+F)*M0 = 130*tile_P + 128*256 must fit L3/2 bytes:
        # 1 MiB: (524288 - 32768)/130/256 = 14.8 -> 14 steps; largest divisor of 65536/256 =
        # 256 at most 14 is 8 -> tile_P = 8*256 = 2048
        (2**20, 2048),
        # 16 MiB: (8388608 - 32768)/130/256 = 251.1 -> 251; divisor of 256 <= 251 is 128 -> 32768
        (16 * 2**20, 32768),
    ],
    ids=["1MiB", "16MiB"],
)
def test_buffer_size_column_picks_the_tile_a_rebuilt_spec_picks(size_bytes, tile):
    point = {**POINT, "M": 65536, "P": 65536}
    out = evaluate_design_points(model(), {**point, "L3.size_bytes": size_bytes})
    assert float(out["tile_P"]) == tile
    level = dataclasses.replace(SPEC.level("L3"), size_bytes=size_bytes)
    rebuilt = build_cost_model(
        ONE_PASS, SPEC.replace_level(level), load_mapping("fusemax-binding"), "artifact"
    )
    reference = evaluate_design_points(rebuilt, point)
    for name in ("latency_s", "energy_pj", "traffic_bytes", "util_pe2d", "energy_L3_pj"):
        assert float(out[name]) == pytest.approx(float(reference[name]), rel=1e-12)


def test_every_parameter_at_once_matches_rebuilt_specs():
    sizes, clocks, bandwidths = [64, 128, 256], [5e8, 940e6, 2e9], [1e11, 4e11, 1.6e12]
    point = {**POINT, "M": 16384, "P": 16384}
    columns = {
        "pe2d.shape": np.array([[s, s] for s in sizes]),
        "pe1d.shape.cols": np.array(sizes),
        "clock_hz": np.array(clocks),
        "DRAM.bandwidth_bytes_per_s": np.array(bandwidths),
        "L3.size_bytes": np.array([2**21, 2**22, 2**24]),
        "pe2d.register_read_energy_pj": np.array([1.0, 2.0, 3.0]),
    }
    out = evaluate_design_points(model("default", "fusemax-pipelined"), {**point, **columns})
    for i, size in enumerate(sizes):
        spec = with_shape(SPEC, size)
        spec = dataclasses.replace(spec, clock_hz=clocks[i])
        spec = spec.replace_level(
            dataclasses.replace(spec.level("DRAM"), bandwidth_bytes_per_s=bandwidths[i])
        )
        spec = spec.replace_level(
            dataclasses.replace(spec.level("L3"), size_bytes=float(columns["L3.size_bytes"][i]))
        )
        pe2d = dataclasses.replace(spec.array("pe2d"), register_read_energy_pj=i + 1.0)
        spec = spec.replace_array(pe2d)
        mapping = load_mapping("fusemax-pipelined")
        reference = evaluate_design_points(build_cost_model(ONE_PASS, spec, mapping), point)
        for name, values in reference.items():
            assert out[name][i] == pytest.approx(float(values), rel=1e-12), name


def test_a_cost_table_still_fixes_the_register_energies_a_point_sets():
    point = {
        **POINT,
        "M": 1024,
        "P": 1024,
        "pe2d.register_read_energy_pj": [0.0, 1.0, 2.0],
        "pe2d.register_write_energy_pj": 0.0,
    }
    artifact = evaluate_design_points(model("artifact"), point)
    assert list(artifact["energy_pe2d_registers_pj"]) == [0.0, 0.0, 0.0]
    # default table: energy = reads*read_pj + writes*0, linear in read_pj
    energy = evaluate_design_points(model("default"), point)["energy_pe2d_registers_pj"]
    assert energy[0] == 0.0 and energy[1] > 0
    assert energy[2] == pytest.approx(2 * energy[1], rel=1e-15)


def test_the_models_symbolic_forms_are_at_the_specs_own_numbers():
    compiled = model()
    names = {s.name for e in compiled.symbolic.einsums for s in e.used_pes.free_symbols}
    assert not {n for n in names if "." in n}
    # the parametric forms keep the dimension: used PEs of BQK = Min(M0, rows)*Min(tile_P, cols)
    used = {e.name: e.used_pes for e in compiled.parametric.einsums}["BQK"]
    assert {s.name for s in used.free_symbols} >= {"pe2d.shape.rows", "pe2d.shape.cols"}
    assert compiled.symbolic.extents.full["M0"] == 256


def test_defaults_list_every_numeric_field():
    defaults = parameter_defaults(SPEC)
    assert defaults["pe2d.shape.rows"] == 256 and defaults["pe1d.shape.cols"] == 256
    assert defaults["L3.size_bytes"] == 16 * 2**20 and defaults["clock_hz"] == 940e6
    assert "DRAM.size_bytes" not in defaults  # DRAM has no size: nothing to set


@pytest.mark.parametrize(
    ("columns", "text"),
    [
        ({"L3.size_byte": 1.0}, "did you mean 'L3.size_bytes'"),
        ({"pe2d.shape": np.array([[16]])}, "needs 2 values per point"),
    ],
    ids=["unknown", "wrong-width"],
)
def test_bad_parameters_are_m404(columns, text):
    with pytest.raises(MappingError) as caught:
        evaluate_design_points(model(), {**POINT, "M": 1024, "P": 1024, **columns})
    assert caught.value.codes == ("M404",)
    assert text in str(caught.value)


def test_a_buffer_too_small_for_one_tile_is_m401_and_tiles_fit_says_so():
    # BK + BV alone are (E+F)*M0 = 32768 words = 64 KiB: 32 KiB cannot hold them
    point = {**POINT, "M": 1024, "P": 1024, "L3.size_bytes": np.array([2**15, 2**24])}
    assert list(tiles_fit(model(), point)) == [False, True]
    with pytest.raises(MappingError) as caught:
        evaluate_design_points(model(), point)
    assert caught.value.codes == ("M401",)
    assert "32768 bytes" in str(caught.value)
