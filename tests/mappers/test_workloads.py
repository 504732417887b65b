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


def test_builtin_label_states_every_extent():
    assert get_workload("BERT", "1K").label() == "BERT (B=64 H=12 E=64 F=64 D=768 S=3072 M=1K P=1K)"


WORKLOAD = """\
version: 1
name: layernorm-4k
extents: {D: 768, P: 4K}
batch_ranks: []
"""


def test_workload_file_names_extents_and_batch_ranks(tmp_path):
    from mappers.workloads import load_workload

    path = tmp_path / "w.yaml"
    path.write_text(WORKLOAD)
    workload = load_workload(str(path))
    assert workload.extents() == {"D": 768, "P": 4096}
    assert workload.batch_ranks == ()
    assert workload.label() == "layernorm-4k (D=768 P=4K; batch -)"
    assert load_workload(str(path), "1K").extents() == {"D": 768, "P": 1024, "M": 1024}


def test_workload_file_errors_are_located():
    from mappers.workloads import workload_from_text

    text = "version: 1\nname: w\nextents: {D: -3, p: 4}\nbatch_ranks: [B]\nextra: 1\n"
    with pytest.raises(WorkloadError) as info:
        workload_from_text(text, "w.yaml")
    found = {(d.code, d.span.line, d.span.col) for d in info.value.diagnostics}
    assert found == {("W102", 3, 14), ("WL106", 3, 18), ("WL107", 4, 15), ("WL101", 5, 1)}


def test_none_means_no_extents_and_builtins_need_a_length():
    from mappers.workloads import load_workload

    assert load_workload("none").extents() == {}
    with pytest.raises(WorkloadError) as info:
        load_workload("BERT")
    assert info.value.codes == ("W103",)
