"""The DRAM regions of a schedule: the groups of einsums whose memory traffic is accounted
together (the symbolic build sums each region's words; evaluation bounds each by them).
"""

from __future__ import annotations

from mappers.mapping.schema import Mapping


def regions(mapping: Mapping, names: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    """Return the groups whose memory traffic is accounted together.

    A sequential schedule runs each group (default: each einsum) as its own region; every
    other schedule is one fused region.
    """
    if mapping.schedule.kind != "sequential":
        return (names,)
    if not mapping.schedule.groups:
        return tuple((n,) for n in names)
    return tuple(tuple(i for i in g if isinstance(i, str)) for g in mapping.schedule.groups)
