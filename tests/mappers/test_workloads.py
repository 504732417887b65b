import pytest

from mappers.errors import WorkloadError
from mappers.workloads import format_seq, get_workload, parse_seq


@pytest.mark.parametrize(
    ("text", "value"),
    [("64K", 65536), ("1M", 1048576), ("65536", 65536), (512, 512)],
    ids=["64K", "1M", "plain", "int"],
)
def test_parse_seq(text, value):
    assert parse_seq(text) == value


def test_format_seq_round_trips():
    assert format_seq(parse_seq("256K")) == "256K"


@pytest.mark.parametrize(
    ("name", "shape"),
    [
        ("BERT", (64, 12, 64, 768)),
        ("xlm", (64, 16, 128, 2048)),
        ("T5", (64, 8, 64, 512)),
        ("TrXL", (64, 16, 64, 1024)),
    ],
    ids=["BERT", "XLM", "T5", "TrXL"],
)
def test_builtin_workloads(name, shape):
    w = get_workload(name, "1K")
    assert (w.batch, w.heads, w.head_dim_e, w.model_dim) == shape
    assert w.ffn_dim == 4 * w.model_dim


def test_unknown_workload_suggests():
    with pytest.raises(WorkloadError) as info:
        get_workload("BRT", "1K")
    assert info.value.codes == ("W101",)
    assert "BERT" in info.value.diagnostics[0].hint


def test_bad_seq_is_an_error():
    with pytest.raises(WorkloadError):
        parse_seq("64Q")
