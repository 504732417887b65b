"""Every library attention cascade agrees with direct softmax(QK^T)V in float64."""

from __future__ import annotations

import numpy as np
import pytest
from builders import attention_inputs, softmax_attention

from einsum_cascade import LibraryError, evaluate, library

ATTENTION = [n for n in library.names() if n.startswith("attention/")]
# (E, F, M, P, M0): M not a multiple of M0, a single partial tile, one key, P != M
SHAPES = [(8, 5, 37, 37, 8), (4, 3, 9, 12, 16), (6, 6, 64, 17, 16), (3, 2, 1, 4, 4)]
WINDOW = 5


def _reference(name: str, inputs: dict[str, np.ndarray]) -> np.ndarray:
    q, k, v = inputs["Q"], inputs["K"], inputs["V"]
    m = np.arange(k.shape[1])[:, None]
    p = np.arange(q.shape[1])[None, :]
    mask = None
    if name.endswith("-causal"):
        mask = m <= p
    elif name.endswith("-window"):
        mask = (p - WINDOW < m) & (m <= p)
    scale = 1 / np.sqrt(q.shape[0]) if name.endswith("-scaled") else 1.0
    return softmax_attention(q, k, v, scale, mask)


@pytest.mark.parametrize("name", ATTENTION)
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "E{}F{}M{}P{}M0_{}".format(*s))
@pytest.mark.parametrize("logit_scale", [1.0, 1e4], ids=["normal", "logits-1e4"])
def test_attention_cascade_matches_softmax(
    name: str, shape: tuple[int, ...], logit_scale: float
) -> None:
    e, f, m, p, m0 = shape
    inputs = attention_inputs(e, f, m, p, seed=sum(shape), logit_scale=logit_scale)
    cascade = library.load(name)
    extents = {"M0": m0} if cascade.has_rank("M0") else {}
    if cascade.has_rank("W"):
        extents["W"] = WINDOW
    out = evaluate(cascade, **inputs, **extents)["AV"]
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out, _reference(name, inputs), rtol=1e-10, atol=1e-12)


def test_library_lists_the_attention_family() -> None:
    for base in ["3pass", "3pass-deferred", "2pass-a", "2pass-b", "2pass-c", "1pass"]:
        for form in ["", "-scaled", "-causal", "-window"]:
            assert f"attention/{base}{form}" in library.names()


def test_unknown_library_name_suggests() -> None:
    with pytest.raises(LibraryError) as info:
        library.load("attention/1pas")
    assert "attention/1pass" in str(info.value)


def test_fully_masked_rows_give_zero_not_nan() -> None:
    # a window of 1 key that lies past the last key for queries p >= M: no key at all
    cascade = library.load("attention/1pass-window")
    inputs = attention_inputs(4, 3, 5, 9, seed=3)
    out = evaluate(cascade, **inputs, M0=2, W=1)["AV"]
    assert np.isfinite(out).all()
    np.testing.assert_array_equal(out[:, 5:], 0.0)
