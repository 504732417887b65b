"""Check a parsed program and build the IR: name resolution, rank agreement, iteration.

Every semantic problem is collected, sorted by position and raised once as a DslError.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from einsum_cascade import ast
from einsum_cascade.diagnostics import Diagnostic, Note, Severity, SourceSpan, suggest
from einsum_cascade.errors import DslError
from einsum_cascade.functions import lookup
from einsum_cascade.ir import (
    Call,
    Cascade,
    Einsum,
    Init,
    Rank,
    RankName,
    ReduceOp,
    Tensor,
    TensorKind,
    TensorName,
    TensorRef,
)
from einsum_cascade.resolve import InvalidError, Resolver
from einsum_cascade.symbols import rank_of_variable

_REDUCE = {"+": ReduceOp.SUM, "*": ReduceOp.PRODUCT, "max": ReduceOp.MAX, "min": ReduceOp.MIN}


@dataclass
class _TensorInfo:
    name: str
    ranks: tuple[str, ...]
    span: SourceSpan
    kind: TensorKind = TensorKind.INTERMEDIATE
    empty: float | None = None
    iterative_rank: str | None = None
    produced_by: ast.Equation | None = None
    declared: bool = False


@dataclass
class _Checker(Resolver):
    program: ast.Program
    diagnostics: list[Diagnostic] = field(default_factory=list)
    ranks: dict[str, Rank] = field(default_factory=dict)
    tensors: dict[str, _TensorInfo] = field(default_factory=dict)
    broken: set[str] = field(default_factory=set)  # tensors whose left-hand side was invalid

    # ---- driver

    def run(self) -> Cascade:
        stmts = list(self.program.statements)
        name, description = self.header(stmts)
        for stmt in stmts:
            if isinstance(stmt, ast.RanksDecl):
                for decl in stmt.ranks:
                    self.declare_rank(decl)
        self.declare_tensors(stmts)
        equations = [s for s in stmts if isinstance(s, ast.Equation)]
        for equation in equations:
            self.declare_lhs(equation)
        inits = self.collect_inits([s for s in stmts if isinstance(s, ast.InitDecl)])
        self.declare_outputs(stmts)
        einsums = []
        for equation in equations:
            einsum = self.build_einsum(equation)
            if einsum is not None:
                einsums.append(einsum)
        self.require_inits(inits)
        errors = [d for d in self.diagnostics if d.severity is Severity.ERROR]
        if errors:
            raise DslError(self.diagnostics)
        producers: dict[str, Einsum] = {einsum.name: einsum for einsum in einsums}
        cascade = Cascade(
            name=name,
            description=description,
            ranks=tuple(self.ranks.values()),
            tensors=tuple(self.build_tensor(info, producers) for info in self.tensors.values()),
            inits=tuple(inits.values()),
            einsums=tuple(einsums),
            source_file=self.program.file,
        )
        self.check_graph(cascade)
        errors = [d for d in self.diagnostics if d.severity is Severity.ERROR]
        if errors:
            raise DslError(self.diagnostics)
        warnings = tuple(d for d in self.diagnostics if d.severity is Severity.WARNING)
        object.__setattr__(cascade, "warnings", warnings)
        return cascade

    def header(self, stmts: list[ast.Statement]) -> tuple[str, str]:
        headers = [s for s in stmts if isinstance(s, ast.Header)]
        for extra in headers[1:]:
            self.error(
                "E214",
                "a second 'cascade' header",
                extra.span,
                notes=(Note("the first header is here", headers[0].span),),
            )
        if headers:
            return headers[0].name, headers[0].description
        stem = self.program.file.rsplit("/", 1)[-1].split(".", 1)[0]
        from einsum_cascade.lexer import KEYWORDS

        usable = stem.isidentifier() and stem.isascii() and stem not in KEYWORDS
        return (stem if usable else "unnamed"), ""

    # ---- ranks

    def declare_tensors(self, stmts: list[ast.Statement]) -> None:
        for stmt in stmts:
            if isinstance(stmt, ast.InputDecl):
                for shape in stmt.tensors:
                    info = self.declare_shape(shape)
                    if info is not None:
                        info.kind = TensorKind.INPUT
            elif isinstance(stmt, ast.TensorDecl):
                info = self.declare_shape(stmt.shape)
                if info is not None:
                    info.empty = stmt.empty

    def declare_shape(self, shape: ast.TensorShape) -> _TensorInfo | None:
        if shape.name in self.tensors:
            self.error(
                "E214",
                f"tensor '{shape.name}' is declared twice",
                shape.span,
                notes=(Note("first declared here", self.tensors[shape.name].span),),
            )
            return None
        for rank, span in shape.ranks:
            if rank not in self.ranks:
                self.unknown_rank(rank, span)
        info = _TensorInfo(shape.name, tuple(r for r, _ in shape.ranks), shape.span, declared=True)
        self.tensors[shape.name] = info
        return info

    def declare_lhs(self, equation: ast.Equation) -> None:
        lhs = equation.lhs
        ranks: list[str] = []
        iterative: str | None = None
        for index in lhs.indices:
            variable, plus_one = _lhs_index(index)
            if variable is None:
                self.error(
                    "E213",
                    "a left-hand index must be an index variable or 'x + 1' for an iterative rank",
                    index.span,
                )
                self.broken.add(lhs.name)
                return
            rank = rank_of_variable(variable)
            if rank not in self.ranks or variable != variable.lower():
                self.no_rank(variable, index.span)
                self.broken.add(lhs.name)
                return
            if plus_one:
                iterative = rank
            ranks.append(rank)
        info = self.tensors.get(lhs.name)
        if info is not None and info.kind is TensorKind.INPUT:
            self.error(
                "E211",
                f"input '{lhs.name}' is written by an equation",
                lhs.name_span,
                notes=(Note("declared as an input here", info.span),),
            )
            return
        if info is not None and info.produced_by is not None:
            self.error(
                "E210",
                f"tensor '{lhs.name}' is produced twice",
                lhs.name_span,
                notes=(Note("first produced here", info.produced_by.lhs.span),),
            )
            return
        if info is None:
            info = _TensorInfo(lhs.name, tuple(ranks), lhs.span)
            self.tensors[lhs.name] = info
        elif info.ranks != tuple(ranks):
            self.error(
                "E204",
                f"'{lhs.name}' is written with ranks [{', '.join(ranks)}] but "
                f"declared as [{', '.join(info.ranks)}]",
                lhs.span,
                notes=(Note(f"{lhs.name} declared here", info.span),),
            )
            return
        info.produced_by = equation
        info.iterative_rank = iterative

    def declare_outputs(self, stmts: list[ast.Statement]) -> None:
        named = [
            (n, s) for stmt in stmts if isinstance(stmt, ast.OutputDecl) for n, s in stmt.names
        ]
        if not named:
            consumed = {
                ref.name
                for stmt in stmts
                if isinstance(stmt, ast.Equation)
                for ref in _refs(stmt.rhs)
            }
            for info in self.tensors.values():
                if info.produced_by is not None and info.name not in consumed:
                    info.kind = TensorKind.OUTPUT
            return
        for name, span in named:
            if name in self.broken:
                continue
            found = self.tensors.get(name)
            if found is None or found.produced_by is None:
                produced = [t.name for t in self.tensors.values() if t.produced_by]
                self.error(
                    "E208", f"output '{name}' is never produced", span, suggest(name, produced)
                )
                continue
            found.kind = TensorKind.OUTPUT

    # ---- inits

    def collect_inits(self, decls: list[ast.InitDecl]) -> dict[str, Init]:
        inits: dict[str, Init] = {}
        for decl in decls:
            init = self.build_init(decl)
            if init is None:
                continue
            if init.tensor in inits:
                self.error("E214", f"'{decl.name}' has two inits", decl.span)
                continue
            inits[init.tensor] = init
        return inits

    def build_init(self, decl: ast.InitDecl) -> Init | None:
        info = self.tensors.get(decl.name)
        if info is None or info.iterative_rank is None:
            if info is None:
                self.error(
                    "E201",
                    f"unknown tensor '{decl.name}'",
                    decl.name_span,
                    suggest(decl.name, self.tensors),
                )
            else:
                self.error(
                    "E215",
                    f"'{decl.name}' has an init but no equation writes it with 'x + 1'",
                    decl.name_span,
                    hint="only iterative tensors take an init",
                )
            return None
        if len(decl.indices) != len(info.ranks):
            self.error(
                "E205",
                f"'{decl.name}' has {len(info.ranks)} ranks but the init gives "
                f"{len(decl.indices)} indices",
                decl.span,
            )
            return None
        variables = []
        position = info.ranks.index(info.iterative_rank)
        for i, (variable, value, span) in enumerate(decl.indices):
            if rank_of_variable(variable) != info.ranks[i] or variable != variable.lower():
                self.error(
                    "E204",
                    f"index '{variable}' does not match rank '{info.ranks[i]}' of '{decl.name}'",
                    span,
                )
                return None
            if (i == position) != (value == 0):
                self.error(
                    "E215",
                    f"the init must set '{info.ranks[position].lower()} = 0' "
                    "on the iterative rank and nothing else",
                    span,
                )
                return None
            variables.append(variable)
        try:
            value_expr = self.expression(decl.value, set(variables) - {variables[position]})
        except InvalidError:
            return None
        return Init(TensorName(decl.name), tuple(variables), position, value_expr, decl.span)

    def require_inits(self, inits: dict[str, Init]) -> None:
        for info in self.tensors.values():
            if info.iterative_rank and info.name not in inits and info.produced_by:
                variable = info.iterative_rank.lower()
                zero = ", ".join(
                    f"{r.lower()} = 0" if r == info.iterative_rank else r.lower()
                    for r in info.ranks
                )
                self.error(
                    "E207",
                    f"iterative tensor '{info.name}' has no init",
                    info.produced_by.lhs.span,
                    hint=f"add 'init {info.name}[{zero}] = ...' for generation {variable} = 0",
                )

    # ---- einsums

    def build_einsum(self, equation: ast.Equation) -> Einsum | None:
        info = self.tensors.get(equation.lhs.name)
        if info is None or info.produced_by is not equation:
            return None
        try:
            output = TensorRef(
                TensorName(equation.lhs.name),
                tuple(self.index(i) for i in equation.lhs.indices),
                equation.lhs.span,
            )
            expression = self.expression(equation.rhs, None)
            condition = (
                self.condition(equation.condition) if equation.condition is not None else None
            )
        except InvalidError:
            return None
        reduce_op = _REDUCE[equation.reduce_op or "+"]
        einsum = Einsum(
            output, expression, condition, reduce_op, equation.reduce_op is not None, equation.span
        )
        if equation.reduce_op is not None and not einsum.reduced_variables:
            self.warn(
                "W301",
                f"'{equation.lhs.name}' reduces nothing, so ':: "
                f"{equation.reduce_op}' has no effect",
                equation.reduce_span,
            )
        return einsum

    # ---- tensors in the IR

    def build_tensor(self, info: _TensorInfo, producers: dict[str, Einsum]) -> Tensor:
        explicit = info.empty is not None
        empty = (
            info.empty if info.empty is not None else self.default_empty(producers.get(info.name))
        )
        return Tensor(
            TensorName(info.name),
            tuple(RankName(r) for r in info.ranks),
            info.kind,
            empty,
            explicit,
            RankName(info.iterative_rank) if info.iterative_rank else None,
            info.span,
        )

    @staticmethod
    def default_empty(einsum: Einsum | None) -> float:
        if einsum is None:
            return 0.0
        if einsum.reduced_variables:
            return einsum.reduce_op.identity
        if isinstance(einsum.expression, Call):
            function = lookup(einsum.expression.function)
            if function is not None and function.union_identity is not None:
                return function.union_identity
        return 0.0

    # ---- graph-level checks

    def check_graph(self, cascade: Cascade) -> None:
        from einsum_cascade.graph import find_cycle, loop_conflict, unreachable_tensors

        cycle = find_cycle(cascade)
        if cycle:
            first = cascade.einsum(cycle[0])
            path = " -> ".join([*cycle, cycle[0]])
            self.error(
                "E206",
                f"cycle between einsums: {path}",
                first.output.span,
                hint="a tensor may read its own previous generation only through an "
                "iterative rank: write 'T[x + 1] = ... T[x] ...' and add an init",
            )
        conflict = loop_conflict(cascade)
        if conflict:
            variable, name = conflict
            self.error(
                "E218",
                f"'{name}' needs every step of the loop over {variable} but a step of that "
                "loop needs it",
                cascade.einsum(name).output.span,
                hint=f"within one step over {variable}, read only that step's values; to use "
                "a whole-loop result, read the final generation after the loop",
            )
        # only a filter leaves points absent (and costs sympy to follow)
        filtered = any(einsum.condition is not None for einsum in cascade.einsums)
        if filtered and not cycle and not conflict:
            self.check_reintroduced(cascade)
        for name in unreachable_tensors(cascade):
            self.warn(
                "W302",
                f"intermediate '{name}' does not contribute to any output",
                cascade.tensor(name).span,
            )

    def check_reintroduced(self, cascade: Cascade) -> None:
        from einsum_cascade.printer import format_expression, format_filter
        from einsum_cascade.shapes import reintroduced_points

        for einsum, ref, other in reintroduced_points(cascade):
            origin = cascade.einsum(ref.tensor).condition
            self.warn(
                "W303",
                f"'{einsum.name}' is present again where the filter of '{ref.tensor}' removed "
                f"points: '{format_expression(other)}' covers every index variable, and + or "
                f"- lets the absent '{ref.tensor}' stand for 0",
                ref.span,
                hint=f"repeat the filter on '{einsum.name}': '... where {format_filter(origin)}'"
                if origin is not None
                else f"filter '{einsum.name}' as '{ref.tensor}' is filtered",
            )


def check_program(program: ast.Program) -> Cascade:
    """Check a parsed program and return its IR.

    Raises:
        DslError: listing every semantic error, sorted by position.
    """
    return _Checker(program).run()


def _lhs_index(node: ast.Node) -> tuple[str | None, bool]:
    if isinstance(node, ast.Name) and node.name == node.name.lower():
        return node.name, False
    if (
        isinstance(node, ast.BinaryNode)
        and node.op == "+"
        and isinstance(node.left, ast.Name)
        and node.left.name == node.left.name.lower()
        and isinstance(node.right, ast.Number)
        and node.right.value == 1
    ):
        return node.left.name, True
    return None, False


def _refs(node: ast.Node) -> list[ast.Ref]:
    if isinstance(node, ast.Ref):
        return [node]
    if isinstance(node, ast.Name):
        return [ast.Ref(node.name, (), node.span, node.span)]
    if isinstance(node, ast.UnaryNode):
        return _refs(node.operand)
    if isinstance(node, ast.BinaryNode):
        return _refs(node.left) + _refs(node.right)
    if isinstance(node, ast.CallNode):
        return [r for a in node.args for r in _refs(a)]
    return []
