"""Random tile graphs and task lengths for ``schedule: simulate`` (hypothesis strategies)."""

import numpy as np
from hypothesis import strategies as st

from mappers.cost.pipeline import Pipeline
from mappers.cost.simulate import Durations, TileGraph

ARRAYS = ("x", "y", "z")
# few distinct lengths, long against short: where list-scheduling anomalies show
cycles = st.sampled_from((0.0, 1.0, 2.0, 3.0, 8.0, 20.0)) | st.floats(0.0, 50.0)


@st.composite
def graphs(draw):
    """A random einsum graph: looped einsums, maybe a prologue and an epilogue, on arrays."""
    looped = [f"L{i}" for i in range(draw(st.integers(1, 5)))]
    names = ["P"] if draw(st.booleans()) else []
    names += looped
    names += ["E"] if draw(st.booleans()) else []
    current: dict[str, tuple[str, ...]] = {}
    for index, name in enumerate(names):
        earlier = names[:index] if name != "P" else []
        if name == "E":  # an epilogue reads some looped einsum's final value
            earlier = looped
        picked = draw(st.lists(st.sampled_from(earlier), unique=True)) if earlier else []
        current[name] = tuple(picked)
    carried = {
        n: tuple(draw(st.lists(st.sampled_from(looped), unique=True, max_size=2)))
        if n in looped
        else ()
        for n in names
    }
    pipeline = Pipeline(
        tiles=np.array(1.0),
        looped=frozenset(looped),
        order=tuple(names),
        preds=tuple(current.items()),
        recurrences=(),
        current=tuple(current.items()),
        carried=tuple(carried.items()),
    )
    arrays = {n: draw(st.sampled_from(ARRAYS)) for n in names}
    graph = TileGraph.of(pipeline, arrays)
    durations = Durations(
        per_tile={n: draw(cycles) for n in looped},
        per_row={n: draw(cycles) for n in names},
        memory_per_tile=draw(cycles),
    )
    return graph, durations
