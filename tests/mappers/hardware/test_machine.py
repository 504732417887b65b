import pytest

from mappers.errors import SpecError
from mappers.hardware.catalog import MACHINE_DIR as SPECS
from mappers.hardware.machine import (
    BandwidthLevel,
    CallTime,
    CpuProfile,
    CpuSpec,
    GpuSpec,
    MachineKind,
    ReduceRate,
    ShimRates,
)
from mappers.hardware.machine_loader import load_machine, machine_from_text
from mappers.hardware.machine_writer import cpu_spec_to_yaml


@pytest.mark.parametrize("name", ["a100", "h100", "cpu-template"])
def test_every_built_in_machine_spec_loads(name):
    spec = load_machine(SPECS / f"{name}.yaml")
    assert spec.name


@pytest.mark.parametrize(
    ("name", "sms", "ratio"),
    [
        # FP32 peak = SMs x 64 FMA lanes (A100) or 128 (H100) x 2 FLOPs x boost clock:
        # 108 * 64 * 2 * 1.41e9 = 19.49e12; 132 * 128 * 2 * 1.98e9 = 66.9e12
        ("a100", 108, 64 * 2),
        ("h100", 132, 128 * 2),
    ],
    ids=["a100", "h100"],
)
def test_gpu_fp32_peak_matches_lanes_times_clock(name, sms, ratio):
    spec = load_machine(name)
    assert isinstance(spec, GpuSpec) and spec.kind is MachineKind.GPU
    assert spec.sm_count == sms
    assert spec.fp32_flops_per_s == pytest.approx(sms * ratio * spec.clock_hz, rel=0.01)
    # tensor cores are far above the FP32 pipe (16x on A100, ~15x on H100)
    assert spec.tensor_fp16_flops_per_s / spec.fp32_flops_per_s > 10


def test_gpu_spec_reports_every_missing_key_at_once():
    with pytest.raises(SpecError) as caught:
        machine_from_text("version: 1\nkind: gpu\nname: tiny\nsm_count: 2\n", "tiny.yaml")
    codes = caught.value.codes
    assert codes.count("H102") >= 10
    assert "tiny.yaml:1:1" in str(caught.value)


def test_unknown_key_is_located_with_a_suggestion():
    text = (SPECS / "a100.yaml").read_text().replace("sm_count:", "sm_cont:")
    with pytest.raises(SpecError) as caught:
        machine_from_text(text, "a100.yaml")
    rendered = str(caught.value)
    assert "unknown key 'sm_cont'" in rendered
    assert "did you mean 'sm_count'" in rendered


def test_unknown_kind_suggests_the_valid_one():
    with pytest.raises(SpecError) as caught:
        machine_from_text("version: 1\nkind: gpuu\nname: x\n", "x.yaml")
    assert "H106" in caught.value.codes
    assert "x.yaml:2:7" in str(caught.value)


def test_cpu_spec_round_trips_through_yaml():
    profile = CpuProfile(
        threads=1,
        call_overhead_s=(("ufunc", 2e-7), ("default", 3e-7)),
        levels=(BandwidthLevel("L1", 32768, 6e10), BandwidthLevel("DRAM", 2**50, 1e10)),
        exp_per_s=2e9,
        reduce=(ReduceRate(8, 1e8), ReduceRate(64, 1e9)),
    )
    spec = CpuSpec("box", 2, (profile,), (("cpu_model", "test"),))
    back = machine_from_text(cpu_spec_to_yaml(spec))
    assert back == spec


def test_cpu_profile_prices_by_level_and_interpolates_reductions():
    profile = CpuProfile(
        1,
        (("ufunc", 2e-7),),
        (BandwidthLevel("L1", 32768, 6e10), BandwidthLevel("DRAM", 2**50, 1e10)),
        2e9,
        reduce=(ReduceRate(8, 1e8), ReduceRate(64, 1e9)),
    )
    assert profile.bandwidth_bytes_per_s(1000) == 6e10
    assert profile.bandwidth_bytes_per_s(10**6) == 1e10
    assert profile.overhead_s("where") == 0.0  # no default entry
    # log-interpolation: inner 8 -> 1e8, 64 -> 1e9; 3 of 3 log2 steps... 16 is 1/3 of the way
    assert profile.reduce_elements_per_s(16) == pytest.approx(1e8 + (1e9 - 1e8) / 3)
    assert profile.reduce_elements_per_s(4) == 1e8


def test_cpu_spec_with_call_times_and_shim_rates_round_trips():
    profile = CpuProfile(
        threads=1,
        call_overhead_s=(("default", 3e-7),),
        levels=(BandwidthLevel("DRAM", 2**50, 1e10),),
        exp_per_s=2e9,
        call_times=(CallTime("where", 16, 1e-6), CallTime("where", 4096, 3e-6)),
        interpreter_s_per_call=5e-8,
    )
    shim = ShimRates(64, 1e-4, 2e-3, 3e-5, 4e-10, 6e-10, 1e-9, 4e-10)
    spec = CpuSpec("box", 2, (profile,), (("cpu_model", "test"),), shim=shim)
    assert machine_from_text(cpu_spec_to_yaml(spec)) == spec


@pytest.mark.parametrize(
    ("elements", "seconds"),
    [
        (1, 1e-6),  # below the smallest size: the fixed cost
        (16, 1e-6),
        (1056, 2e-6),  # (1056 - 16) / (2096 - 16) = 1/2 of the way from 1 us to 3 us
        (4176, 5e-6),  # past the largest: the last slope, 2 us per 2080 elements, continues
    ],
    ids=["below", "first", "between", "beyond"],
)
def test_call_seconds_interpolate_linearly_in_elements(elements, seconds):
    times = (CallTime("where", 16, 1e-6), CallTime("where", 2096, 3e-6))
    profile = CpuProfile(1, (), (BandwidthLevel("DRAM", 2**50, 1e10),), 2e9, call_times=times)
    assert profile.call_seconds("where", elements) == pytest.approx(seconds)
    assert profile.call_seconds("exp", elements) is None


def test_shim_rates_missing_a_key_is_located():
    text = cpu_spec_to_yaml(
        CpuSpec(
            "box",
            2,
            (CpuProfile(1, (), (BandwidthLevel("DRAM", 2**50, 1e10),), 2e9),),
            shim=ShimRates(64, 1e-4, 2e-3, 3e-5, 4e-10, 6e-10, 1e-9, 4e-10),
        )
    )
    broken = "\n".join(line for line in text.splitlines() if "barrier_s" not in line)
    with pytest.raises(SpecError) as caught:
        machine_from_text(broken, "box.yaml")
    assert "H102" in caught.value.codes
    assert "barrier_s" in str(caught.value)
