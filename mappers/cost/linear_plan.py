"""Linear-layer plans: which GEMMs a transformer layer runs, read from located, validated YAML.

A plan names the cascade that costs one GEMM (``gemm``), the candidate mappings, the
workload extents whose product gives the rows ``M``, and per layer the extents whose
products give the contraction ``K`` and the columns ``N``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from einsum_cascade.diagnostics import SourceSpan, suggest
from mappers.errors import MappingError
from mappers.yaml_source import Node, Validator, compose

LINEAR_PLAN = Path(__file__).resolve().parent.parent / "data" / "linear-layers.yaml"
_TOP = ("version", "description", "cascade", "mappings", "rows", "layers")
_LAYER = ("name", "K", "N")


@dataclass(frozen=True, slots=True)
class LinearLayer:
    """One GEMM: its name and the workload extents whose products give K and N."""

    name: str
    contraction: tuple[str, ...]
    columns: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class LinearPlan:
    """The GEMMs of one layer, the cascade costing each, and the candidate mappings."""

    cascade: str
    mappings: tuple[str, ...]
    rows: tuple[str, ...]
    layers: tuple[LinearLayer, ...]
    source_file: str = field(default="<string>", compare=False)
    spans: tuple[tuple[str, SourceSpan], ...] = field(default=(), compare=False, repr=False)

    def span_of(self, path: str) -> SourceSpan | None:
        """Return the span recorded for ``rows`` or ``layers.<name>.K`` / ``.N``."""
        return dict(self.spans).get(path)

    def extent_uses(self) -> tuple[tuple[str, str], ...]:
        """Return (span path, extent name) for every extent the plan multiplies."""
        uses = [("rows", name) for name in self.rows]
        for layer in self.layers:
            uses += [(f"layers.{layer.name}.K", name) for name in layer.contraction]
            uses += [(f"layers.{layer.name}.N", name) for name in layer.columns]
        return tuple(uses)


def load_linear_plan(path: str | Path = LINEAR_PLAN) -> LinearPlan:
    """Read a linear-layer plan (the default: the FuseMax evaluation's six GEMMs).

    Raises:
        MappingError: a missing file, invalid YAML or a schema violation, located.
    """
    file = Path(path)
    if not file.is_file():
        raise MappingError.single(
            "M110", f"no linear-layer plan '{path}'", None, "give the path of a plan YAML file"
        )
    return linear_plan_from_text(file.read_text(encoding="utf-8"), str(file))


def linear_plan_from_text(text: str, file: str = "<string>") -> LinearPlan:
    """Validate linear-layer plan YAML text and build the plan (every problem reported)."""
    root = compose(text, file, MappingError)
    check = Validator("M")
    top = check.keys(root, _TOP, ("cascade", "mappings", "rows", "layers"), "the linear plan")
    check.version(root, (1,))
    spans: list[tuple[str, SourceSpan]] = []
    rows = _names(check, top.get("rows"), "rows")
    if "rows" in top:
        spans.append(("rows", top["rows"].span))
    layers = []
    seen: set[str] = set()
    for node in check.sequence(top.get("layers"), "layers"):
        fields = check.keys(node, _LAYER, _LAYER, "a linear layer")
        name = check.string(fields.get("name"), "layer name")
        if name in seen:
            check.error(107, f"layer '{name}' appears twice", fields["name"].span)
        seen.add(name)
        for key in ("K", "N"):
            if key in fields:
                spans.append((f"layers.{name}.{key}", fields[key].span))
        layers.append(
            LinearLayer(
                name, _names(check, fields.get("K"), "K"), _names(check, fields.get("N"), "N")
            )
        )
    plan = LinearPlan(
        cascade=check.string(top.get("cascade"), "cascade"),
        mappings=_names(check, top.get("mappings"), "mappings"),
        rows=rows,
        layers=tuple(layers),
        source_file=file,
        spans=tuple(spans),
    )
    if "layers" in top and not layers:
        check.error(104, "layers must list at least one layer", top["layers"].span)
    if "mappings" in top and not plan.mappings:
        check.error(104, "mappings must list at least one mapping", top["mappings"].span)
    check.raise_if_any(MappingError)
    return plan


def _names(check: Validator, node: Node | None, what: str) -> tuple[str, ...]:
    return tuple(check.string(item, what) for item in check.sequence(node, what))


def check_plan_extents(plan: LinearPlan, given: Iterable[str]) -> None:
    """Raise M403 for every extent the plan multiplies that the workload point lacks.

    Raises:
        MappingError: M403, one diagnostic per missing extent, at the list that names it.
    """
    have = tuple(sorted(given))
    check = Validator("M")
    for path, name in plan.extent_uses():
        if name not in have:
            check.error(
                403,
                f"linear plan uses extent '{name}', which the workload point does not give",
                plan.span_of(path),
                suggest(name, have) or f"the point gives {', '.join(have) or 'nothing'}",
            )
    check.raise_if_any(MappingError)
