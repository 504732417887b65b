import numpy as np
import pytest

from mappers.sweep.errors import SweepError
from mappers.sweep.values import parse_constraint, parse_number, parse_range


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("64", 64),
        ("940e6", 940e6),
        ("1K", 1024),
        ("256K", 262144),  # 256 * 1024
        ("1M", 1048576),  # 1024 * 1024
        ("16MiB", 16777216),  # 16 * 2**20
        ("0.5", 0.5),
        ("1.5K", 1536),  # 1.5 * 1024, integral so an int
    ],
    ids=["int", "exponent", "1K", "256K", "1M", "MiB", "float", "fractional-K"],
)
def test_parse_number_reads_suffixes(text, expected):
    assert parse_number(text) == expected


@pytest.mark.parametrize(
    "text", ["abc", "12Q", "1..2", ""], ids=["word", "bad-suffix", "range", "empty"]
)
def test_parse_number_rejects_non_numbers(text):
    with pytest.raises(SweepError) as caught:
        parse_number(text)
    assert caught.value.codes == ("SW110",)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1K..1M x4", (1024, 4096, 16384, 65536, 262144, 1048576)),  # 4**0..4**5 times 1K
        ("16..64 +16", (16, 32, 48, 64)),
        ("1..4", (1, 2, 3, 4)),
        ("16..512 x2", (16, 32, 64, 128, 256, 512)),
        ("10..25 +10", (10, 20)),  # 30 would pass the stop
    ],
    ids=["seq-x4", "arith", "unit-step", "pe-x2", "stop-not-hit"],
)
def test_parse_range_expands_inclusive(text, expected):
    assert parse_range(text) == expected


@pytest.mark.parametrize(
    "text",
    ["1..", "8..1", "0..8 x2", "1..8 x1", "1..8 +0"],
    ids=["no-stop", "empty", "zero-start", "factor-1", "step-0"],
)
def test_parse_range_rejects_bad_ranges(text):
    with pytest.raises(SweepError) as caught:
        parse_range(text)
    assert caught.value.codes[0] in ("SW110", "SW111")


def test_constraint_masks_values():
    constraint = parse_constraint("area_um2 <= 5e9")
    assert (constraint.column, constraint.op, constraint.bound) == ("area_um2", "<=", 5e9)
    mask = constraint.mask(np.array([1e9, 5e9, 6e9]))
    assert mask.tolist() == [True, True, False]


def test_bad_constraint_is_sw112_with_hint():
    with pytest.raises(SweepError) as caught:
        parse_constraint("area_um2 =< 5e9")
    assert caught.value.codes == ("SW112",)
    assert "OP one of <=" in str(caught.value)
