"""Turn cascade text into tokens, each carrying its SourceSpan."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from einsum_cascade.diagnostics import SourceSpan
from einsum_cascade.errors import DslSyntaxError


class Kind(enum.Enum):
    """Token kinds."""

    IDENT = "identifier"
    NUMBER = "number"
    STRING = "string"
    OP = "operator"
    NEWLINE = "end of line"
    EOF = "end of input"


KEYWORDS = frozenset(
    {"cascade", "rank", "input", "output", "tensor", "init", "where", "empty", "and", "or", "not"}
)

_OPERATORS = (
    "::",
    "<=",
    ">=",
    "==",
    "!=",
    "[",
    "]",
    "(",
    ")",
    ",",
    "=",
    "+",
    "-",
    "*",
    "/",
    "<",
    ">",
    ":",
)
_NUMBER = re.compile(r"(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_WORD_CHAR = re.compile(r"[^\s\[\](),=+\-*/<>:!#\"']")


@dataclass(frozen=True, slots=True)
class Token:
    """One token with its text and location."""

    kind: Kind
    text: str
    span: SourceSpan

    def describe(self) -> str:
        """Return how the token is named in an error message."""
        if self.kind in (Kind.NEWLINE, Kind.EOF):
            return str(self.kind.value)
        return f"'{self.text}'"


def tokenize(text: str, file: str = "<string>") -> list[Token]:
    """Split ``text`` into tokens; newlines inside brackets are dropped.

    Raises:
        DslSyntaxError: on a character or identifier the language does not allow.
    """
    return _Lexer(text, file).run()


class _Lexer:
    def __init__(self, text: str, file: str) -> None:
        self.text = text
        self.file = file
        self.tokens: list[Token] = []
        self.depth = 0
        self.line = 1
        self.line_start = 0

    def span(self, start: int, end: int) -> SourceSpan:
        col = start - self.line_start + 1
        end_col = max(col, end - self.line_start)
        return SourceSpan(self.file, self.line, col, self.line, end_col, self.text)

    def error(self, code: str, message: str, start: int, end: int, hint: str | None = None) -> None:
        raise DslSyntaxError.single(code, message, self.span(start, end), hint) from None

    def run(self) -> list[Token]:
        pos = 0
        text = self.text
        while pos < len(text):
            char = text[pos]
            if char == "\n":
                self.newline(pos)
                pos += 1
                self.line += 1
                self.line_start = pos
            elif char in " \t\r":
                pos += 1
            elif char == "#":
                end = text.find("\n", pos)
                pos = len(text) if end < 0 else end
            elif char == '"':
                pos = self.string(pos)
            else:
                pos = self.word_or_operator(pos)
        self.newline(len(text))
        self.tokens.append(Token(Kind.EOF, "", self.span(len(text), len(text))))
        return self.tokens

    def newline(self, pos: int) -> None:
        if self.depth == 0 and self.tokens and self.tokens[-1].kind is not Kind.NEWLINE:
            self.tokens.append(Token(Kind.NEWLINE, "\n", self.span(pos, pos + 1)))

    def string(self, pos: int) -> int:
        end = self.text.find('"', pos + 1)
        newline = self.text.find("\n", pos + 1)
        if end < 0 or (0 <= newline < end):
            stop = len(self.text) if newline < 0 else newline
            self.error("E101", "unterminated string", pos, stop, "close it with '\"'")
        self.tokens.append(Token(Kind.STRING, self.text[pos + 1 : end], self.span(pos, end + 1)))
        return end + 1

    def word_or_operator(self, pos: int) -> int:
        text = self.text
        number = _NUMBER.match(text, pos)
        if number:
            end = self.word_end(number.end())
            if end != number.end():
                self.invalid_identifier(pos, end)
            self.tokens.append(Token(Kind.NUMBER, number.group(), self.span(pos, end)))
            return end
        ident = _IDENT.match(text, pos)
        if ident:
            end = self.word_end(ident.end())
            if end != ident.end():
                self.invalid_identifier(pos, end)
            self.tokens.append(Token(Kind.IDENT, ident.group(), self.span(pos, end)))
            return end
        for op in _OPERATORS:
            if text.startswith(op, pos):
                self.track_depth(op)
                self.tokens.append(Token(Kind.OP, op, self.span(pos, pos + len(op))))
                return pos + len(op)
        end = self.word_end(pos + 1)
        if end > pos + 1 or not text[pos].isascii():
            self.invalid_identifier(pos, end)
        self.error("E100", f"unexpected character '{text[pos]}'", pos, pos + 1)
        raise AssertionError("unreachable")

    def invalid_identifier(self, pos: int, end: int) -> None:
        self.error(
            "E102",
            f"invalid identifier '{self.text[pos:end]}'",
            pos,
            end,
            "names start with a letter or '_' and contain only letters, digits and '_'",
        )

    def word_end(self, pos: int) -> int:
        while pos < len(self.text) and _WORD_CHAR.match(self.text[pos]):
            pos += 1
        return pos

    def track_depth(self, op: str) -> None:
        if op in "[(":
            self.depth += 1
        elif op in "])":
            self.depth = max(0, self.depth - 1)
