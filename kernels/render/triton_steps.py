"""Triton tables and per-step code: register blocks, reads, masks, dots, reductions, stores.

A program owns ``BLOCK_P`` rows; every local tensor is a register block ``[BLOCK_P, *dims]``.
The kernel around the steps (prologue, running state, tile loops) is in
``kernels.render.triton``.
"""

from __future__ import annotations

import math
from typing import ClassVar

import sympy
from sympy.printing.pycode import pycode

from einsum_cascade import Diagnostic, Severity, TensorKind
from einsum_cascade.ir import Binary, Call, TensorRef, filter_variables, walk
from einsum_cascade.symbols import rank_of_variable
from kernels.errors import KernelError
from kernels.plan.lower import Buffer, KernelPlan, KernelSpec, Role, Step, Storage
from kernels.render.base import Renderer

Axes = tuple[str, ...]
DOT_MIN = 16  # tl.dot needs every block dimension >= 16
ELEMENT = {"float32": "fp32", "float16": "fp16"}
PRECISION = {"float32": "tf32", "float16": "ieee"}  # fp32 dots use TF32 tensor cores on a GPU


def _pow2(value: int) -> int:
    return 1 << max(0, (value - 1).bit_length())


class TritonSteps(Renderer):
    """The Triton tables and the code of each step of one kernel."""

    name: ClassVar[str] = "triton"
    vectorized: ClassVar[bool] = True
    true: ClassVar[str] = "True"
    false: ClassVar[str] = "False"
    conjunction: ClassVar[str] = " & "
    disjunction: ClassVar[str] = " | "
    negation: ClassVar[str] = "(~{0})"
    select: ClassVar[str] = "tl.where({0}, {1}, {2})"
    comment: ClassVar[str] = "#"
    block: ClassVar[tuple[str, str | None]] = (":", None)
    functions: ClassVar[dict[str, str]] = {
        "exp": "tl.exp({0})",
        "log": "tl.log({0})",
        "sqrt": "tl.sqrt({0})",
        "rsqrt": "tl.rsqrt({0})",
        "tanh": "(2.0 * tl.sigmoid(2.0 * ({0})) - 1.0)",
        "sigmoid": "tl.sigmoid({0})",
        "relu": "tl.maximum({0}, 0.0)",
        "elu": "tl.where(({0}) > 0.0, ({0}), tl.exp(tl.minimum(({0}), 0.0)) - 1.0)",
        "abs": "tl.abs({0})",
        "max": "tl.maximum({0}, {1})",
        "min": "tl.minimum({0}, {1})",
    }

    def __init__(self, plan: KernelPlan, kernel: KernelSpec, mutate_dots: bool = False) -> None:
        super().__init__(plan, kernel, depth=1)
        self.target: Axes = ()
        self.mutate_dots = mutate_dots  # the mutation test: every tl.dot as a multiply-sum
        self.dots = 0
        self.in_loop = False  # inside a tile loop a tile of the sequence rank can be stored
        self.empties: dict[str, float] = {}  # aligned register reads -> their empty value
        self.block_p = plan.tiling.threads_per_block
        self.tile = plan.tiling.tile
        self.static = plan.static_extents
        self.fp16 = plan.tiling.input_dtype == "float16"
        self._check()

    # ---- what this target cannot express: located errors, never invalid source

    def _check(self) -> None:
        problems = []
        if _pow2(self.block_p) != self.block_p:
            problems.append(f"P0 = {self.block_p} rows per program is not a power of two")
        if _pow2(self.tile) != self.tile:
            problems.append(f"the sequence tile {self.tile} is not a power of two")
        if problems:
            raise KernelError.single(
                "K701",
                "the triton renderer needs power-of-two blocks: " + "; ".join(problems),
                hint="e.g. --tile M0=64,P0=128",
            )
        for segment in self.kernel.segments:
            for step in segment.steps:
                for node in walk(step.einsum.expression):
                    if isinstance(node, Call) and node.function not in self.functions:
                        raise KernelError(
                            [
                                _diagnostic(
                                    step,
                                    f"einsum '{step.einsum.name}' calls '{node.function}', "
                                    "which the triton renderer does not lower",
                                    f"lowered: {', '.join(sorted(self.functions))}",
                                )
                            ]
                        )

    # ---- names, sizes, axes

    def literal(self, value: float) -> str:
        """Return a Python float literal Triton folds to fp32."""
        if math.isinf(value):
            return 'float("-inf")' if value < 0 else 'float("inf")'
        return repr(float(value))

    def guarded(self, value: str, present: str, fallback: float) -> str:
        """Return ``value`` where present, else ``fallback``; a register block read already
        holds its empty value where absent, so no select is needed when that is the fallback.
        """
        if self.empties.get(value) == fallback:
            return value
        return super().guarded(value, present, fallback)

    def size(self, variable: str) -> int:
        """Return the block extent of an axis (a power of two)."""
        if variable == self.kernel.parallel:
            return self.block_p
        if self.kernel.role(variable) is Role.IN_TILE:
            return self.tile
        return _pow2(self.static[rank_of_variable(variable)])

    def padded(self, variable: str) -> bool:
        """Tell whether a static axis is padded to a power of two."""
        role = self.kernel.role(variable)
        if role is not Role.STATIC:
            return False
        return self.size(variable) != self.static[rank_of_variable(variable)]

    def offsets(self, variable: str) -> str:
        """Return the name of an axis's coordinate vector."""
        return f"offs_{variable}"

    def valid(self, variable: str) -> str | None:
        """Return the name of an axis's validity vector, or None when every lane is real."""
        role = self.kernel.role(variable)
        if role is Role.PARALLEL:
            return f"ok_{variable}"
        if role is Role.IN_TILE:
            return f"ok_{variable}"
        return f"ok_{variable}" if self.padded(variable) else None

    def shape(self, axes: Axes) -> str:
        """Return a block shape tuple."""
        return "(" + "".join(f"{self.size(a)}, " for a in axes) + ")"

    def expand(self, code: str, source: Axes, target: Axes) -> str:
        """Permute and expand a block with axes ``source`` to broadcast against ``target``."""
        if not source or code in (self.true, self.false):
            return code
        missing = [a for a in source if a not in target]
        assert not missing, (source, target)
        order = sorted(range(len(source)), key=lambda i: target.index(source[i]))
        if order != list(range(len(source))):
            code = (
                f"tl.trans({code})" if len(source) == 2 else f"tl.permute({code}, {tuple(order)!r})"
            )
        placed = [source[i] for i in order]
        if placed == list(target):
            return code
        index = ", ".join(":" if a in source else "None" for a in target)
        return f"{code}[{index}]"

    def vector(self, variable: str, target: Axes) -> str:
        """Return an axis's coordinate vector aligned to ``target``."""
        return self.expand(self.offsets(variable), (variable,), target)

    def buffer_axes(self, buffer: Buffer) -> Axes:
        """Return the axes of a local buffer: the parallel rank, then its dims."""
        return (self.kernel.parallel, *buffer.dims)

    # ---- reads

    def read(self, ref: TensorRef) -> tuple[str, str, Axes, bool]:
        """Return (block, presence, axes, is_input_element) of a read of ``ref``."""
        buffer = self.kernel.buffer(ref.tensor)
        if buffer.storage is Storage.VIEW:
            tensor, variables = self.view_source(ref)
            axes = tuple(v for v in variables if v not in self.grid)
            return f"t_{tensor}", self.true, axes, True
        variables = tuple(self.ref_variable(i) for i in ref.indices)
        if buffer.storage is Storage.STAGED:
            axes = tuple(v for v in variables if v not in self.grid)
            return f"t_{ref.tensor}", self.true, axes, True
        if buffer.storage is Storage.GLOBAL:
            ranks = self.cascade.tensor(ref.tensor).ranks
            pairs = [
                (r, v) for r, v in zip(ranks, variables, strict=True) if r.lower() not in self.grid
            ]
            pairs.sort(key=lambda pair: pair[0].lower() != self.kernel.parallel)  # rows first
            axes = tuple(v for _, v in pairs)
            is_input = self.cascade.tensor(ref.tensor).kind is TensorKind.INPUT
            return f"g_{ref.tensor}", self.true, axes, is_input
        name = f"l_{ref.tensor}{self.generation_suffix(ref, buffer)}"
        present = f"{name}_ok" if buffer.maybe_absent else self.true
        return name, present, (self.kernel.parallel, *self.local_variables(ref)), False

    def presence_axes(self, ref: TensorRef) -> Axes:
        """Return the axes of a read's presence flags (the dims the flag varies along)."""
        buffer = self.kernel.buffer(ref.tensor)
        return (self.kernel.parallel, *buffer.presence_of(self.local_variables(ref)))

    def flag_axes(self, buffer: Buffer) -> Axes:
        """Return the axes a buffer's presence flags are stored over."""
        return (self.kernel.parallel, *buffer.presence_dims)

    def operand(self, ref: TensorRef) -> tuple[str, str]:
        """Return (value, presence) of a read aligned to the target axes, as fp32."""
        value, present, axes, is_input = self.read(ref)
        value = self.expand(value, axes, self.target)
        if is_input and self.fp16:
            value = f"{value}.to(tl.float32)"
        buffer = self.kernel.buffer(ref.tensor)
        if buffer.storage in (Storage.REGISTER, Storage.SHARED) and buffer.maybe_absent:
            self.empties[value] = buffer.empty
        if present == self.true:
            return value, present
        return value, self.expand(present, self.presence_axes(ref), self.target)

    def settle_flags(self, present: str, kept: Axes, buffer: Buffer) -> str:
        """Return a presence aligned to ``kept`` as a block over the buffer's flag axes."""
        flags = self.flag_axes(buffer)
        if present == self.true:
            return f"tl.full({self.shape(flags)}, 1, tl.int1)"
        axes = self.buffer_axes(buffer)
        aligned = self.expand(present, kept, axes)
        if flags == axes:
            return f"tl.broadcast_to({aligned}, {self.shape(axes)})"
        ones = "(" + "".join(f"{self.size(a) if a in flags else 1}, " for a in axes) + ")"
        return f"tl.reshape(tl.broadcast_to({aligned}, {ones}), {self.shape(flags)})"

    def extent_value(self, rank: str) -> str:
        """Return a rank's extent as a float."""
        if rank == self.plan.tile_extent:
            return f"{float(self.tile)!r}"
        if rank in self.static:
            return f"{float(self.static[rank])!r}"
        return f"({rank} * 1.0)"

    def coordinate(self, variable: str) -> str:
        """Return a variable's coordinates aligned to the target (a scalar for tiles, grid)."""
        role = self.kernel.role(variable)
        if role is Role.TILE or role is Role.GRID:
            return "t" if role is Role.TILE else f"c_{variable}"
        if role is Role.IN_TILE and self.plan.tile_variable is None:
            return f"(t * TILE + {self.vector(variable, self.target)})"
        return self.vector(variable, self.target)

    def coordinate_value(self, variable: str) -> str:
        """Return a variable's coordinates as floats."""
        return f"(({self.coordinate(variable)}) * 1.0)"

    def index_code(self, expr: sympy.Expr) -> str:
        """Return an index expression over aligned coordinate vectors."""
        names = {}
        for symbol in expr.free_symbols:
            if symbol.name == symbol.name.lower():
                names[symbol] = sympy.Symbol(f"({self.coordinate(symbol.name)})")
            elif symbol.name == self.plan.tile_extent:
                names[symbol] = sympy.Symbol("TILE")
            elif symbol.name in self.static:
                names[symbol] = sympy.Integer(self.static[symbol.name])
            else:
                names[symbol] = sympy.Symbol(symbol.name)
        return str(pycode(expr.xreplace(names)))

    def full(self, code: str, source_axes: Axes, target: Axes) -> str:
        """Broadcast a (possibly constant) value to the whole ``target`` block."""
        if _is_constant(code):
            return f"tl.full({self.shape(target)}, {code}, tl.float32)"
        return f"tl.broadcast_to({self.expand(code, source_axes, target)}, {self.shape(target)})"

    def mask_of(self, axes: Axes, target: Axes) -> str:
        """Return the conjunction of the validity vectors of ``axes``, aligned to ``target``."""
        mask = self.true
        for axis in axes:
            valid = self.valid(axis)
            if valid is not None:
                mask = self.conjoin(mask, self.expand(valid, (axis,), target))
        return mask

    # ---- steps

    def contraction(self, step: Step, kept: Axes) -> tuple[str, str] | None:
        """Lower a sum of products over one axis, one operand shared by all rows, to tl.dot."""
        einsum = step.einsum
        expr = einsum.expression
        if einsum.reduce_op.value != "+" or not isinstance(expr, Binary) or expr.op != "*":
            return None
        if not (isinstance(expr.left, TensorRef) and isinstance(expr.right, TensorRef)):
            return None
        if len(step.reduced) != 1 or len(kept) != 2:
            return None
        condition = einsum.condition
        if condition is not None and set(filter_variables(condition)) & set(step.reduced):
            return None
        parallel, reduced = self.kernel.parallel, step.reduced[0]
        column = kept[1]
        reads = [self.read(expr.left), self.read(expr.right)]
        rows = [r for r in reads if parallel in r[2]]
        shared = [r for r in reads if parallel not in r[2]]
        if len(rows) != 1 or len(shared) != 1:
            return None
        a, a_ok, a_axes, a_input = rows[0]
        b, b_ok, b_axes, b_input = shared[0]
        a_ref = expr.left if parallel in reads[0][2] else expr.right
        a_ok_axes = self.presence_axes(a_ref) if a_ok != self.true else a_axes
        if set(a_axes) != {parallel, reduced} or set(b_axes) != {reduced, column}:
            return None
        if b_ok != self.true:
            return None
        if min(self.size(parallel), self.size(reduced), self.size(column)) < DOT_MIN:
            return None
        left = self.expand(a, a_axes, (parallel, reduced))
        right = self.expand(b, b_axes, (reduced, column))
        valid = self.valid(reduced)
        a_buffer = self.kernel.buffer(a_ref.tensor)
        a_zero = a_buffer.empty == 0.0  # absent points already hold 0
        if not a_input:  # a register block: zero absent points and padding lanes
            mask = self.conjoin(
                self.true if a_zero else self.expand(a_ok, a_ok_axes, (parallel, reduced)),
                self.expand(valid, (reduced,), (parallel, reduced)) if valid else self.true,
            )
            if mask != self.true:
                left = f"tl.where({mask}, {left}, 0.0)"
        if b_input is False:
            b_valid = self.valid(reduced)
            if b_valid is not None:
                mask = self.expand(b_valid, (reduced,), (reduced, column))
                right = f"tl.where({mask}, {right}, 0.0)"
        element = "tl.float16" if self.fp16 else "tl.float32"
        self.out.line(f"dot_a = ({left}).to({element})")
        self.out.line(f"dot_b = ({right}).to({element})")
        self.dots += 1
        if self.mutate_dots:
            self.out.line(
                "value = tl.sum(dot_a.to(tl.float32)[:, :, None] * "
                "dot_b.to(tl.float32)[None, :, :], axis=1)"
            )
        else:
            precision = PRECISION[self.plan.tiling.input_dtype]
            self.out.line(f'value = tl.dot(dot_a, dot_b, input_precision="{precision}")')
        if a_ok == self.true:
            present = self.true
        else:
            hits = self.conjoin(
                self.expand(a_ok, a_ok_axes, (parallel, reduced)),
                self.expand(valid, (reduced,), (parallel, reduced)) if valid else self.true,
            )
            self.out.line(f"present = (tl.max(tl.where({hits}, 1, 0), axis=1) > 0)[:, None]")
            present = "present"
        if einsum.condition is not None:
            saved, self.target = self.target, kept
            present = self.conjoin(present, self.condition(einsum.condition))
            self.target = saved
        return "value", present

    def compute(self, step: Step, kept: Axes) -> tuple[str, str]:
        """Write ``value``/``present`` of a step; return their names (or constants)."""
        if not step.reduced:
            return self.point(step)
        fast = self.contraction(step, kept)
        if fast is not None:
            return fast
        value, present = self.point(step)
        masks = self.conjoin(present, self.mask_of(step.reduced, self.target))
        value_masks = masks
        if self.empties.get(value) == step.einsum.reduce_op.identity:
            value_masks = self.mask_of(step.reduced, self.target)  # absent already identity
        identity = self.literal(step.einsum.reduce_op.identity)
        reducer = {"+": "tl.sum", "max": "tl.max", "min": "tl.min"}.get(step.einsum.reduce_op.value)
        if reducer is None:
            raise KernelError(
                [
                    _diagnostic(
                        step,
                        f"einsum '{step.einsum.name}' reduces with "
                        f"'{step.einsum.reduce_op.value}', which the triton renderer "
                        "does not lower",
                        "reductions lowered: +, max, min",
                    )
                ]
            )
        self.out.line(f"value = {self.full(value, self.target, self.target)}")
        if value_masks != self.true:
            self.out.line(f"value = tl.where({value_masks}, value, {identity})")
        axes = list(range(len(kept), len(self.target)))
        for axis in reversed(axes):
            self.out.line(f"value = {reducer}(value, axis={axis})")
        if masks == self.true:
            return "value", self.true
        self.out.line(f"present = tl.where({masks}, 1, 0)")
        for axis in reversed(axes):
            self.out.line(f"present = tl.max(present, axis={axis})")
        self.out.line("present = present > 0")
        return "value", "present"

    def step(self, step: Step) -> None:
        """Compute one einsum over every row and block axis at once."""
        einsum = step.einsum
        buffer = self.kernel.buffer(einsum.name)
        suffix = "_cur" if buffer.iterative else ""
        name = f"l_{einsum.name}{suffix}"
        self.target = (self.kernel.parallel, *step.local)
        kept = self.target[: len(self.target) - len(step.reduced)]
        self.out.line(f"# {einsum.name}")
        value, present = self.compute(step, kept)
        axes = self.buffer_axes(buffer)
        if kept != axes and set(kept) != set(axes):
            raise KernelError(
                [_diagnostic(step, f"einsum '{einsum.name}' keeps axes its buffer does not")]
            )
        value = self.full(value, kept, axes)
        flags = self.flag_axes(buffer)
        if step.across_tiles:
            identity = self.literal(einsum.reduce_op.identity)
            if present != self.true:
                value = f"tl.where({self.expand(present, kept, axes)}, {value}, {identity})"
            op = einsum.reduce_op.value
            combined = {
                "+": f"{name} + {value}",
                "max": f"tl.maximum({name}, {value})",
                "min": f"tl.minimum({name}, {value})",
            }[op]
            self.out.line(f"{name} = {combined}")
            if buffer.maybe_absent:
                ok = self.settle_flags(present, kept, buffer)
                self.out.line(f"{name}_ok = {name}_ok | {ok}")
            return
        if present != self.true and buffer.maybe_absent:
            self.out.line(f"{name}_ok = {self.settle_flags(present, kept, buffer)}")
            ok = self.expand(f"{name}_ok", flags, axes)
            self.out.line(f"{name} = tl.where({ok}, {value}, {self.literal(buffer.empty)})")
        elif present != self.true:
            ok = self.expand(present, kept, axes)
            self.out.line(f"{name} = tl.where({ok}, {value}, {self.literal(buffer.empty)})")
        else:
            self.out.line(f"{name} = {value}")
            if buffer.maybe_absent:
                self.out.line(f"{name}_ok = {self.settle_flags(self.true, kept, buffer)}")
        self.store(step)

    def store(self, step: Step) -> None:
        """Write a step's result to its output tensor (masked rows and padding lanes)."""
        name = step.einsum.name
        if name not in self.kernel.params:
            return
        buffer = self.kernel.buffer(name)
        tensor = self.cascade.tensor(name)
        if self.plan.in_tile_variable in buffer.dims and not self.in_loop:
            raise KernelError.single(
                "K004",
                f"tensor '{name}' keeps the sequence rank outside a tile loop; kernels cannot "
                "write it to global memory",
            )
        suffix = "_cur" if buffer.iterative else ""
        axes = self.buffer_axes(buffer)
        pointer = self.pointer(name, tensor.ranks, axes)
        mask = self.mask_of(axes, axes)
        masked = "" if mask == self.true else f", mask={mask}"
        self.out.line(f"tl.store({pointer}, l_{name}{suffix}{masked})")

    def init_accumulator(self, step: Step) -> None:
        """Start a cross-tile reduction at its identity, nothing present."""
        buffer = self.kernel.buffer(step.einsum.name)
        shape = self.shape(self.buffer_axes(buffer))
        identity = self.literal(step.einsum.reduce_op.identity)
        self.out.line(f"l_{buffer.tensor} = tl.full({shape}, {identity}, tl.float32)")
        if buffer.maybe_absent:
            flags = self.shape(self.flag_axes(buffer))
            self.out.line(f"l_{buffer.tensor}_ok = tl.full({flags}, 0, tl.int1)")

    def finalize_accumulator(self, step: Step) -> None:
        """Replace never-reached points by the tensor's empty value."""
        buffer = self.kernel.buffer(step.einsum.name)
        if not buffer.maybe_absent:
            return
        name = f"l_{buffer.tensor}"
        ok = self.expand(f"{name}_ok", self.flag_axes(buffer), self.buffer_axes(buffer))
        self.out.line(f"{name} = tl.where({ok}, {name}, {self.literal(buffer.empty)})")

    # ---- the kernel around the steps

    def pointer(self, tensor: str, ranks: tuple[str, ...], axes: Axes) -> str:
        """Return the pointer block of a global tensor: grid ranks fixed, other ranks as axes."""
        strides = []
        for position in range(len(ranks)):
            later = [self.extent_name(r) for r in ranks[position + 1 :]]
            strides.append(" * ".join(later) if later else "1")
        terms = []
        for rank, stride in zip(ranks, strides, strict=True):
            variable = rank.lower()
            if variable in self.grid:
                coordinate = f"c_{variable}.to(tl.int64)"
            elif rank == self.plan.tiling.sequence_rank:
                coordinate = f"(t * TILE + {self.vector(self.plan.in_tile_variable, axes)})"
            else:
                coordinate = self.vector(variable, axes)
            terms.append(coordinate if stride == "1" else f"{coordinate} * ({stride})")
        return f"{tensor} + " + " + ".join(terms) if terms else tensor

    def extent_name(self, rank: str) -> str:
        """Return a rank's extent in index arithmetic (a number when static)."""
        return str(self.static[rank]) if rank in self.static else rank

    def tensor_axes(self, tensor: str) -> Axes:
        """Return the axes a global tensor's block has: its ranks less the grid ranks."""
        axes = []
        for rank in self.cascade.tensor(tensor).ranks:
            variable = rank.lower()
            if variable in self.grid:
                continue
            if rank == self.plan.tiling.sequence_rank:
                variable = self.plan.in_tile_variable
            axes.append(variable)
        if self.kernel.parallel in axes:  # rows first: a Q block is the dot's left operand
            axes.remove(self.kernel.parallel)
            axes.insert(0, self.kernel.parallel)
        return tuple(axes)

    def load(self, tensor: str, axes: Axes) -> str:
        """Return a masked load of a global tensor's block (zero outside)."""
        pointer = self.pointer(tensor, self.cascade.tensor(tensor).ranks, axes)
        mask = self.mask_of(axes, axes)
        masked = "" if mask == self.true else f", mask={mask}, other=0.0"
        return f"tl.load({pointer}{masked})"


def _is_constant(code: str) -> bool:
    """Tell whether rendered code is a number literal (no block to broadcast)."""
    if code.startswith('float("'):
        return True
    try:
        float(code)
    except ValueError:
        return False
    return True


def _diagnostic(step: Step, message: str, hint: str | None = None) -> Diagnostic:
    return Diagnostic(Severity.ERROR, "K701", message, step.einsum.span, hint)
