"""Compiled cost models cached on disk, and NumPy evaluation code generated from sympy.

A cost model's symbolic build and its compilation to NumPy take most of a cold run. The
compiled model is stored in the user's cache folder (``$XDG_CACHE_HOME/einsum-cascade``,
else ``~/.cache/einsum-cascade``), under a hash of what it is built from: the cascade, the
spec and the mapping (their full structure, as their ``repr``), the cost table, the source
of the cost-model code and the sympy version. A change to any of them is a new key, so a
stale model is never read. Set ``EINSUM_CASCADE_NO_CACHE=1`` to neither read nor write. An
unreadable or corrupt entry (each starts with the SHA-256 digest of its pickle) is removed
and rebuilt. The folder keeps at most
``MAX_ENTRIES`` models (a search compiles many), dropping the least recently used; it may
be deleted at any time.

Evaluation functions are NumPy source text (:class:`NumpyFunction`), printed by sympy's
NumPy printer and compiled on first call: picklable, and free of ``lambdify``'s namespace
set-up. A stored model's sympy forms are kept pickled apart (:class:`Deferred`) and loaded
on first use: evaluating a model read from the cache does not import sympy.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import io
import marshal
import math
import os
import pickle
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from types import CodeType
from typing import Any, Generic, TypeVar

import numpy as np

DISABLE_ENV = "EINSUM_CASCADE_NO_CACHE"
MAX_ENTRIES = 2000  # then the least recently used fifth is removed (a few KB each)
_FORMAT = 3  # bump when the stored payload changes shape
_DIGEST_BYTES = 32  # an entry starts with the SHA-256 digest of the pickle that follows

T = TypeVar("T")


class NumpyFunction:
    """A NumPy function of named arguments, kept as source text and compiled on first call.

    Pickled, it keeps its compiled bytecode too (``marshal``, tagged with this Python's
    bytecode magic number): loaded by the same Python, it skips compiling the source.
    """

    __slots__ = ("_code", "_compiled", "arguments", "source")

    def __init__(self, arguments: tuple[str, ...], source: str, code: bytes = b"") -> None:
        self.arguments = arguments
        self.source = source
        self._code = code
        self._compiled: Callable[..., Any] | None = None

    def _bytecode(self) -> CodeType:
        magic = importlib.util.MAGIC_NUMBER
        if self._code.startswith(magic):
            code = marshal.loads(self._code[len(magic) :])
            if isinstance(code, CodeType):
                return code
        compiled = compile(self.source, "<cost model>", "exec")
        self._code = magic + marshal.dumps(compiled)
        return compiled

    def __call__(self, *values: Any) -> Any:
        if self._compiled is None:
            namespace: dict[str, Any] = {"numpy": np, "functools": functools, "math": math}
            if "filtered_count" in self.source:  # filtered op counts and traffic
                from mappers.cost.filtered import filtered_count

                namespace["filtered_count"] = filtered_count
            exec(self._bytecode(), namespace)
            self._compiled = namespace["_evaluate"]
        return self._compiled(*values)

    def __reduce__(self) -> tuple[Any, ...]:
        if not self._code.startswith(importlib.util.MAGIC_NUMBER):
            self._bytecode()
        return (NumpyFunction, (self.arguments, self.source, self._code))


def numpy_function(symbols: Sequence[Any], expressions: Any) -> NumpyFunction:
    """Return the NumPy function of ``symbols`` (positional, in order) computing ``expressions``.

    Symbols may have any name (``L3.size_bytes``): the code names them ``a0, a1...``. The
    function of a single expression is memoized (models evaluate the same extents often).
    """
    from sympy import Basic

    if isinstance(expressions, Basic):
        return _single(tuple(symbols), expressions)
    return _generate(symbols, expressions)


@functools.lru_cache(maxsize=1024)
def _single(symbols: tuple[Any, ...], expression: Any) -> NumpyFunction:
    return _generate(symbols, expression)


# The NumPy code of every sympy node printed so far, by node: models of one search share
# most of their subexpressions, and printing them is most of a model's compilation. A
# symbol prints as an identifier made from its name alone, so a node's code is the same
# in every function.
_PRINTED: dict[Any, str] = {}
_PRINTED_LIMIT = 500_000


def _identifier(name: str) -> str:
    """Return a Python identifier for a symbol name, one-to-one (``L3.size_bytes`` ->
    ``v_L3_2e_size_5f_bytes``)."""
    return "v_" + "".join(c if c.isascii() and c.isalnum() else f"_{ord(c):x}_" for c in name)


def _generate(symbols: Sequence[Any], expressions: Any) -> NumpyFunction:
    from sympy.printing.numpy import NumPyPrinter

    names = [_identifier(s.name) for s in symbols]
    if len(set(names)) < len(names):  # two symbols of one name: positional names instead
        return _generate_positional(symbols, expressions)
    printed: dict[Any, str] = {}

    class _Printer(NumPyPrinter):  # type: ignore[misc]  # sympy is untyped
        def _print(self, expr: Any, **kwargs: Any) -> str:
            if kwargs:
                return str(super()._print(expr, **kwargs))
            code = _PRINTED.get(expr) or printed.get(expr)
            if code is None:
                code = printed[expr] = str(super()._print(expr))
            return code

        def _print_Symbol(self, expr: Any) -> str:  # noqa: N802  # sympy's dispatch name
            return _identifier(expr.name)

    printer = _Printer({"fully_qualified_modules": True, "inline": True})
    body = printer.doprint(expressions)
    unknown = set(printer.module_imports) - {"numpy", "functools", "math"}
    if unknown:
        raise ValueError(f"cost-model code needs modules {sorted(unknown)}")
    if len(_PRINTED) > _PRINTED_LIMIT:
        _PRINTED.clear()
    _PRINTED.update(printed)  # only code whose modules passed the check above
    source = f"def _evaluate({', '.join(names)}):\n    return {body}\n"
    return NumpyFunction(tuple(s.name for s in symbols), source)


def _generate_positional(symbols: Sequence[Any], expressions: Any) -> NumpyFunction:
    from sympy.printing.numpy import NumPyPrinter

    names = {s: f"a{i}" for i, s in enumerate(symbols)}

    class _Printer(NumPyPrinter):  # type: ignore[misc]  # sympy is untyped
        def _print_Symbol(self, expr: Any) -> str:  # noqa: N802  # sympy's dispatch name
            return names.get(expr) or super()._print_Symbol(expr)

    printer = _Printer({"fully_qualified_modules": True, "inline": True})
    expressions, shared = _shared_counts(expressions)
    lines = [f"    {name} = {printer.doprint(count)}\n" for name, count in shared]
    body = printer.doprint(expressions)
    unknown = set(printer.module_imports) - {"numpy", "functools", "math"}
    if unknown:
        raise ValueError(f"cost-model code needs modules {sorted(unknown)}")
    source = f"def _evaluate({', '.join(names.values())}):\n{''.join(lines)}    return {body}\n"
    return NumpyFunction(tuple(s.name for s in symbols), source)


def _shared_counts(expressions: Any) -> tuple[Any, list[tuple[str, Any]]]:
    """Return the expressions with each distinct filtered count (:mod:`mappers.cost.filtered`)
    replaced by a name, and the (name, count) pairs: each is evaluated once per call."""
    from sympy import Basic, Symbol

    from mappers.cost.filtered import FilteredCount

    items = [expressions] if isinstance(expressions, Basic) else list(expressions)
    found: set[Any] = set()
    for item in items:
        if isinstance(item, Basic):
            found |= item.atoms(FilteredCount)
    if not found:
        return expressions, []
    shared = sorted(found, key=str)
    symbols = {count: Symbol(f"filtered_{i}") for i, count in enumerate(shared)}
    replaced = [x.xreplace(symbols) if isinstance(x, Basic) else x for x in items]
    pairs = [(symbols[count].name, count) for count in shared]
    return (replaced[0] if isinstance(expressions, Basic) else replaced), pairs


def _unevaluated(cls: Any, args: tuple[Any, ...]) -> Any:
    """Rebuild a sympy node from its (already canonical) arguments without evaluating."""
    try:
        return cls(*args, evaluate=False)
    except TypeError:
        return cls(*args)


class _Pickler(pickle.Pickler):
    """Pickle sympy nodes so that loading skips their evaluation.

    sympy rebuilds a node by calling its class on its arguments, which evaluates again
    (``Min``/``Max`` compare every pair of arguments): that made loading a model as slow as
    building it. The arguments stored are already canonical.
    """

    def reducer_override(self, obj: Any) -> Any:
        from sympy import Basic

        if isinstance(obj, Basic) and obj.args and not obj.is_Atom:
            return _unevaluated, (type(obj), obj.args)
        return NotImplemented


class Deferred(Generic[T]):
    """A value pickled apart from what holds it, and unpickled on first :meth:`get`.

    Built from a value, it pickles that value when it is itself pickled; loaded from a
    pickle, it keeps the bytes until asked. Equal when the values are equal.
    """

    __slots__ = ("_data", "_value")

    def __init__(self, value: T | None = None, data: bytes | None = None) -> None:
        self._value = value
        self._data = data

    def get(self) -> T:
        """Return the value, unpickling it on the first call."""
        if self._value is None and self._data is not None:
            self._value = pickle.loads(self._data)
        assert self._value is not None
        return self._value

    def data(self) -> bytes:
        """Return the value pickled (sympy nodes unevaluated: see :class:`_Pickler`)."""
        if self._data is None:
            buffer = io.BytesIO()
            _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(self._value)
            self._data = buffer.getvalue()
        return self._data

    def __reduce__(self) -> tuple[Any, ...]:
        return (Deferred, (None, self.data()))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Deferred) and self.get() == other.get()

    def __hash__(self) -> int:
        return hash(self.get())

    def __repr__(self) -> str:
        return f"Deferred({self.get()!r})"


def cache_folder() -> Path:
    """Return the folder of compiled cost models (not created here)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "einsum-cascade" / "cost-models"


def enabled() -> bool:
    """Return False when ``EINSUM_CASCADE_NO_CACHE`` is set to a true value."""
    return os.environ.get(DISABLE_ENV, "").strip().lower() not in {"1", "true", "yes", "on"}


@functools.cache
def _code_fingerprint() -> str:
    """Hash the source of the cost-model code and sympy's release file (its version).

    sympy is found, not imported: a model read from the cache is evaluated without it.
    """
    digest = hashlib.sha256(f"{_FORMAT}:".encode())
    sympy = importlib.util.find_spec("sympy")
    if sympy is not None and sympy.origin is not None:
        digest.update(Path(sympy.origin).with_name("release.py").read_bytes())
    folders = [Path(__file__).resolve().parent, Path(__file__).resolve().parents[1] / "hardware"]
    for folder in folders:
        for path in sorted(folder.glob("*.py")):
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def model_key(*inputs: Any) -> str:
    """Return the cache key of a model built from ``inputs`` (cascade, spec, mapping, table)."""
    digest = hashlib.sha256(_code_fingerprint().encode())
    for item in inputs:
        digest.update(repr(item).encode())
        digest.update(b"\0")
    return digest.hexdigest()


def load(key: str) -> Any | None:
    """Return the payload stored under ``key``, or None (missing, disabled or corrupt).

    An entry is the SHA-256 digest of its pickle, then the pickle: one whose digest does
    not match (a truncated or altered file) is removed, never unpickled.
    """
    if not enabled():
        return None
    path = cache_folder() / f"{key}.pickle"
    try:
        data = path.read_bytes()
        digest, body = data[:_DIGEST_BYTES], data[_DIGEST_BYTES:]
        if hashlib.sha256(body).digest() != digest:
            raise ValueError("corrupt cache entry")
        payload = pickle.loads(body)
        os.utime(path)  # recently used: kept when the folder is pruned
        return payload
    except FileNotFoundError:
        return None
    except Exception:  # a corrupt entry is rebuilt, never trusted
        path.unlink(missing_ok=True)
        return None


def store(key: str, payload: Any) -> None:
    """Store ``payload`` under ``key`` atomically; silently skip when the folder is unwritable."""
    if not enabled():
        return
    folder = cache_folder()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle = tempfile.NamedTemporaryFile(dir=folder, suffix=".tmp", delete=False)  # noqa: SIM115
    except OSError:
        return
    try:
        with handle:
            buffer = io.BytesIO()
            _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(payload)
            body = buffer.getvalue()
            handle.write(hashlib.sha256(body).digest() + body)
        Path(handle.name).replace(folder / f"{key}.pickle")
        _prune(folder)
    except Exception:  # an unpicklable payload or a full disk: no entry
        Path(handle.name).unlink(missing_ok=True)


def _prune(folder: Path, limit: int | None = None) -> None:
    """Remove the least recently used entries when the folder holds more than ``limit``."""
    limit = MAX_ENTRIES if limit is None else limit
    entries = [e for e in os.scandir(folder) if e.name.endswith(".pickle")]
    if len(entries) <= limit:
        return
    entries.sort(key=lambda e: e.stat().st_mtime)
    for entry in entries[: len(entries) - limit * 4 // 5]:
        Path(entry.path).unlink(missing_ok=True)
