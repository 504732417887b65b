"""Built-in transformer workloads (the FuseMax evaluation's models) and sequence lengths."""

from __future__ import annotations

from dataclasses import dataclass

from einsum_cascade.diagnostics import SourceSpan, suggest
from mappers.errors import WorkloadError
from mappers.units import COUNT, QuantityError, format_count, parse_quantity


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


def available_workloads() -> tuple[str, ...]:
    """Return the built-in model names."""
    return tuple(_MODELS)


def parse_seq(text: str | int, span: SourceSpan | None = None) -> int:
    """Return a sequence length (a count of :mod:`mappers.units`): ``64K``, ``1M``, ``65536``.

    Raises:
        WorkloadError: W102 when the text is not a positive whole count.

    Example:
        >>> parse_seq("64K"), parse_seq("1M"), parse_seq(512)
        (65536, 1048576, 512)
    """
    try:
        return int(parse_quantity(text, COUNT))
    except QuantityError as exc:
        raise WorkloadError.single(
            "W102",
            f"sequence length {exc.message}",
            span,
            "write a positive count such as 1024, 64K or 1M (K = 1024, M = 1024*1024)",
        ) from None


def format_seq(seq_len: int) -> str:
    """Return the short form used by the artifact (``1K``, ``1M``), or the plain number."""
    return format_count(seq_len)


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
