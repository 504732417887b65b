"""Inputs at the limits (issue 15): depth, size, huge numbers, bad extents and dtypes.

Each gives a located error (or a diagnostic), never a RecursionError or a NumPy error.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import einsum_cascade as ec
from einsum_cascade.cli import _register_commands, app
from einsum_cascade.parser import MAX_DEPTH
from einsum_cascade.shapes import evaluate_counts
from einsum_cascade.sources import MAX_SOURCE_BYTES

_register_commands()
RUNNER = CliRunner()
HEADER = "cascade deep\nrank K\ninput A[K]\noutput Y\n"


def nested(levels: int, call: object) -> object:
    """Call ``call()`` ``levels`` frames deeper than the test: in-process callers have stacks."""
    return call() if levels == 0 else nested(levels - 1, call)  # type: ignore[operator]


DEEP = {
    "sum-of-1000-terms": "Y[k] = " + " + ".join(["A[k]"] * 1000),
    "500-parentheses": "Y[k] = " + "(" * 500 + "A[k]" + ")" * 500,
    "exp-164-deep": "Y[k] = " + "exp(" * 164 + "A[k]" + ")" * 164,
    "1000-unary-minus": "Y[k] = " + "-" * 1000 + "A[k]",
    "500-not": "Y[k] = A[k] where " + "not " * 500 + "k < 3",
    "500-condition-parentheses": "Y[k] = A[k] where " + "(" * 500 + "k < 3" + ")" * 500,
    "300-index-parentheses": "Y[k] = A[" + "(" * 300 + "k" + ")" * 300 + "]",
    "product-of-1000": "Y[k] = " + " * ".join(["A[k]"] * 1000),
}


@pytest.mark.parametrize("body", DEEP.values(), ids=DEEP.keys())
def test_deep_expressions_are_a_located_error_in_process(body: str) -> None:
    with pytest.raises(ec.DslSyntaxError) as info:
        nested(300, lambda: ec.parse_cascade(HEADER + body + "\n", "deep.cascade"))
    assert info.value.codes == ("E110",)
    assert "nested more than 100 levels deep" in str(info.value)
    assert "deep.cascade:5:" in str(info.value)


@pytest.mark.parametrize("body", list(DEEP.values())[:3], ids=list(DEEP)[:3])
def test_deep_expressions_from_the_cli(tmp_path: Path, body: str) -> None:
    source = tmp_path / "deep.cascade"
    source.write_text(HEADER + body + "\n")
    result = RUNNER.invoke(app, ["check", str(source)])
    assert result.exit_code == 1
    assert "error[E110]" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "body",
    [
        "Y[k] = " + " + ".join(["A[k]"] * MAX_DEPTH),
        "Y[k] = " + "tanh(" * (MAX_DEPTH - 2) + "A[k]" + ")" * (MAX_DEPTH - 2),
    ],
    ids=["longest-sum", "deepest-calls"],
)
def test_the_deepest_accepted_expression_goes_through_every_pass(body: str) -> None:
    def every_pass() -> None:
        cascade = ec.parse_cascade(HEADER + body + "\n")
        assert ec.parse_cascade(ec.to_text(cascade)) == cascade
        assert ec.parse_teaal_yaml(ec.to_yaml(cascade)) == cascade
        ec.to_dot(cascade)
        evaluate_counts(cascade, {"K": 8})
        ec.count_passes(cascade, "K")
        assert np.isfinite(ec.evaluate(cascade, A=np.full(8, 0.01))["Y"]).all()

    nested(300, every_pass)


def test_teaal_yaml_nested_5000_deep_is_a_located_error() -> None:
    with pytest.raises(ec.DslSyntaxError) as info:
        nested(300, lambda: ec.parse_teaal_yaml("a: " + "[" * 5000 + "]" * 5000, "d.yaml"))
    # the one YAML reader (einsum_cascade/yaml_source.py) caps every file at 64 levels
    assert "d.yaml:1:" in str(info.value) and "nests deeper than 64 levels" in str(info.value)


def test_teaal_yaml_duplicate_key_is_an_error() -> None:
    text = "einsum:\n  declaration: {A: [K]}\n  declaration: {A: [K]}\n  expressions: []\n"
    with pytest.raises(ec.DslSyntaxError) as info:
        ec.parse_teaal_yaml(text, "dup.yaml")
    assert "dup.yaml:3:3: error[Y004]: key 'declaration' appears twice" in str(info.value)


def test_check_dev_zero_is_refused_after_the_cap(tmp_path: Path) -> None:
    endless = tmp_path / "zero.cascade"
    endless.symlink_to("/dev/zero")
    for path in ("/dev/zero", str(endless)):
        result = RUNNER.invoke(app, ["check", path])
        assert result.exit_code == 1
        assert f"cannot read {path}: larger than {MAX_SOURCE_BYTES // 2**20} MiB" in result.stderr


ONE_PASS = (Path(ec.__file__).parent / "library/attention/1pass.cascade").read_text()
DATA = {
    "Q": np.ones((4, 5)),
    "K": np.ones((4, 7)),
    "V": np.ones((3, 7)),
}


def test_a_huge_index_offset_is_a_located_check_error() -> None:
    text = ONE_PASS.replace("RM[m1 + 1, p])", "RM[m1 + 100000000000000000000, p])", 1)
    assert text != ONE_PASS
    with pytest.raises(ec.DslError) as info:
        ec.parse_cascade(text, "big.cascade")
    assert "big.cascade:" in str(info.value)
    assert "an index number must be at most 2^40" in str(info.value)


def test_a_number_past_a_double_is_a_located_syntax_error_not_inf() -> None:
    # 1e400 used to read as inf: the interpreter then gave inf - inf = NaN mismatches
    text = HEADER + "Y[k] = A[k] * 1e400 + 1e-400\n"
    with pytest.raises(ec.DslSyntaxError) as info:
        ec.parse_cascade(text, "big.cascade")
    assert info.value.codes == ("E110",)
    assert "big.cascade:5:15: error[E110]: number too large for a double" in str(info.value)
    ec.parse_cascade(HEADER + "Y[k] = A[k] * 1e308 - inf + 1e-400\n")  # inf is written as inf


def test_a_rank_default_past_int64_is_a_located_check_error() -> None:
    text = ONE_PASS.replace("rank M0 = 256", "rank M0 = 9223372036854775808")
    assert text != ONE_PASS
    with pytest.raises(ec.DslError) as info:
        ec.parse_cascade(text, "big.cascade")
    assert info.value.codes == ("E217",)
    assert "big.cascade:6:11: error[E217]: rank 'M0' needs a positive whole extent" in str(
        info.value
    )


def test_a_derived_extent_dividing_by_zero_is_an_error_not_a_complex_number() -> None:
    text = ONE_PASS.replace("rank M0 = 256", "rank M0 = 4").replace(
        "ceil(M / M0)", "ceil(M / (M0 - 4))"
    )
    assert "M0 - 4" in text
    cascade = ec.parse_cascade(text)
    for run in (
        lambda: ec.evaluate(cascade, **DATA),
        lambda: evaluate_counts(cascade, {"E": 4, "F": 3, "M": 7, "P": 5}),
    ):
        with pytest.raises(ec.ShapeError) as info:
            run()
        assert "derived extent M1 = ceil(M/(M0 - 4)) is not a number at M=7, M0=4" in str(
            info.value
        )


def test_an_extent_past_the_cap_is_an_error() -> None:
    result = RUNNER.invoke(
        app, ["counts", "attention/1pass", "--shape", "E=4,F=3,M=7,P=5,M0=9223372036854775808"]
    )
    # the quantity grammar refuses it as a usage error (the library's own check is E404)
    assert result.exit_code == 2
    assert "must be at most 2^40" in result.output


@pytest.mark.parametrize(
    "q",
    [np.full((4, 5), "a"), np.full((4, 5), "a", dtype=object), np.full((4, 5), None)],
    ids=["str", "object-str", "object-none"],
)
def test_non_numeric_inputs_are_an_error(q: np.ndarray) -> None:
    with pytest.raises(ec.ShapeError) as info:
        ec.evaluate(ec.load_cascade("attention/3pass"), Q=q, K=DATA["K"], V=DATA["V"])
    assert info.value.codes == ("E407",)
    assert "input Q holds" in str(info.value)


def test_an_unallocatable_tensor_is_an_error() -> None:
    cascade = ec.parse_cascade("rank K\nrank N = 1099511627776\ninput A[K]\nY[n] = A[k] + n")
    with pytest.raises(ec.ShapeError) as info:
        ec.evaluate(cascade, A=np.ones(3))
    assert info.value.codes == ("E408",)
