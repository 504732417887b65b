"""Find the cascade a mapping names: the library's (``attention/1pass``) or the mappers'
own data cascades (``gemm``, under ``mappers/data/cascades``), or a ``.cascade`` path."""

from __future__ import annotations

import functools
from pathlib import Path

import einsum_cascade.library as library
from einsum_cascade.ir import Cascade

CASCADE_DIR = Path(__file__).resolve().parent / "data" / "cascades"


@functools.cache
def load_cascade(name_or_path: str) -> Cascade:
    """Return the cascade ``name_or_path`` names (cached: the IR is immutable).

    Raises:
        LibraryError: no library cascade, data cascade or file has that name.
    """
    own = CASCADE_DIR / f"{name_or_path}.cascade"
    if own.is_file():
        return Cascade.from_file(own)
    path = Path(name_or_path)
    if path.suffix == ".cascade" and path.is_file():
        return Cascade.from_file(path)
    return library.load(name_or_path)
