"""Formulas answer the checker's questions as the sympy expressions they stand for would."""

import subprocess
import sys

import sympy

from einsum_cascade import formulas as fm
from einsum_cascade import library
from einsum_cascade.ir import Generation, Tensor, TensorKind, TensorRef, generation_of
from einsum_cascade.parser import parse_program
from einsum_cascade.symbols import extent_symbol, index_symbol, index_variables

x, m, X, M0 = fm.index("x"), fm.index("m"), fm.extent("X"), fm.extent("M0")


def _sympy_affine(value: sympy.Expr) -> bool:
    """The resolver's former test: a polynomial of degree at most 1 in the index variables."""
    if value.is_Symbol or value.is_Number:
        return True
    variables = [s for s in value.free_symbols if s.name == s.name.lower()]
    if not variables:
        return True
    try:
        return sympy.Poly(value, *variables).total_degree() <= 1
    except sympy.PolynomialError:
        return False


def _sympy_generation(index: sympy.Expr) -> Generation:
    variable = index_symbol("x")
    if index == variable:
        return Generation.PREVIOUS
    if index == variable + 1:
        return Generation.CURRENT
    if index == extent_symbol("X"):
        return Generation.FINAL
    return Generation.CONSTANT


CASES = [
    x,
    fm.plus(x, 1),
    X,
    fm.index_number(0),
    fm.combine("-", fm.plus(x, 2), fm.index_number(1)),  # x + 2 - 1 is x + 1 in sympy
    fm.combine("*", fm.index_number(2), fm.plus(x, 1)),  # 2 * (x + 1) = 2x + 2
    fm.combine("/", fm.combine("*", fm.index_number(2), fm.plus(x, 1)), fm.index_number(2)),
    fm.combine("-", fm.combine("*", fm.plus(x, 1), fm.plus(x, 1)), fm.combine("*", x, x)),
    # (x + 1)(x + 1) - x x - x: x + 1 expanded, but sympy keeps it unexpanded
    fm.combine(
        "-",
        fm.combine("-", fm.combine("*", fm.plus(x, 1), fm.plus(x, 1)), fm.combine("*", x, x)),
        x,
    ),
    fm.combine("-", x, x),  # 0: no variable left
    fm.combine("+", fm.combine("*", m, M0), x),
    fm.combine("-", fm.combine("*", fm.plus(m, 1), M0), fm.combine("*", M0, m)),  # M0 in sympy
    fm.combine("/", x, M0),
    fm.combine("/", M0, x),
    fm.combine("*", x, x),
    fm.negate(fm.negate(fm.plus(x, 1))),
]


def test_each_answer_is_sympys_answer():
    tensor = Tensor("T", ("X",), TensorKind.INTERMEDIATE, iterative_rank="X")
    for case in CASES:
        expr = case.expr
        assert case.variables() == index_variables(expr), expr
        assert case.is_affine() == _sympy_affine(expr), expr
        assert case.is_number() == bool(expr.is_number), expr
        generation = generation_of(TensorRef("T", (case,)), tensor)
        assert generation is _sympy_generation(expr), expr
        for other in CASES:
            assert case.same_as(other) == bool(expr == other.expr), (expr, other.expr)
            assert (case == other) == bool(expr == other.expr)


def test_rank_formulas_are_numbers_exactly_when_sympy_says_so():
    ranks = {
        "256": True,
        "2 * 128": True,
        "M - M": True,
        "ceil(M / M0)": False,
        "ceil(7 / 2)": True,
        "M / M0": False,
        "M0 / M0": True,
        "sqrt(M)": False,
    }
    for text, number in ranks.items():
        program = parse_program(f"rank M, M0 = 4\nrank Q = {text}\ninput A[M]\nY[] = A[m]\n")
        from einsum_cascade.check import _Checker

        checker = _Checker(program)
        for stmt in program.statements:
            for decl in getattr(stmt, "ranks", ()):
                checker.declare_rank(decl)
        rank = checker.ranks.get("Q")
        if number:
            assert rank is None or rank.formula is None, text
        else:
            assert rank is not None and rank.formula is not None, text
            assert rank.formula.is_number() == bool(rank.expression.is_number) is False


def test_library_cascades_agree_with_sympy_on_every_reference():
    for name in library.names():
        cascade = library.load(name)
        for einsum in cascade.einsums:
            for ref in (einsum.output, *einsum.operands):
                expected: dict[str, None] = {}
                for index in ref.indices:
                    expected.update(dict.fromkeys(index_variables(index)))
                assert ref.variables() == tuple(expected), (name, einsum.name)


def test_equal_formulas_hash_alike_whichever_way_they_were_built() -> None:
    M, P = fm.extent("M"), fm.extent("P")  # noqa: N806  # extents are upper-case
    ceil = fm.call("ceil", (fm.combine("/", M, M0),))
    pairs = [
        (ceil, fm.Formula.of(sympy.ceiling(extent_symbol("M") / extent_symbol("M0")))),
        (fm.call("ceil", (M,)), M),  # M is an integer: sympy drops the ceiling
        (fm.combine("/", fm.combine("*", M, M0), M0), M),
        (fm.combine("*", fm.rank_number(0.5), fm.combine("*", fm.index_number(2), M)), M),
        (fm.call("sqrt", (fm.combine("*", M, M),)), M),
        (fm.call("min", (M, M)), M),
        (fm.combine("+", m, P), fm.combine("+", P, m)),
    ]
    for left, right in pairs:
        assert left == right and hash(left) == hash(right), (left.tree, right.tree)
    assert hash(ceil) != hash(fm.call("floor", (fm.combine("/", M, M0),)))
    assert len({M, P, ceil, fm.combine("+", M, P)}) == 4


def test_hashing_an_exact_formula_does_not_import_sympy() -> None:
    code = (
        "from einsum_cascade import formulas as fm\n"
        "M, M0 = fm.extent('M'), fm.extent('M0')\n"
        "hash(fm.call('ceil', (fm.combine('/', M, M0),)))\n"
        "hash(fm.combine('+', fm.combine('*', fm.index('m1'), M0), fm.index('m0')))\n"
        "import sys\n"
        "assert 'sympy' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
