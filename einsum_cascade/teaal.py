"""TeAAL-style YAML input and output; expression strings go through the one grammar.

Accepted document (only ``einsum.declaration`` and ``einsum.expressions`` are required)::

    einsum:
      name: attention_3pass            # optional
      description: "..."               # optional
      ranks: [E, F, M, P]              # optional: extra ranks (extents used as numbers)
      extents: {M0: 256, M1: ceil(M / M0)}   # optional: defaults and derived extents
      declaration: {Q: [E, P], K: [E, M], V: [F, M], QK: [M, P], AV: [F, P]}
      empty: {RM: -inf}                # optional: explicit empty values
      init: ["RM[m1 = 0, p] = -inf"]   # optional
      expressions:
        - "QK[m, p] = Q[e, p] * K[e, m]"
      outputs: [AV]                    # optional: default, tensors nothing reads

Declared tensors that no expression produces are the inputs. Errors point at the YAML
file, line and column of the offending string.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import einsum_cascade.ast as ast
from einsum_cascade.check import check_program
from einsum_cascade.diagnostics import Diagnostic, Severity, SourceSpan, suggest
from einsum_cascade.errors import DslSyntaxError
from einsum_cascade.ir import Cascade
from einsum_cascade.parser import parse_program
from einsum_cascade.printer import format_einsum, format_index, format_number
from einsum_cascade.yaml_source import Node, compose_nodes, dump_yaml

_KEYS = (
    "name",
    "description",
    "ranks",
    "extents",
    "declaration",
    "empty",
    "init",
    "expressions",
    "outputs",
)


class _Yaml:
    def __init__(self, text: str, file: str) -> None:
        self.text = text
        self.file = file

    def span(self, node: Node) -> SourceSpan:
        span = node.span
        end_col = span.end_col if span.end_line == span.line else span.col
        return SourceSpan(
            self.file, span.line, span.col, span.line, max(span.col, end_col), self.text
        )

    def fail(self, message: str, node: Node, hint: str | None = None) -> DslSyntaxError:
        return DslSyntaxError([Diagnostic(Severity.ERROR, "E120", message, self.span(node), hint)])

    def mapping(self, node: Node, what: str) -> dict[str, tuple[Node, Node]]:
        if not isinstance(node.value, dict):
            raise self.fail(f"{what} must be a mapping", node)
        return {
            key: (Node(key, node.key_spans[key], text=key), value)
            for key, value in node.value.items()
        }

    def sequence(self, node: Node, what: str) -> list[Node]:
        if not isinstance(node.value, list):
            raise self.fail(f"{what} must be a list", node)
        return list(node.value)

    def scalar(self, node: Node, what: str) -> str:
        if not node.is_scalar:
            hint = (
                "put it in quotes: YAML reads ': ' (as in ':: max') as a key"
                if isinstance(node.value, dict)
                else None
            )
            raise self.fail(f"{what} must be a single value", node, hint)
        return str(node.text if node.text is not None else node.value)

    def parse_piece(self, text: str, node: Node) -> tuple[ast.Statement, ...]:
        """Parse ``text`` taken from scalar ``node``; shift spans to the YAML position."""
        quoted = 1 if node.style in ('"', "'") else 0
        line, col = node.span.line - 1, node.span.col - 1 + quoted
        try:
            statements = parse_program(text, self.file).statements
        except DslSyntaxError as exc:
            moved = [
                dataclasses.replace(d, span=_shift(d.span, line, col, self.text))
                for d in exc.diagnostics
            ]
            raise DslSyntaxError(moved) from None
        return tuple(_shift(s, line, col, self.text) for s in statements)


def _shift(obj: Any, lines: int, cols: int, source: str) -> Any:
    if isinstance(obj, SourceSpan):
        return SourceSpan(
            obj.file,
            obj.line + lines,
            obj.col + (cols if obj.line == 1 else 0),
            obj.end_line + lines,
            obj.end_col + (cols if obj.end_line == 1 else 0),
            source,
        )
    if isinstance(obj, tuple):
        return tuple(_shift(item, lines, cols, source) for item in obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        changes = {
            f.name: _shift(getattr(obj, f.name), lines, cols, source)
            for f in dataclasses.fields(obj)
        }
        return dataclasses.replace(obj, **changes)
    return obj


def parse_teaal_yaml(text: str, file: str = "<string>") -> Cascade:
    """Build a cascade from TeAAL-style YAML.

    Raises:
        DslSyntaxError: for malformed YAML or expression strings (located in the file).
        DslError: for semantic mistakes, located at the YAML strings.
    """
    doc = _Yaml(text, file)
    root = compose_nodes(text, file, DslSyntaxError, "E120")
    if root is None:
        raise DslSyntaxError.single(
            "E120", "empty YAML document", SourceSpan.point(file, 1, 1, text)
        )
    top = doc.mapping(root, "the document")
    if "einsum" not in top:
        raise doc.fail("missing key 'einsum'", root, "the cascade lives under 'einsum:'")
    einsum = doc.mapping(top["einsum"][1], "'einsum'")
    for key, (key_node, _) in einsum.items():
        if key not in _KEYS:
            raise doc.fail(f"unknown key '{key}' under 'einsum'", key_node, suggest(key, _KEYS))
    for required in ("declaration", "expressions"):
        if required not in einsum:
            raise doc.fail(f"missing key '{required}' under 'einsum'", top["einsum"][0])
    return check_program(ast.Program(file, text, tuple(_statements(doc, einsum))))


def _statements(doc: _Yaml, einsum: dict[str, tuple[Node, Node]]) -> list[Any]:
    out: list[Any] = []
    if "name" in einsum:
        key, value = einsum["name"]
        description = (
            doc.scalar(einsum["description"][1], "'description'") if "description" in einsum else ""
        )
        out.append(ast.Header(doc.scalar(value, "'name'"), description, doc.span(value)))
    declared = doc.mapping(einsum["declaration"][1], "'declaration'")
    expressions = list(doc.sequence(einsum["expressions"][1], "'expressions'"))
    equations = [s for n in expressions for s in doc.parse_piece(doc.scalar(n, "an expression"), n)]
    produced = {s.lhs.name for s in equations if isinstance(s, ast.Equation)}
    out.extend(_rank_decls(doc, einsum, declared))
    empties = {}
    if "empty" in einsum:
        for name, (key, value) in doc.mapping(einsum["empty"][1], "'empty'").items():
            empties[name] = (_number(doc, value), key)
    inputs: list[ast.TensorShape] = []
    others: list[ast.TensorShape] = []
    for name, (key, value) in declared.items():
        ranks = tuple(
            (doc.scalar(r, "a rank"), doc.span(r))
            for r in doc.sequence(value, f"the ranks of '{name}'")
        )
        shape = ast.TensorShape(name, ranks, doc.span(key))
        (others if name in produced else inputs).append(shape)
    if inputs:
        out.append(ast.InputDecl(tuple(inputs), inputs[0].span))
    for shape in others:
        empty = empties.get(shape.name, (None, None))[0]
        out.append(ast.TensorDecl(shape, empty, shape.span))
    for name, (_value, key) in empties.items():
        if name not in declared:
            raise doc.fail(
                f"'empty' names '{name}', which is not declared", key, suggest(name, declared)
            )
    if "outputs" in einsum:
        names = doc.sequence(einsum["outputs"][1], "'outputs'")
        out.append(
            ast.OutputDecl(
                tuple((doc.scalar(n, "an output"), doc.span(n)) for n in names),
                doc.span(einsum["outputs"][0]),
            )
        )
    if "init" in einsum:
        for node in doc.sequence(einsum["init"][1], "'init'"):
            text = doc.scalar(node, "an init")
            prefix = "" if text.lstrip().startswith("init ") else "init "
            pieces = doc.parse_piece(prefix + text, node)
            if prefix:
                pieces = tuple(_shift(p, 0, -len(prefix), doc.text) for p in pieces)
            out.extend(pieces)
    out.extend(equations)
    return out


def _rank_decls(
    doc: _Yaml,
    einsum: dict[str, tuple[Node, Node]],
    declared: dict[str, tuple[Node, Node]],
) -> list[ast.RanksDecl]:
    ranks: dict[str, ast.RankDecl] = {}
    if "ranks" in einsum:
        for node in doc.sequence(einsum["ranks"][1], "'ranks'"):
            name = doc.scalar(node, "a rank")
            ranks[name] = ast.RankDecl(name, None, doc.span(node))
    for _, value in declared.values():
        if isinstance(value.value, list):
            for node in value.value:
                name = str(node.text if node.text is not None else node.plain())
                ranks.setdefault(name, ast.RankDecl(name, None, doc.span(node)))
    if "extents" in einsum:
        for name, (key, value) in doc.mapping(einsum["extents"][1], "'extents'").items():
            text = f"rank {name} = {doc.scalar(value, 'an extent')}"
            (piece,) = doc.parse_piece(text, value)
            piece = _shift(piece, 0, -len(f"rank {name} = "), doc.text)
            assert isinstance(piece, ast.RanksDecl)
            ranks.pop(name, None)
            ranks[name] = dataclasses.replace(piece.ranks[0], span=doc.span(key))
    return [ast.RanksDecl((decl,), decl.span) for decl in ranks.values()]


def _number(doc: _Yaml, node: Node) -> float:
    text = doc.scalar(node, "a number").strip().lower()
    table = {
        "inf": math.inf,
        "+inf": math.inf,
        "-inf": -math.inf,
        ".inf": math.inf,
        "-.inf": -math.inf,
    }
    if text in table:
        return table[text]
    try:
        return float(text)
    except ValueError:
        raise doc.fail(f"'{text}' is not a number", node) from None


def to_yaml(cascade: Cascade) -> str:
    """Print the cascade as TeAAL-style YAML that ``parse_teaal_yaml`` reads back."""
    from einsum_cascade.printer import format_expression

    einsum: dict[str, Any] = {"name": cascade.name}
    if cascade.description:
        einsum["description"] = cascade.description
    einsum["ranks"] = [r.name for r in cascade.ranks if not r.is_derived and r.default is None]
    extents: dict[str, int | str] = {}
    for rank in cascade.ranks:
        if rank.default is not None:
            extents[rank.name] = rank.default
        elif rank.expression is not None:
            extents[rank.name] = format_index(rank.expression)
    if extents:
        einsum["extents"] = extents
    einsum["declaration"] = {t.name: list(t.ranks) for t in cascade.tensors}
    empties = {t.name: format_number(t.empty) for t in cascade.tensors if t.explicit_empty}
    if empties:
        einsum["empty"] = empties
    if cascade.inits:
        einsum["init"] = [
            f"{i.tensor}[{', '.join(f'{v} = 0' if n == i.iterative_position else v for n, v in enumerate(i.variables))}]"  # noqa: E501
            f" = {format_expression(i.value)}"
            for i in cascade.inits
        ]
    einsum["expressions"] = [format_einsum(e) for e in cascade.einsums]
    einsum["outputs"] = [t.name for t in cascade.outputs]
    return dump_yaml({"einsum": einsum}, sort_keys=False, default_flow_style=None, width=1000)
