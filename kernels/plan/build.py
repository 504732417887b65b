"""Build one kernel of a plan: support checks, tile-loop segments, steps and buffers."""

from __future__ import annotations

import sympy

from einsum_cascade import Cascade, Diagnostic, Einsum, Severity, TensorKind
from einsum_cascade.ir import (
    Binary,
    BoolOp,
    Call,
    Compare,
    Coordinate,
    ExtentRef,
    Filter,
    Literal,
    Not,
    TensorRef,
    Unary,
    walk,
)
from einsum_cascade.symbols import extent_names, extent_symbol, index_symbol, rank_of_variable
from kernels.errors import KernelError
from kernels.plan.fusion import fuse_steps
from kernels.plan.nodes import Buffer, KernelSpec, Role, Segment, Step, Storage
from kernels.plan.presence import maybe_absent, presence_ranks
from kernels.plan.tiling import Tiling

SUPPORTED_FUNCTIONS = frozenset(
    {"exp", "log", "sqrt", "rsqrt", "tanh", "sigmoid", "relu", "elu", "abs", "max", "min", "pow"}
)


def kernel_error(einsum: Einsum | None, message: str, hint: str | None = None) -> KernelError:
    span = einsum.span if einsum is not None else None
    return KernelError([Diagnostic(Severity.ERROR, "K001", message, span, hint)])


def is_split_index(index: sympy.Expr, tile: str, in_tile: str) -> bool:
    split = index_symbol(tile) * extent_symbol(in_tile.upper()) + index_symbol(in_tile)
    return sympy.expand(index - split) == 0


class KernelBuilder:
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
        self.grid = {r.lower() for r in tiling.grid_ranks}
        self.maybe_absent = maybe_absent(cascade, views)
        self.presence_ranks = presence_ranks(cascade, views, self.maybe_absent)
        self.parallel = ""

    def role(self, variable: str, parallel: str) -> Role:
        if variable == parallel:
            return Role.PARALLEL
        if variable == self.tile_variable:
            return Role.TILE
        if variable == self.in_tile:
            return Role.IN_TILE
        if rank_of_variable(variable) in self.tiling.grid_ranks:
            return Role.GRID
        if rank_of_variable(variable) in self.static:
            return Role.STATIC
        raise KernelError.single(
            "K002",
            f"rank '{rank_of_variable(variable)}' needs a static extent",
            hint=f"give it with --extent, e.g. E=64, or map it to the grid with "
            f"--grid {rank_of_variable(variable)}",
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
            raise kernel_error(
                einsum,
                f"einsum '{einsum.name}' iterates rank "
                f"'{rank_of_variable(einsum.iterative_variable)}' but the sequence rank "
                "is not partitioned",
                hint="kernels carry running state only across tiles of a partitioned sequence "
                "rank (M1 = ceil(M / M0)); a per-position recurrence is not lowered",
            )
        if einsum.iterative_variable not in (None, self.tile_variable):
            raise kernel_error(
                einsum, f"einsum '{einsum.name}' iterates a rank other than the tiles"
            )
        if self.tile_variable is not None and self.tile_variable in einsum.reduced_variables:
            raise kernel_error(
                einsum,
                f"einsum '{einsum.name}' reduces the tile rank "
                f"'{rank_of_variable(self.tile_variable)}' outside a running state",
                hint="kernels keep per-tile values only inside one tile loop; a reduction over "
                "the tiles must be an iterative (running) tensor, as in the 1-pass cascade",
            )
        reduced_grid = [rank_of_variable(v) for v in einsum.reduced_variables if v in self.grid]
        if reduced_grid:
            raise kernel_error(
                einsum, f"einsum '{einsum.name}' reduces the grid rank '{reduced_grid[0]}'"
            )
        if parallel in einsum.reduced_variables:
            raise kernel_error(
                einsum,
                f"einsum '{einsum.name}' reduces the parallel rank '{rank_of_variable(parallel)}'",
            )
        for node in walk(einsum.expression):
            if isinstance(node, TensorRef):
                self._check_ref(einsum, node)
            elif isinstance(node, Call) and node.function not in SUPPORTED_FUNCTIONS:
                raise kernel_error(
                    einsum,
                    f"einsum '{einsum.name}' calls '{node.function}', which kernels do not support",
                    hint=f"supported: {', '.join(sorted(SUPPORTED_FUNCTIONS))}",
                )
            elif not isinstance(node, (Binary, Unary, Call, Literal, ExtentRef, Coordinate)):
                raise kernel_error(einsum, f"einsum '{einsum.name}' uses an unsupported expression")

    def _check_ref(self, einsum: Einsum, ref: TensorRef) -> None:
        tensor = self.cascade.tensor(ref.tensor)
        for position, index in enumerate(ref.indices):
            if position == tensor.iterative_position:
                continue
            if isinstance(index, sympy.Symbol):
                continue
            split = self.tile_variable is not None and is_split_index(
                index, self.tile_variable, self.in_tile
            )
            if split and einsum.name in self.views:
                continue
            raise kernel_error(
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
                segments.append(Segment(self._fuse(straight)))
                straight = []
            members = [e for e in einsums if self.passes[e.name] == number]
            segments.append(self._loop(number, members, einsums, loop_variable))
            done_loops.add(number)
        if straight:
            segments.append(Segment(self._fuse(straight)))
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
        steps = self._fuse([self._step(e) for e in einsums if e.name in needed])
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
                    if target == ref.tensor and self._rows_unbounded(tensor.ranks):
                        continue  # read from global memory: a tile of every row cannot fit
                    found.setdefault(target, None)
        return tuple(found)

    def _rows_unbounded(self, ranks: tuple[str, ...]) -> bool:
        """Tell whether a tensor has the parallel rank with a runtime (unbounded) extent."""
        parallel = self.tiling.parallel_rank
        return parallel in ranks and parallel not in self.static

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

    def _fuse(self, steps: list[Step]) -> tuple[Step, ...]:
        static = {r.lower() for r in self.static} - {self.parallel}
        return fuse_steps(self.cascade, tuple(steps), static.__contains__)

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
        for einsum in einsums:  # an init may read an input (a sink logit S[])
            init = self.cascade.init(einsum.name)
            if init is not None:
                read |= {n.tensor for n in walk(init.value) if isinstance(n, TensorRef)}
        for name in sorted(read - produced):
            tensor = self.cascade.tensor(name)
            if name in self.views:
                source = self.cascade.einsum(name).operands[0].tensor
                dims = tuple(
                    v
                    for v in self.cascade.einsum(name).output_variables
                    if v != self.tile_variable and v not in self.grid
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
                self.in_tile if r == self.tiling.sequence_rank else r.lower()
                for r in tensor.ranks
                if r not in self.tiling.grid_ranks
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
                if v not in (parallel, self.tile_variable) and v not in self.grid
            )
            storage = Storage.SHARED if self.in_tile in dims else Storage.REGISTER
            if storage is Storage.SHARED and self.tiling.tile_placement == "register":
                storage = Storage.REGISTER
            varying = self.presence_ranks[einsum.name]
            presence_dims = tuple(d for d in dims if rank_of_variable(d) in varying)
            buffers[einsum.name] = Buffer(
                einsum.name,
                storage,
                dims,
                tensor.iterative_rank is not None,
                self.maybe_absent[einsum.name],
                tensor.empty,
                presence_dims=presence_dims,
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
        found = {rank_of_variable(parallel), self.tiling.sequence_rank, *self.tiling.grid_ranks}
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


def _filter_extents(condition: Filter) -> set[str]:
    if isinstance(condition, Compare):
        return set(extent_names(condition.left)) | set(extent_names(condition.right))
    if isinstance(condition, Not):
        return _filter_extents(condition.operand)
    assert isinstance(condition, BoolOp)
    return set().union(*(_filter_extents(c) for c in condition.operands))
