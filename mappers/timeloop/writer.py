"""One einsum of a cascade, mapped on a spec, as Timeloop v4 problem, architecture and
mapping documents (plain dictionaries; :func:`write_timeloop` writes them as YAML).

The export describes the same loop nest the cost model assumes: the batch ranks and the
mapping's DRAM loops at DRAM, every remaining temporal loop at the innermost on-chip level,
the array's spatial dimensions, and the PE registers keeping every operand. The numbers are
those of one workload point (tile sizes included), so Timeloop can check our counts.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import sympy

from einsum_cascade import Cascade, Einsum
from einsum_cascade.diagnostics import SourceSpan, suggest
from einsum_cascade.ir import TensorRef
from einsum_cascade.symbols import extent_symbol, rank_of_variable
from einsum_cascade.yaml_source import dump_tagged_yaml
from mappers.cost.model import DEFAULT_TABLE, build_cost_model, evaluate_costs
from mappers.errors import MappingError
from mappers.hardware.spec import ArchSpec, ComputeArray
from mappers.mapping.schema import Mapping

TIMELOOP_VERSION = "0.4"
_MESH = {"cols": "meshX", "rows": "meshY"}


class Tagged(dict[str, Any]):
    """A mapping written with a Timeloop node tag (``!Component``, ``!Container``)."""

    def __init__(self, tag: str, **fields: Any) -> None:
        super().__init__(fields)
        self.tag = tag


def _tag_of(node: Tagged) -> tuple[str, dict[str, Any]]:
    """Return the YAML tag and the fields of a :class:`Tagged` node."""
    return f"!{node.tag}", dict(node)


def timeloop_documents(
    cascade: Cascade,
    spec: ArchSpec,
    mapping: Mapping,
    einsum: str,
    extents: dict[str, int],
    table: str = DEFAULT_TABLE,
) -> dict[str, dict[str, Any]]:
    """Return the ``problem``, ``architecture`` and ``mapping`` documents of one einsum.

    Args:
        cascade, spec, mapping: as for :func:`mappers.cost.model.build_cost_model`.
        einsum: the einsum to export (bound to an array by the mapping).
        extents: one workload point (``B``, ``H`` and the cascade's free extents).
        table: the cost table (it only matters for validation of the op tables).

    Raises:
        MappingError: M508 no such einsum; M509 the einsum is not bound; M510 an index
            Timeloop cannot project (located at the einsum).
    """
    if einsum not in {e.name for e in cascade.einsums}:
        raise MappingError.single(
            "M508",
            f"cascade '{cascade.name}' has no einsum '{einsum}'",
            None,
            suggest(einsum, [e.name for e in cascade.einsums])
            or f"einsums bound to an array: {', '.join(exportable_einsums(cascade, mapping))}",
        )
    node = cascade.einsum(einsum)
    unprojectable = _unprojectable(node)
    if unprojectable is not None:
        raise MappingError.single(
            "M510",
            f"Timeloop cannot project {unprojectable}",
            node.span,
            "a Timeloop problem indexes each tensor by sums of index variables times "
            "constants; of this cascade these einsums export: "
            + ", ".join(exportable_einsums(cascade, mapping)),
        )
    model = build_cost_model(cascade, spec, mapping, table)
    array_name = mapping.array_of(einsum)
    if array_name is None:
        raise MappingError.single(
            "M509",
            f"einsum '{einsum}' is bound to no array: nothing to export",
            mapping.span_of("bind"),
            f"einsums bound to an array: {', '.join(exportable_einsums(cascade, mapping))}",
        )
    costs = evaluate_costs(model, extents)
    full = _numbers(model.symbolic.extents.full, extents)
    tiles = {rank: int(np.asarray(v)) for rank, v in costs.tiles}
    array = spec.array(array_name)
    batch = tuple(r for r in mapping.batch_ranks if r in extents)
    ranks = (*batch, *(rank_of_variable(v) for v in node.variables))
    instance = {r: int(extents[r]) if r in batch else full[r] for r in ranks}
    problem = _problem(node, batch, ranks, instance)
    factors = _factors(mapping, node, array, batch, instance, tiles)
    return {
        "problem": problem,
        "architecture": architecture_document(spec, array),
        "mapping": _mapping(mapping, spec, array, node, ranks, factors),
    }


def exportable_einsums(cascade: Cascade, mapping: Mapping) -> tuple[str, ...]:
    """Return the einsums of ``cascade`` that ``mapping`` binds to an array and whose indices
    Timeloop can project, in cascade order.
    """
    return tuple(
        e.name
        for e in cascade.einsums
        if mapping.array_of(e.name) is not None and _unprojectable(e) is None
    )


def _tensor_refs(node: Einsum) -> tuple[TensorRef, ...]:
    """Return the data spaces of one einsum: each operand once, then the output."""
    refs = {r.tensor: r for r in node.operands if r.tensor != node.name}
    return (*refs.values(), node.output)


def _unprojectable(node: Einsum) -> str | None:
    """Return the first index Timeloop cannot project, as text, or None.

    Timeloop projects a problem dimension onto a tensor index as a sum of terms, each one
    dimension times a constant: ``m1 * M0 + m0`` projects, a recurrence's ``m1 + 1`` or a
    fixed ``M1`` (one element, such as a running value's last) does not.
    """
    for ref in _tensor_refs(node):
        for index in ref.indices:
            for term in sympy.Add.make_args(sympy.expand(sympy.sympify(index))):
                if len([s for s in term.free_symbols if s.name.islower()]) != 1:
                    return f"index '{index}' of tensor '{ref.tensor}'"
    return None


def write_timeloop(
    documents: dict[str, dict[str, Any]], out_dir: str | Path, comment: str | None = None
) -> tuple[Path, ...]:
    """Write each document as ``<name>.yaml`` in ``out_dir``; return the paths.

    ``comment`` (one or more lines) heads every file as YAML comments: what was exported,
    at which extents.
    """
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    head = "".join(f"# {line}\n" for line in comment.splitlines()) if comment else ""
    paths = []
    for name, document in documents.items():
        path = folder / f"{name}.yaml"
        text = dump_tagged_yaml(document, Tagged, _tag_of, sort_keys=False)
        path.write_text(head + text, encoding="utf-8")
        paths.append(path)
    return tuple(paths)


def architecture_document(spec: ArchSpec, array: ComputeArray) -> dict[str, Any]:
    """Return a Timeloop v4 architecture of the spec's levels and one of its arrays."""
    bits = 8 * spec.word_bytes
    backing = spec.backing
    bandwidth = backing.bandwidth_bytes_per_s or 0.0
    nodes: list[Any] = [
        Tagged("Container", name="system", attributes={"global_cycle_seconds": 1 / spec.clock_hz}),
        Tagged(
            "Component",
            name=backing.name,
            **{"class": "DRAM"},
            attributes={
                "width": backing.access_bits,
                "datawidth": bits,
                "shared_bandwidth": bandwidth / spec.clock_hz / spec.word_bytes,
            },
        ),
        Tagged("Container", name="accel"),
    ]
    for level in spec.levels[1:]:
        assert level.size_bytes is not None
        nodes.append(
            Tagged(
                "Component",
                name=level.name,
                **{"class": "smartbuffer_SRAM"},
                attributes={
                    "depth": int(level.size_bytes * 8 // level.access_bits),
                    "width": level.access_bits,
                    "datawidth": bits,
                },
            )
        )
    for dim in reversed(array.dims):
        nodes.append(
            Tagged(
                "Container",
                name=f"{array.name}_{dim}",
                spatial={_MESH.get(dim, "meshX"): array.dim_size(dim)},
            )
        )
    nodes.append(
        Tagged(
            "Component",
            name=f"{array.name}_registers",
            **{"class": "storage", "subclass": "aladdin_register"},
            attributes={
                "depth": max(1, array.register_words_per_pe),
                "width": bits,
                "datawidth": bits,
            },
        )
    )
    nodes.append(
        Tagged(
            "Component",
            name="mac",
            **{"class": "intmac"},
            attributes={"multiplier_width": bits, "adder_width": bits},
        )
    )
    return {"architecture": {"version": TIMELOOP_VERSION, "nodes": nodes}}


def _numbers(expressions: dict[str, sympy.Expr], extents: dict[str, int]) -> dict[str, int]:
    subs = {extent_symbol(k): v for k, v in extents.items()}
    return {k: int(sympy.sympify(v).xreplace(subs)) for k, v in expressions.items()}


def _problem(
    node: Einsum, batch: tuple[str, ...], ranks: tuple[str, ...], instance: dict[str, int]
) -> dict[str, Any]:
    spaces = []
    coefficients: dict[str, int] = {}
    for ref in _tensor_refs(node):
        projection = [[[rank]] for rank in batch]
        for index in ref.indices:
            projection.append(
                _terms(sympy.sympify(index), ref.tensor, instance, coefficients, node.span)
            )
        space: dict[str, Any] = {"name": ref.tensor, "projection": projection}
        if ref is node.output:
            space["read_write"] = True
        spaces.append(space)
    shape: dict[str, Any] = {"name": node.name, "dimensions": list(ranks)}
    if coefficients:
        shape["coefficients"] = [{"name": k, "default": v} for k, v in coefficients.items()]
    shape["data_spaces"] = spaces
    return {"problem": {"version": TIMELOOP_VERSION, "shape": shape, "instance": instance}}


def _terms(
    index: sympy.Expr,
    tensor: str,
    instance: dict[str, int],
    coefficients: dict[str, int],
    span: SourceSpan | None,
) -> list[list[str]]:
    terms: list[list[str]] = []
    for term in sympy.Add.make_args(sympy.expand(index)):
        (variable,) = (s for s in term.free_symbols if s.name.islower())  # _unprojectable
        rank = rank_of_variable(variable.name)
        factor = term / variable
        if factor == 1:
            terms.append([rank])
            continue
        value = factor.xreplace({extent_symbol(k): v for k, v in instance.items()})
        if not value.is_Integer:
            raise MappingError.single(
                "M510", f"Timeloop cannot project index '{index}' of tensor '{tensor}'", span
            )
        name = f"c_{rank}"
        coefficients[name] = int(value)
        terms.append([rank, name])
    return terms


def _factors(
    mapping: Mapping,
    node: Einsum,
    array: ComputeArray,
    batch: tuple[str, ...],
    instance: dict[str, int],
    tiles: dict[str, int],
) -> dict[str, dict[str, int]]:
    """Return loop factors per target (``dram``, ``buffer``, each array dim) per rank."""
    spatial = {v: d for d, v in mapping.spatial_of(array.name, node.variables)}
    out: dict[str, dict[str, int]] = {"dram": {}, "buffer": {}}
    out.update({dim: {} for dim in array.dims})
    for rank, total in instance.items():
        variable = rank.lower()
        tile = tiles.get(rank, total)
        dram = total if rank in batch else (total // tile if rank in mapping.loop_order else 1)
        if rank in mapping.loop_order and mapping.tile_rule(rank) is None:
            dram, tile = total, 1
        across = min(tile, array.dim_size(spatial[variable])) if variable in spatial else 1
        for dim in array.dims:
            out[dim][rank] = across if spatial.get(variable) == dim else 1
        out["dram"][rank] = dram
        out["buffer"][rank] = total // (dram * across)
        assert math.prod((dram, across, out["buffer"][rank])) == total
    return out


def _mapping(
    mapping: Mapping,
    spec: ArchSpec,
    array: ComputeArray,
    node: Einsum,
    ranks: tuple[str, ...],
    factors: dict[str, dict[str, int]],
) -> dict[str, Any]:
    tensors: list[str] = [
        *dict.fromkeys(r.tensor for r in node.operands if r.tensor != node.name),
        node.name,
    ]

    def factor_list(target: str) -> list[str]:
        return [f"{r}={factors[target][r]}" for r in ranks]

    def keep(level: str) -> dict[str, list[str]]:
        kept = [t for t in tensors if level in mapping.levels_of(t)]
        return {"keep": kept, "bypass": [t for t in tensors if t not in kept]}

    dram_order = [*mapping.batch_ranks, *mapping.loop_order]
    inner_first = [r for r in ranks if r not in dram_order] + [
        r for r in reversed(dram_order) if r in ranks
    ]
    entries: list[dict[str, Any]] = [
        {"target": spec.backing.name, "type": "temporal", "factors": factor_list("dram"),
         "permutation": inner_first},
        {"target": spec.backing.name, "type": "dataspace", **keep(spec.backing.name)},
    ]  # fmt: skip
    for position, level in enumerate(spec.levels[1:]):
        innermost = position == len(spec.levels) - 2
        entries.append(
            {
                "target": level.name,
                "type": "temporal",
                "factors": factor_list("buffer") if innermost else [f"{r}=1" for r in ranks],
                "permutation": list(ranks)[::-1],
            }
        )
        entries.append({"target": level.name, "type": "dataspace", **keep(level.name)})
    for dim in reversed(array.dims):
        # Timeloop maps the loops before ``split`` in the permutation to meshX, the rest to
        # meshY; each container has one mesh axis, so all loops go to it.
        split = len(ranks) if _MESH.get(dim, "meshX") == "meshX" else 0
        entries.append(
            {"target": f"{array.name}_{dim}", "type": "spatial", "factors": factor_list(dim),
             "permutation": list(ranks)[::-1], "split": split}
        )  # fmt: skip
    registers = f"{array.name}_registers"
    entries.append(
        {"target": registers, "type": "temporal", "factors": [f"{r}=1" for r in ranks],
         "permutation": list(ranks)[::-1]}
    )  # fmt: skip
    entries.append({"target": registers, "type": "dataspace", "keep": tensors, "bypass": []})
    return {"mapping": entries}
