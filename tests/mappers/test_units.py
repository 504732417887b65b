"""One quantity grammar: the same text means the same value at every entry point."""

from pathlib import Path

import pytest
import typer

from einsum_cascade.cli.options import extent_options, extents_option
from kernels.errors import KernelError
from kernels.measure.compare import parse_sizes
from mappers.errors import MappingError, SpecError, WorkloadError
from mappers.hardware.spec_loader import spec_from_text
from mappers.mapping.loader import mapping_from_text
from mappers.sweep.errors import SweepError
from mappers.sweep.spec import axis_from_option, sweep_from_text
from mappers.units import (
    COUNT,
    FREQUENCY,
    SHAPE,
    SIZE,
    QuantityError,
    field_kind,
    parse_quantity,
)
from mappers.workloads import get_workload, workload_from_text

DATA = Path(__file__).parents[2] / "mappers" / "data"
SPEC = (DATA / "accelerators" / "fusemax.yaml").read_text()
MAPPING = (DATA / "mappings" / "fusemax-binding.yaml").read_text()


def _spec(old: str, new: str):
    assert old in SPEC
    return spec_from_text(SPEC.replace(old, new), "spec.yaml")


def _mapping(old: str, new: str):
    assert old in MAPPING
    return mapping_from_text(MAPPING.replace(old, new), "mapping.yaml")


def _sweep_axis(name: str, text: str):
    from_option = axis_from_option(name, f"[{text}]").values[0]
    from_file = sweep_from_text(f"version: 1\naxes:\n  {name}: [{text}]\n").axes[0].values[0]
    assert from_option == from_file
    return from_option


COUNT_ENTRY_POINTS = {
    "spec shape": lambda t: _spec("shape: [256, 256]", f"shape: [{t}, 256]").arrays[0].shape[0],
    "mapping extent": lambda t: dict(_mapping("extents:\n", f"extents:\n  X0: {t}\n").extents)[
        "X0"
    ],
    "sweep axis seq": lambda t: _sweep_axis("seq", t),
    "sweep axis extent": lambda t: _sweep_axis("B", t),
    "cli --extent": lambda t: extent_options([f"M={t}"])["M"],
    "cli --shape": lambda t: extents_option(f"M={t}")["M"],
    "workload --seq": lambda t: get_workload("BERT", t).seq_len,
    "workload file extent": lambda t: workload_from_text(
        f"version: 1\nname: w\nextents: {{D: {t}}}\n"
    ).extents()["D"],
    "kernel --tile": lambda t: extents_option(f"M0={t}", "--tile", SHAPE)["M0"],
    "compare --sizes": lambda t: parse_sizes(f"M={t}")["M"][0],
}


def _level(old: str, new: str, index: int, field: str):
    return getattr(_spec(old, new).levels[index], field)


SIZE_ENTRY_POINTS = {
    "spec size_bytes": lambda t: _level("size_bytes: 16MiB", f"size_bytes: {t}", 1, "size_bytes"),
    "spec bandwidth": lambda t: _level(
        "bandwidth_bytes_per_s: 400GiB", f"bandwidth_bytes_per_s: {t}", 0, "bandwidth_bytes_per_s"
    ),
    "mapping budget_bytes": lambda t: (
        _mapping("{fit: L3, step", f"{{fit: L3, budget_bytes: {t}, step").tiles[0].budget_bytes
    ),
    "sweep axis size": lambda t: _sweep_axis("L3.size_bytes", t),
}
FREQUENCY_ENTRY_POINTS = {
    "spec clock_hz": lambda t: _spec("clock_hz: 940e6", f"clock_hz: {t}").clock_hz,
    "sweep axis clock_hz": lambda t: _sweep_axis("clock_hz", t),
}


@pytest.mark.parametrize("entry", COUNT_ENTRY_POINTS)
@pytest.mark.parametrize(
    ("text", "value"),
    [("1K", 1024), ("1k", 1024), ("16M", 16 * 2**20), ("256K", 262144), ("1Ki", 1024), ("64", 64)],
)
def test_counts_mean_the_same_everywhere(entry, text, value):
    assert COUNT_ENTRY_POINTS[entry](text) == value


@pytest.mark.parametrize("entry", SIZE_ENTRY_POINTS)
@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("16MiB", 16 * 2**20),
        ("16M", 16 * 2**20),  # a bare suffix is binary
        ("16MB", 16_000_000),  # MB is decimal
        ("1K", 1024),
        ("4096", 4096),
    ],
)
def test_sizes_mean_the_same_everywhere(entry, text, value):
    assert SIZE_ENTRY_POINTS[entry](text) == value


@pytest.mark.parametrize("entry", FREQUENCY_ENTRY_POINTS)
@pytest.mark.parametrize(
    ("text", "value"), [("940MHz", 940e6), ("940e6", 940e6), ("1GHz", 1e9), ("500kHz", 5e5)]
)
def test_frequencies_mean_the_same_everywhere(entry, text, value):
    assert FREQUENCY_ENTRY_POINTS[entry](text) == value


_REFUSED = (SpecError, MappingError, SweepError, WorkloadError, KernelError, typer.BadParameter)


@pytest.mark.parametrize("entry", COUNT_ENTRY_POINTS)
@pytest.mark.parametrize("text", ["16MB", "0.5", "-3", "nan", "inf", "1e999", "940MHz"])
def test_counts_refuse_the_same_texts_everywhere(entry, text):
    with pytest.raises(_REFUSED):
        COUNT_ENTRY_POINTS[entry](text)


@pytest.mark.parametrize("entry", FREQUENCY_ENTRY_POINTS)
@pytest.mark.parametrize("text", ["940M", "16MiB", "nan", "1e-300", "-940e6", "0"])
def test_frequencies_refuse_the_same_texts_everywhere(entry, text):
    with pytest.raises(_REFUSED):
        FREQUENCY_ENTRY_POINTS[entry](text)


def test_bandwidth_units():
    assert parse_quantity("400GiB/s", field_kind("DRAM.bandwidth_bytes_per_s")) == 400 * 2**30
    assert parse_quantity("900GB/s", field_kind("bandwidth_bytes_per_s")) == 900e9
    with pytest.raises(QuantityError):
        parse_quantity("400GiB/s", SIZE)  # a bandwidth is not a size


def test_units_are_case_sensitive_with_a_hint():
    with pytest.raises(QuantityError) as caught:
        parse_quantity("16mib", SIZE)
    assert "case-sensitive" in (caught.value.hint or "")


def test_whole_numbers_and_ranges():
    assert parse_quantity("1.5K", COUNT) == 1536
    with pytest.raises(QuantityError):
        parse_quantity(str(2**49), COUNT)
    assert parse_quantity("940MHz", FREQUENCY) == 940_000_000
