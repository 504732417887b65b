"""The taxonomy: Table I as data, and the classification of every library cascade."""

from __future__ import annotations

import json

import pytest
import sympy
from typer.testing import CliRunner

from einsum_cascade import library
from einsum_cascade.cli import _register_commands, app
from einsum_cascade.taxonomy import ATTENTION_GROUPS, TABLE_I, classify, classify_library

_register_commands()

E, F, M, P, M0 = (sympy.Symbol(n, integer=True, positive=True) for n in ("E", "F", "M", "P", "M0"))


@pytest.mark.parametrize("algorithm", TABLE_I, ids=lambda a: a.name)
def test_table_i_class_agrees_with_the_analysis(algorithm: object) -> None:
    row = classify(algorithm.cascade)  # type: ignore[attr-defined]
    assert row.pass_class == algorithm.paper_class  # type: ignore[attr-defined]
    assert algorithm.name in row.algorithms  # type: ignore[attr-defined]


def test_every_attention_cascade_is_classified() -> None:
    rows = classify_library()
    assert [row.cascade for row in rows] == list(library.names(ATTENTION_GROUPS))
    assert "linear/gemm" in library.names()
    assert "linear/gemm" not in {row.cascade for row in rows}


EXTRA = [
    # Cascade 4 is the baseline.
    ("attention/3pass", sympy.Integer(0)),
    # Deferral: M*P divisions become F*P.
    ("attention/3pass-deferred", F * P - M * P),
    # Cascade 5 with M1 = M/M0: + max RM, exp+sub PRM, mul SPD, add RD (5 M1 P)
    # + F M1 P (SPNV) + F M1 P (RNV); divisions M P -> F P.
    ("attention/1pass", 5 * M * P / M0 + 2 * F * M * P / M0 + F * P - M * P),
]


@pytest.mark.parametrize(("name", "expected"), EXTRA, ids=[n for n, _ in EXTRA])
def test_extra_ops_against_the_three_pass_baseline(name: str, expected: sympy.Expr) -> None:
    row = classify(name)
    assert row.extra_ops is not None
    assert sympy.simplify(row.extra_ops - expected) == 0


def test_buffer_bound_names_fibers_or_tiles() -> None:
    assert classify("attention/3pass").buffer_bound == "M: QK, SN"
    assert classify("attention/3pass-window").buffer_bound == "Min(M, W): QK, SN"
    assert classify("attention/1pass").buffer_bound == "M0: BQK"  # only an M0 tile
    assert classify("pedagogy/cascade2").buffer_bound == "tile"


def test_taxonomy_command_lists_every_attention_cascade() -> None:
    result = CliRunner().invoke(app, ["taxonomy", "--json"])
    assert result.exit_code == 0
    rows = json.loads(result.stdout)
    assert [row["cascade"] for row in rows] == list(library.names(ATTENTION_GROUPS))
    one_pass = next(row for row in rows if row["cascade"] == "attention/1pass")
    assert one_pass["pass_class"] == 1
    assert one_pass["level_passes"] == {"M1": 1, "M0": 2}
    assert one_pass["sequence_passes"] == 1


def test_taxonomy_command_prints_a_table() -> None:
    result = CliRunner().invoke(app, ["taxonomy"])
    assert result.exit_code == 0
    assert "attention/2pass-c" in result.stdout
    assert "Rabe & Staats" in result.stdout


def test_variants_with_other_free_ranks_have_no_baseline() -> None:
    # GQA adds head ranks G and R: its ops are not comparable with single-head 3-pass.
    assert classify("variants/gqa").baseline is None
    assert classify("variants/gqa").extra_ops is None
    # Soft-capping: + C*tanh(x/C) (mul, tanh, div) - max, - sub, - M*P div + F*P div.
    assert classify("variants/softcap").extra_ops == F * P
