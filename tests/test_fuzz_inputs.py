"""Seeded mutants of specs, mappings, sweeps, sweep axes and Timeloop YAML via the CLI (issue 15).

Each surface runs a fixed number of mutants (about 2 s each on an idle machine);
``benchmarks/fuzz.py --n N`` runs more. A mutant passes with exit 1 and a diagnostic, or
exit 0 with finite, non-negative numbers and utilisations at most 1.
"""

from __future__ import annotations

import pytest
from fuzz_inputs import fuzz

N = 60


@pytest.mark.parametrize("surface", ["spec", "mapping", "sweep", "axis", "timeloop"])
def test_mutants_give_a_diagnostic_or_physical_numbers(surface: str) -> None:
    findings = [(o, text) for o, text in fuzz(surface, N) if o.startswith("FINDING")]
    assert not findings, findings[0][0] + "\n" + findings[0][1]
