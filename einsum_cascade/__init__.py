"""einsum-cascade: extended-Einsum cascades for accelerator modelling and kernel co-design.

Glossary (always the same word for the same thing):

- tensor: a named multi-dimensional array; its dimensions are ranks.
- rank: a named dimension (``M``); its index variable is the lower-case name (``m``).
- extent: a rank's size, a sympy symbol or expression (``M1 = ceil(M / M0)``).
- einsum: one extended Einsum equation producing one tensor.
- cascade: a DAG of einsums, with inputs, outputs and iterative ranks.
- iterative rank: a rank whose tensors have generations ``0 .. X`` (``T[x + 1]``).
- fiber: the elements of one rank that share all other coordinates.
- pass: one traversal of a fiber; the pass count is a lower bound for every mapping.
- absent: an iteration point removed by a filter or out of range; it contributes nothing.
- level: a storage level of an architecture; array: a spatial PE array.
- mapping, tile, plan (a lowered kernel), renderer, twin (the NumPy rendering of a plan).

The IR (:class:`Cascade`) holds data only; what reads it is a function here:

- in: ``parse_cascade(text)``, ``parse_teaal_yaml(text)``, ``load_cascade(name_or_path)``;
- out: ``to_text``, ``to_yaml``, ``to_dot``;
- analyses: ``build_graph``, ``einsum_order``, ``count_ops``, ``count_passes``;
- semantics: ``evaluate`` (the NumPy reference interpreter).

Example:
    >>> from einsum_cascade import count_passes, load_cascade
    >>> count_passes(load_cascade("attention/1pass"), "M0").pass_of("SLN")
    2
"""

from typing import TYPE_CHECKING

from einsum_cascade.exports import lazy_exports

if TYPE_CHECKING:
    from einsum_cascade.diagnostics import Diagnostic, Severity, SourceSpan
    from einsum_cascade.errors import (
        CascadeError,
        DiagnosticError,
        DslError,
        DslSyntaxError,
        FunctionRegistryError,
        LibraryError,
        ShapeError,
    )
    from einsum_cascade.frontend import parse_cascade
    from einsum_cascade.functions import register_function, unregister_function
    from einsum_cascade.graph import build_graph, einsum_order
    from einsum_cascade.interpret import evaluate
    from einsum_cascade.ir import (
        Cascade,
        Einsum,
        Generation,
        Rank,
        ReduceOp,
        Tensor,
        TensorKind,
    )
    from einsum_cascade.passes import PassReport, count_passes
    from einsum_cascade.printer import to_dot, to_text
    from einsum_cascade.shapes import count_ops
    from einsum_cascade.sources import load_cascade
    from einsum_cascade.teaal import parse_teaal_yaml, to_yaml

# Each public name and the module that defines it: imported on first use, so that
# ``import einsum_cascade`` (and the command line's --help) loads no sympy or networkx.
_LAZY = {
    "Diagnostic": "einsum_cascade.diagnostics",
    "Severity": "einsum_cascade.diagnostics",
    "SourceSpan": "einsum_cascade.diagnostics",
    "CascadeError": "einsum_cascade.errors",
    "DiagnosticError": "einsum_cascade.errors",
    "DslError": "einsum_cascade.errors",
    "DslSyntaxError": "einsum_cascade.errors",
    "FunctionRegistryError": "einsum_cascade.errors",
    "LibraryError": "einsum_cascade.errors",
    "ShapeError": "einsum_cascade.errors",
    "parse_cascade": "einsum_cascade.frontend",
    "register_function": "einsum_cascade.functions",
    "unregister_function": "einsum_cascade.functions",
    "build_graph": "einsum_cascade.graph",
    "einsum_order": "einsum_cascade.graph",
    "evaluate": "einsum_cascade.interpret",
    "Cascade": "einsum_cascade.ir",
    "Einsum": "einsum_cascade.ir",
    "Generation": "einsum_cascade.ir",
    "Rank": "einsum_cascade.ir",
    "ReduceOp": "einsum_cascade.ir",
    "Tensor": "einsum_cascade.ir",
    "TensorKind": "einsum_cascade.ir",
    "PassReport": "einsum_cascade.passes",
    "count_passes": "einsum_cascade.passes",
    "to_dot": "einsum_cascade.printer",
    "to_text": "einsum_cascade.printer",
    "count_ops": "einsum_cascade.shapes",
    "load_cascade": "einsum_cascade.sources",
    "parse_teaal_yaml": "einsum_cascade.teaal",
    "to_yaml": "einsum_cascade.teaal",
}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
__all__ = [
    "Cascade",
    "CascadeError",
    "Diagnostic",
    "DiagnosticError",
    "DslError",
    "DslSyntaxError",
    "Einsum",
    "FunctionRegistryError",
    "Generation",
    "LibraryError",
    "PassReport",
    "Rank",
    "ReduceOp",
    "Severity",
    "ShapeError",
    "SourceSpan",
    "Tensor",
    "TensorKind",
    "build_graph",
    "count_ops",
    "count_passes",
    "einsum_order",
    "evaluate",
    "load_cascade",
    "parse_cascade",
    "parse_teaal_yaml",
    "register_function",
    "to_dot",
    "to_text",
    "to_yaml",
    "unregister_function",
]
