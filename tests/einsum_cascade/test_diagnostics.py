"""Every diagnostic code: class, code, span and the fully rendered message (golden)."""

from __future__ import annotations

import pytest

from einsum_cascade import DslError, DslSyntaxError, Severity, parse_cascade
from einsum_cascade.diagnostics import SourceSpan, suggest

HEAD = "rank E, F, M, P\ninput Q[E, P], K[E, M], V[F, M]\noutput AV\n"

# (id, text, error class, code, line, col, end_col)
CASES = [
    (
        "E100-unexpected-character",
        HEAD + "AV[f, p] = Q[e, p] ? V[f, m]\n",
        DslSyntaxError,
        "E100",
        4,
        20,
        20,
    ),
    ("E101-unterminated-string", 'cascade x\n  "never closed\n', DslSyntaxError, "E101", 2, 3, 15),
    (
        "E102-invalid-identifier",
        HEAD + "1QK[m, p] = Q[e, p] * K[e, m]\n",
        DslSyntaxError,
        "E102",
        4,
        1,
        3,
    ),
    ("E110-syntax", HEAD + "AV[f, p] = Q[e, p] * \n", DslSyntaxError, "E110", 4, 22, 22),
    (
        "E201-unknown-tensor",
        HEAD + "QK[m, p] = Qq[e, p] * K[e, m]\nAV[f, p] = QK[m, p] * V[f, m]\n",
        DslError,
        "E201",
        4,
        12,
        13,
    ),
    (
        "E202-unknown-function",
        HEAD + "AV[f, p] = epx(Q[e, p]) * V[f, m] * K[e, m]\n",
        DslError,
        "E202",
        4,
        12,
        14,
    ),
    (
        "E203-variable-without-rank",
        HEAD + "AV[f, p] = Q[e, p] * K[e, m] * V[f, x]\n",
        DslError,
        "E203",
        4,
        37,
        37,
    ),
    (
        "E204-rank-mismatch",
        HEAD + "AV[f, p] = Q[e, p] * K[e, p] * V[f, m]\n",
        DslError,
        "E204",
        4,
        27,
        27,
    ),
    (
        "E205-wrong-index-count",
        HEAD + "AV[f, p] = Q[e, p, m] * K[e, m] * V[f, m]\n",
        DslError,
        "E205",
        4,
        12,
        21,
    ),
    (
        "E206-cycle",
        HEAD + "X[m, p] = Y[m, p] + Q[e, p] * K[e, m]\nY[m, p] = X[m, p]\n"
        "AV[f, p] = Y[m, p] * V[f, m]\n",
        DslError,
        "E206",
        4,
        1,
        7,
    ),
    (
        "E207-iterative-without-init",
        HEAD.replace("output AV", "output AV")
        + "S[m + 1, p] = S[m, p] + Q[e, p] * K[e, m]\nAV[f, p] = S[M, p] * V[f, m]\n",
        DslError,
        "E207",
        4,
        1,
        11,
    ),
    (
        "E208-output-never-produced",
        HEAD.replace("output AV", "output AW") + "AV[f, p] = Q[e, p] * K[e, m] * V[f, m]\n",
        DslError,
        "E208",
        3,
        8,
        9,
    ),
    (
        "E209-unknown-rank",
        "rank M, P\nrank M1 = ceil(M / M00)\ninput Q[M, P]\nZ[p] = Q[m, p]\n",
        DslError,
        "E209",
        2,
        20,
        22,
    ),
    (
        "E210-produced-twice",
        HEAD + "AV[f, p] = Q[e, p] * K[e, m] * V[f, m]\nAV[f, p] = Q[e, p] * K[e, m]\n",
        DslError,
        "E210",
        5,
        1,
        2,
    ),
    (
        "E211-input-written",
        HEAD + "Q[e, p] = K[e, m]\nAV[f, p] = Q[e, p] * V[f, m]\n",
        DslError,
        "E211",
        4,
        1,
        1,
    ),
    (
        "E212-arity",
        HEAD + "AV[f, p] = max(Q[e, p]) * K[e, m] * V[f, m]\n",
        DslError,
        "E212",
        4,
        12,
        23,
    ),
    (
        "E213-bad-left-index",
        HEAD + "AV[f, p + 2] = Q[e, p] * K[e, m] * V[f, m]\n",
        DslError,
        "E213",
        4,
        7,
        11,
    ),
    (
        "E214-duplicate-rank",
        "rank M, P, M\ninput Q[M, P]\nZ[p] = Q[m, p]\n",
        DslError,
        "E214",
        1,
        12,
        12,
    ),
    (
        "E215-init-not-iterative",
        HEAD + "init AV[f, p = 0] = 0\nAV[f, p] = Q[e, p] * K[e, m] * V[f, m]\n",
        DslError,
        "E215",
        4,
        6,
        7,
    ),
    ("E216-lowercase-rank", "rank m, P\ninput Q[P]\nZ[p] = Q[p]\n", DslError, "E216", 1, 6, 6),
    (
        "E217-non-affine-index",
        HEAD + "AV[f, p] = Q[e, p] * K[e, m * m] * V[f, m]\n",
        DslError,
        "E217",
        4,
        27,
        31,
    ),
    (
        "E218-loop-needs-whole-loop",
        "rank I\ninput X[I]\noutput S\ninit S[i = 0] = 0\n"
        "A[i] = S[i] + X[i]\nB[] = A[i]\nS[i + 1] = A[i] + B\n",
        DslError,
        "E218",
        6,
        1,
        3,
    ),
]


@pytest.mark.parametrize(
    ("text", "error", "code", "line", "col", "end_col"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_diagnostic_code_span_and_message(
    text: str, error: type, code: str, line: int, col: int, end_col: int, golden
) -> None:
    with pytest.raises(error) as info:
        parse_cascade(text, "attn.cascade")
    first = info.value.diagnostics[0]
    assert first.code == code
    assert first.severity is Severity.ERROR
    assert first.span is not None
    assert (first.span.file, first.span.line, first.span.col, first.span.end_col) == (
        "attn.cascade",
        line,
        col,
        end_col,
    )
    case_id = next(c[0] for c in CASES if c[1] == text)
    golden(f"diagnostics/{case_id}.txt", str(info.value) + "\n")


def test_semantic_errors_are_all_collected_in_order() -> None:
    text = HEAD + "QK[m, p] = Qq[e, p] * K[e, m]\nAV[f, p] = QK[m, p] * Vv[f, m]\n"
    with pytest.raises(DslError) as info:
        parse_cascade(text)
    assert info.value.codes == ("E201", "E201")
    assert [d.span.line for d in info.value.diagnostics] == [4, 5]


def test_unknown_tensor_suggests_close_name() -> None:
    with pytest.raises(DslError) as info:
        parse_cascade(HEAD + "AV[f, p] = Q[e, p] * Kk[e, m] * V[f, m]\n")
    assert info.value.diagnostics[0].hint == "did you mean 'K'?"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        (HEAD + "AV[f, p] = Q[e, p] * K[e, m] * V[f, m]\nX[p] = Q[e, p] :: max\n", "W302"),
        (HEAD + "AV[f, p] = Q[e, p] * K[e, m] * V[f, m]\nY[e, p] = Q[e, p] :: max\n", "W301"),
    ],
    ids=["unreachable-intermediate", "reduce-op-without-reduction"],
)
def test_warnings_do_not_stop_the_cascade(text: str, code: str) -> None:
    cascade = parse_cascade(text)
    assert code in {w.code for w in cascade.warnings}
    assert all(w.severity is Severity.WARNING for w in cascade.warnings)


def test_rendering_puts_caret_under_whole_token() -> None:
    span = SourceSpan("f.cascade", 1, 5, 1, 7, "abc defgh\n")
    from einsum_cascade.diagnostics import Diagnostic

    text = Diagnostic(Severity.ERROR, "E999", "bad thing", span, "try this").render()
    assert text == (
        "f.cascade:1:5: error[E999]: bad thing\n   1 | abc defgh\n     |     ^^^\n  hint: try this"
    )


def test_suggest_returns_none_without_close_match() -> None:
    assert suggest("zzz", ["alpha", "beta"]) is None


ALIBI = (
    "cascade alibi\nrank E, M, P\ninput Q[E, P], K[E, M], SLOPE[]\noutput BQ\n"
    "QK[m, p] = Q[e, p] * K[e, m] where m <= p\n"
    "BQ[m, p] = QK[m, p] - SLOPE[] * (p - m)\n"
)


def test_w303_a_bias_by_position_makes_filtered_points_present_again(golden) -> None:
    # issue 12: ALiBi on a causal score; masked points came back with -SLOPE * (p - m)
    cascade = parse_cascade(ALIBI, "alibi.cascade")
    (warning,) = cascade.warnings
    assert warning.code == "W303" and warning.severity is Severity.WARNING
    assert warning.span is not None
    assert (warning.span.line, warning.span.col, warning.span.end_col) == (6, 12, 19)
    golden("diagnostics/W303-filtered-points-present-again.txt", warning.render() + "\n")


def test_w303_the_fix_repeats_the_filter_and_then_masked_points_stay_absent() -> None:
    import numpy as np

    from einsum_cascade import evaluate

    fixed = parse_cascade(ALIBI.replace("(p - m)\n", "(p - m) where m <= p\n"))
    assert fixed.warnings == ()
    out = evaluate(fixed, Q=np.ones((2, 3)), K=np.ones((2, 3)), SLOPE=np.array(0.5))["BQ"]
    assert (out[np.tril_indices(3, -1)] == 0).all()  # m > p: absent, the empty value


@pytest.mark.parametrize(
    "line",
    [
        "BQ[m, p] = QK[m, p] - SLOPE[] * Q[e, p]",  # data, not position, covers: no warning
        "BQ[m, p] = QK[m, p] * SLOPE[] * (p - m)",  # a product keeps the filter
    ],
    ids=["sum-of-data", "product"],
)
def test_w303_is_not_raised_for_unions_of_data_or_products(line: str) -> None:
    text = ALIBI.replace("BQ[m, p] = QK[m, p] - SLOPE[] * (p - m)", line)
    assert "W303" not in {w.code for w in parse_cascade(text).warnings}
