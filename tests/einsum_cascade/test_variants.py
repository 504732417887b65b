"""Attention variants: interpreter vs a direct NumPy implementation, and their pass counts.

References are written the way the papers state them (sequence-major ``(tokens, dim)``
arrays); the cascades use the project's rank order (``Q[E, P]``, outputs ``[F, P]``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import sympy

from einsum_cascade import count_passes, evaluate, library

Array = np.ndarray[Any, Any]
E, F, M, P = 4, 3, 11, 8  # M not a multiple of the tiles below: ragged last tiles
M0 = 4  # key tile for the 1-pass variants


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def _softmax(x: Array, axis: int) -> Array:
    shifted = np.exp(x - x.max(axis=axis, keepdims=True))
    return shifted / shifted.sum(axis=axis, keepdims=True)


def _phi(x: Array) -> Array:  # elu(x) + 1
    return np.where(x > 0, x + 1.0, np.exp(x))


def _sigmoid(x: Array) -> Array:
    return 1.0 / (1.0 + np.exp(-x))


def _qkv(seed: int, p: int = P, m: int = M) -> tuple[Array, Array, Array]:
    rng = _rng(seed)
    return rng.normal(size=(E, p)), rng.normal(size=(E, m)), rng.normal(size=(F, m))


# ------------------------------------------------------------------ references


def _linear() -> tuple[dict[str, Any], Array]:
    q, k, v = _qkv(1)
    fq, fk, vv = _phi(q.T), _phi(k.T), v.T  # (P, E), (M, E), (M, F)
    out = (fq @ (fk.T @ vv)) / (fq @ fk.sum(axis=0))[:, None]
    return {"Q": q, "K": k, "V": v}, out.T


def _linear_causal() -> tuple[dict[str, Any], Array]:
    q, k, v = _qkv(2, p=M)
    weights = np.tril(_phi(q.T) @ _phi(k.T).T)  # weight of key j for query i, j <= i
    out = (weights @ v.T) / weights.sum(axis=1)[:, None]
    return {"Q": q, "K": k, "V": v}, out.T


def _lightning2() -> tuple[dict[str, Any], Array]:
    n, decay = 10, 0.9  # 10 tokens in blocks of B = 4: a ragged last block
    q, k, v = _qkv(3, p=n, m=n)
    i, j = np.arange(n)[:, None], np.arange(n)[None, :]
    weights = np.where(j <= i, decay ** (i - j).clip(min=0), 0.0) * (q.T @ k)
    return {"Q": q, "K": k, "V": v, "L": np.array(decay)}, (weights @ v.T).T


def _flowformer() -> tuple[dict[str, Any], Array]:
    q, k, v = _qkv(4)
    fq, fk, vv = _sigmoid(q.T), _sigmoid(k.T), v.T
    sink_incoming = 1.0 / (fq @ fk.sum(axis=0))
    source_outgoing = 1.0 / (fk @ fq.sum(axis=0))
    conserved_sink = fq @ (fk * source_outgoing[:, None]).sum(axis=0)
    conserved_source = np.clip(fk @ (fq * sink_incoming[:, None]).sum(axis=0), -1.0, 1.0)
    sink_allocation = _sigmoid(conserved_sink * (P / M))
    source_competition = _softmax(conserved_source, axis=0) * M
    kv = fk.T @ (vv * source_competition[:, None])
    out = (fq @ kv) * sink_incoming[:, None] * sink_allocation[:, None]
    return {"Q": q, "K": k, "V": v}, out.T


def _agent() -> tuple[dict[str, Any], Array]:
    q, k, v = _qkv(5)  # P = 8 queries pooled 4 to an agent: 2 agents
    agents = q.T.reshape(P // 4, 4, E).mean(axis=1)
    aggregated = _softmax(agents @ k / np.sqrt(E), axis=1) @ v.T
    out = _softmax(q.T @ agents.T / np.sqrt(E), axis=1) @ aggregated
    return {"Q": q, "K": k, "V": v, "P0": 4, "M0": M0}, out.T


def _aaren() -> tuple[dict[str, Any], Array]:
    rng = _rng(6)
    query, k, v = rng.normal(size=E) * 3, rng.normal(size=(E, M)), rng.normal(size=(F, M))
    scores = query @ k
    out = np.stack([_softmax(scores[: i + 1], axis=0) @ v.T[: i + 1] for i in range(M)])
    return {"Q": query, "K": k, "V": v}, out.T


def _sliding_window() -> tuple[dict[str, Any], Array]:
    q, k, v = _qkv(7, p=M)
    width = 2
    i, j = np.arange(M)[:, None], np.arange(M)[None, :]
    scores = np.where(np.abs(i - j) <= width, q.T @ k, -np.inf)
    return {"Q": q, "K": k, "V": v, "W": width, "M0": M0}, (_softmax(scores, 1) @ v.T).T


def _streaming_llm() -> tuple[dict[str, Any], Array]:
    q, k, v = _qkv(12, p=M)
    sinks, width = 2, 3  # keys 0, 1 and the 3 most recent: query 10 reads 0, 1, 8, 9, 10
    i, j = np.arange(M)[:, None], np.arange(M)[None, :]
    kept = (j <= i) & ((j < sinks) | (j > i - width))
    scores = np.where(kept, q.T @ k, -np.inf)
    inputs = {"Q": q, "K": k, "V": v, "S": sinks, "W": width, "M0": M0}
    return inputs, (_softmax(scores, 1) @ v.T).T


def _attention(q: Array, k: Array, v: Array) -> Array:
    return (_softmax(q.T @ k, axis=1) @ v.T).T


def _gqa() -> tuple[dict[str, Any], Array]:
    rng = _rng(8)
    groups, repeats = 2, 3
    q = rng.normal(size=(groups, repeats, E, P))
    k, v = rng.normal(size=(groups, E, M)), rng.normal(size=(groups, F, M))
    out = np.stack(
        [np.stack([_attention(q[g, r], k[g], v[g]) for r in range(repeats)]) for g in range(2)]
    )
    return {"Q": q, "K": k, "V": v, "M0": M0}, out


def _mqa() -> tuple[dict[str, Any], Array]:
    rng = _rng(9)
    q = rng.normal(size=(3, E, P))
    _, k, v = _qkv(9)
    return {"Q": q, "K": k, "V": v, "M0": M0}, np.stack([_attention(q[h], k, v) for h in range(3)])


def _sink() -> tuple[dict[str, Any], Array]:
    q, k, v = _qkv(10)
    sink = 1.5
    scores = q.T @ k  # (P, M)
    top = np.maximum(scores.max(axis=1, keepdims=True), sink)
    weights = np.exp(scores - top)
    out = (weights @ v.T) / (np.exp(sink - top) + weights.sum(axis=1, keepdims=True))
    return {"Q": q, "K": k, "V": v, "S": np.array(sink), "M0": M0}, out.T


def _softcap() -> tuple[dict[str, Any], Array]:
    q, k, v = _qkv(11)
    cap = 5.0
    scores = cap * np.tanh((q.T @ k) * 3 / cap)  # logits stretched so the cap matters
    return {"Q": q * 3, "K": k, "V": v, "C": np.array(cap)}, (_softmax(scores, 1) @ v.T).T


REFERENCES: dict[str, Callable[[], tuple[dict[str, Any], Array]]] = {
    "variants/linear": _linear,
    "variants/linear-causal": _linear_causal,
    "variants/lightning2": _lightning2,
    "variants/flowformer": _flowformer,
    "variants/agent": _agent,
    "variants/aaren-recurrent": _aaren,
    "variants/aaren-scan": _aaren,
    "variants/sliding-window": _sliding_window,
    "variants/streaming-llm": _streaming_llm,
    "variants/gqa": _gqa,
    "variants/mqa": _mqa,
    "variants/sink": _sink,
    "variants/softcap": _softcap,
}


def test_every_variant_has_a_reference() -> None:
    assert sorted(REFERENCES) == [n for n in library.names() if n.startswith("variants/")]


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_variant_matches_its_published_formula(name: str) -> None:
    inputs, expected = REFERENCES[name]()
    (result,) = evaluate(library.load(name), **inputs).values()
    assert result.shape == expected.shape
    # float64, 1e-10 relative to the size of the output
    np.testing.assert_allclose(result, expected, rtol=1e-10, atol=1e-10 * np.abs(expected).max())


# ------------------------------------------------------------------ pass counts

# (cascade, rank, same sequence, expected). Reference section 5 unless a comment says why.
PASSES = [
    # 5.1 linear, non-causal: KV and Z reduce M and are read only over P.
    ("variants/linear", "M", (), 1),
    ("variants/linear", "P", (), 1),
    # ... but KV (no P) must be complete before any query: X-passes = 2.
    ("variants/linear", "M", ("P",), 2),
    # 5.1 causal: the state is iterative over the sequence; every step is an output.
    ("variants/linear-causal", "M", (), 1),
    # 5.2 Lightning-2: 1 over the block index T (iterative), 1 inside a block (B) and 1
    # over whole sequence fibers N. The intra product sums over C (= B, the key position
    # in the block) and nothing re-reads C after it closes.
    ("variants/lightning2", "T", (), 1),
    ("variants/lightning2", "B", (), 1),
    ("variants/lightning2", "C", (), 1),
    ("variants/lightning2", "N", (), 1),
    # 5.3 Flowformer: KS closes M before CO re-reads FK (2 over M); QS closes P before CI
    # re-reads FQ, and KV (from CO) before R (2 over P); alternating: 4 X-passes.
    ("variants/flowformer", "M", (), 2),
    ("variants/flowformer", "P", (), 2),
    ("variants/flowformer", "M", ("P",), 4),
    # 5.4 Agent: online aggregation, 1 over M (2 over the M0 tile); pooling closes P
    # before the broadcast re-reads Q: 2 over P; pool, aggregate, broadcast: 3 X-passes.
    ("variants/agent", "M", (), 1),
    ("variants/agent", "M0", (), 2),
    ("variants/agent", "P", (), 2),
    ("variants/agent", "M", ("P",), 3),
    # 5.5 Aaren, recurrent: 1 pass over the sequence.
    ("variants/aaren-recurrent", "M", (), 1),
    # 5.5 Aaren, parallel: the reference counts 2 for a Blelloch tree scan. The language
    # has no tree ranks (strides 2^l in index expressions), so this variant reduces every
    # prefix directly; PM closes each prefix before PE re-reads it: 2 passes over M as
    # well, for the same reason (a reduction must finish before the re-read).
    ("variants/aaren-scan", "M", (), 2),
    ("variants/aaren-scan", "N", (), 1),
    # 5.6 Sliding window: counts of the base cascade (Cascade 5).
    ("variants/sliding-window", "M", (), 1),
    ("variants/sliding-window", "M1", (), 1),
    ("variants/sliding-window", "M0", (), 2),
    # 5.8 StreamingLLM (sinks plus a window, a union filter): as 5.6, the base cascade.
    ("variants/streaming-llm", "M", (), 1),
    ("variants/streaming-llm", "M1", (), 1),
    ("variants/streaming-llm", "M0", (), 2),
    ("variants/streaming-llm", "M", ("P",), 1),
    # 5.7 GQA / MQA: broadcasting K and V over r (or h) changes no count.
    ("variants/gqa", "M1", (), 1),
    ("variants/gqa", "M0", (), 2),
    ("variants/gqa", "P", (), 1),
    ("variants/mqa", "M1", (), 1),
    ("variants/mqa", "M0", (), 2),
    ("variants/mqa", "M", ("P",), 1),
    # 5.8 Sink logit in Cascade 5: only the init changes; still 1 (2 on M0).
    ("variants/sink", "M1", (), 1),
    ("variants/sink", "M0", (), 2),
    ("variants/sink", "M", ("P",), 1),
    # 5.9 Soft-capping: no max, deferred division: 1 pass over M without partitioning.
    ("variants/softcap", "M", (), 1),
    ("variants/softcap", "M", ("P",), 1),
]


@pytest.mark.parametrize(
    ("name", "rank", "shared", "expected"),
    PASSES,
    ids=[f"{n}-{r}{'+' + '+'.join(s) if s else ''}" for n, r, s, _ in PASSES],
)
def test_variant_pass_count(name: str, rank: str, shared: tuple[str, ...], expected: int) -> None:
    report = count_passes(library.load(name), rank, same_sequence=shared)
    assert report.num_passes == expected


def _extent(name: str, rank: str, tensor: str) -> sympy.Expr | None:
    report = count_passes(library.load(name), rank)
    return {f.tensor: f.extent for f in report.footprints}.get(tensor)


def test_linear_attention_keeps_only_state_between_passes() -> None:
    # One pass over M and P: every footprint is a tile (the E x F state has no M or P).
    assert count_passes(library.load("variants/linear"), "M").footprint is None
    assert count_passes(library.load("variants/linear"), "P").footprint is None


def test_flowformer_reads_the_key_features_in_both_passes() -> None:
    m = sympy.Symbol("M", integer=True, positive=True)
    # FK is read by KS (pass 1) and by COS and KV (pass 2): a whole M fiber.
    assert _extent("variants/flowformer", "M", "FK") == m


def test_symmetric_window_bounds_the_tile_to_two_w_plus_one() -> None:
    # p - W <= m1*M0 + m0 <= p + W: from p - W - m1*M0 to p + W - m1*M0, 2W + 1 values.
    m0, w = (sympy.Symbol(n, integer=True, positive=True) for n in ("M0", "W"))
    assert _extent("variants/sliding-window", "M0", "BQK") == sympy.Min(m0, 2 * w + 1)


def test_streaming_llm_bounds_the_tile_by_sinks_plus_window() -> None:
    # (m < S and m <= p) or (p - W < m <= p), per M0 tile: the sink part admits at most
    # S - m1*M0 <= S keys, the window p - W + 1 - m1*M0 .. p - m1*M0, W keys: S + W
    m0, s, w = (sympy.Symbol(n, integer=True, positive=True) for n in ("M0", "S", "W"))
    assert _extent("variants/streaming-llm", "M0", "BQK") == sympy.Min(m0, s + w)
