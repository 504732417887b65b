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
"""

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
from einsum_cascade.functions import register_function, unregister_function
from einsum_cascade.ir import (
    Cascade,
    Einsum,
    Generation,
    Rank,
    ReduceOp,
    Tensor,
    TensorKind,
)

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
    "Rank",
    "ReduceOp",
    "Severity",
    "ShapeError",
    "SourceSpan",
    "Tensor",
    "TensorKind",
    "register_function",
    "unregister_function",
]
