"""Shared builders for tests: small cascades, random attention inputs, a reference."""

from __future__ import annotations

import numpy as np

GEMM = """cascade gemm
rank K, M, N
input A[K, M], B[K, N]
output Z
Z[m, n] = A[k, m] * B[k, n]
"""


def attention_inputs(
    e: int, f: int, m: int, p: int, seed: int = 0, logit_scale: float = 1.0
) -> dict[str, np.ndarray]:
    """Random Q, K, V in float64; ``logit_scale`` stretches the scores."""
    rng = np.random.default_rng(seed)
    return {
        "Q": rng.normal(size=(e, p)) * logit_scale,
        "K": rng.normal(size=(e, m)),
        "V": rng.normal(size=(f, m)),
    }


def softmax_attention(
    q: np.ndarray,
    k: np.ndarray,
    v: np.ndarray,
    scale: float = 1.0,
    mask: np.ndarray | None = None,
) -> np.ndarray:
    """Direct softmax(QK^T)V with the project's rank names: scores are [M, P]."""
    scores = (k.T @ q) * scale
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
    top = scores.max(axis=0)
    top = np.where(np.isfinite(top), top, 0.0)
    weights = np.exp(scores - top)
    total = weights.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (v @ weights) / total
    return np.where(total > 0, out, 0.0)
