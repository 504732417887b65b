"""Reading sweep-spec YAML nodes as text, with located errors (nodes from ``yaml_source``).

Sweep values stay raw text (``1K..1M x4`` is parsed by :mod:`mappers.sweep.values`), so this
reads each scalar's text as written; composition, spans and the limits on aliases, tags,
depth and duplicate keys are the shared ones of :mod:`mappers.yaml_source`.
"""

from __future__ import annotations

from collections.abc import Iterable

from einsum_cascade.diagnostics import SourceSpan, suggest
from mappers.sweep.errors import SweepError
from mappers.yaml_source import Node, compose_nodes


def compose(text: str, file: str) -> Node | None:
    """Compose ``text`` into located nodes, turning YAML syntax errors into SW100."""
    return compose_nodes(text, file, SweepError, "SW100")


class NodeReader:
    """Read nodes of one YAML text, producing located errors."""

    def __init__(self, text: str, file: str) -> None:
        """Remember the text and its file name (kept for callers that build spans)."""
        self.text = text
        self.file = file

    def span(self, node: Node) -> SourceSpan:
        """Return the span of ``node``."""
        return node.span

    def error(self, code: str, message: str, node: Node, hint: str | None = None) -> SweepError:
        """Build a SweepError pointing at ``node``."""
        return SweepError.single(code, message, node.span, hint)

    def mapping(
        self, node: Node, what: str, allowed: Iterable[str] | None = None
    ) -> list[tuple[str, Node, Node]]:
        """Return ``(key, key_node, value_node)`` triples; check for unknown keys.

        The key node is a scalar node at the key's span (repeated keys are refused when
        the text is composed).
        """
        if not isinstance(node.value, dict):
            raise self.error("SW103", f"{what} must be a mapping", node)
        valid = tuple(allowed) if allowed is not None else None
        items: list[tuple[str, Node, Node]] = []
        for key, value in node.value.items():
            key_node = Node(key, node.key_spans[key], text=key)
            if valid is not None and key not in valid:
                hint = suggest(key, valid) or "valid keys: " + ", ".join(valid)
                raise self.error("SW101", f"unknown key '{key}' in {what}", key_node, hint)
            items.append((key, key_node, value))
        return items

    def sequence(self, node: Node, what: str) -> list[Node]:
        """Return the items of a YAML sequence."""
        if not isinstance(node.value, list):
            raise self.error("SW103", f"{what} must be a list", node)
        return list(node.value)

    def text_value(self, node: Node, what: str) -> str:
        """Return the text of a scalar node as written."""
        if not node.is_scalar:
            raise self.error("SW103", f"{what} must be a single value, not a list or mapping", node)
        return str(node.text if node.text is not None else node.value)
