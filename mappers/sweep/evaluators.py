"""The string-keyed registry of sweep evaluators.

An evaluator is a pure function ``(group, columns) -> metrics``: ``group`` is the
:class:`~mappers.sweep.points.PointGroup` the points share (spec, mapping, cascade,
workload...), ``columns`` maps each numeric axis to an array with one entry (or, for vector
axes, one row) per point, and the result maps metric names to arrays of the same length.
Built-in entries are import paths resolved on first use, so the registry imports nothing
heavy; ``module:function`` names work as well, which is how a worker process finds an
evaluator defined outside the package.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping

import numpy as np

from einsum_cascade.diagnostics import SourceSpan, suggest
from mappers.sweep.errors import SweepError
from mappers.sweep.points import PointGroup

Evaluator = Callable[[PointGroup, Mapping[str, np.ndarray]], Mapping[str, np.ndarray]]

_BUILTIN: dict[str, str] = {"cost": "mappers.sweep.cost:evaluate_cost"}
_REGISTERED: dict[str, Evaluator] = {}


def register_evaluator(name: str, evaluator: Evaluator) -> None:
    """Register ``evaluator`` under ``name`` (replacing an earlier registration)."""
    _REGISTERED[name] = evaluator


def evaluator_names() -> tuple[str, ...]:
    """Return the registered and built-in evaluator names, sorted."""
    return tuple(sorted({*_BUILTIN, *_REGISTERED}))


def get_evaluator(name: str, span: SourceSpan | None = None) -> Evaluator:
    """Return the evaluator called ``name``, or the function at ``module:function``.

    Raises:
        SweepError: SW301 when no evaluator has that name; the message lists the valid ones.
    """
    if name in _REGISTERED:
        return _REGISTERED[name]
    target = _BUILTIN.get(name, name if ":" in name else None)
    if target is None:
        valid = ", ".join(evaluator_names())
        hint = suggest(name, evaluator_names()) or f"valid evaluators: {valid}"
        raise SweepError.single("SW301", f"unknown evaluator '{name}' (valid: {valid})", span, hint)
    module_name, _, attribute = target.partition(":")
    try:
        module = importlib.import_module(module_name)
        function: Evaluator = getattr(module, attribute)
    except (ImportError, AttributeError) as exc:
        raise SweepError.single(
            "SW302", f"cannot load evaluator '{name}' from '{target}': {exc}", span
        ) from exc
    return function
