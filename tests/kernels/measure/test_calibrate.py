import math

import pytest
from typer.testing import CliRunner

from einsum_cascade.cli import _register_commands, app
from kernels.measure.calibrate import CalibrationSettings, contraction_shapes, thread_environment
from kernels.measure.calibrate_bench import best_seconds, cache_levels
from mappers.hardware.machine import CpuSpec
from mappers.hardware.machine_loader import load_machine

_register_commands()


def test_thread_environment_sets_every_blas_variable():
    env = thread_environment(1)
    assert env["OPENBLAS_NUM_THREADS"] == "1"
    assert env["OMP_NUM_THREADS"] == "1"


def test_contraction_shapes_are_the_twins_einsums():
    settings = CalibrationSettings.quick_settings(("attention/1pass",))
    shapes = contraction_shapes(settings)
    # 1pass: BQK (Q[E, P] with a K tile [E, M0]) and SLNV (SLN[P, M0] with a V tile [F, M0]),
    # for tiles 32 and 64 at E = 64, P = 256: 2 * 2 = 4 distinct calls
    assert ("ca,cb->ab", ((64, 256), (64, 32))) in shapes
    assert ("ac,bc->ab", ((256, 64), (64, 64))) in shapes
    assert len(shapes) == 4


def test_best_seconds_is_positive():
    assert best_seconds(lambda: sum(range(10)), repeats=2, calls=3) > 0


def test_cache_levels_are_sorted_by_size():
    sizes = [size for _, size in cache_levels()]
    assert sizes == sorted(sizes) and sizes[0] > 0


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory):
    out = tmp_path_factory.mktemp("calibrate") / "host.yaml"
    result = CliRunner().invoke(app, ["calibrate", "--quick", "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    return out, result.output


def test_calibrate_writes_a_loadable_spec_with_conditions(calibrated):
    out, _ = calibrated
    spec = load_machine(out)
    assert isinstance(spec, CpuSpec)
    conditions = dict(spec.conditions)
    assert conditions["quick"] == "true"
    assert "numpy" in conditions and "cpu_model" in conditions
    assert spec.profiles[0].threads == 1
    assert {p.threads for p in spec.profiles} == {1, spec.logical_cores}


def test_calibrated_rates_have_sane_ratios(calibrated):
    profile = load_machine(calibrated[0]).profile(1)
    # loose ratios only: a call costs less than a millisecond, exp is slower than a copy of
    # the same elements in L1, and every einsum was measured at a positive rate
    assert 0 < profile.overhead_s("ufunc") < 1e-3
    assert all(r.flops_per_s > 0 for r in profile.einsum)
    assert profile.levels[0].bandwidth_bytes_per_s / 12 > profile.exp_per_s / 100
    assert "rt.settle" in dict(profile.call_overhead_s)


def test_calibration_measures_the_twin_calls_and_the_shim(calibrated):
    spec = load_machine(calibrated[0])
    profile = spec.profile(1)
    functions = {c.function for c in profile.call_times}
    assert {"where", "where_data", "copy", "ufunc", "exp", "full", "setitem"} <= functions
    # a larger call never costs less than the smallest: 524288 elements vs 16
    assert profile.call_seconds("copy", 524288) > profile.call_seconds("copy", 16)
    assert profile.interpreter_s_per_call >= 0.0
    assert spec.shim is not None and spec.shim.threads_per_block == 64
    # block creation and a barrier are differences of two noisy launches, clamped at zero:
    # which is larger, and whether either is above the noise, depends on the host's load
    assert math.isfinite(spec.shim.block_s) and spec.shim.block_s >= 0
    assert math.isfinite(spec.shim.barrier_s) and spec.shim.barrier_s >= 0
    # per-point costs are differences of two noisy launches in quick mode: only never negative
    assert spec.shim.accumulate_s >= 0 and spec.shim.elementwise_s >= 0
    assert dict(spec.conditions)["shim"].startswith("g++ build")


def test_calibrate_refuses_to_overwrite_without_force(calibrated):
    out, _ = calibrated
    result = CliRunner().invoke(app, ["calibrate", "--quick", "--out", str(out)])
    assert result.exit_code == 1
    assert "--force" in result.output
