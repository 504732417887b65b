"""``check`` and ``passes`` are linear in the cascade's size (issue 15).

Time is not measured (it depends on the machine); the number of Python function calls is,
and it is exact: doubling a chained cascade must about double the calls, where a lookup by
scanning every einsum made them grow fourfold.
"""

from __future__ import annotations

import cProfile
import pstats
from collections.abc import Callable

import einsum_cascade as ec


def chain(n: int) -> str:
    lines = ["cascade chain", "rank K", "input A[K]", f"output T{n}", "T0[k] = A[k]"]
    lines += [f"T{i}[k] = T{i - 1}[k] + A[k]" for i in range(1, n + 1)]
    return "\n".join(lines) + "\n"


def calls(work: Callable[[], object]) -> int:
    profile = cProfile.Profile()
    profile.runcall(work)
    return int(pstats.Stats(profile).total_calls)  # type: ignore[attr-defined]


def test_check_calls_grow_linearly() -> None:
    small, large = chain(400), chain(1600)
    ratio = calls(lambda: ec.parse_cascade(large)) / calls(lambda: ec.parse_cascade(small))
    assert ratio < 4 * 1.15  # 4x the einsums; scanning every einsum per tensor gave 6.7x


def test_passes_calls_grow_linearly() -> None:
    small, large = ec.parse_cascade(chain(400)), ec.parse_cascade(chain(1600))
    ratio = calls(lambda: ec.count_passes(large, "K")) / calls(lambda: ec.count_passes(small, "K"))
    assert ratio < 4 * 1.15  # scanning every einsum per lookup gave 8.1x
