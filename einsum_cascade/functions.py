"""The registry of functions callable in cascades: arity, NumPy semantics, op lowering.

The registry is the one piece of process-wide state in the language layer, on purpose:
users register their own functions once, from Python, before parsing cascades that call
them (``register_function("softplus", 1, np.logaddexp0, {"exp": 1, "log": 1, "add": 1})``).
"""

from __future__ import annotations

import keyword
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from einsum_cascade.errors import FunctionRegistryError

NumpyImpl = Callable[..., Any]


@dataclass(frozen=True, slots=True)
class _NumPy:
    """A NumPy function by name, imported on its first call (parsing needs no NumPy)."""

    name: str

    def __call__(self, *args: Any) -> Any:
        import numpy as np

        return getattr(np, self.name)(*args)


@dataclass(frozen=True, slots=True)
class Function:
    """A registered function.

    Attributes:
        name: The name used in cascade text.
        arity: The number of arguments.
        implementation: A NumPy ufunc-like callable on arrays.
        lowering: Primitive operations one call costs, e.g. ``{"exp": 1, "add": 1}``.
        union_identity: For binary functions that keep a present operand when the other is
            absent (``max`` / ``min``), the value the absent operand stands for; None
            means every operand must be present.
    """

    name: str
    arity: int
    implementation: NumpyImpl = field(compare=False, hash=False)
    lowering: tuple[tuple[str, int], ...] = ()
    union_identity: float | None = None


def _elu(x: Any) -> Any:
    import numpy as np

    return np.where(x > 0, x, np.expm1(np.minimum(x, 0)))


def _sigmoid(x: Any) -> Any:
    import numpy as np

    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _relu(x: Any) -> Any:
    import numpy as np

    return np.maximum(x, 0)


def _rsqrt(x: Any) -> Any:
    import numpy as np

    return 1.0 / np.sqrt(x)


_BUILTINS: tuple[Function, ...] = (
    Function("exp", 1, _NumPy("exp"), (("exp", 1),)),
    Function("log", 1, _NumPy("log"), (("log", 1),)),
    Function("sqrt", 1, _NumPy("sqrt"), (("sqrt", 1),)),
    Function("rsqrt", 1, _rsqrt, (("sqrt", 1), ("div", 1))),
    Function("tanh", 1, _NumPy("tanh"), (("tanh", 1),)),
    Function("sigmoid", 1, _sigmoid, (("exp", 1), ("add", 1), ("div", 1))),
    Function("relu", 1, _relu, (("max", 1),)),
    Function("elu", 1, _elu, (("exp", 1), ("sub", 1), ("max", 1))),
    Function("abs", 1, _NumPy("abs"), (("abs", 1),)),
    Function("max", 2, _NumPy("maximum"), (("max", 1),), -math.inf),
    Function("min", 2, _NumPy("minimum"), (("min", 1),), math.inf),
    Function("pow", 2, _NumPy("power"), (("pow", 1),)),
)

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_RESERVED = frozenset(
    {
        "inf",
        "cascade",
        "rank",
        "input",
        "output",
        "tensor",
        "init",
        "where",
        "empty",
        "and",
        "or",
        "not",
    }
)
_registry: dict[str, Function] = {f.name: f for f in _BUILTINS}


def register_function(
    name: str,
    arity: int,
    implementation: NumpyImpl,
    lowering: Mapping[str, int] | None = None,
    *,
    replace: bool = False,
) -> Function:
    """Register a function so cascades can call it.

    Args:
        name: Identifier used in cascade text.
        arity: Number of arguments (at least 1).
        implementation: Element-wise NumPy implementation.
        lowering: Primitive ops one call costs; defaults to one op named ``name``.
        replace: Allow replacing an existing registration.

    Returns:
        The registered function.

    Raises:
        FunctionRegistryError: for an invalid name or arity, or a duplicate.
    """
    if not _NAME.match(name) or keyword.iskeyword(name) or name in _RESERVED:
        raise FunctionRegistryError(f"'{name}' is not a valid function name")
    if arity < 1:
        raise FunctionRegistryError(f"function '{name}' needs an arity of at least 1")
    if name in _registry and not replace:
        raise FunctionRegistryError(
            f"function '{name}' is already registered; pass replace=True to replace it"
        )
    ops = tuple(sorted((lowering or {name: 1}).items()))
    function = Function(name, arity, implementation, ops)
    _registry[name] = function
    return function


def unregister_function(name: str) -> None:
    """Remove a user registration (built-ins cannot be removed)."""
    if name in {f.name for f in _BUILTINS}:
        raise FunctionRegistryError(f"built-in function '{name}' cannot be removed")
    _registry.pop(name, None)


def lookup(name: str) -> Function | None:
    """Return the function called ``name``, or None."""
    return _registry.get(name)


def registered() -> Mapping[str, Function]:
    """Return a read-only view of every registered function."""
    return MappingProxyType(_registry)
