"""The ``cost`` sweep evaluator: the accelerator cost model, vectorised over design points.

Settings (base, configs or text axes): ``mapping`` (built-in name or path, required),
``arch`` and ``cascade`` (override the mapping's; the former name ``spec`` is refused),
``workload`` (a built-in model giving B, H, E, F, D, S, a workload YAML file, or ``none``),
``seq`` (the sequence length when it is not an axis) and ``table`` (the cost table). Numeric
axes: ``seq`` (sets M and P), extents by rank name (``B``, ``H``, ``E``...), and spec
parameters by dotted path: ``clock_hz``, ``<array>.shape``,
``<array>.register_words_per_pe``, ``<level>.size_bytes``, ``<level>.bandwidth_bytes_per_s``
and the other numeric fields of arrays and levels. A built-in workload needs a sequence
length: a ``seq`` axis or setting (nothing is assumed).

The spec parameters are symbols of the compiled model (:mod:`mappers.cost.parameters`):
points sharing the mapping variant their sequence length selects share one compiled model
(sympy built once, cached), evaluated on all of them in one call whatever their PE shapes,
buffer sizes, clock or bandwidth. The discrete choices that follow from those numbers (the
largest tile that fits a buffer) are made per distinct value inside that call. Points where
no tile fits a buffer are reported infeasible (M401), located at the buffer's size axis
when it is swept.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from einsum_cascade import Cascade, load_cascade
from einsum_cascade.diagnostics import suggest
from mappers.cost.model import (
    DEFAULT_TABLE,
    CostModel,
    build_cost_model,
    evaluate_costs,
    fit_caps,
    fixed_tiles,
    point_columns,
)
from mappers.cost.parameters import (
    is_parameter,
    parameter_names,
)
from mappers.errors import WorkloadError
from mappers.hardware.spec import ArchSpec
from mappers.hardware.spec_loader import load_spec, spec_path
from mappers.mapping.loader import load_mapping, mapping_path
from mappers.mapping.schema import Mapping as CostMapping
from mappers.sweep.errors import SweepError
from mappers.sweep.evaluators import EvaluatorInfo, InfeasiblePoints
from mappers.sweep.points import PointGroup
from mappers.workloads import Workload, is_workload_file, load_workload, parse_seq

SEQ = "seq"
SETTINGS = ("mapping", "arch", "cascade", "workload", "seq", "table")


def evaluate_cost(group: PointGroup, columns: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Cost every point of ``group``: one model per mapping variant, all points vectorised.

    Returns:
        The cost model's metrics (``latency_s``, ``energy_pj``, ``traffic_bytes``,
        ``util_<array>``...) plus ``area_um2``, one value per point.

    Raises:
        SweepError: SW306 without a mapping setting, SW307 for an axis that is neither an
            extent nor a spec parameter, SW308 for a built-in workload without a sequence
            length.
        InfeasiblePoints: M401 for the points where no tile fits a buffer.
        DiagnosticError: the cost model's own errors.
    """
    mapping_name = group.get("mapping")
    if mapping_name is None:
        raise SweepError.single(
            "SW306",
            "the cost evaluator needs a 'mapping' setting",
            None,
            "add 'mapping: fusemax-binding' (or a path) under base or a config",
        )
    count = len(next(iter(columns.values()))) if columns else 1
    base_mapping = _load_mapping(_resolve(group, mapping_name), None, None)
    declared = _extent_names(group, base_mapping)
    axes: dict[str, np.ndarray] = {}
    parameters: dict[str, np.ndarray] = {}
    for name, values in columns.items():
        if name == SEQ:
            axes["M"] = axes["P"] = values
        elif name in declared:
            axes[name] = values
        else:
            parameters[name] = values
    _check_parameters(_spec(group, base_mapping), parameters)
    workload = _workload(group, columns)
    extents = {k: np.full(count, v) for k, v in workload.extents().items()} | axes
    mapping_keys, mappings = _mappings(group, mapping_name, workload, columns.get(SEQ), count)
    if workload.batch_ranks is not None:
        mappings = [m.with_batch_ranks(workload.batch_ranks, workload.batch_span) for m in mappings]
    out: dict[str, np.ndarray] = {}
    for index, mapping in enumerate(mappings):
        spec = _spec(group, mapping)
        _check_parameters(spec, parameters)
        model = build_cost_model(
            _cascade(group, mapping), spec, mapping, group.get("table") or DEFAULT_TABLE
        )
        chosen = mapping_keys == index
        if not chosen.any():
            continue
        every = bool(chosen.all())
        points = {k: v if every else v[chosen] for k, v in (extents | parameters).items()}
        _raise_infeasible(model, points, chosen, every, parameters)
        costs = evaluate_costs(model, points)
        metrics = {**costs.row(), **costs.stats_row()}
        for name, values in metrics.items():
            if every:
                out[name] = np.broadcast_to(np.asarray(values, dtype=float), (count,))
            else:
                target = out.setdefault(name, np.full(count, np.nan))
                target[chosen] = values
    return out


def _extent_names(group: PointGroup, mapping: CostMapping) -> frozenset[str]:
    """Return the names an axis may set as an extent rather than a spec parameter.

    Those are the ranks the cascade declares, the workload's extents and the batch ranks
    (the workload's, else the mapping's); every other numeric axis is a spec parameter.
    """
    names: set[str] = {str(rank.name) for rank in _cascade(group, mapping).ranks}
    names.update(mapping.batch_ranks)
    name = group.get("workload")
    if name is None:
        return frozenset(names)
    resolved = _resolve(group, name)
    seq_text = group.get(SEQ)
    if seq_text is not None:
        seq: int | None = parse_seq(seq_text)
    else:  # a built-in model's extent names do not depend on the length
        seq = None if is_workload_file(resolved) or name.strip().lower() == "none" else 1
    try:
        workload = _load_workload(resolved, seq)
    except WorkloadError:  # reported by _workload, after the parameters are checked
        return frozenset(names)
    names.update(workload.extents())
    names.update(workload.batch_ranks or ())
    return frozenset(names)


def _raise_infeasible(
    model: CostModel,
    points: Mapping[str, np.ndarray],
    chosen: np.ndarray,
    every: bool,
    parameters: Mapping[str, np.ndarray],
) -> None:
    """Raise InfeasiblePoints for the points where a fit rule finds no tile (M401)."""
    rules = [rule for rule in model.mapping.tiles if rule.fit_level is not None]
    if not rules:
        return
    cols, shape = point_columns(model, points)
    cols.update(fixed_tiles(model, cols))
    for rule in rules:
        caps = fit_caps(model, rule, cols, shape)
        bad = np.broadcast_to(caps < 1, shape).reshape(-1)
        if not bad.any():
            continue
        assert rule.fit_level is not None
        level = model.spec.level(rule.fit_level)
        size = f"{level.name}.size_bytes"
        budget = np.broadcast_to(
            np.asarray((rule.budget_bytes or cols[size]) * rule.fraction, dtype=float), shape
        ).reshape(-1)
        tensors = ", ".join(rule.tensors or dict(model.mapping.place)[rule.fit_level])
        mask = np.zeros(len(chosen), dtype=bool)
        messages = np.full(len(chosen), None, dtype=object)
        where = np.flatnonzero(chosen) if not every else np.arange(len(chosen))
        mask[where[bad]] = True
        texts = {
            value: f"no tile of {rule.rank} fits level '{level.name}' ({value:.0f} bytes): "
            f"it must hold {tensors}"
            for value in np.unique(budget[bad]).tolist()
        }
        messages[where[bad]] = [texts[value] for value in budget[bad].tolist()]
        first = str(messages[where[bad][0]])
        raise InfeasiblePoints(
            mask,
            "M401",
            first,
            axis=size if size in parameters else None,
            span=model.spec.span_of(f"levels.{level.name}.size_bytes"),
            messages=messages,
        )


def _workload(group: PointGroup, columns: Mapping[str, np.ndarray]) -> Workload:
    name = group.get("workload")
    seq_text = group.get(SEQ)
    seq = parse_seq(seq_text) if seq_text is not None else None
    if name is None:  # no workload: only the extent axes, and M = P = a 'seq' setting
        return _load_workload("none", seq)
    resolved = _resolve(group, name)
    if is_workload_file(resolved) or name.strip().lower() == "none":
        return _load_workload(resolved, seq)
    if seq is None:
        if SEQ in columns or ("M" in columns and "P" in columns):
            seq = 1  # replaced by the axes below, point by point
        else:
            raise SweepError.single(
                "SW308",
                f"workload '{name}' needs a sequence length, and the sweep gives none",
                None,
                "add a 'seq' axis (seq: [64K]) or a 'seq' setting under base",
            )
    return _load_workload(resolved, seq)


@functools.lru_cache(maxsize=64)
def _load_workload(name: str, seq: int | None) -> Workload:
    return load_workload(name, seq)


def _mappings(
    group: PointGroup, name: str, workload: Workload, seq: np.ndarray | None, count: int
) -> tuple[np.ndarray, list[CostMapping]]:
    path = _resolve(group, name)
    workload_name = workload.name if workload.source is None else None
    if seq is None or count == 0:
        fixed = workload.seq_len or None
        return np.zeros(count), [_load_mapping(path, workload_name, _canonical_seq(path, fixed))]
    values, inverse = np.unique(seq, return_inverse=True)
    per_value = [
        _load_mapping(path, workload_name, _canonical_seq(path, int(v))) for v in values.tolist()
    ]
    distinct = list(dict.fromkeys(per_value))
    if len(distinct) == 1:
        return np.zeros(count), distinct
    index = np.array([distinct.index(m) for m in per_value], dtype=float)
    return index[inverse.reshape(-1)], distinct


def _canonical_seq(path: str, seq: int | None) -> int | None:
    """Return ``seq`` when a variant of the mapping names it, else None (the same mapping)."""
    named = _variant_seqs(path)
    return seq if named is None or seq in named else None


@functools.lru_cache(maxsize=64)
def _variant_seqs(path: str) -> frozenset[int] | None:
    """Return every sequence length the mapping's variants name (None: read it per length)."""
    from mappers.errors import MappingError
    from mappers.yaml_source import read_yaml

    try:
        document = read_yaml(mapping_path(path), MappingError).plain()
        seqs = set()
        for variant in document.get("variants") or ():
            for value in (variant.get("when") or {}).get(SEQ) or ():
                seqs.add(parse_seq(value))
    except Exception:
        return None
    return frozenset(seqs)


def _resolve(group: PointGroup, name: str) -> str:
    candidate = Path(group.base_dir) / name
    return str(candidate) if candidate.exists() else name


@functools.lru_cache(maxsize=256)
def _load_mapping(path: str, workload: str | None, seq: int | None) -> CostMapping:
    return load_mapping(path, workload, seq)


@functools.lru_cache(maxsize=64)
def _load_spec(name: str) -> ArchSpec:
    return load_spec(name)


@functools.lru_cache(maxsize=64)
def _load_cascade(name: str) -> Cascade:
    return load_cascade(name)


def _arch_name(group: PointGroup, mapping: CostMapping) -> str:
    name = group.get("arch") or mapping.spec
    if name is None:
        raise SweepError.single(
            "SW306", f"mapping '{mapping.name}' names no spec; set 'arch' (a spec name or path)"
        )
    return _resolve(group, name)


def _spec(group: PointGroup, mapping: CostMapping) -> ArchSpec:
    return _load_spec(_arch_name(group, mapping))


def _cascade_name(group: PointGroup, mapping: CostMapping) -> str:
    return _resolve(group, group.get("cascade") or mapping.cascade)


def _cascade(group: PointGroup, mapping: CostMapping) -> Cascade:
    return _load_cascade(_cascade_name(group, mapping))


def _check_parameters(spec: ArchSpec, parameters: Mapping[str, np.ndarray]) -> None:
    valid = parameter_names(spec)
    for name in parameters:
        if not is_parameter(spec, name):
            raise SweepError.single(
                "SW307",
                f"axis '{name}' is neither an extent, 'seq' nor a parameter of spec '{spec.name}'",
                None,
                suggest(name, valid) or "spec parameters: " + ", ".join(valid),
            )


def describe_cost(group: PointGroup) -> dict[str, Any]:
    """Return what the points of ``group`` read: spec, mapping, workload, table, cascade.

    The ``files`` entry maps each file read to its text; the cascade's text is its printed
    form (whether it came from the library or a file).
    """
    from einsum_cascade import to_text  # the printer imports sympy: only provenance needs it

    mapping_name = group.get("mapping")
    if mapping_name is None:
        return {"settings": dict(group.settings)}
    mapping_file = mapping_path(_resolve(group, mapping_name))
    seq_text = group.get(SEQ)
    workload_name = group.get("workload")
    workload = (
        _load_workload(_resolve(group, workload_name), parse_seq(seq_text) if seq_text else None)
        if workload_name is not None and (seq_text is not None or _is_file(group, workload_name))
        else None
    )
    mapping = _load_mapping(str(mapping_file), workload_name, None)
    arch = _arch_name(group, mapping)
    arch_file = spec_path(arch)
    cascade = _cascade(group, mapping)
    files = {str(mapping_file): _read(mapping_file), str(arch_file): _read(arch_file)}
    cascade_text = to_text(cascade)
    files[f"cascade {_cascade_name(group, mapping)}"] = cascade_text
    described: dict[str, Any] = {
        "settings": dict(group.settings),
        "mapping": {"name": mapping.name, "file": str(mapping_file)},
        "arch": {"name": arch, "file": str(arch_file)},
        "cascade": {"name": cascade.name, "text": cascade_text},
        "table": group.get("table") or DEFAULT_TABLE,
    }
    if workload_name is not None:
        described["workload"] = {
            "name": workload_name,
            "extents": workload.extents() if workload is not None else "per point (seq axis)",
        }
        if _is_file(group, workload_name):
            workload_file = Path(_resolve(group, workload_name))
            described["workload"]["file"] = str(workload_file)
            files[str(workload_file)] = _read(workload_file)
    described["files"] = files
    return described


def _is_file(group: PointGroup, name: str) -> bool:
    return name.strip().lower() != "none" and is_workload_file(_resolve(group, name))


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="surrogateescape")


evaluate_cost_info = EvaluatorInfo(settings=SETTINGS, describe=describe_cost)
