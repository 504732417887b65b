"""Property: pass counts, per-einsum passes, barriers and footprints do not depend on names.

Every rank and tensor of a library cascade is renamed (index variables follow their
ranks), the text is parsed again, and the pass report must be the original one with the
names mapped.
"""

from __future__ import annotations

import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from einsum_cascade import Cascade, count_passes, library, parse_cascade, to_text
from einsum_cascade.lexer import KEYWORDS, Kind, tokenize
from einsum_cascade.passes import PassError, PassReport
from einsum_cascade.symbols import extent_symbol

NAMES = library.names()
# new names: upper case (a rank's index variable is its lower-case form), never a keyword
# or a built-in function once lower-cased
_RESERVED = KEYWORDS | {"exp", "max", "min", "ceil", "floor", "inf", "tanh", "sigmoid", "sqrt"}
FRESH = st.from_regex(r"[A-Z][A-Z0-9]{0,2}", fullmatch=True).filter(
    lambda name: name.lower() not in _RESERVED
)


def _offsets(text: str) -> list[int]:
    starts, total = [], 0
    for line in text.splitlines(keepends=True):
        starts.append(total)
        total += len(line)
    return starts


def _rename_text(text: str, mapping: dict[str, str]) -> str:
    """Replace identifier tokens: ``mapping`` for ranks and tensors, lower case for variables."""
    variables = {old.lower(): new.lower() for old, new in mapping.items()}
    starts = _offsets(text)
    out = text
    for token in reversed(tokenize(text)):
        if token.kind is not Kind.IDENT:
            continue
        new = mapping.get(token.text) or variables.get(token.text)
        if new is None:
            continue
        start = starts[token.span.line - 1] + token.span.col - 1
        out = out[:start] + new + out[start + len(token.text) :]
    return out


@st.composite
def renamed_cascades(draw: st.DrawFn) -> tuple[Cascade, Cascade, dict[str, str], str]:
    cascade = library.load(draw(st.sampled_from(NAMES)))
    old = sorted({r.name for r in cascade.ranks} | {t.name for t in cascade.tensors})
    taken = {
        t.text for t in tokenize(to_text(cascade)) if t.kind is Kind.IDENT and t.text not in old
    }
    fresh = FRESH.filter(lambda n: n not in taken and n.lower() not in taken)
    new = draw(st.lists(fresh, min_size=len(old), max_size=len(old), unique=True))
    mapping = dict(zip(old, new, strict=True))
    renamed = parse_cascade(_rename_text(to_text(cascade), mapping))
    rank = draw(st.sampled_from(sorted(r.name for r in cascade.ranks)))
    return cascade, renamed, mapping, rank


def _mapped(report: PassReport, mapping: dict[str, str]) -> tuple[object, ...]:
    symbols = {extent_symbol(old): extent_symbol(new) for old, new in mapping.items()}

    def name(x: str) -> str:
        return mapping.get(x, x)

    def extent(x: sympy.Expr | None) -> sympy.Expr | None:
        return None if x is None else sympy.sympify(x).xreplace(symbols)

    return (
        report.num_passes,
        tuple(name(r) for r in report.ranks),
        tuple(name(r) for r in report.levels),
        sorted((name(e), n) for e, n in report.einsum_passes),
        sorted((name(t), p) for t, p in report.tensor_passes),
        sorted((name(a), name(b)) for a, b in report.barriers),
        sorted((name(f.tensor), f.passes, str(extent(f.extent))) for f in report.footprints),
    )


def _plain(report: PassReport) -> tuple[object, ...]:
    return _mapped(report, {})


@settings(max_examples=40, deadline=None)
@given(renamed_cascades())
def test_pass_report_is_invariant_under_renaming(
    case: tuple[Cascade, Cascade, dict[str, str], str],
) -> None:
    cascade, renamed, mapping, rank = case
    try:
        original = count_passes(cascade, rank)
    except PassError as exc:
        try:
            count_passes(renamed, mapping[rank])
        except PassError as again:
            assert again.codes == exc.codes
            return
        raise AssertionError(f"renaming made rank {rank} countable") from exc
    assert _plain(count_passes(renamed, mapping[rank])) == _mapped(original, mapping)


@settings(max_examples=15, deadline=None)
@given(renamed_cascades())
def test_x_passes_are_invariant_under_renaming(
    case: tuple[Cascade, Cascade, dict[str, str], str],
) -> None:
    cascade, renamed, mapping, _ = case
    sequence = [r.name for r in cascade.ranks if r.name in ("M", "P")]
    if len(sequence) < 2:
        return  # only attention-shaped cascades carry keys and queries on one sequence
    original = count_passes(cascade, "M", same_sequence=("P",))
    again = count_passes(renamed, mapping["M"], same_sequence=(mapping["P"],))
    assert _plain(again) == _mapped(original, mapping)


def test_partition_levels_are_recognised_whatever_their_names() -> None:
    # found by the property above: with M1 -> A and M0 -> B the levels sort the other way
    # by name, and the partition of M (read at a * B + b) was once missed: 0 passes over M
    text = to_text(library.load("attention/1pass"))
    renamed = parse_cascade(_rename_text(text, {"M1": "A", "M0": "B"}))
    report = count_passes(renamed, "M")
    assert (report.num_passes, report.levels) == (1, ("A", "B"))
