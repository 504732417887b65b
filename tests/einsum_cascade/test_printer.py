"""Printers: canonical text and YAML parse back to an equal cascade; DOT is well formed."""

from __future__ import annotations

import pytest
from cascade_strategies import cascade_texts
from hypothesis import HealthCheck, given, settings

from einsum_cascade import (
    CascadeError,
    library,
    parse_cascade,
    parse_teaal_yaml,
    to_dot,
    to_text,
    to_yaml,
)


@pytest.mark.parametrize("name", library.names())
def test_library_text_round_trip(name: str) -> None:
    cascade = library.load(name)
    assert parse_cascade(to_text(cascade)) == cascade


@pytest.mark.parametrize("name", library.names())
def test_library_yaml_round_trip(name: str) -> None:
    cascade = library.load(name)
    assert parse_teaal_yaml(to_yaml(cascade)) == cascade


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cascade_texts())
def test_parse_print_parse_is_identity(text: str) -> None:
    try:
        cascade = parse_cascade(text)
    except CascadeError:
        return  # e.g. a random reduce-op cycle; the fuzz test covers error paths
    printed = to_text(cascade)
    assert parse_cascade(printed) == cascade
    assert to_text(parse_cascade(printed)) == printed


def test_canonical_text_of_three_pass(golden) -> None:
    golden("printer/attention-3pass.cascade", to_text(library.load("attention/3pass")))


def test_dot_names_every_tensor_and_marks_carried_reads() -> None:
    dot = to_dot(library.load("attention/1pass"))
    assert dot.startswith('digraph "attention_1pass" {')
    for tensor in ["Q", "K", "V", "RM", "RNV", "AV"]:
        assert f'"t_{tensor}"' in dot
    assert 'style=dashed, label="prev"' in dot  # RM[m1] read by PRM
    assert dot.rstrip().endswith("}")
