"""The string-keyed registry of sweep evaluators.

An evaluator is a pure function ``(group, columns) -> metrics``: ``group`` is the
:class:`~mappers.sweep.points.PointGroup` the points share (spec, mapping, cascade,
workload...), ``columns`` maps each numeric axis to an array with one entry (or, for vector
axes, one row) per point, and the result maps metric names to arrays of the same length.
Built-in entries are import paths resolved on first use, so the registry imports nothing
heavy; ``module:function`` names work as well, which is how a worker process finds an
evaluator defined outside the package.

An evaluator that can tell which of its points are infeasible raises
:class:`InfeasiblePoints` with a mask; the engine records those points as rows with
``feasible = false`` and evaluates the others again. Any other error becomes such rows for
the points that fail (found by splitting the points), unless the sweep is strict.

An evaluator may come with an :class:`EvaluatorInfo` (built-ins, or ``module:NAME_info``):
the setting keys it reads (others are errors) and a description of what a group of points
reads (files and their text), hashed for resuming and kept as provenance.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from einsum_cascade.diagnostics import Diagnostic, Severity, SourceSpan, suggest
from mappers.sweep.errors import SweepError
from mappers.sweep.points import PointGroup
from mappers.sweep.spec import CONFIG_AXIS, SweepSpec

Evaluator = Callable[[PointGroup, Mapping[str, np.ndarray]], Mapping[str, np.ndarray]]

Describe = Callable[[PointGroup], Mapping[str, Any]]

_BUILTIN: dict[str, str] = {"cost": "mappers.sweep.cost:evaluate_cost"}
_REGISTERED: dict[str, Evaluator] = {}
_REGISTERED_INFO: dict[str, EvaluatorInfo] = {}


class InfeasiblePoints(Exception):  # noqa: N818 - a signal, not an error of the sweep
    """Raised by an evaluator for the points (``mask``) it cannot evaluate.

    ``axis`` names the setting whose value makes them infeasible (such as
    ``L3.size_bytes``), so the engine can locate the reason at that axis value; ``span``
    is the fallback location (the spec's own value). ``messages``, when given, holds one
    message per point (an object array) and replaces ``message`` for the masked points.
    """

    def __init__(
        self,
        mask: np.ndarray,
        code: str,
        message: str,
        *,
        axis: str | None = None,
        span: SourceSpan | None = None,
        messages: np.ndarray | None = None,
    ) -> None:
        """Keep the mask and the diagnostic's parts."""
        super().__init__(f"{code}: {message}")
        self.mask = np.asarray(mask, dtype=bool)
        self.code = code
        self.message = message
        self.axis = axis
        self.span = span
        self.messages = messages

    def diagnostic(self, index: int | None = None) -> Diagnostic:
        """Return the diagnostic for one masked point (by position among all points)."""
        message = self.message
        if index is not None and self.messages is not None:
            message = str(self.messages[index])
        return Diagnostic(Severity.ERROR, self.code, message, self.span)


@dataclass(frozen=True, slots=True)
class EvaluatorInfo:
    """What the engine may know about an evaluator besides calling it.

    ``settings``: the setting keys it reads (None: any key). ``describe``: for one group of
    points, what it reads: JSON-ready data whose ``files`` entry maps each file read to its
    text; hashed into the resume fingerprint and written as provenance.
    """

    settings: tuple[str, ...] | None = None
    describe: Describe | None = None


def register_evaluator(name: str, evaluator: Evaluator, info: EvaluatorInfo | None = None) -> None:
    """Register ``evaluator`` under ``name`` (replacing an earlier registration)."""
    _REGISTERED[name] = evaluator
    _REGISTERED_INFO[name] = info or EvaluatorInfo()


def evaluator_info(name: str) -> EvaluatorInfo:
    """Return the :class:`EvaluatorInfo` of an evaluator (empty when it has none).

    A ``module:function`` evaluator may define ``function_info`` beside it.
    """
    if name in _REGISTERED:
        return _REGISTERED_INFO.get(name, EvaluatorInfo())
    target = _BUILTIN.get(name, name)
    module_name, _, attribute = target.partition(":")
    try:
        info = getattr(importlib.import_module(module_name), f"{attribute}_info", None)
    except ImportError:
        return EvaluatorInfo()
    return info if isinstance(info, EvaluatorInfo) else EvaluatorInfo()


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
    if not module_name.strip() or not attribute.strip():
        raise SweepError.single(
            "SW302",
            f"evaluator '{name}' is not a name or MODULE:FUNCTION",
            span,
            f"valid evaluators: {', '.join(evaluator_names())}, or a path such as "
            "mypackage.module:function",
        )
    try:
        module = importlib.import_module(module_name)
        function: Evaluator = getattr(module, attribute)
    except (ImportError, AttributeError, ValueError, TypeError) as exc:
        raise SweepError.single(
            "SW302", f"cannot load evaluator '{name}' from '{target}': {exc}", span
        ) from None
    if not callable(function):
        raise SweepError.single("SW302", f"evaluator '{name}' is not a function", span)
    return function


def check_settings(spec: SweepSpec) -> None:
    """Check that every setting (base, configs, text axes) is one the evaluator reads.

    Raises:
        SweepError: SW113 for a key the evaluator does not know, with a suggestion.
    """
    known = evaluator_info(spec.evaluator).settings
    if known is None:
        return
    keys: list[str] = [key for key, _ in spec.base]
    keys += [key for _, settings in spec.configs for key, _ in settings]
    keys += [axis.name for axis in spec.axes if axis.kind == "text" and axis.name != CONFIG_AXIS]
    for key in keys:
        if key not in known:
            axis = next((a for a in spec.axes if a.name == key), None)
            span = spec.span(f"setting {key}") or (axis.span if axis is not None else None)
            raise SweepError.single(
                "SW113",
                f"evaluator '{spec.evaluator}' has no setting '{key}'",
                span,
                suggest(key, known) or "settings: " + ", ".join(known),
            )
