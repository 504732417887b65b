"""Sweep specs: the frozen description of a design-space sweep, read from YAML or CLI flags.

A sweep names an evaluator, base settings (arch, mapping, cascade, workload...), optional
named configurations, axes (lists or ranges of numbers, vectors or names), groups of axes
that vary together (``zip``), the metrics to keep and constraints on columns.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from einsum_cascade.diagnostics import SourceSpan, suggest
from mappers.sweep.errors import SweepError
from mappers.sweep.values import (
    Constraint,
    check_values,
    is_range,
    parse_constraint,
    parse_range,
    sweep_number,
)
from mappers.sweep.yaml_nodes import NodeReader, compose
from mappers.units import COUNT, NUMBER, SHAPE, field_kind
from mappers.yaml_source import Node, read_text

SUPPORTED_VERSIONS = (1,)
TOP_KEYS = (
    "version",
    "name",
    "evaluator",
    "base",
    "configs",
    "axes",
    "zip",
    "metrics",
    "constraints",
    "chunk_points",
)
DEFAULT_EVALUATOR = "cost"
DEFAULT_CHUNK_POINTS = 50_000
CONFIG_AXIS = "config"

Scalar = int | float | str
Value = Scalar | tuple[int | float, ...]


@dataclass(frozen=True, slots=True)
class Axis:
    """One swept column: its name, its values and how they are evaluated.

    ``kind`` is ``"number"`` (scalars, evaluated vectorised), ``"vector"`` (equal-length
    tuples of numbers, evaluated vectorised as a 2-D column) or ``"text"`` (names such as a
    workload or cascade; each distinct value is a separate group of points).
    """

    name: str
    values: tuple[Value, ...]
    kind: str
    span: SourceSpan | None = field(default=None, compare=False)
    value_spans: tuple[SourceSpan, ...] = field(default=(), compare=False)

    def value_span(self, value: Value) -> SourceSpan | None:
        """Return where ``value`` is written (the axis's span for a range), if known."""
        if len(self.value_spans) == len(self.values):
            for candidate, span in zip(self.values, self.value_spans, strict=True):
                if candidate == value:
                    return span
        return self.span


@dataclass(frozen=True, slots=True)
class SweepSpec:
    """A design-space sweep; ``fingerprint()`` identifies it for resuming."""

    name: str = "sweep"
    evaluator: str = DEFAULT_EVALUATOR
    base: tuple[tuple[str, str], ...] = ()
    configs: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()
    axes: tuple[Axis, ...] = ()
    zips: tuple[tuple[str, ...], ...] = ()
    metrics: tuple[str, ...] = ()
    constraints: tuple[Constraint, ...] = ()
    chunk_points: int = DEFAULT_CHUNK_POINTS
    base_dir: str = field(default=".", compare=False)
    spans: tuple[tuple[str, SourceSpan], ...] = field(default=(), compare=False)

    def span(self, key: str) -> SourceSpan | None:
        """Return the span recorded for ``key`` (such as ``metrics[1]``), if any."""
        return dict(self.spans).get(key)

    def fingerprint(self) -> str:
        """Return a hash of everything that decides the points and their rows."""
        data = {
            "evaluator": self.evaluator,
            "base": self.base,
            "configs": self.configs,
            "axes": [(a.name, a.kind, a.values) for a in self.axes],
            "zips": self.zips,
            "metrics": self.metrics,
            "constraints": [str(c) for c in self.constraints],
            "chunk_points": self.chunk_points,
        }
        text = json.dumps(data, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def load_sweep(path: str | Path) -> SweepSpec:
    """Read a sweep spec YAML file.

    Raises:
        SweepError: with file:line:col for every mistake in the text.
    """
    file = Path(path)
    text = read_text(file, SweepError, "SW120")
    spec = sweep_from_text(text, str(path))
    return replace(spec, base_dir=str(file.parent))


def sweep_from_text(text: str, file: str = "<string>") -> SweepSpec:
    """Parse the text of a sweep spec (see the module docstring and examples/sweeps/)."""
    node = compose(text, file)
    reader = NodeReader(text, file)
    if node is None:
        raise SweepError.single("SW102", "the sweep spec is empty", SourceSpan.point(file, 1, 1))
    fields: dict[str, object] = {}
    spans: list[tuple[str, SourceSpan]] = []
    items = reader.mapping(node, "the sweep spec", TOP_KEYS)
    keys = {key: (key_node, value) for key, key_node, value in items}
    if "version" not in keys:
        raise reader.error("SW102", "the sweep spec has no 'version' key", node, "add 'version: 1'")
    _check_version(reader, keys["version"][1])
    for key, (key_node, value) in keys.items():
        spans.append((key, reader.span(key_node)))
        if key in ("name", "evaluator"):
            fields[key] = reader.text_value(value, f"'{key}'")
        elif key == "base":
            fields["base"] = _settings(reader, value, "'base'", spans)
        elif key == "configs":
            fields["configs"] = tuple(
                (name, _settings(reader, v, f"config '{name}'", spans))
                for name, _, v in reader.mapping(value, "'configs'")
            )
        elif key == "axes":
            fields["axes"] = tuple(
                read_axis(reader, name, v) for name, _, v in reader.mapping(value, "'axes'")
            )
        elif key == "zip":
            fields["zips"] = _zips(reader, value)
        elif key == "metrics":
            entries = reader.sequence(value, "'metrics'")
            fields["metrics"] = tuple(reader.text_value(e, "a metric") for e in entries)
            spans.extend((f"metrics[{i}]", reader.span(e)) for i, e in enumerate(entries))
        elif key == "constraints":
            fields["constraints"] = tuple(
                parse_constraint(reader.text_value(e, "a constraint"), reader.span(e))
                for e in reader.sequence(value, "'constraints'")
            )
        elif key == "chunk_points":
            fields["chunk_points"] = _positive_int(reader, value, "'chunk_points'")
    spec = SweepSpec(**fields, spans=tuple(spans))  # type: ignore[arg-type]
    check_sweep(spec)
    return spec


def _check_version(reader: NodeReader, node: Node) -> None:
    text = reader.text_value(node, "'version'")
    if text not in {str(v) for v in SUPPORTED_VERSIONS}:
        supported = ", ".join(str(v) for v in SUPPORTED_VERSIONS)
        raise reader.error(
            "SW105", f"unknown sweep spec version '{text}'", node, f"supported: {supported}"
        )


def _settings(
    reader: NodeReader, node: Node, what: str, spans: list[tuple[str, SourceSpan]]
) -> tuple[tuple[str, str], ...]:
    settings = []
    for key, key_node, value in reader.mapping(node, what):
        settings.append((key, reader.text_value(value, f"'{key}' in {what}")))
        spans.append((f"setting {key}", reader.span(key_node)))
    return tuple(settings)


def _positive_int(reader: NodeReader, node: Node, what: str) -> int:
    value = sweep_number(reader.text_value(node, what), reader.span(node))
    if not isinstance(value, int) or value < 1:
        raise reader.error("SW103", f"{what} must be a positive whole number", node)
    return value


def _zips(reader: NodeReader, node: Node) -> tuple[tuple[str, ...], ...]:
    groups = []
    for group in reader.sequence(node, "'zip'"):
        names = tuple(reader.text_value(n, "an axis name") for n in reader.sequence(group, "a zip"))
        groups.append(names)
    return tuple(groups)


def read_axis(reader: NodeReader, name: str, node: Node) -> Axis:
    """Read one axis: a range text, a single value, or a list of values or vectors.

    The axis name gives the kind of its values (:func:`mappers.units.field_kind`): a
    known numeric field (``seq``, an extent such as ``B``, ``clock_hz``, ``L3.size_bytes``,
    ``pe2d.shape``) takes only numbers in its range, each checked where it is written; only
    shapes (and fields the sweep does not know) take vectors. Another name takes numbers or
    names, not both.
    """
    span = reader.span(node)
    kind = field_kind(name)
    if node.is_scalar:
        text = reader.text_value(node, f"axis '{name}'")
        if is_range(text):
            values = parse_range(text, span)
            if kind is not NUMBER:
                check_values(np.asarray(values, dtype=float), kind, f"axis '{name}'", span)
            return Axis(name, values, "number", span)
        items: list[Node] = [node]
    else:
        items = reader.sequence(node, f"axis '{name}'")
    if not items:
        raise reader.error("SW106", f"axis '{name}' has no values", node)
    spans = tuple(reader.span(item) for item in items)
    vectors = [item for item in items if isinstance(item.value, list)]
    if vectors:
        if kind not in (SHAPE, NUMBER):
            raise reader.error(
                "SW106",
                f"axis '{name}' takes single values, not lists",
                vectors[0],
                f"for example {name}: [1K, 4K]" if kind is COUNT else None,
            )
        if len(vectors) != len(items):
            single = next(item for item in items if not isinstance(item.value, list))
            raise reader.error("SW106", f"axis '{name}' mixes lists and single values", single)
        rows = tuple(_vector(reader, item, kind) for item in items)
        if len({len(v) for v in rows}) != 1:
            raise reader.error("SW106", f"the vectors of axis '{name}' differ in length", node)
        return Axis(name, rows, "vector", span, spans)
    texts = [(reader.text_value(item, f"a value of axis '{name}'"), item) for item in items]
    if kind is not NUMBER:
        numbers = tuple(sweep_number(text, item.span, kind) for text, item in texts)
        return Axis(name, numbers, "number", span, spans)
    parsed = [_maybe_number(text) for text, _ in texts]
    if all(n is not None for n in parsed):
        return Axis(name, tuple(n for n in parsed if n is not None), "number", span, spans)
    if any(n is not None for n in parsed):
        number, text_item = next(
            (t, i) for (t, i), n in zip(texts, parsed, strict=True) if n is not None
        )
        name_text = next(t for (t, _), n in zip(texts, parsed, strict=True) if n is None)
        raise reader.error(
            "SW106",
            f"axis '{name}' mixes numbers ('{number}') and names ('{name_text}')",
            text_item,
            "an axis holds numbers or names, not both",
        )
    return Axis(name, tuple(text for text, _ in texts), "text", span, spans)


def _vector(reader: NodeReader, node: Node, kind: object) -> tuple[int | float, ...]:
    items = reader.sequence(node, "a vector")
    value_kind = SHAPE if kind is SHAPE else NUMBER
    return tuple(
        sweep_number(reader.text_value(i, "a number"), reader.span(i), value_kind) for i in items
    )


def _maybe_number(text: str) -> int | float | None:
    try:
        return sweep_number(text)
    except SweepError:
        return None


def check_sweep(spec: SweepSpec) -> None:
    """Check cross-references: zip members exist, zipped axes agree in length, no clashes.

    Raises:
        SweepError: SW107 for a zip problem, SW108 for an axis that clashes with a name.
    """
    names = [a.name for a in spec.axes]
    by_name = {a.name: a for a in spec.axes}
    zip_span = spec.span("zip")
    seen: set[str] = set()
    for group in spec.zips:
        for name in group:
            if name not in by_name:
                hint = suggest(name, names)
                raise SweepError.single(
                    "SW107", f"zip names '{name}', which is not an axis", zip_span, hint
                )
            if name in seen:
                raise SweepError.single("SW107", f"axis '{name}' is in two zip groups", zip_span)
            seen.add(name)
        lengths = {len(by_name[n].values) for n in group}
        if len(lengths) > 1:
            detail = ", ".join(f"{n}: {len(by_name[n].values)}" for n in group)
            raise SweepError.single(
                "SW107", f"zipped axes must have equal lengths ({detail})", zip_span
            )
    if spec.configs and CONFIG_AXIS in by_name:
        raise SweepError.single(
            "SW108",
            f"axis '{CONFIG_AXIS}' clashes with the 'configs' section",
            by_name[CONFIG_AXIS].span,
        )


def axis_from_option(name: str, value_text: str) -> Axis:
    """Read an axis given on the command line as ``NAME=VALUE`` (VALUE in YAML flow form).

    Example:
        >>> axis_from_option("seq", "1K..4K x2").values
        (1024, 2048, 4096)
        >>> axis_from_option("pe2d.shape", "[[16,16],[32,32]]").values
        ((16, 16), (32, 32))
    """
    file = f"<--axis {name}>"
    node = compose(value_text, file)
    reader = NodeReader(value_text, file)
    if node is None:
        raise SweepError.single(
            "SW106", f"axis '{name}' has no values", SourceSpan.point(file, 1, 1)
        )
    return read_axis(reader, name, node)


def with_options(
    spec: SweepSpec,
    *,
    axes: tuple[str, ...] = (),
    base: tuple[str, ...] = (),
    metrics: tuple[str, ...] = (),
    constraints: tuple[str, ...] = (),
    evaluator: str | None = None,
    chunk_points: int | None = None,
) -> SweepSpec:
    """Return ``spec`` with command-line options applied (``NAME=VALUE`` for axes and base).

    An axis or base key given again replaces the spec's; metrics and constraints given on
    the command line replace and extend the spec's respectively.

    Raises:
        SweepError: SW109 for an option without ``=``, and any error of the values.
    """
    new_axes = {a.name: a for a in spec.axes}
    for option in axes:
        name, value = _split_option(option, "--axis")
        new_axes[name] = axis_from_option(name, value)
    new_base = dict(spec.base)
    new_spans = list(spec.spans)
    for option in base:
        key, value = _split_option(option, "--base")
        new_base[key] = value
        file = f"<--base {option}>"
        new_spans.append((f"setting {key}", SourceSpan(file, 1, 1, 1, len(key), option)))
    if evaluator:  # its errors point at the option, not at the file's evaluator line
        span = SourceSpan(f"<--evaluator {evaluator}>", 1, 1, 1, len(evaluator), evaluator)
        new_spans.append(("evaluator", span))
    extra = tuple(
        parse_constraint(text, SourceSpan(f"<--constraint {text}>", 1, 1, 1, len(text), text))
        for text in constraints
    )
    updated = replace(
        spec,
        axes=tuple(new_axes.values()),
        base=tuple(new_base.items()),
        metrics=metrics or spec.metrics,
        constraints=spec.constraints + extra,
        evaluator=evaluator or spec.evaluator,
        chunk_points=chunk_points or spec.chunk_points,
        spans=tuple(new_spans) if not metrics else tuple(s for s in new_spans if "[" not in s[0]),
    )
    check_sweep(updated)
    return updated


def _split_option(option: str, flag: str) -> tuple[str, str]:
    name, sep, value = option.partition("=")
    if not sep or not name.strip():
        raise SweepError.single(
            "SW109",
            f"{flag} '{option}' is not NAME=VALUE",
            None,
            f"for example {flag} seq=1K..1M x4",
        )
    return name.strip(), value.strip()
