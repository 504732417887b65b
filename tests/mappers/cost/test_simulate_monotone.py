"""schedule: simulate is monotone: more bandwidth or a faster array never gives a slower run.

Property tests on random tile graphs (runs of up to a million tiles: the max-plus form costs
the same at any length) and on the FuseMax mapping through the whole model (bandwidth and
PE columns).
"""

import dataclasses

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from task_graphs import ARRAYS, graphs

import einsum_cascade.library as library
from mappers.cost.model import build_cost_model, evaluate_design_points
from mappers.cost.simulate import Durations, TileGraph, simulate_point, simulate_run
from mappers.hardware.spec_loader import load_spec
from mappers.mapping.loader import load_mapping
from mappers.mapping.schema import Schedule, TileRule


def faster(durations: Durations, array: str | None, factor: float) -> Durations:
    """Scale the memory (``array`` None) or one array's task lengths by ``factor``."""
    if array is None:
        return dataclasses.replace(durations, memory_per_tile=durations.memory_per_tile * factor)
    return Durations(
        per_tile={n: t * factor for n, t in durations.per_tile.items()},
        per_row={n: t * factor for n, t in durations.per_row.items()},
        memory_per_tile=durations.memory_per_tile,
    )


# an array that starts ahead and is overtaken rows later: runs the old extrapolation from a
# few simulated sizes got wrong (a faster memory was slower)
_OVERTAKEN = TileGraph(
    prologue=("E",),
    looped=("L0", "L1"),
    epilogue=(),
    arrays={"L0": "x", "L1": "x", "E": "y"},
    current={"L0": (), "L1": (), "E": ()},
    carried={"L0": (), "L1": (), "E": ()},
)


def _overtaken(memory_per_tile: float) -> Durations:
    return Durations(
        per_tile={"L0": 0.0, "L1": 12.0},
        per_row={"L0": 0.0, "L1": 0.0, "E": 25.0},
        memory_per_tile=memory_per_tile,
    )


@pytest.mark.parametrize("rows", [1, 2, 6, 600, 10**6], ids=str)
def test_a_long_run_is_the_full_simulation_and_monotone(rows):
    # y runs E (25 cycles) once per row and waits for nothing: it ends at 25 x rows. x runs
    # L1 (12) per tile after its transfer (23 each, never gated: tile g - 2 is done at
    # 23 (g - 1) + 12): the last ends at 23 x rows + 12. x finishes last up to 5 rows, y
    # from 6 on; the old extrapolation from 2, 4 and 6 rows gave 13,812 cycles at 600 rows
    # (15,000 with an instant memory)
    slow = simulate_point(_OVERTAKEN, _overtaken(23.0), rows, 1)
    fast = simulate_point(_OVERTAKEN, _overtaken(0.0), rows, 1)
    assert fast <= slow
    if rows <= 600:
        assert slow == simulate_run(_OVERTAKEN, _overtaken(23.0), rows, 1)
    assert slow == max(25.0 * rows, 23.0 * rows + 12.0)
    assert fast == 25.0 * rows


@settings(max_examples=300, deadline=None)
@example(case=(_OVERTAKEN, _overtaken(3.0)), rows=6, inner=1, which=None, factor=0.0)
@example(case=(_OVERTAKEN, _overtaken(23.0)), rows=8, inner=1, which=None, factor=0.0)
@given(
    case=graphs(),
    rows=st.integers(1, 12) | st.integers(1, 10**6),
    inner=st.integers(1, 40) | st.integers(1, 10**6),
    which=st.sampled_from((None, *ARRAYS)),
    factor=st.sampled_from((0.0, 0.5, 0.8)) | st.floats(min_value=0.0, max_value=1.0),
)
def test_a_faster_memory_or_array_never_makes_the_run_slower(case, rows, inner, which, factor):
    graph, durations = case
    if which is not None:  # speed up only the einsums bound to that array
        bound = {n for n, a in graph.arrays.items() if a == which}
        sped = faster(durations, which, factor)
        durations_fast = Durations(
            per_tile={
                n: sped.per_tile[n] if n in bound else t for n, t in durations.per_tile.items()
            },
            per_row={n: sped.per_row[n] if n in bound else t for n, t in durations.per_row.items()},
            memory_per_tile=durations.memory_per_tile,
        )
    else:
        durations_fast = faster(durations, None, factor)
    slow = simulate_point(graph, durations, rows, inner)
    fast = simulate_point(graph, durations_fast, rows, inner)
    assert fast <= slow * (1 + 1e-12) + 1e-9


def fusemax_simulated(columns, tile_p=None, seq=65536):
    mapping = dataclasses.replace(load_mapping("fusemax-pipelined"), schedule=Schedule("simulate"))
    if tile_p is not None:  # one mapping: the tile no longer follows the PE count
        mapping = dataclasses.replace(mapping, tiles=(TileRule("P", fixed=tile_p),))
    model = build_cost_model(library.load("attention/1pass"), load_spec("fusemax"), mapping)
    point = {"B": 64, "H": 12, "E": 64, "F": 64, "M": seq, "P": seq, **columns}
    return evaluate_design_points(model, point)["latency_cycles"]


@pytest.mark.parametrize("seq", [1024, 65536, 2**20], ids=["1K", "64K", "1M"])
def test_bert_is_monotone_in_dram_bandwidth(seq):
    # the reported case: the greedy list schedule gave 6.958e9 at 10 GiB/s, 6.969e9 at 12
    # (64K); 200 bandwidths from 1 GiB/s to 1 TiB/s, through every balance point
    reported = np.array([5.0, 8.0, 10.0, 11.0, 12.0, 20.0, 50.0, 100.0, 400.0])
    gib = np.unique(np.concatenate([reported, np.geomspace(1.0, 1024.0, 200)]))
    latency = fusemax_simulated({"DRAM.bandwidth_bytes_per_s": gib * 2**30}, seq=seq)
    assert np.all(np.diff(latency) <= 0)
    assert latency[0] > latency[-1]  # the sweep crosses from memory- to compute-bound


SEQ = 61440  # 2**12 * 15: many array sizes divide it
SIZES = [d for d in range(16, 513) if SEQ % d == 0]


@settings(max_examples=10, deadline=None)
@given(
    sizes=st.lists(st.sampled_from(SIZES), min_size=2, max_size=6, unique=True).map(sorted),
    gib_per_s=st.sampled_from((5.0, 12.0, 50.0, 400.0)),
)
def test_bert_60k_with_a_fixed_tile_is_monotone_in_pes(sizes, gib_per_s):
    # FuseMax charges no fill/drain: more rows or columns never add cycles to an einsum.
    # Array sizes divide the sequence: M0 = rows, and BK, BV are sized ceil(M / M0) * M0,
    # so a ragged M0 adds padded key rows to the DRAM traffic (up to 0.05 % here).
    size = np.array(sizes, dtype=float)
    latency = fusemax_simulated(
        {
            "DRAM.bandwidth_bytes_per_s": gib_per_s * 2**30,
            "pe2d.shape.rows": size,
            "pe2d.shape.cols": size,
            "pe1d.shape.cols": size,
        },
        tile_p=8192,
        seq=SEQ,
    )
    assert np.all(np.diff(latency) <= 0)
