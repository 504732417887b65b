"""Fuzz: 10,000 random or mutated cascade texts give a valid cascade or a CascadeError only."""

from __future__ import annotations

import random

import pytest

from einsum_cascade import (
    CascadeError,
    library,
    parse_cascade,
    parse_teaal_yaml,
    to_text,
    to_yaml,
)

SEEDS = library.names()
ALPHABET = [
    *"[](),=+-*/<>:#\"' \n\tmpeEMPQKV01.",
    *("::", " where ", " and ", "init ", "rank ", "inf", "max(", "exp("),
]


def _mutate(text: str, rng: random.Random) -> str:
    chars = list(text)
    for _ in range(rng.randint(1, 4)):
        action = rng.randint(0, 3)
        at = rng.randrange(len(chars) + 1)
        if action == 0 and chars:
            del chars[min(at, len(chars) - 1)]
        elif action == 1:
            chars.insert(at, rng.choice(ALPHABET))
        elif action == 2 and chars:
            j = rng.randrange(len(chars))
            chars[min(at, len(chars) - 1)], chars[j] = chars[j], chars[min(at, len(chars) - 1)]
        else:
            lines = "".join(chars).split("\n")
            rng.shuffle(lines)
            chars = list("\n".join(lines))
    return "".join(chars)


@pytest.mark.parametrize("chunk", range(10), ids=lambda c: f"chunk{c}")
def test_mutated_texts_never_raise_anything_but_cascade_error(chunk: int) -> None:
    rng = random.Random(chunk)
    texts = [to_text(library.load(n)) for n in SEEDS]
    outcomes = {"valid": 0, "error": 0}
    for _ in range(1000):
        text = _mutate(rng.choice(texts), rng)
        try:
            parse_cascade(text, "fuzz.cascade")
        except CascadeError as exc:
            assert str(exc)  # renders without raising
            outcomes["error"] += 1
        else:
            outcomes["valid"] += 1
    assert outcomes["error"] > 0
    assert outcomes["valid"] + outcomes["error"] == 1000


@pytest.mark.parametrize("chunk", range(2), ids=lambda c: f"yaml{c}")
def test_mutated_yaml_never_raises_anything_but_cascade_error(chunk: int) -> None:
    rng = random.Random(100 + chunk)
    texts = [to_yaml(library.load(n)) for n in SEEDS[:6]]
    for _ in range(300):
        text = _mutate(rng.choice(texts), rng)
        try:
            parse_teaal_yaml(text, "fuzz.yaml")
        except CascadeError as exc:
            assert str(exc)
