"""Linear-layer plans: the built-in plan, and located diagnostics for bad plan YAML."""

import pytest

from mappers.cost.linear_plan import (
    LinearLayer,
    check_plan_extents,
    linear_plan_from_text,
    load_linear_plan,
)
from mappers.errors import MappingError

GOOD = """\
version: 1
cascade: gemm
mappings: [gemm-resident]
rows: [B, P]
layers:
  - {name: Q, K: [D], N: [E, H]}
"""


def test_builtin_plan_lists_the_six_fusemax_gemms():
    plan = load_linear_plan()
    assert plan.cascade == "gemm"
    assert plan.mappings == ("gemm-resident", "gemm-streamed")
    assert [layer.name for layer in plan.layers] == ["Q", "K", "V", "Z", "FFN1", "FFN2"]
    assert plan.layers[3] == LinearLayer("Z", ("F", "H"), ("D",))


def test_plan_from_text_records_spans_of_extent_lists():
    plan = linear_plan_from_text(GOOD, "plan.yaml")
    span = plan.span_of("layers.Q.N")
    assert (span.file, span.line, span.col) == ("plan.yaml", 6, 26)


@pytest.mark.parametrize(
    ("text", "code", "message", "line"),
    [
        (
            GOOD.replace("N: [E, H]", "N: [E], M: [H]"),
            "M101",
            "unknown key 'M' in a linear layer",
            6,
        ),
        (GOOD.replace("rows: [B, P]\n", ""), "M102", "missing key 'rows' in the linear plan", 1),
        (GOOD.replace("version: 1", "version: 2"), "M105", "unsupported version 2", 1),
        (GOOD + "  - {name: Q, K: [D], N: [E]}\n", "M107", "layer 'Q' appears twice", 7),
        (GOOD.replace("mappings: [gemm-resident]", "mappings: []"), "M104", "at least one", 3),
    ],
    ids=["unknown-key", "missing-rows", "version", "duplicate-layer", "no-mappings"],
)
def test_bad_plan_is_a_located_error(text, code, message, line):
    with pytest.raises(MappingError) as info:
        linear_plan_from_text(text, "plan.yaml")
    assert info.value.codes == (code,)
    diagnostic = info.value.diagnostics[0]
    assert message in diagnostic.message
    assert diagnostic.span.line == line


def test_missing_plan_file_is_m110(tmp_path):
    with pytest.raises(MappingError) as info:
        load_linear_plan(tmp_path / "none.yaml")
    assert info.value.codes == ("M110",)


def test_every_missing_extent_is_reported_at_its_list():
    plan = linear_plan_from_text(GOOD.replace("K: [D]", "K: [DD]"), "plan.yaml")
    with pytest.raises(MappingError) as info:
        check_plan_extents(plan, ("B", "D", "E", "H"))
    assert info.value.codes == ("M403", "M403")  # P in rows, DD in layer Q's K
    rendered = str(info.value)
    assert "plan.yaml:4:7: error[M403]: linear plan uses extent 'P'" in rendered
    assert "did you mean 'D'?" in rendered
