"""Pass counts of the paper's cascades, the analyser's rules, reports and errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import sympy

from einsum_cascade import einsum_order, library, load_cascade, parse_cascade
from einsum_cascade.passes import PassError, count_passes, partitions, render_text

M, M0, M1, W = (sympy.Symbol(n, integer=True, positive=True) for n in ("M", "M0", "M1", "W"))

# (cascade, rank, expected passes). Hand counts by the rules of the reference, section 1.5.
COUNTS = [
    # Cascade 4: GM closes M before SN (barrier 1), SD closes M before A (barrier 2).
    ("attention/3pass", "M", 3),
    ("attention/3pass", "P", 1),
    # Deferred division: AV = SNV / SD no longer iterates M, so only GM -> SN remains.
    ("attention/3pass-deferred", "M", 2),
    # Cascade 5: every M1 einsum in pass 1 (iterative references are not barriers) ...
    ("attention/1pass", "M1", 1),
    # ... while LM closes each chunk's M0 fiber before SLN re-reads it.
    ("attention/1pass", "M0", 2),
    # Over M itself, only einsums traversing whole M fibers (m1 and m0) count.
    ("attention/1pass", "M", 1),
    ("attention/1pass", "P", 1),
    # 2-pass (a): GM -> PRM and GD -> A on M1 (3, reference 1.9 "a strict rank-M1 count
    # of version (a) is 3"), but the M-length data (SLN) is read in two passes only.
    ("attention/2pass-a", "M", 2),
    ("attention/2pass-a", "M1", 3),
    ("attention/2pass-a", "M0", 2),
    # 2-pass (b): A reads the final RM and RD: one barrier on M1; strictly 2 everywhere.
    ("attention/2pass-b", "M", 2),
    ("attention/2pass-b", "M1", 2),
    ("attention/2pass-b", "M0", 2),
    # Split-KV: K and V read once (1 over M); partials re-read after GM (2 over M1).
    ("attention/2pass-c", "M", 1),
    ("attention/2pass-c", "M1", 2),
    ("attention/2pass-c", "M0", 2),
    # Filters do not change counts.
    ("attention/3pass-window", "M", 3),
    ("attention/3pass-causal", "M", 3),
    ("attention/1pass-causal", "M1", 1),
    ("attention/1pass-window", "M0", 2),
    # Pedagogical Cascades 1-3 (reference 1.4).
    ("pedagogy/cascade1", "K", 2),
    ("pedagogy/cascade2", "K", 1),
    ("pedagogy/cascade3", "K", 1),
    # The filtered form of Cascade 3: RY closes K before RZ re-reads A over K.
    ("pedagogy/cascade3-filtered", "K", 2),
    ("pedagogy/cascade3-filtered", "I", 1),
]


@pytest.mark.parametrize(("name", "rank", "expected"), COUNTS, ids=lambda x: str(x))
def test_count_passes_matches_hand_count(name: str, rank: str, expected: int) -> None:
    assert count_passes(library.load(name), rank).num_passes == expected


# Reference 1.5 "Checks": the pass of every einsum.
EINSUM_PASSES = [
    (
        "attention/3pass",
        "M",
        {"QK": 1, "GM": 1, "SN": 2, "SD": 2, "A": 3, "AV": 3},
    ),
    (
        "attention/3pass-deferred",
        "M",
        {"QK": 1, "GM": 1, "SN": 2, "SD": 2, "SNV": 2, "AV": None},
    ),
    (
        "attention/1pass",
        "M0",
        {"BQK": 1, "LM": 1, "SLN": 2, "SLD": 2, "SLNV": 2, "RM": None, "AV": None},
    ),
    (
        "attention/1pass",
        "M1",
        {"BQK": 1, "LM": 1, "RM": 1, "SLN": 1, "PRM": 1, "RD": 1, "RNV": 1, "AV": None},
    ),
    ("attention/2pass-b", "M1", {"RM": 1, "RD": 1, "A": 2, "AV": 2}),
]


@pytest.mark.parametrize(
    ("name", "rank", "expected"), EINSUM_PASSES, ids=lambda x: x if isinstance(x, str) else ""
)
def test_pass_of_every_einsum(name: str, rank: str, expected: dict[str, int | None]) -> None:
    report = count_passes(library.load(name), rank)
    assert {e: report.pass_of(e) for e in expected} == expected


def test_einsum_passes_cover_every_einsum_in_dependency_order() -> None:
    cascade = library.load("attention/1pass")
    report = count_passes(cascade, "M1")
    assert [name for name, _ in report.einsum_passes] == [e.name for e in einsum_order(cascade)]
    assert report.einsums_in(1)[:3] == ("BK", "BV", "BQK")


def test_reduction_consumed_without_the_rank_adds_no_pass() -> None:
    # Cascade 2: Z = Y * X iterates no k, so the two reductions add no barrier.
    report = count_passes(library.load("pedagogy/cascade2"), "K")
    assert report.pass_of("Z") is None
    assert report.barriers == ()


def test_barriers_name_the_closed_tensor_and_its_consumer() -> None:
    assert count_passes(library.load("attention/3pass"), "M").barriers == (
        ("GM", "SN"),
        ("SD", "A"),
    )
    assert count_passes(library.load("pedagogy/cascade1"), "K").barriers == (("Y", "Z"),)


# ------------------------------------------------------------------ footprints


def _footprints(name: str, rank: str) -> dict[str, tuple[tuple[int, ...], object]]:
    report = count_passes(library.load(name), rank)
    return {f.tensor: (f.passes, f.extent) for f in report.footprints}


def test_three_pass_footprint_is_a_whole_m_fiber_of_qk_and_sn() -> None:
    found = _footprints("attention/3pass", "M")
    # QK read by GM (1) and SN (2); SN by SD (2) and A (3); K once, V once.
    assert found == {
        "K": ((1,), None),
        "QK": ((1, 2), M),
        "SN": ((2, 3), M),
        "A": ((3,), None),
        "V": ((3,), None),
    }


def test_window_filter_bounds_the_footprint_to_w() -> None:
    # p - W < m <= p admits W keys per query: upper p, lower p - W + 1 -> p - (p-W+1) + 1.
    found = _footprints("attention/3pass-window", "M")
    assert found["QK"] == ((1, 2), sympy.Min(M, W))
    # SN inherits its absent points from QK, so its fibers are bounded too.
    assert found["SN"] == ((2, 3), sympy.Min(M, W))


def test_causal_filter_does_not_bound_the_footprint() -> None:
    # m <= p admits p + 1 keys: that depends on p, so the bound stays M.
    assert _footprints("attention/3pass-causal", "M")["QK"] == ((1, 2), M)


def test_one_pass_cascade_needs_only_an_m0_tile() -> None:
    assert count_passes(library.load("attention/1pass"), "M").footprint is None
    assert count_passes(library.load("attention/1pass"), "M1").footprint is None
    found = _footprints("attention/1pass", "M0")
    assert found["BQK"] == ((1, 2), M0)


def test_window_narrows_the_m0_fiber_of_the_one_pass_cascade() -> None:
    # p - W < m1*M0 + m0 <= p bounds m0 to W values for fixed m1 and p.
    assert _footprints("attention/1pass-window", "M0")["BQK"] == ((1, 2), sympy.Min(M0, W))


def test_two_pass_a_buffers_sln_over_m_and_partials_over_m1() -> None:
    assert _footprints("attention/2pass-a", "M")["SLN"] == ((1, 2), M)
    over_m1 = _footprints("attention/2pass-a", "M1")
    assert over_m1["LM"] == ((1, 2), M1)
    assert over_m1["PRM"] == ((2, 3), M1)


def test_union_filter_bound_is_the_sum_of_both_intervals() -> None:
    text = """
rank E, M, P, S, W
input Q[E, P], K[E, M]
output SD
QK[m, p] = Q[e, p] * K[e, m] where m < S or (p - W < m and m <= p)
GM[p] = QK[m, p] :: max
SD[p] = exp(QK[m, p] - GM[p])
"""
    report = count_passes(parse_cascade(text), "M")
    s = sympy.Symbol("S", integer=True, positive=True)
    # m < S admits S keys (0 .. S-1); the window admits W: at most S + W.
    assert {f.tensor: f.extent for f in report.footprints}["QK"] == sympy.Min(M, s + W)


# ------------------------------------------------------------------ partitions


def test_partition_is_recognised_from_the_affine_index() -> None:
    found = partitions(library.load("attention/1pass"))
    assert [(p.parent, p.levels) for p in found] == [("M", ("M1", "M0"))]


def test_three_level_partition_counts_the_middle_level_per_chunk() -> None:
    text = """
rank M, P
rank M0 = 4
rank M1 = 2
rank M2 = ceil(M / (M1 * M0))
input X[M, P]
output Y
B[m2, m1, m0, p] = X[m2 * M1 * M0 + m1 * M0 + m0, p]
L[m2, m1, p] = B[m2, m1, m0, p] :: max
N[m2, m1, m0, p] = exp(B[m2, m1, m0, p] - L[m2, m1, p])
Y[p] = N[m2, m1, m0, p]
"""
    cascade = parse_cascade(text)
    assert [(p.parent, p.levels) for p in partitions(cascade)] == [("M", ("M2", "M1", "M0"))]
    # L closes M0 locally (it keeps m2 and m1): 2 passes over M0, 1 over M1, M2 and M.
    assert [count_passes(cascade, r).num_passes for r in ("M", "M2", "M1", "M0")] == [1, 1, 1, 2]


# ------------------------------------------------------------------ shared sequence

SHARED = [
    # Reference 5.10, X-passes: Cascade 4 -> 3, deferral -> 2, Cascade 5 -> 1.
    ("attention/3pass", 3),
    ("attention/3pass-deferred", 2),
    ("attention/1pass", 1),
    ("attention/2pass-b", 2),
    # 2-pass (a) alternates on its M1 partials (GM -> PRM, GD -> A): 3.
    ("attention/2pass-a", 3),
]


@pytest.mark.parametrize(("name", "expected"), SHARED, ids=[n for n, _ in SHARED])
def test_passes_over_a_shared_sequence(name: str, expected: int) -> None:
    report = count_passes(library.load(name), "M", same_sequence=("P",))
    assert report.rank == "M+P"
    assert report.ranks == ("M", "P")
    assert report.num_passes == expected


def test_shared_sequence_footprint_is_over_both_ranks() -> None:
    report = count_passes(library.load("attention/3pass"), "M", same_sequence=("P",))
    p = sympy.Symbol("P", integer=True, positive=True)
    assert {f.tensor: f.extent for f in report.footprints}["QK"] == M * p


# ------------------------------------------------------------------ reports and errors


def test_user_file_gets_the_same_analysis(tmp_path: Path) -> None:
    source = library.path("attention/3pass-deferred").read_text(encoding="utf-8")
    file = tmp_path / "mine.cascade"
    file.write_text(source, encoding="utf-8")
    mine = count_passes(load_cascade(file), "M")
    assert mine == count_passes(library.load("attention/3pass-deferred"), "M")


def test_unknown_rank_is_a_pass_error_with_a_suggestion() -> None:
    with pytest.raises(PassError) as caught:
        count_passes(library.load("attention/1pass"), "M3")
    assert caught.value.codes == ("P101",)
    assert "has no rank 'M3'" in str(caught.value)
    assert "did you mean" in str(caught.value)


def test_unknown_einsum_is_a_pass_error_with_a_suggestion() -> None:
    report = count_passes(library.load("attention/1pass"), "M1")
    with pytest.raises(PassError) as caught:
        report.pass_of("SLM")
    assert caught.value.codes == ("P102",)
    assert "did you mean" in str(caught.value)


def test_rank_named_twice_is_a_pass_error() -> None:
    with pytest.raises(PassError) as caught:
        count_passes(library.load("attention/3pass"), "M", same_sequence=("M",))
    assert caught.value.codes == ("P103",)


def test_report_round_trips_through_json() -> None:
    data = count_passes(library.load("attention/3pass-window"), "M").to_dict()
    again = json.loads(json.dumps(data))
    assert again["num_passes"] == 3
    assert again["einsums"][2] == {"einsum": "SN", "pass": 2}
    assert {"tensor": "QK", "passes": [1, 2], "footprint": "fiber", "extent": "Min(M, W)"} in (
        again["tensors"]
    )


def test_report_renders_as_text(golden: Callable[[str, str], None]) -> None:
    golden(
        "passes/attention_1pass_M0.txt",
        render_text(count_passes(library.load("attention/1pass"), "M0")),
    )
    golden(
        "passes/attention_3pass_M.txt",
        render_text(count_passes(library.load("attention/3pass"), "M")),
    )
