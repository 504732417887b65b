"""User-registered functions: parse, evaluate and count like built-ins; bad registrations fail."""

from __future__ import annotations

import numpy as np
import pytest
import sympy

from einsum_cascade import (
    DslError,
    FunctionRegistryError,
    count_ops,
    evaluate,
    parse_cascade,
    register_function,
    unregister_function,
)

TEXT = "rank M\ninput X[M]\nY[m] = softplus(X[m])\n"


@pytest.fixture
def softplus():
    register_function("softplus", 1, lambda x: np.logaddexp(0, x), {"exp": 1, "log": 1, "add": 1})
    yield
    unregister_function("softplus")


def test_registered_function_evaluates_and_counts(softplus) -> None:
    cascade = parse_cascade(TEXT)
    x = np.array([-30.0, 0.0, 2.0])
    np.testing.assert_allclose(evaluate(cascade, X=x)["Y"], np.log1p(np.exp(x)), rtol=1e-12)
    m = sympy.Symbol("M", integer=True, positive=True)
    # one exp, one log and one add per element of M
    assert count_ops(cascade)["Y"] == {"add": m, "exp": m, "log": m}


def test_unregistered_function_is_a_located_error_with_suggestion() -> None:
    with pytest.raises(DslError) as info:
        parse_cascade(TEXT.replace("softplus", "sigmod"))
    first = info.value.diagnostics[0]
    assert (first.code, first.span.line, first.span.col) == ("E202", 3, 8)
    assert first.hint == "did you mean 'sigmoid'?"


@pytest.mark.parametrize(
    ("name", "arity", "message"),
    [
        ("exp", 1, "already registered"),
        ("2fast", 1, "not a valid function name"),
        ("where", 1, "not a valid function name"),
        ("f", 0, "arity of at least 1"),
    ],
    ids=["duplicate", "bad-identifier", "keyword", "zero-arity"],
)
def test_bad_registrations_fail(name: str, arity: int, message: str) -> None:
    with pytest.raises(FunctionRegistryError, match=message):
        register_function(name, arity, np.exp)


def test_builtins_cannot_be_removed() -> None:
    with pytest.raises(FunctionRegistryError):
        unregister_function("exp")
