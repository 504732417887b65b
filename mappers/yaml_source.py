"""Located YAML nodes (from :mod:`einsum_cascade.yaml_source`) and the validator of specs,
mappings and the other data files: unknown keys with did-you-mean, versions, and every number
read through the one quantity grammar of :mod:`mappers.units`, located at the value.

PyYAML itself is imported only by :mod:`einsum_cascade.yaml_source`.
"""

from __future__ import annotations

from collections.abc import Iterable

from einsum_cascade.diagnostics import Diagnostic, Severity, SourceSpan, suggest
from einsum_cascade.errors import DiagnosticError
from einsum_cascade.yaml_source import (
    MAX_BYTES,
    MAX_DEPTH,
    Node,
    compose,
    compose_nodes,
    read_text,
    read_yaml,
)
from mappers.units import (
    NONNEGATIVE,
    NUMBER,
    POSITIVE,
    SIZE,
    Kind,
    QuantityError,
    parse_quantity,
)

__all__ = [
    "MAX_BYTES",
    "MAX_DEPTH",
    "Node",
    "Validator",
    "compose",
    "compose_nodes",
    "read_text",
    "read_yaml",
]


class Validator:
    """Check located nodes and collect every problem before raising once."""

    def __init__(self, prefix: str) -> None:
        """Use ``prefix`` for diagnostic codes (``S`` for specs, ``M`` for mappings)."""
        self.prefix = prefix
        self.diagnostics: list[Diagnostic] = []

    def error(
        self, code: int, message: str, span: SourceSpan | None, hint: str | None = None
    ) -> None:
        """Record one error."""
        self.diagnostics.append(
            Diagnostic(Severity.ERROR, f"{self.prefix}{code}", message, span, hint)
        )

    def raise_if_any(self, error: type[DiagnosticError]) -> None:
        """Raise ``error`` with every recorded diagnostic, if any."""
        if self.diagnostics:
            raise error(self.diagnostics)

    def mapping(self, node: Node | None, what: str) -> dict[str, Node]:
        """Return the children of a mapping node, or record an error and return {}."""
        if node is None:
            return {}
        if not isinstance(node.value, dict):
            self.error(103, f"{what} must be a mapping of keys to values", node.span)
            return {}
        return node.value

    def sequence(self, node: Node | None, what: str) -> list[Node]:
        """Return the items of a list node, or record an error and return []."""
        if node is None:
            return []
        if not isinstance(node.value, list):
            self.error(103, f"{what} must be a list", node.span)
            return []
        return node.value

    def keys(
        self, node: Node, allowed: Iterable[str], required: Iterable[str], where: str
    ) -> dict[str, Node]:
        """Check a mapping's keys: unknown keys (with did-you-mean) and missing ones."""
        children = self.mapping(node, where)
        if not isinstance(node.value, dict):
            return {}
        allowed = tuple(allowed)
        for key in children:
            if key not in allowed:
                self.error(
                    101,
                    f"unknown key '{key}' in {where}",
                    node.key_spans[key],
                    suggest(key, allowed) or f"expected one of: {', '.join(allowed)}",
                )
        for key in required:
            if key not in children:
                self.error(102, f"missing key '{key}' in {where}", node.span)
        return children

    def quantity(self, node: Node | None, what: str, kind: Kind = NUMBER) -> float:
        """Return the value of ``node`` read as a ``kind`` (0 when absent or wrong, recorded).

        The scalar's text goes through :func:`mappers.units.parse_quantity`: ``nan``,
        ``.inf``, ``1e999``, a wrong unit and a value out of the kind's range are errors
        located at the value (103 for a text that is not such a quantity, 104 for a range).
        """
        if node is None:
            return 0.0
        if not node.is_scalar or node.value is None or isinstance(node.value, bool):
            self.error(103, f"{what} must be a number, found '{node.plain()}'", node.span)
            return 0.0
        try:
            return parse_quantity(node.text if node.text is not None else node.value, kind)
        except QuantityError as exc:
            code = 104 if exc.out_of_range else 103
            self.error(code, f"{what} {exc.message}", node.span, exc.hint)
            return 0.0

    def number(
        self, node: Node | None, what: str, kind: Kind | None = None, *, strict: bool = True
    ) -> float:
        """Return a number of ``kind`` (default: positive, or non-negative when not strict)."""
        return self.quantity(node, what, kind or (POSITIVE if strict else NONNEGATIVE))

    def size(self, node: Node | None, what: str) -> float:
        """Return a positive size in bytes written as ``16MiB``, ``16MB``, ``4K`` or a number."""
        return self.quantity(node, what, SIZE)

    def string(self, node: Node | None, what: str) -> str:
        """Return a non-empty string."""
        if node is None:
            return ""
        if not isinstance(node.value, str) or not node.value:
            found = "a list" if isinstance(node.value, list) else "a mapping"
            if not isinstance(node.value, (list, dict)):
                found = f"'{node.text if node.text is not None else node.value}'"
            self.error(103, f"{what} must be a name, found {found}", node.span)
            return ""
        return node.value

    def version(self, root: Node, supported: tuple[int, ...]) -> None:
        """Check the ``version:`` key against the supported versions."""
        node = root.get("version")
        if node is None:
            return
        if node.value not in supported:
            names = ", ".join(str(v) for v in supported)
            self.error(105, f"unsupported version {node.value}", node.span, f"supported: {names}")

    def name_in(self, node: Node, name: str, pool: Iterable[str], what: str) -> bool:
        """Check that ``name`` is one of ``pool``; record an error with did-you-mean if not."""
        pool = tuple(pool)
        if name in pool:
            return True
        self.error(106, f"unknown {what} '{name}'", node.span, suggest(name, pool))
        return False
