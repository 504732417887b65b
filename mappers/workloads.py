"""Workloads: named extents of one design point, built in (the FuseMax evaluation's models) or
your own (a workload YAML file), and sequence lengths.

A workload YAML file names its extents and, optionally, its batch ranks (the ranks the
cascade repeats over, which multiply its cost; they replace the mapping's)::

    version: 1
    name: layernorm-4k
    extents: {D: 768, P: 4K}      # whole numbers; K = 1024, M = 1024 * 1024
    batch_ranks: []               # optional: [B], [B, H]... each one of the extents

``--workload none`` means no workload: only the extents given with ``--extent``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from einsum_cascade.diagnostics import SourceSpan, suggest
from mappers.errors import WorkloadError
from mappers.units import COUNT, QuantityError, format_count, parse_quantity

NONE = "none"
YAML_SUFFIXES = (".yaml", ".yml")
MAX_EXTENT = int(COUNT.high)  # the largest count or extent: 2**40
_KEYS = ("version", "name", "description", "extents", "batch_ranks")


@dataclass(frozen=True, slots=True)
class Workload:
    """One design point's extents by rank name, with the workload's name and batch ranks.

    ``batch_ranks`` is None when the workload leaves them to the mapping (the built-ins:
    the mapping's ``B`` and ``H``). ``source`` is the YAML file a workload came from.
    M (keys) and P (queries) are the sequence length; the FuseMax evaluation uses M = P.
    """

    name: str
    sizes: tuple[tuple[str, int], ...]
    batch_ranks: tuple[str, ...] | None = None
    source: str | None = None
    batch_span: SourceSpan | None = field(default=None, compare=False, repr=False)

    def extents(self) -> dict[str, int]:
        """Return the extents by rank name (for the built-ins: B, H, E, F, D, S, M, P)."""
        return dict(self.sizes)

    def _extent(self, rank: str) -> int:
        return dict(self.sizes).get(rank, 0)

    @property
    def seq_len(self) -> int:
        """The sequence length (P, else M), or 0 when the workload has neither."""
        return self._extent("P") or self._extent("M")

    @property
    def batch(self) -> int:
        """Batch size B (0 when the workload has no B)."""
        return self._extent("B")

    @property
    def heads(self) -> int:
        """Attention heads H."""
        return self._extent("H")

    @property
    def head_dim_e(self) -> int:
        """Head dimension of queries and keys E."""
        return self._extent("E")

    @property
    def head_dim_f(self) -> int:
        """Head dimension of values F."""
        return self._extent("F")

    @property
    def model_dim(self) -> int:
        """Model dimension D."""
        return self._extent("D")

    @property
    def ffn_dim(self) -> int:
        """Feed-forward dimension S."""
        return self._extent("S")

    def with_extents(self, extents: dict[str, int]) -> Workload:
        """Return the workload with ``extents`` added or replaced."""
        return replace(self, sizes=tuple({**dict(self.sizes), **extents}.items()))

    def label(self) -> str:
        """Return the name and every extent, as report headers state them.

        Example:
            >>> get_workload("BERT", "1K").label()
            'BERT (B=64 H=12 E=64 F=64 D=768 S=3072 M=1K P=1K)'
        """
        shown = " ".join(f"{rank}={_size(rank, size)}" for rank, size in self.sizes)
        batch = "" if self.batch_ranks is None else f"; batch {','.join(self.batch_ranks) or '-'}"
        return f"{self.name} ({shown or 'no extents'}{batch})"

    def slug(self) -> str:
        """Return the extents as a file-name-safe tag, such as ``B1-D768-P4K``."""
        return "-".join(f"{rank}{_size(rank, size)}" for rank, size in self.sizes) or "none"


def _size(rank: str, size: int) -> str:
    return format_seq(size) if rank in ("M", "P") else str(size)


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
            suggest(name, _MODELS)
            or f"built-in workloads: {', '.join(_MODELS)}, a workload YAML file, or 'none'",
        )
    batch, heads, e, f, d, s = _MODELS[key]
    length = parse_seq(seq)
    sizes = (("B", batch), ("H", heads), ("E", e), ("F", f), ("D", d), ("S", s))
    return Workload(key, (*sizes, ("M", length), ("P", length)))


def is_workload_file(name: str) -> bool:
    """Return whether ``name`` names a workload file rather than a built-in or ``none``."""
    path = Path(name)
    return path.suffix in YAML_SUFFIXES or path.is_file()


def load_workload(name_or_path: str, seq: str | int | None = None) -> Workload:
    """Return a workload: ``none``, a built-in name, or a workload YAML file.

    ``seq`` sets M and P (for a built-in it is required; for a file it replaces the file's).

    Raises:
        WorkloadError: an unknown name, an unreadable file, a mistake in the YAML (located),
            or a built-in without a sequence length.
    """
    if name_or_path.strip().lower() == NONE:
        workload = Workload(NONE, ())
    elif is_workload_file(name_or_path):
        workload = workload_from_file(name_or_path)
    else:
        if seq is None:
            raise WorkloadError.single(
                "W103",
                f"workload '{name_or_path}' needs a sequence length",
                None,
                "give one, such as --seq 64K (or a 'seq' axis or setting in a sweep)",
            )
        return get_workload(name_or_path, seq)
    if seq is not None:
        length = parse_seq(seq)
        workload = workload.with_extents({"M": length, "P": length})
    return workload


def workload_from_file(path: str | Path) -> Workload:
    """Read a workload YAML file (see the module docstring).

    Raises:
        WorkloadError: W104 unreadable file; ``WL1xx`` located mistakes in the YAML.
    """
    from mappers.yaml_source import read_text

    return workload_from_text(read_text(path, WorkloadError, "W104"), str(path))


def workload_from_text(text: str, file: str = "<string>") -> Workload:
    """Validate workload YAML text and build the workload."""
    from mappers.yaml_source import Validator, compose

    root = compose(text, file, WorkloadError)
    check = Validator("WL")
    top = check.keys(root, _KEYS, ("version", "name", "extents"), "the workload")
    check.version(root, (1,))
    name = check.string(top.get("name"), "name")
    sizes: list[tuple[str, int]] = []
    extents = top.get("extents")
    for rank, node in check.mapping(extents, "extents").items():
        if not rank.isidentifier() or not rank[:1].isupper():
            span = extents.key_spans[rank] if extents is not None else node.span
            check.error(106, f"'{rank}' is not a rank name (an upper-case identifier)", span)
            continue
        try:
            text = node.text if node.text is not None else node.value
            sizes.append((rank, parse_seq(text, node.span)))
        except WorkloadError as exc:
            check.diagnostics.extend(exc.diagnostics)
    batch: tuple[str, ...] | None = None
    if "batch_ranks" in top:
        items = check.sequence(top["batch_ranks"], "batch_ranks")
        batch = tuple(check.string(item, "a batch rank") for item in items)
        known = [rank for rank, _ in sizes]
        for item, rank in zip(items, batch, strict=True):
            if rank and rank not in known:
                check.error(
                    107,
                    f"batch rank '{rank}' is not one of the extents",
                    item.span,
                    suggest(rank, known) or f"extents: {', '.join(known) or 'none'}",
                )
    check.raise_if_any(WorkloadError)
    batch_span = top["batch_ranks"].span if "batch_ranks" in top else None
    return Workload(name, tuple(sizes), batch, file, batch_span)


def point_workload(name: str, seq: str | int | None, extents: dict[str, int]) -> Workload:
    """Return the workload of one design point: ``name`` (a built-in at ``seq``, 64K by
    default; a workload file; or ``none``) with ``extents`` (``--extent``) added or replaced.
    """
    builtin = name.strip().lower() != NONE and not is_workload_file(name)
    workload = load_workload(name, seq if seq is not None or not builtin else "64K")
    return workload.with_extents(extents) if extents else workload
