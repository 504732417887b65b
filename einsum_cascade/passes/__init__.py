"""The pass-count analyser: how many passes a cascade must make over a rank, and why.

Example:
    >>> from einsum_cascade import load_cascade
    >>> from einsum_cascade.passes import count_passes
    >>> count_passes(load_cascade("attention/3pass"), "M").num_passes
    3
"""

from einsum_cascade.passes.count import count_passes
from einsum_cascade.passes.render import render_text
from einsum_cascade.passes.report import Footprint, PassReport
from einsum_cascade.passes.rules import PassError, partitions

__all__ = ["Footprint", "PassError", "PassReport", "count_passes", "partitions", "render_text"]
