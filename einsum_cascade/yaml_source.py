"""YAML text -> located nodes: the one module of the project that imports PyYAML.

Every YAML file the project reads (specs, mappings, sweeps, the reproduction plan, TeAAL
cascades, Timeloop architectures) is composed here, from PyYAML's event stream (libyaml's
C parser when installed), into :class:`Node` trees that carry 1-based spans. The composer
is iterative and refuses, with a located error, what could make a reader run away or lie:

* texts over :data:`MAX_BYTES` (4 MiB; the largest built-in file is a few KiB);
* nesting deeper than :data:`MAX_DEPTH` (64) mappings and lists;
* aliases (``*name``): an alias bomb fails at its first alias, before any expansion;
* tags other than YAML's core ones, unless the reader names them (Timeloop's ``!Container``);
  no tag is ever executed;
* a key given twice in one mapping;
* more than one document.

Parsed files are cached within a process by (path, modification time, size), composed
texts by their content: the reproduction reads each mapping once, not once per point.
Writers go through :func:`dump_yaml`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from einsum_cascade.diagnostics import Diagnostic, Note, Severity, SourceSpan
from einsum_cascade.errors import DiagnosticError

MAX_BYTES = 4 * 2**20
MAX_DEPTH = 64
_CORE = "tag:yaml.org,2002:"
_CORE_TAGS = frozenset(f"{_CORE}{t}" for t in ("str", "int", "float", "bool", "null", "seq", "map"))
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_RESOLVE: Any = yaml.resolver.Resolver().resolve


class _ComposeError(Exception):
    """A located problem found while composing, before it gets the caller's error class."""

    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic


@dataclass(slots=True)
class Node:
    """A YAML value with its span; mappings also keep the span of every key.

    Scalars keep their text as written (``text``) beside the converted ``value``, so
    quantities are read from the text (``.nan`` and ``1e999`` are then refused); ``tag``
    is a local tag the reader allowed (``!Container``); ``style`` is a scalar's quote.
    Trees may be shared through the cache: readers must not mutate them.
    """

    value: Any  # dict[str, Node] | list[Node] | str | int | float | bool | None
    span: SourceSpan
    key_spans: dict[str, SourceSpan] = field(default_factory=dict)
    text: str | None = None
    tag: str | None = None
    style: str | None = None

    def get(self, key: str) -> Node | None:
        """Return the child under ``key`` of a mapping node, or None."""
        if isinstance(self.value, dict):
            return self.value.get(key)
        return None

    @property
    def is_scalar(self) -> bool:
        """Return whether the node is a scalar (not a mapping or a list)."""
        return not isinstance(self.value, dict | list)

    def plain(self) -> Any:
        """Return the value without spans (dicts, lists and scalars)."""
        if isinstance(self.value, dict):
            return {k: v.plain() for k, v in self.value.items()}
        if isinstance(self.value, list):
            return [v.plain() for v in self.value]
        return self.value


def _span(start: Any, end: Any, file: str, text: str) -> SourceSpan:
    """Return the 1-based span between two 0-based, end-exclusive PyYAML marks."""
    end_line, end_col = end.line + 1, max(end.column, 1)
    if end.line > start.line and end.column == 0:
        end_line, end_col = start.line + 1, start.column + 1
    return SourceSpan(file, start.line + 1, start.column + 1, end_line, end_col, text)


def _scalar(text: str, tag: str | None, implicit: tuple[bool, bool]) -> Any:
    if tag is None or tag == "!":
        tag = _RESOLVE(yaml.ScalarNode, text, implicit)
    try:
        if tag == f"{_CORE}int":
            return int(text.replace("_", ""), 0)
        if tag == f"{_CORE}float":
            return float(text.replace("_", ""))
    except ValueError:
        return text
    if tag == f"{_CORE}bool":
        return text.lower() in {"true", "yes", "on"}
    if tag == f"{_CORE}null":
        return None
    return text


class _Composer:
    """Build one document's Node tree from the event stream, with an explicit stack."""

    def __init__(self, text: str, file: str, tags: frozenset[str]) -> None:
        self.text, self.file, self.tags = text, file, tags
        # each frame: [node, pending key (mapping) or None, pending key span, first key spans]
        self.stack: list[list[Any]] = []
        self.root: Node | None = None

    def fail(self, code: str, message: str, mark: Any, hint: str | None = None) -> None:
        where = SourceSpan.point(self.file, mark.line + 1, mark.column + 1, self.text)
        raise _ComposeError(Diagnostic(Severity.ERROR, code, message, where, hint))

    def tag(self, event: Any) -> str | None:
        tag: str | None = event.tag
        if tag is None or tag == "!" or tag in _CORE_TAGS:
            return None
        if tag in self.tags:
            return tag
        shown = tag.replace(_CORE, "!!")
        self.fail(
            "Y005",
            f"YAML tag '{shown}' is not accepted here",
            event.start_mark,
            "remove the tag: values are plain data, and tags are never executed",
        )
        return None

    def feed(self, event: Any) -> None:
        if isinstance(event, yaml.AliasEvent):
            self.fail(
                "Y006",
                f"YAML alias '*{event.anchor}' is not accepted",
                event.start_mark,
                "write the value out: aliases are refused so that no file can expand",
            )
        elif isinstance(event, yaml.ScalarEvent):
            value = event.value if event.tag in self.tags else None
            node = Node(
                _scalar(event.value, event.tag, event.implicit) if value is None else value,
                _span(event.start_mark, event.end_mark, self.file, self.text),
                text=event.value,
                tag=self.tag(event),
                style=event.style,
            )
            self.add(node, event)
        elif isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
            if len(self.stack) >= MAX_DEPTH:
                self.fail(
                    "Y007",
                    f"the YAML nests deeper than {MAX_DEPTH} levels",
                    event.start_mark,
                    "flatten the structure: no file the project reads nests this deep",
                )
            mapping = isinstance(event, yaml.MappingStartEvent)
            node = Node(
                {} if mapping else [],
                _span(event.start_mark, event.start_mark, self.file, self.text),
                tag=self.tag(event),
            )
            self.add(node, event)
            self.stack.append([node, None, None, {}, event.start_mark])
        elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
            node, *_, start = self.stack.pop()
            node.span = _span(start, event.end_mark, self.file, self.text)

    def add(self, node: Node, event: Any) -> None:
        if not self.stack:
            self.root = node
            return
        frame = self.stack[-1]
        parent: Node = frame[0]
        if isinstance(parent.value, list):
            parent.value.append(node)
            return
        if frame[1] is None:
            if not node.is_scalar or node.text is None:
                self.fail("Y008", "a mapping key must be a plain value", event.start_mark)
            key = str(node.text)
            if key in parent.value:
                first: SourceSpan = parent.key_spans[key]
                raise _ComposeError(
                    Diagnostic(
                        Severity.ERROR,
                        "Y004",
                        f"key '{key}' appears twice in one mapping",
                        node.span,
                        "remove one of them: YAML would silently keep the last",
                        (Note("first given here", first),),
                    )
                )
            frame[1], frame[2] = key, node.span
            return
        parent.value[frame[1]] = node
        parent.key_spans[frame[1]] = frame[2]
        frame[1] = None


@functools.lru_cache(maxsize=512)
def _compose_cached(text: str, file: str, code: str, tags: frozenset[str]) -> Node | None:
    composer = _Composer(text, file, tags)
    documents = 0
    try:
        for event in yaml.parse(text, Loader=_LOADER):
            if isinstance(event, yaml.DocumentStartEvent):
                documents += 1
                if documents > 1:
                    message = "the file holds more than one YAML document"
                    composer.fail("Y009", message, event.start_mark)
            composer.feed(event)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        problem = exc.problem or exc.context or "unreadable text"
        where = SourceSpan.point(file, line, col, text)
        raise _ComposeError(
            Diagnostic(Severity.ERROR, code, f"invalid YAML: {problem}", where)
        ) from None
    except yaml.YAMLError as exc:
        where = SourceSpan.point(file, 1, 1, text)
        message = f"invalid YAML: {exc}"
        raise _ComposeError(Diagnostic(Severity.ERROR, code, message, where)) from None
    return composer.root


def compose_nodes(
    text: str,
    file: str,
    error: type[DiagnosticError],
    code: str = "Y001",
    tags: tuple[str, ...] = (),
) -> Node | None:
    """Compose YAML text into located nodes (None when empty); raise ``error`` located.

    Args:
        text: the YAML text (at most :data:`MAX_BYTES`).
        file: the name spans carry.
        error: the DiagnosticError class to raise.
        code: the code of a YAML syntax error (``Y001``, ``SW100``...).
        tags: local tags this reader accepts (``!Container``); any other tag is an error.

    Raises:
        DiagnosticError: of class ``error``: syntax (``code``), size (Y003), duplicate key
            (Y004), tag (Y005), alias (Y006), depth (Y007), complex key (Y008), several
            documents (Y009).
    """
    if len(text) > MAX_BYTES:
        raise error.single(
            "Y003",
            f"the YAML text is {len(text)} characters, over the limit of {MAX_BYTES}",
            SourceSpan.point(file, 1, 1),
            "no file the project reads is that large; check that this is the right file",
        )
    try:
        return _compose_cached(text, file, code, frozenset(tags))
    except _ComposeError as problem:
        raise error([problem.diagnostic]) from None


def compose(text: str, file: str, error: type[DiagnosticError], tags: tuple[str, ...] = ()) -> Node:
    """Compose YAML text into located nodes; raise ``error`` for an empty or invalid text."""
    root = compose_nodes(text, file, error, tags=tags)
    if root is None:
        raise error.single("Y002", "the file is empty", SourceSpan.point(file, 1, 1, text))
    return root


def read_text(path: str | Path, error: type[DiagnosticError], code: str = "Y010") -> str:
    """Return a YAML file's text (cached by path, modification time and size).

    Raises:
        DiagnosticError: of class ``error`` when the file cannot be read or is over
            :data:`MAX_BYTES`.
    """
    try:
        stat = Path(path).stat()
    except OSError as exc:
        raise error.single(code, f"cannot read '{path}': {exc.strerror}") from None
    if stat.st_size > MAX_BYTES:
        raise error.single(
            "Y003", f"'{path}' is {stat.st_size} bytes, over the YAML limit of {MAX_BYTES}"
        )
    try:
        return _read_cached(str(path), stat.st_mtime_ns, stat.st_size)
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise error.single(code, f"cannot read '{path}': {reason}") from None


@functools.lru_cache(maxsize=256)
def _read_cached(path: str, mtime_ns: int, size: int) -> str:
    """Return a file's text; the modification time and size make the cache key fresh."""
    with Path(path).open(encoding="utf-8") as handle:
        return handle.read(MAX_BYTES + 1)


def read_yaml(path: str | Path, error: type[DiagnosticError], tags: tuple[str, ...] = ()) -> Node:
    """Read and compose a YAML file (both cached within the process)."""
    return compose(read_text(path, error), str(path), error, tags)


def dump_yaml(data: Any, **options: Any) -> str:
    """Write plain data (dicts, lists, scalars) as YAML; ``options`` go to ``safe_dump``."""
    text: str = yaml.safe_dump(data, **options)
    return text


def dump_tagged_yaml(data: Any, tagged: type, tag_of: Any, **options: Any) -> str:
    """Write data where instances of ``tagged`` become local-tag mappings (``!Container``).

    ``tag_of(obj)`` returns ``(tag, mapping)`` for one instance; dict order is kept.
    """

    class _Dumper(yaml.SafeDumper):
        pass

    def represent(dumper: yaml.SafeDumper, obj: Any) -> yaml.Node:
        tag, mapping = tag_of(obj)
        return dumper.represent_mapping(tag, mapping.items())

    _Dumper.add_representer(tagged, represent)
    _Dumper.add_representer(dict, lambda d, obj: d.represent_mapping(f"{_CORE}map", obj.items()))
    text: str = yaml.dump(data, Dumper=_Dumper, **options)
    return text
