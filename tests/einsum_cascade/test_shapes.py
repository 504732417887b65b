"""Symbolic op counts, with the hand arithmetic beside each expected value."""

from __future__ import annotations

import pytest
import sympy

from einsum_cascade import library, parse_cascade, to_text
from einsum_cascade.shapes import count_ops, evaluate_counts, total_ops

E, F, M, P, M0, M1 = sympy.symbols("E F M P M0 M1", integer=True, positive=True)


def test_three_pass_counts_per_einsum() -> None:
    counts = count_ops(library.load("attention/3pass"))
    assert counts == {
        "QK": {"mac": E * M * P},  # one multiply-accumulate per (e, m, p)
        "GM": {"max": M * P},  # one max per (m, p)
        "SN": {"exp": M * P, "sub": M * P},  # exp(QK - GM) per (m, p)
        "SD": {"add": M * P},  # sum over m
        "A": {"div": M * P},
        "AV": {"mac": F * M * P},
    }


def test_one_pass_extra_work_matches_the_note() -> None:
    totals = total_ops(count_ops(library.load("attention/1pass")))
    # max: LM over (m1, m0, p) + RM over (m1, p)
    assert totals["max"] == M0 * M1 * P + M1 * P
    # exp: SLN (m1, m0, p) + PRM (m1, p)
    assert totals["exp"] == M0 * M1 * P + M1 * P
    # add: SLD (m1, m0, p) + RD (m1, p) + RNV (f, m1, p)
    assert totals["add"] == M0 * M1 * P + M1 * P + F * M1 * P
    # mul: SPD (m1, p) + SPNV (f, m1, p)
    assert totals["mul"] == M1 * P + F * M1 * P
    assert totals["div"] == F * P  # deferred division


def test_counts_at_a_shape() -> None:
    counts = evaluate_counts(
        library.load("attention/3pass"), {"E": 64, "F": 64, "M": 1024, "P": 1024}
    )
    assert counts["QK"]["mac"] == 64 * 1024 * 1024  # 67,108,864
    assert counts["A"]["div"] == 1024 * 1024


def test_causal_filter_halves_the_count() -> None:
    counts = evaluate_counts(
        library.load("attention/3pass-causal"), {"E": 64, "F": 64, "M": 1000, "P": 1000}
    )
    # sum over p of (p + 1) keys = 1000 * 1001 / 2 = 500,500 points, times E = 64
    assert counts["QK"]["mac"] == 64 * 500_500


def test_sliding_window_count() -> None:
    counts = evaluate_counts(
        library.load("attention/3pass-window"), {"E": 2, "F": 2, "M": 10, "P": 10, "W": 3}
    )
    # rows p = 0, 1 see p + 1 keys (1 + 2); rows 2..9 see 3 keys each (8 * 3): 27 points
    assert counts["GM"]["max"] == 27


def test_constants_are_hoisted_and_copies_are_free() -> None:
    scaled = count_ops(library.load("attention/1pass-scaled"))
    assert scaled["SQ"] == {"div": E * P}  # Q / sqrt(E): sqrt(E) is computed once
    assert scaled["BK"] == {}  # a re-indexing copy costs nothing


def test_function_lowering_is_counted() -> None:
    text = "rank M\ninput X[M]\nY[m] = sigmoid(X[m])\n"
    assert count_ops(parse_cascade(text))["Y"] == {"exp": M, "add": M, "div": M}


def test_counts_are_invariant_under_renaming_ranks() -> None:
    text = to_text(library.load("attention/3pass"))
    renamed = text.replace("M", "N").replace("m", "n").replace("QK[n", "QK[n")
    renamed = (
        renamed.replace("cascade attention_3pass", "cascade renamed")
        .replace("nax", "max")
        .replace("Nax", "Max")
    )
    counts = count_ops(parse_cascade(renamed))
    n = sympy.Symbol("N", integer=True, positive=True)
    assert counts["QK"] == {"mac": E * n * P}


@pytest.mark.parametrize("name", library.names())
def test_every_library_cascade_counts(name: str) -> None:
    counts = count_ops(library.load(name))
    assert set(counts) == {e.name for e in library.load(name).einsums}
