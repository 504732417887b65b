"""Reading sweep-spec YAML nodes as text, with located errors (spans from ``yaml_source``).

Sweep values stay raw text (``1K..1M x4`` is parsed by ``sweep_values``), so this reads
PyYAML nodes directly; composition and spans are the shared ones of ``yaml_source``.
"""

from __future__ import annotations

from collections.abc import Iterable

import yaml

from einsum_cascade.diagnostics import SourceSpan, suggest
from mappers.sweep.errors import SweepError
from mappers.yaml_source import compose_nodes, span_of


def compose(text: str, file: str) -> yaml.Node | None:
    """Compose ``text`` into PyYAML nodes, turning YAML syntax errors into SW100."""
    return compose_nodes(text, file, SweepError, "SW100")


class NodeReader:
    """Read nodes of one YAML text, producing located errors."""

    def __init__(self, text: str, file: str) -> None:
        """Remember the text and its file name for spans."""
        self.text = text
        self.file = file

    def span(self, node: yaml.Node) -> SourceSpan:
        """Return the span of ``node``."""
        return span_of(node, self.file, self.text)

    def error(
        self, code: str, message: str, node: yaml.Node, hint: str | None = None
    ) -> SweepError:
        """Build a SweepError pointing at ``node``."""
        return SweepError.single(code, message, self.span(node), hint)

    def mapping(
        self, node: yaml.Node, what: str, allowed: Iterable[str] | None = None
    ) -> list[tuple[str, yaml.Node, yaml.Node]]:
        """Return ``(key, key_node, value_node)`` triples; check for unknown or repeated keys."""
        if not isinstance(node, yaml.MappingNode):
            raise self.error("SW103", f"{what} must be a mapping", node)
        valid = tuple(allowed) if allowed is not None else None
        items: list[tuple[str, yaml.Node, yaml.Node]] = []
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = self.text_value(key_node, f"a key in {what}")
            if valid is not None and key not in valid:
                hint = suggest(key, valid) or "valid keys: " + ", ".join(valid)
                raise self.error("SW101", f"unknown key '{key}' in {what}", key_node, hint)
            if key in seen:
                raise self.error("SW104", f"key '{key}' appears twice in {what}", key_node)
            seen.add(key)
            items.append((key, key_node, value_node))
        return items

    def sequence(self, node: yaml.Node, what: str) -> list[yaml.Node]:
        """Return the items of a YAML sequence."""
        if not isinstance(node, yaml.SequenceNode):
            raise self.error("SW103", f"{what} must be a list", node)
        return list(node.value)

    def text_value(self, node: yaml.Node, what: str) -> str:
        """Return the text of a scalar node."""
        if not isinstance(node, yaml.ScalarNode):
            raise self.error("SW103", f"{what} must be a single value, not a list or mapping", node)
        return str(node.value)
