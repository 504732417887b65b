"""YAML text -> located nodes, and a validator that collects located diagnostics.

This is the one module that imports PyYAML. PyYAML's ``compose`` marks are 0-based; they are
converted here, once, to the 1-based :class:`SourceSpan` of the diagnostics module.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import yaml

from einsum_cascade.diagnostics import Diagnostic, Severity, SourceSpan, suggest
from einsum_cascade.errors import DiagnosticError
from mappers.units import parse_number, parse_size_bytes


@dataclass(slots=True)
class Node:
    """A YAML value with its span; mappings also keep the span of every key."""

    value: Any  # dict[str, Node] | list[Node] | str | int | float | bool | None
    span: SourceSpan
    key_spans: dict[str, SourceSpan] = field(default_factory=dict)

    def get(self, key: str) -> Node | None:
        """Return the child under ``key`` of a mapping node, or None."""
        if isinstance(self.value, dict):
            return self.value.get(key)
        return None

    def plain(self) -> Any:
        """Return the value without spans (dicts, lists and scalars)."""
        if isinstance(self.value, dict):
            return {k: v.plain() for k, v in self.value.items()}
        if isinstance(self.value, list):
            return [v.plain() for v in self.value]
        return self.value


def span_of(node: yaml.Node, file: str, text: str) -> SourceSpan:
    """Return the 1-based span of a PyYAML node (its marks are 0-based, end-exclusive)."""
    start, end = node.start_mark, node.end_mark
    end_line, end_col = end.line + 1, max(end.column, 1)
    if end.line > start.line and end.column == 0:
        end_line, end_col = start.line + 1, start.column + 1
    return SourceSpan(file, start.line + 1, start.column + 1, end_line, end_col, text)


_SCALAR_TAGS: dict[str, Callable[[str], Any]] = {
    "tag:yaml.org,2002:int": lambda s: int(s.replace("_", ""), 0),
    "tag:yaml.org,2002:float": lambda s: float(s.replace("_", "")),
    "tag:yaml.org,2002:bool": lambda s: s.lower() in {"true", "yes", "on"},
    "tag:yaml.org,2002:null": lambda s: None,
}


def _convert(node: yaml.Node, file: str, text: str) -> Node:
    span = span_of(node, file, text)
    if isinstance(node, yaml.MappingNode):
        values: dict[str, Node] = {}
        keys: dict[str, SourceSpan] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            values[key] = _convert(value_node, file, text)
            keys[key] = span_of(key_node, file, text)
        return Node(values, span, keys)
    if isinstance(node, yaml.SequenceNode):
        return Node([_convert(item, file, text) for item in node.value], span)
    convert = _SCALAR_TAGS.get(node.tag)
    try:
        value = convert(node.value) if convert is not None else node.value
    except ValueError:
        value = node.value
    return Node(value, span)


def compose_nodes(
    text: str, file: str, error: type[DiagnosticError], code: str = "Y001"
) -> yaml.Node | None:
    """Compose YAML text into PyYAML nodes (None when empty); raise ``error`` located.

    Raises:
        DiagnosticError: of class ``error`` with ``code``, at the syntax error's position.
    """
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        problem = exc.problem or exc.context or "unreadable text"
        raise error.single(
            code, f"invalid YAML: {problem}", SourceSpan.point(file, line, col, text)
        ) from None


def compose(text: str, file: str, error: type[DiagnosticError]) -> Node:
    """Compose YAML text into located nodes; raise ``error`` for a YAML syntax error."""
    root = compose_nodes(text, file, error)
    if root is None:
        raise error.single("Y002", "the file is empty", SourceSpan.point(file, 1, 1, text))
    return _convert(root, file, text)


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

    def number(
        self, node: Node | None, what: str, *, minimum: float = 0.0, strict: bool = True
    ) -> float:
        """Return a number that must be > minimum (or >= when not strict)."""
        if node is None:
            return 0.0
        value = parse_number(node.value)
        return self._bounded(value, node, what, minimum, strict, "a number such as 940e6")

    def size(self, node: Node | None, what: str) -> float:
        """Return a positive size in bytes written as ``16MiB``, ``4KiB`` or a number."""
        if node is None:
            return 0.0
        value = parse_size_bytes(node.value)
        return self._bounded(value, node, what, 0.0, True, "a size such as 16MiB or 4096")

    def _bounded(
        self, value: float | None, node: Node, what: str, low: float, strict: bool, form: str
    ) -> float:
        if value is None:
            self.error(103, f"{what} must be {form}, found '{node.value}'", node.span)
            return 0.0
        if value < low or (strict and value == low):
            relation = "greater than" if strict else "at least"
            self.error(104, f"{what} must be {relation} {low:g}, found {node.value}", node.span)
        return value

    def string(self, node: Node | None, what: str) -> str:
        """Return a non-empty string."""
        if node is None:
            return ""
        if not isinstance(node.value, str) or not node.value:
            self.error(103, f"{what} must be a name, found '{node.value}'", node.span)
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
