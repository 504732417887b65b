"""A search of a library cascade on the FuseMax spec at one BERT point, not yet run: the
search tests read its chain, bounds and models."""

import math

import numpy as np

from einsum_cascade import load_cascade
from mappers.hardware.spec_loader import load_spec
from mappers.search.engine import _Search, loop_orders, searched_schedules, template_for
from mappers.workloads import get_workload


def fusemax_search(name: str, seq: str, extents: dict[str, int] | None = None) -> _Search:
    """Return the search of cascade ``name`` at BERT ``seq`` (``extents`` replace or add
    extents of the point), keeping one mapping, with every loop order and schedule."""
    cascade, spec = load_cascade(name), load_spec("fusemax")
    point = {**get_workload("BERT", seq).extents(), **(extents or {})}
    columns = {k: np.array([float(v)]) for k, v in point.items()}
    return _Search(
        cascade, spec, template_for(cascade, spec), columns, "default", "latency", 1, 16,
        loop_orders(cascade, spec), searched_schedules(cascade), math.inf, None,
    )  # fmt: skip
