"""Built-in transformer workloads (the FuseMax evaluation's models) and sequence lengths."""

from __future__ import annotations

import re
from dataclasses import dataclass

from einsum_cascade.diagnostics import suggest
from mappers.errors import WorkloadError


@dataclass(frozen=True, slots=True)
class Workload:
    """One attention layer's shape: batch B, heads H, head dims E/F, model dim D, FFN dim S.

    M (keys) and P (queries) are the sequence length; the FuseMax evaluation uses M = P.
    """

    name: str
    batch: int
    heads: int
    head_dim_e: int
    head_dim_f: int
    model_dim: int
    ffn_dim: int
    seq_len: int

    def extents(self) -> dict[str, int]:
        """Return the extents by rank name: B, H, E, F, D, S, M, P."""
        return {
            "B": self.batch,
            "H": self.heads,
            "E": self.head_dim_e,
            "F": self.head_dim_f,
            "D": self.model_dim,
            "S": self.ffn_dim,
            "M": self.seq_len,
            "P": self.seq_len,
        }


# (batch, heads, E, F, D, S): the artifact note, section 1.1
_MODELS: dict[str, tuple[int, int, int, int, int, int]] = {
    "BERT": (64, 12, 64, 64, 768, 3072),
    "TrXL": (64, 16, 64, 64, 1024, 4096),
    "T5": (64, 8, 64, 64, 512, 2048),
    "XLM": (64, 16, 128, 128, 2048, 8192),
}
FUSEMAX_MODELS = ("BERT", "TrXL", "T5", "XLM")
FUSEMAX_SEQS = ("1K", "4K", "16K", "64K", "256K", "1M")

_SEQ = re.compile(r"^\s*([0-9]+)\s*([KkMG]?)\s*$")
_SEQ_FACTORS = {"": 1, "K": 2**10, "k": 2**10, "M": 2**20, "G": 2**30}


def available_workloads() -> tuple[str, ...]:
    """Return the built-in model names."""
    return tuple(_MODELS)


def parse_seq(text: str | int) -> int:
    """Return a sequence length from ``64K``, ``1M`` or ``65536``.

    Example:
        >>> parse_seq("64K"), parse_seq("1M"), parse_seq(512)
        (65536, 1048576, 512)
    """
    if isinstance(text, int) and text > 0:
        return text
    match = _SEQ.match(str(text))
    if match is None or int(match.group(1)) == 0:
        raise WorkloadError.single(
            "W102",
            f"invalid sequence length '{text}'",
            None,
            "write a positive count such as 1024, 64K or 1M (K = 1024, M = 1024*1024)",
        )
    return int(match.group(1)) * _SEQ_FACTORS[match.group(2)]


def format_seq(seq_len: int) -> str:
    """Return the short form used by the artifact (``1K``, ``1M``), or the plain number."""
    for suffix, factor in (("M", 2**20), ("K", 2**10)):
        if seq_len % factor == 0:
            return f"{seq_len // factor}{suffix}"
    return str(seq_len)


def get_workload(name: str, seq: str | int) -> Workload:
    """Return the built-in workload ``name`` (case-insensitive) at sequence length ``seq``.

    Raises:
        WorkloadError: unknown model name or invalid sequence length.
    """
    by_lower = {key.lower(): key for key in _MODELS}
    key = by_lower.get(name.lower())
    if key is None:
        raise WorkloadError.single(
            "W101",
            f"unknown workload '{name}'",
            None,
            suggest(name, _MODELS) or f"built-in workloads: {', '.join(_MODELS)}",
        )
    batch, heads, e, f, d, s = _MODELS[key]
    return Workload(key, batch, heads, e, f, d, s, parse_seq(seq))
