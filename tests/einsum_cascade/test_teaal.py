"""TeAAL-style YAML input: the same grammar, errors located in the YAML file."""

from __future__ import annotations

import numpy as np
import pytest
from builders import attention_inputs, softmax_attention

from einsum_cascade import DslError, DslSyntaxError, evaluate, parse_teaal_yaml

THREE_PASS = """\
einsum:
  declaration: {Q: [E, P], K: [E, M], V: [F, M], QK: [M, P], GM: [P], SN: [M, P],
                SD: [P], A: [M, P], AV: [F, P]}
  expressions:
    - "QK[m, p] = Q[e, p] * K[e, m]"
    - "GM[p] = QK[m, p] :: max"
    - SN[m, p] = exp(QK[m, p] - GM[p])
    - SD[p] = SN[m, p]
    - A[m, p] = SN[m, p] / SD[p]
    - AV[f, p] = A[m, p] * V[f, m]
"""


def test_yaml_cascade_evaluates_like_softmax() -> None:
    cascade = parse_teaal_yaml(THREE_PASS, "attn.yaml")
    assert [t.name for t in cascade.inputs] == ["Q", "K", "V"]
    assert [t.name for t in cascade.outputs] == ["AV"]
    inputs = attention_inputs(4, 3, 7, 5)
    np.testing.assert_allclose(
        evaluate(cascade, **inputs)["AV"],
        softmax_attention(**{k.lower(): v for k, v in inputs.items()}),
        rtol=1e-10,
    )


def test_semantic_error_points_into_the_yaml_string() -> None:
    text = THREE_PASS.replace("A[m, p] * V[f, m]", "A[m, p] * Vv[f, m]")
    with pytest.raises(DslError) as info:
        parse_teaal_yaml(text, "attn.yaml")
    span = info.value.diagnostics[0].span
    assert (span.file, span.line, span.col) == ("attn.yaml", 10, 28)
    assert "did you mean 'V'?" in str(info.value)


def test_syntax_error_in_quoted_string_is_located() -> None:
    text = THREE_PASS.replace('"QK[m, p] = Q[e, p] * K[e, m]"', '"QK[m, p] = Q[e, p] * * K"')
    with pytest.raises(DslSyntaxError) as info:
        parse_teaal_yaml(text, "attn.yaml")
    span = info.value.diagnostics[0].span
    assert (span.line, span.col) == (5, 29)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("einsum: [1, 2]\n", "'einsum' must be a mapping"),
        ("einsum:\n  declaration: {}\n", "missing key 'expressions'"),
        ("einsum:\n  declaraton: {}\n  expressions: []\n", "did you mean 'declaration'"),
        ("einsum: {a: [\n", "invalid YAML"),
        ("other: 1\n", "missing key 'einsum'"),
    ],
    ids=["not-a-mapping", "missing-expressions", "misspelt-key", "broken-yaml", "no-einsum"],
)
def test_malformed_documents_give_located_errors(text: str, message: str) -> None:
    with pytest.raises(DslSyntaxError) as info:
        parse_teaal_yaml(text, "bad.yaml")
    assert message in str(info.value)
    assert info.value.diagnostics[0].span.file == "bad.yaml"


def test_unquoted_reduce_op_gets_a_quoting_hint() -> None:
    text = THREE_PASS.replace('"GM[p] = QK[m, p] :: max"', "GM[p] = QK[m, p] :: max")
    with pytest.raises(DslSyntaxError) as info:
        parse_teaal_yaml(text, "attn.yaml")
    assert "put it in quotes" in str(info.value)
