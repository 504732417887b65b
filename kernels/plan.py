"""Lower a cascade plus a tiling to a kernel plan: kernels, tile loops and per-einsum steps.

The plan is frozen and hashable and holds no arrays. Every renderer (CUDA, NumPy twin)
reads the same plan. One thread owns one coordinate of a kernel's parallel rank; the
sequence rank is walked tile by tile; every other rank is a static (compile-time) loop.
Einsums in one pass over the sequence rank (``Cascade.passes``) fuse into one tile loop; a
new pass starts a new loop, and tile-local tensors a later pass needs are recomputed in it.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

import sympy

from einsum_cascade import Cascade, Diagnostic, Einsum, Severity, TensorKind
from einsum_cascade.ir import (
    Binary,
    Call,
    Coordinate,
    Expr,
    ExtentRef,
    Literal,
    TensorRef,
    Unary,
    walk,
)
from einsum_cascade.symbols import extent_symbol, index_symbol, rank_of_variable
from kernels.errors import KernelError
from kernels.tiling import Tiling


class Role(enum.Enum):
    """What an index variable is inside one kernel."""

    PARALLEL = "parallel"  # one thread per coordinate
    TILE = "tile"  # the tile counter of a partitioned sequence rank (m1)
    IN_TILE = "in_tile"  # the coordinate inside the current tile (m0, or m itself)
    STATIC = "static"  # a compile-time loop (e, f)


class Storage(enum.Enum):
    """Where a tensor lives inside a kernel."""

    GLOBAL = "global"  # a kernel parameter (inputs, outputs, workspace)
    STAGED = "staged"  # a shared-memory tile of a global input along the sequence rank
    REGISTER = "register"  # per-thread values (scalars or static-extent arrays)
    SHARED = "shared"  # per-thread column of a shared array with an in-tile rank
    VIEW = "view"  # an alias of a staged input (BK[e, m1, m0] = K[e, m1 * M0 + m0])


@dataclass(frozen=True, slots=True)
class Buffer:
    """A tensor's storage in one kernel: dims are the index variables it keeps per thread."""

    tensor: str
    storage: Storage
    dims: tuple[str, ...]
    iterative: bool = False
    maybe_absent: bool = True
    empty: float = 0.0
    alias: str | None = None  # the staged input a VIEW reads


@dataclass(frozen=True, slots=True)
class Step:
    """One einsum in a kernel: ``local`` variables loop inside a thread."""

    einsum: Einsum
    local: tuple[str, ...]  # loop order: in-tile first, then static; kept before reduced
    reduced: tuple[str, ...]
    across_tiles: bool  # a reduction over the sequence rank spanning every tile


@dataclass(frozen=True, slots=True)
class Segment:
    """Straight-line steps, or a loop over the sequence tiles (``pass_number`` set)."""

    steps: tuple[Step, ...]
    pass_number: int | None = None
    staged: tuple[str, ...] = ()  # inputs staged tile by tile in shared memory

    @property
    def is_loop(self) -> bool:
        """Tell whether this segment walks the sequence rank."""
        return self.pass_number is not None


@dataclass(frozen=True, slots=True)
class KernelSpec:
    """One kernel launch: its parallel variable, buffers and segments."""

    name: str
    parallel: str
    roles: tuple[tuple[str, Role], ...]
    buffers: tuple[Buffer, ...]
    segments: tuple[Segment, ...]
    params: tuple[str, ...]  # global tensors, in parameter order
    extents: tuple[str, ...]  # runtime extents passed as int parameters

    def role(self, variable: str) -> Role:
        """Return the role of index variable ``variable``."""
        return dict(self.roles)[variable]

    def buffer(self, tensor: str) -> Buffer:
        """Return the storage of ``tensor`` in this kernel."""
        for item in self.buffers:
            if item.tensor == tensor:
                return item
        raise KeyError(tensor)


@dataclass(frozen=True, slots=True)
class KernelPlan:
    """A cascade lowered for one tiling: kernels in launch order."""

    cascade: Cascade
    tiling: Tiling
    kernels: tuple[KernelSpec, ...]
    sequence: str  # the sequence variable (m)
    tile_variable: str | None  # m1 for a partitioned cascade
    in_tile_variable: str  # m0 (partitioned) or m
    tile_extent: str  # the rank whose extent is the tile size (M0), for extent refs

    @property
    def static_extents(self) -> dict[str, int]:
        """Return the compile-time extents, the tile size included."""
        return {**dict(self.tiling.static_extents), self.tile_extent: self.tiling.tile}

    def runtime_extents(self) -> tuple[str, ...]:
        """Return the extents every launch needs as integers, sorted."""
        return tuple(sorted({e for k in self.kernels for e in k.extents}))

    def shared_bytes(self, kernel: KernelSpec) -> int:
        """Return the static shared memory one block of ``kernel`` declares."""
        static = self.static_extents

        def count(dims: tuple[str, ...]) -> int:
            return math.prod(
                self.tiling.tile if d == self.in_tile_variable else static[rank_of_variable(d)]
                for d in dims
            )

        total = 0
        for item in kernel.buffers:
            copies = 2 if item.iterative else 1
            if item.storage is Storage.STAGED:
                total += 4 * count(item.dims)
            elif item.storage is Storage.SHARED:
                per_value = 5 if item.maybe_absent else 4  # a float and a presence byte
                total += copies * per_value * count(item.dims) * self.tiling.threads_per_block
        return total


SUPPORTED_FUNCTIONS = frozenset(
    {"exp", "log", "sqrt", "rsqrt", "tanh", "sigmoid", "relu", "elu", "abs", "max", "min", "pow"}
)


def _expression_maybe_absent(expr: Expr, absent: dict[str, bool]) -> bool:
    """Tell whether an expression can be absent at some point (a static over-estimate)."""
    if isinstance(expr, TensorRef):
        return absent.get(expr.tensor, False)
    if isinstance(expr, Unary):
        return _expression_maybe_absent(expr.operand, absent)
    if isinstance(expr, Binary):
        left = _expression_maybe_absent(expr.left, absent)
        right = _expression_maybe_absent(expr.right, absent)
        return (left or right) if expr.op in "*/" else (left and right)
    if isinstance(expr, Call):
        parts = [_expression_maybe_absent(a, absent) for a in expr.args]
        return all(parts) if expr.function in ("max", "min") else any(parts)
    return False


def _maybe_absent(cascade: Cascade, views: set[str]) -> dict[str, bool]:
    """Find tensors whose elements may be absent; the rest never need a presence mask."""
    absent: dict[str, bool] = {t.name: False for t in cascade.inputs}
    for name in views:
        absent[name] = False
    for init in cascade.inits:
        value = init.value
        absent[init.tensor] = not (
            isinstance(value, Literal) and value.value != cascade.tensor(init.tensor).empty
        )
    for _ in range(2):  # iterative tensors: the update may read the previous generation
        for einsum in cascade.order():
            if einsum.name in views:
                continue
            found = _expression_maybe_absent(einsum.expression, absent)
            carriers = [r for r in einsum.operands if set(r.variables()) >= set(einsum.variables)]
            if carriers and all(absent.get(r.tensor, False) for r in carriers):
                found = True
            found = found or einsum.condition is not None
            if cascade.init(einsum.name) is not None:
                found = found or absent[einsum.name]
            absent[einsum.name] = found
    return absent


def _error(einsum: Einsum | None, message: str, hint: str | None = None) -> KernelError:
    span = einsum.span if einsum is not None else None
    return KernelError([Diagnostic(Severity.ERROR, "K001", message, span, hint)])


def _is_partitioned(cascade: Cascade, rank: str) -> bool:
    outer, inner = f"{rank}1", f"{rank}0"
    if not (cascade.has_rank(outer) and cascade.has_rank(inner)):
        return False
    expected = sympy.ceiling(extent_symbol(rank) / extent_symbol(inner))
    return sympy.simplify(cascade.rank(outer).expression - expected) == 0


def _iterates(einsum: Einsum, variable: str) -> bool:
    return variable in einsum.variables


def _reduces(einsum: Einsum, variable: str) -> bool:
    return variable in einsum.reduced_variables


def _pass_numbers(cascade: Cascade, variable: str) -> dict[str, int | None]:
    """Return the pass of every einsum over the loop rank, from the cascade's pass analysis."""
    report = cascade.passes(rank_of_variable(variable))
    return dict(report.einsum_passes)


def _is_view(cascade: Cascade, einsum: Einsum, tile: str | None, in_tile: str) -> bool:
    expr = einsum.expression
    if not isinstance(expr, TensorRef) or einsum.condition is not None or tile is None:
        return False
    if cascade.tensor(expr.tensor).kind is not TensorKind.INPUT or einsum.reduced_variables:
        return False
    return any(_is_split_index(i, tile, in_tile) for i in expr.indices)


def _is_split_index(index: sympy.Expr, tile: str, in_tile: str) -> bool:
    split = index_symbol(tile) * extent_symbol(in_tile.upper()) + index_symbol(in_tile)
    return sympy.expand(index - split) == 0


def plan_kernels(cascade: Cascade, tiling: Tiling) -> KernelPlan:
    """Lower ``cascade`` for ``tiling`` to a kernel plan.

    Raises:
        KernelError: a construct the lowering does not support, naming the einsum.
    """
    rank = tiling.sequence_rank
    if not cascade.has_rank(rank):
        raise _error(None, f"cascade '{cascade.name}' has no sequence rank '{rank}'")
    partitioned = _is_partitioned(cascade, rank)
    sequence = rank.lower()
    tile_variable = f"{sequence}1" if partitioned else None
    in_tile = f"{sequence}0" if partitioned else sequence
    loop_variable = tile_variable or sequence
    passes = _pass_numbers(cascade, loop_variable)
    views: set[str] = {
        e.name for e in cascade.einsums if _is_view(cascade, e, tile_variable, in_tile)
    }
    groups = _kernel_groups(cascade, tiling.parallel_rank.lower(), views)
    builder = _KernelBuilder(cascade, tiling, tile_variable, in_tile, passes, views)
    kernels = tuple(
        builder.build(f"{cascade.name}_k{i}", parallel, names, groups)
        for i, (parallel, names) in enumerate(groups)
    )
    tile_extent = f"{rank}0" if partitioned else f"{rank}_TILE"
    return KernelPlan(cascade, tiling, kernels, sequence, tile_variable, in_tile, tile_extent)


def _own_parallel(einsum: Einsum, parallel: str) -> str:
    if parallel in einsum.variables:
        return parallel
    if einsum.output_variables:
        return einsum.output_variables[0]
    raise _error(einsum, f"einsum '{einsum.name}' produces a scalar; no rank to parallelize")


def _kernel_groups(
    cascade: Cascade, parallel: str, views: set[str]
) -> list[tuple[str, tuple[str, ...]]]:
    """Split einsums into kernels by their parallel variable.

    An einsum over the tiling's parallel rank runs one thread per coordinate of it; an
    einsum without it (a state such as KV[e, f] in linear attention) runs in a kernel
    parallel over its first output variable. A kernel starts after every kernel it reads
    from; an einsum whose consumers all share its parallel variable joins their kernel.
    """
    order = [e for e in cascade.order() if e.name not in views]
    own: dict[str, str] = {e.name: _own_parallel(e, parallel) for e in order}
    consumers: dict[str, list[str]] = {e.name: [] for e in order}
    level: dict[str, int] = {}
    for einsum in order:
        found = 0
        for ref in einsum.operands:
            if ref.tensor in level:
                consumers[ref.tensor].append(einsum.name)
                found = max(found, level[ref.tensor] + (own[ref.tensor] != own[einsum.name]))
        level[einsum.name] = found
    for einsum in reversed(order):  # as late as possible when every consumer agrees
        users = consumers[einsum.name]
        if users and all(own[u] == own[einsum.name] for u in users):
            level[einsum.name] = max(level[einsum.name], min(level[u] for u in users))
    keys: dict[tuple[int, str], list[str]] = {}
    for einsum in order:
        keys.setdefault((level[einsum.name], own[einsum.name]), []).append(einsum.name)
    ranked = sorted(
        keys.items(),
        key=lambda item: (item[0][0], order.index(next(e for e in order if e.name == item[1][0]))),
    )
    return [(variable, tuple(names)) for (_, variable), names in ranked]


class _KernelBuilder:
    """Builds one KernelSpec; keeps the analysis shared by every kernel of a plan."""

    def __init__(
        self,
        cascade: Cascade,
        tiling: Tiling,
        tile_variable: str | None,
        in_tile: str,
        passes: dict[str, int | None],
        views: set[str],
    ) -> None:
        self.cascade = cascade
        self.tiling = tiling
        self.tile_variable = tile_variable
        self.in_tile = in_tile
        self.passes = passes
        self.views = views
        self.static = {r for r, _ in tiling.static_extents}
        self.maybe_absent = _maybe_absent(cascade, views)
        self.parallel = ""

    def role(self, variable: str, parallel: str) -> Role:
        if variable == parallel:
            return Role.PARALLEL
        if variable == self.tile_variable:
            return Role.TILE
        if variable == self.in_tile:
            return Role.IN_TILE
        if rank_of_variable(variable) in self.static:
            return Role.STATIC
        raise KernelError.single(
            "K002",
            f"rank '{rank_of_variable(variable)}' needs a static extent",
            hint="give it with --extent, e.g. E=64",
        )

    def build(
        self,
        name: str,
        parallel: str,
        names: tuple[str, ...],
        groups: list[tuple[str, tuple[str, ...]]],
    ) -> KernelSpec:
        einsums = [self.cascade.einsum(n) for n in names]
        variables = {v for e in einsums for v in e.variables}
        for einsum in einsums:
            for ref in einsum.operands:
                if ref.tensor in self.views:
                    variables |= set(self.cascade.einsum(ref.tensor).variables)
        roles = tuple(sorted((v, self.role(v, parallel)) for v in variables))
        for einsum in einsums:
            self._check_supported(einsum, parallel)
        self.parallel = parallel
        segments = self._segments(einsums)
        produced_elsewhere = {n for _, other in groups if other != names for n in other}
        buffers, params = self._buffers(einsums, parallel, segments, produced_elsewhere)
        extents = self._runtime_extents(einsums, parallel, buffers)
        return KernelSpec(name, parallel, roles, buffers, segments, params, extents)

    # ---- checks

    def _check_supported(self, einsum: Einsum, parallel: str) -> None:
        if self.tile_variable is None and einsum.iterative_variable is not None:
            raise _error(
                einsum,
                f"einsum '{einsum.name}' iterates rank "
                f"'{rank_of_variable(einsum.iterative_variable)}' but the sequence rank "
                "is not partitioned",
            )
        if einsum.iterative_variable not in (None, self.tile_variable):
            raise _error(einsum, f"einsum '{einsum.name}' iterates a rank other than the tiles")
        if parallel in einsum.reduced_variables:
            raise _error(
                einsum,
                f"einsum '{einsum.name}' reduces the parallel rank '{rank_of_variable(parallel)}'",
            )
        for node in walk(einsum.expression):
            if isinstance(node, TensorRef):
                self._check_ref(einsum, node)
            elif isinstance(node, Call) and node.function not in SUPPORTED_FUNCTIONS:
                raise _error(
                    einsum,
                    f"einsum '{einsum.name}' calls '{node.function}', which kernels do not support",
                    hint=f"supported: {', '.join(sorted(SUPPORTED_FUNCTIONS))}",
                )
            elif not isinstance(node, (Binary, Unary, Call, Literal, ExtentRef, Coordinate)):
                raise _error(einsum, f"einsum '{einsum.name}' uses an unsupported expression")

    def _check_ref(self, einsum: Einsum, ref: TensorRef) -> None:
        tensor = self.cascade.tensor(ref.tensor)
        for position, index in enumerate(ref.indices):
            if position == tensor.iterative_position:
                continue
            if isinstance(index, sympy.Symbol):
                continue
            split = self.tile_variable is not None and _is_split_index(
                index, self.tile_variable, self.in_tile
            )
            if split and einsum.name in self.views:
                continue
            raise _error(
                einsum,
                f"einsum '{einsum.name}' reads {ref.tensor} at index '{index}', which the "
                "kernel lowering does not support",
                hint="use plain index variables or a tile split such as m1 * M0 + m0",
            )

    # ---- segments

    def _segments(self, einsums: list[Einsum]) -> tuple[Segment, ...]:
        loop_variable = self.tile_variable or self.in_tile
        segments: list[Segment] = []
        straight: list[Step] = []
        numbers = sorted({n for e in einsums if (n := self.passes[e.name]) is not None})
        done_loops: set[int] = set()
        for einsum in einsums:
            number = self.passes[einsum.name]
            if number is None:
                straight.append(self._step(einsum))
                continue
            if number in done_loops:
                continue
            if straight:
                segments.append(Segment(tuple(straight)))
                straight = []
            members = [e for e in einsums if self.passes[e.name] == number]
            segments.append(self._loop(number, members, einsums, loop_variable))
            done_loops.add(number)
        if straight:
            segments.append(Segment(tuple(straight)))
        assert done_loops == set(numbers)
        return tuple(segments)

    def _loop(
        self, number: int, members: list[Einsum], einsums: list[Einsum], loop_variable: str
    ) -> Segment:
        needed = {e.name for e in members}
        changed = True
        while changed:  # recompute tile-local producers from earlier passes
            changed = False
            for einsum in einsums:
                if einsum.name in needed:
                    continue
                keeps_tile = self.in_tile in einsum.output_variables
                if keeps_tile and any(
                    ref.tensor == einsum.name
                    for name in needed
                    for ref in self.cascade.einsum(name).operands
                ):
                    needed.add(einsum.name)
                    changed = True
        steps = tuple(self._step(e) for e in einsums if e.name in needed)
        staged = self._staged(steps)
        return Segment(steps, number, staged)

    def _staged(self, steps: tuple[Step, ...]) -> tuple[str, ...]:
        found: dict[str, None] = {}
        for step in steps:
            for ref in step.einsum.operands:
                target: str = ref.tensor
                if target in self.views:
                    target = self.cascade.einsum(target).operands[0].tensor
                tensor = self.cascade.tensor(target)
                if tensor.kind is TensorKind.INPUT and self.tiling.sequence_rank in tensor.ranks:
                    found.setdefault(target, None)
        return tuple(found)

    def _step(self, einsum: Einsum) -> Step:
        variables = [v for v in einsum.variables if v not in (self.tile_variable,)]
        parallel = [v for v in variables if v not in self._loopable()]
        local = [v for v in variables if v not in parallel]
        kept = [v for v in local if v in einsum.output_variables]
        reduced = [v for v in local if v in einsum.reduced_variables]

        def order(names: list[str]) -> list[str]:
            return [v for v in names if v == self.in_tile] + [v for v in names if v != self.in_tile]

        local_order = tuple(order(kept) + order(reduced))
        across = self.tile_variable is None and self.in_tile in einsum.reduced_variables
        return Step(einsum, local_order, tuple(order(reduced)), across)

    def _loopable(self) -> set[str]:
        return ({self.in_tile} | {r.lower() for r in self.static}) - {self.parallel}

    # ---- buffers

    def _buffers(
        self,
        einsums: list[Einsum],
        parallel: str,
        segments: tuple[Segment, ...],
        produced_elsewhere: set[str],
    ) -> tuple[tuple[Buffer, ...], tuple[str, ...]]:
        buffers: dict[str, Buffer] = {}
        params: dict[str, None] = {}
        staged = {name for s in segments for name in s.staged}
        produced: set[str] = {e.name for e in einsums}
        read = {ref.tensor for e in einsums for ref in e.operands}
        for name in sorted(read - produced):
            tensor = self.cascade.tensor(name)
            if name in self.views:
                source = self.cascade.einsum(name).operands[0].tensor
                dims = tuple(
                    v for v in self.cascade.einsum(name).output_variables if v != self.tile_variable
                )
                buffers[name] = Buffer(name, Storage.VIEW, dims, maybe_absent=False, alias=source)
                staged.add(source)
                continue
            if name in staged:
                continue
            if tensor.kind is TensorKind.INPUT or name in produced_elsewhere:
                params[name] = None
                buffers[name] = Buffer(
                    name,
                    Storage.GLOBAL,
                    (),
                    maybe_absent=name not in {t.name for t in self.cascade.inputs},
                    empty=tensor.empty,
                )
        for staged_name in sorted(staged):
            tensor = self.cascade.tensor(staged_name)
            dims = tuple(
                self.in_tile if r == self.tiling.sequence_rank else r.lower() for r in tensor.ranks
            )
            buffers[f"{staged_name}@tile"] = Buffer(
                staged_name, Storage.STAGED, dims, maybe_absent=False
            )
            params.setdefault(staged_name, None)
        for einsum in einsums:
            tensor = self.cascade.tensor(einsum.name)
            dims = tuple(
                v
                for v in (r.lower() for r in tensor.ranks)
                if v not in (parallel, self.tile_variable)
            )
            storage = Storage.SHARED if self.in_tile in dims else Storage.REGISTER
            if storage is Storage.SHARED and self.tiling.tile_placement == "register":
                storage = Storage.REGISTER
            buffers[einsum.name] = Buffer(
                einsum.name,
                storage,
                dims,
                tensor.iterative_rank is not None,
                self.maybe_absent[einsum.name],
                tensor.empty,
            )
            if tensor.kind is TensorKind.OUTPUT or self._read_later(einsum.name, produced):
                params[einsum.name] = None
        return tuple(buffers[k] for k in sorted(buffers)), tuple(params)

    def _read_later(self, name: str, produced: set[str]) -> bool:
        return any(
            ref.tensor == name
            for e in self.cascade.einsums
            if e.name not in produced
            for ref in e.operands
        )

    def _runtime_extents(
        self, einsums: list[Einsum], parallel: str, buffers: tuple[Buffer, ...]
    ) -> tuple[str, ...]:
        found = {rank_of_variable(parallel), self.tiling.sequence_rank}
        for einsum in einsums:
            for node in walk(einsum.expression):
                if isinstance(node, ExtentRef):
                    found.add(node.rank)
            if einsum.condition is not None:
                found |= _filter_extents(einsum.condition)
        for item in buffers:
            if item.storage is Storage.GLOBAL:
                found |= set(self.cascade.tensor(item.tensor).ranks)
        static = set(self.static) | {f"{self.tiling.sequence_rank}0"}
        derived = {r.name for r in self.cascade.ranks if r.is_derived}
        return tuple(sorted(found - static - derived))


def _filter_extents(condition: object) -> set[str]:
    from einsum_cascade.ir import BoolOp, Compare, Not
    from einsum_cascade.symbols import extent_names

    if isinstance(condition, Compare):
        return set(extent_names(condition.left)) | set(extent_names(condition.right))
    if isinstance(condition, Not):
        return _filter_extents(condition.operand)
    assert isinstance(condition, BoolOp)
    return set().union(*(_filter_extents(c) for c in condition.operands))
