"""The interpreter's semantics: presence, filters, ragged tiles, iteration, reductions."""

from __future__ import annotations

import numpy as np
import pytest
from builders import GEMM, attention_inputs
from cascade_strategies import cascade_texts
from hypothesis import HealthCheck, given, settings

from einsum_cascade import ShapeError, evaluate, library, parse_cascade
from einsum_cascade.interpret import _State, interpret


def test_gemm_matches_numpy() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(4, 3)), rng.normal(size=(4, 5))
    out = evaluate(parse_cascade(GEMM), A=a, B=b)["Z"]
    np.testing.assert_allclose(out, a.T @ b, rtol=1e-12)


@pytest.mark.parametrize(
    ("op", "reference"),
    [("max", np.max), ("min", np.min), ("+", np.sum), ("*", np.prod)],
    ids=["max", "min", "sum", "product"],
)
def test_reduce_operators(op: str, reference) -> None:
    cascade = parse_cascade(f"rank M, P\ninput X[M, P]\nY[p] = X[m, p] :: {op}\n")
    x = np.random.default_rng(1).normal(size=(6, 3))
    np.testing.assert_allclose(evaluate(cascade, X=x)["Y"], reference(x, axis=0), rtol=1e-12)


def test_filtered_max_ignores_removed_points() -> None:
    cascade = parse_cascade("rank M, P\ninput X[M, P]\nY[p] = X[m, p] where m <= p :: max\n")
    x = np.arange(12.0).reshape(4, 3)[::-1].copy()  # larger values at small m
    expected = [x[: p + 1, p].max() for p in range(3)]
    np.testing.assert_allclose(evaluate(cascade, X=x)["Y"], expected)


def test_out_of_range_coordinates_are_absent() -> None:
    # Y[m1, m0] reads X[m1 * 4 + m0]; the last tile is ragged (M = 6, M0 = 4)
    text = "rank M, M0\nrank M1 = ceil(M / M0)\ninput X[M]\nY[m1] = X[m1 * M0 + m0]\n"
    out = interpret(parse_cascade(text), X=np.arange(1.0, 7.0), M0=4)
    np.testing.assert_allclose(out.values["Y"], [1 + 2 + 3 + 4, 5 + 6])


def test_iterative_prefix_sum_is_cascade_3_style() -> None:
    text = "rank I\ninput A[I]\noutput Z\ninit S[i = 0] = 0\nS[i + 1] = S[i] + A[i]\nZ[] = S[I]\n"
    a = np.array([1.0, 2.0, 3.0, 4.0])
    evaluation = interpret(parse_cascade(text), A=a)
    np.testing.assert_allclose(evaluation.values["S"], [0, 1, 3, 6, 10])
    assert float(evaluation.values["Z"]) == 10.0


def test_union_keeps_present_operand_and_intersection_drops() -> None:
    text = (
        "rank M, P\ninput X[M, P], Y[P]\n"
        "F[m, p] = X[m, p] where m < 1\n"
        "U[m, p] = F[m, p] + Y[p]\n"
        "I[m, p] = F[m, p] * Y[p]\n"
    )
    x, y = np.ones((2, 2)), np.array([2.0, 3.0])
    evaluation = interpret(parse_cascade(text), X=x, Y=y)
    # rule 1: F carries every index variable, so U and I exist only where F does
    np.testing.assert_array_equal(evaluation.present["U"], [[True, True], [False, False]])
    np.testing.assert_allclose(evaluation.values["U"], [[3.0, 4.0], [0.0, 0.0]])
    np.testing.assert_array_equal(evaluation.present["I"], [[True, True], [False, False]])


def test_coordinates_are_usable_as_numbers() -> None:
    text = "rank B\ninput X[B]\nY[b] = X[b] * pow(2, b)\n"
    out = evaluate(parse_cascade(text), X=np.ones(4))["Y"]
    np.testing.assert_allclose(out, [1, 2, 4, 8])


@pytest.mark.parametrize(
    ("arguments", "code"),
    [
        ({"A": np.ones((2, 3))}, "E405"),
        ({"A": np.ones((2, 3)), "B": np.ones((3, 3))}, "E406"),
        ({"A": np.ones((2, 3)), "B": np.ones((2, 3)), "Zz": 1}, "E401"),
        ({"A": np.ones(2), "B": np.ones((2, 3))}, "E406"),
    ],
    ids=["missing-input", "rank-disagrees", "unknown-argument", "wrong-ndim"],
)
def test_bad_arguments_raise_shape_error(arguments: dict, code: str) -> None:
    with pytest.raises(ShapeError) as info:
        evaluate(parse_cascade(GEMM), **arguments)
    assert info.value.codes == (code,)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cascade_texts())
def test_einsum_fast_path_equals_the_general_path(text: str) -> None:
    cascade = parse_cascade(text)
    rng = np.random.default_rng(7)
    arrays = {t.name: rng.normal(size=tuple(3 for _ in t.ranks)) for t in cascade.inputs}
    extents = {r.name: 3 for r in cascade.free_ranks}
    fast = interpret(cascade, **arrays, **extents)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_State, "contraction", lambda *args: None)
        slow = interpret(cascade, **arrays, **extents)
    for name in fast.values:
        np.testing.assert_array_equal(fast.present[name], slow.present[name])
        np.testing.assert_allclose(fast.values[name], slow.values[name], rtol=1e-9, atol=1e-12)


def test_fast_path_handles_the_partitioned_products_of_one_pass() -> None:
    cascade = library.load("attention/1pass-causal")
    inputs = attention_inputs(4, 3, 11, 7, seed=5)
    fast = interpret(cascade, **inputs, M0=4)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_State, "contraction", lambda *args: None)
        slow = interpret(cascade, **inputs, M0=4)
    np.testing.assert_allclose(fast.values["AV"], slow.values["AV"], rtol=1e-12)


def test_running_state_starting_empty_accumulates() -> None:
    # generation 0 equals the empty value (absent); the update S + A*B must still produce S
    text = (
        "rank E, F, M\ninput A[E, M], B[F, M]\noutput S\ninit S[m = 0, e, f] = 0\n"
        "S[m + 1, e, f] = S[m, e, f] + A[e, m] * B[f, m]\n"
    )
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(3, 5)), rng.normal(size=(2, 5))
    evaluation = interpret(parse_cascade(text), A=a, B=b)
    np.testing.assert_allclose(evaluation.values["S"][-1], a @ b.T, rtol=1e-12)
    assert evaluation.present["S"][1:].all()


def test_an_infinite_literal_factor_is_not_pulled_out_of_a_sum() -> None:
    # found by the fast-path property: inf * sum(I1) is -inf, but the sum of inf * I1[e]
    # over mixed signs is nan, which is what the general path (the semantics) gives
    cascade = parse_cascade("rank E\ninput I1[E]\nT0[] = inf * I1[e]\n")
    result = interpret(cascade, I1=np.array([1.0, -2.0, 0.5]))
    assert np.isnan(result.values["T0"])


def test_an_infinite_value_outside_a_filter_adds_nothing() -> None:
    # found by the fast-path property: T0 is inf everywhere; the filter keeps e <= f, and
    # a filtered-out inf must not turn the sum into inf * 0 = nan
    text = "rank E, F\nT0[e] = exp(exp(inf))\nT3[f] = T0[e] where e <= f\n"
    evaluation = interpret(parse_cascade(text), E=3, F=3)
    np.testing.assert_array_equal(evaluation.values["T3"], [np.inf, np.inf, np.inf])
