"""The front end's entry point: cascade text -> tokens -> syntax tree -> checked IR."""

from __future__ import annotations

from einsum_cascade.check import check_program
from einsum_cascade.ir import Cascade
from einsum_cascade.parser import parse_program


def parse_cascade(text: str, file: str = "<string>") -> Cascade:
    """Parse and check cascade text; raise a CascadeError listing every problem.

    Example:
        >>> parse_cascade("rank K\\ninput A[K]\\nY[] = A[k]").outputs[0].name
        'Y'
    """
    return check_program(parse_program(text, file))


__all__ = ["parse_cascade"]
