"""The scaling search: partition ranks as choices, workload extents, bounds, budget, order.

The slow tests search the FuseMax cascade on its own hardware against the hand-made
`fusemax-binding`, and every library cascade on the FuseMax and FLAT specs.
"""

from pathlib import Path

import numpy as np
import pytest

from einsum_cascade import load_cascade
from mappers.cost.model import estimate_cost
from mappers.errors import MappingError
from mappers.hardware.spec_loader import load_spec
from mappers.mapping.loader import load_mapping
from mappers.search.engine import loop_orders, search_mappings, searched_schedules
from mappers.search.partition import complete_point, partition_ranks, partition_values
from mappers.search.placement import better
from mappers.workloads import get_workload

LIBRARY = Path(__file__).resolve().parents[3] / "einsum_cascade" / "library"


def library_names() -> list[str]:
    names = [
        str(p.relative_to(LIBRARY).with_suffix(""))
        for p in sorted(LIBRARY.rglob("*.cascade"))
        if p.parent.name in {"attention", "variants", "pedagogy"}
    ]
    return [*names, "gemm"]


# extents a cascade needs beyond the transformer workload's (the search names them, M503)
EXTRA = {
    "gemm": {"K": 768, "N": 768},
    "variants/gqa": {"G": 4, "R": 3},
    "variants/mqa": {"R": 12},
    "variants/lightning2": {"N": 1024},
    "pedagogy/cascade1": {"K": 1024},
    "pedagogy/cascade2": {"K": 1024},
    "pedagogy/cascade3": {"K": 1024},
    "pedagogy/cascade3-filtered": {"K": 1024, "I": 1024},
}
# the time each search may spend after its first legal mapping (benchmarks/search_library.py
# searches every cascade to the end): FuseMax's run on past it, so the anytime search's later
# structures are costed too; FLAT's stop at it, the legal mapping this test asks for
BUDGET_S = {"fusemax": 1.0, "flat": 0.0}


@pytest.mark.parametrize(
    ("name", "ranks"),
    [
        ("attention/1pass", ("M0",)),
        ("attention/1pass-window", ("M0",)),  # m1 * M0 + m0 in a filter is still a split
        ("variants/agent", ("M0",)),  # P0 divides the queries: it is the algorithm's
        ("variants/lightning2", ()),  # B is read as a value (the decay L^(B - c))
        ("attention/3pass", ()),
    ],
)
def test_partition_ranks(name, ranks):
    assert partition_ranks(load_cascade(name)) == ranks


def test_partition_values_hold_the_default_and_the_array_steps():
    values = partition_values(load_cascade("attention/1pass"), load_spec("flat"), "M0", 4096, 16)
    assert 256 in values and 16 in values and 4096 in values
    assert list(values) == sorted(set(values))


def test_workload_extents_missing_are_named_with_how_to_give_them():
    gqa = load_cascade("variants/gqa")
    point = {k: np.array([float(v)]) for k, v in get_workload("BERT", "1K").extents().items()}
    with pytest.raises(MappingError) as error:
        complete_point(gqa, point, ("B", "H"))
    assert error.value.codes == ("M503",)
    text = str(error.value.diagnostics[0].message) + str(error.value.diagnostics[0].hint)
    assert "G, R" in text and "--extent G=VALUE" in text and "M0" not in text


def test_algorithm_defaults_fill_in():
    agent = load_cascade("variants/agent")
    point = {k: np.array([float(v)]) for k, v in get_workload("BERT", "1K").extents().items()}
    assert complete_point(agent, point, ("B", "H"))["P0"].tolist() == [4.0]


def test_searched_loop_orders_and_schedules():
    one_pass = load_cascade("attention/1pass")
    assert set(loop_orders(one_pass, load_spec("fusemax"))) == {("P",), ("P", "M1"), ("M1", "P")}
    assert searched_schedules(one_pass) == ("pipelined",)  # the running max is loop-carried
    assert searched_schedules(load_cascade("attention/3pass")) == ("overlapped", "pipelined")


def test_a_spent_budget_returns_the_best_found_and_says_so():
    cascade, spec = load_cascade("attention/1pass"), load_spec("fusemax")
    point = get_workload("BERT", "1K").extents()
    (result,) = search_mappings(cascade, spec, point, keep=1, budget_s=0.0)
    assert not result.counts.exhaustive
    assert result.counts.structures_unexplored > 0


def test_progress_is_reported():
    seen = []
    cascade, spec = load_cascade("gemm"), load_spec("fusemax")
    point = {"M": 1024, "K": 256, "N": 256}
    search_mappings(cascade, spec, point, keep=1, progress=lambda c, b: seen.append((c, b)))
    assert seen and seen[-1][0].evaluated > 0


def _key(found):
    return (found.latency_s, found.energy_pj)


def test_picked_mapping_is_never_ranked_worse_than_another_generated():
    """Issue 11 d7: loop orders and (once mappings carry it) stationarity are choices; the
    first mapping returned is ranked best by the model among everything kept, each costed
    directly, and the decomposition's cost is the direct cost."""
    cascade, spec = load_cascade("gemm"), load_spec("flat")
    point = {"M": 4096, "K": 768, "N": 768}
    (result,) = search_mappings(cascade, spec, point, keep=6)
    assert len(result.best) >= 2
    orders = {f.mapping.loop_order for f in result.best}
    assert orders  # the loop order is a searched field of every candidate
    first = result.best[0]
    for other in result.best[1:]:
        assert not better(_key(other), _key(first), 1e-9), other.summary
    for found in result.best:
        assert found.screened[0] == pytest.approx(found.latency_s, rel=1e-9)
        assert found.screened[1] == pytest.approx(found.energy_pj, rel=1e-9)
    counts = result.counts
    assert counts.structures == (
        counts.structures_illegal
        + counts.structures_dominated
        + counts.structures_bounded
        + counts.structures_costed
        + counts.structures_unexplored
    )


# a sample of the lengths (benchmarks/search_fusemax.py prints every BERT and TrXL length)
REDISCOVER = {"BERT": ("1K", "64K", "1M"), "TrXL": ("4K",)}


@pytest.mark.slow
@pytest.mark.parametrize("model", sorted(REDISCOVER))
def test_search_rediscovers_fusemax(model):
    """From attention/1pass and the FuseMax spec alone: latency <= fusemax-binding's (0.1 %)."""
    cascade, spec = load_cascade("attention/1pass"), load_spec("fusemax")
    points = [get_workload(model, s) for s in REDISCOVER[model]]
    columns = {k: np.array([p.extents()[k] for p in points]) for k in points[0].extents()}
    results = search_mappings(cascade, spec, columns, keep=1)
    for point, result in zip(points, results, strict=True):
        binding = load_mapping("fusemax-binding", point.name, point.seq_len)
        reference = estimate_cost(cascade, spec, binding, point).metric("latency_s")
        assert result.best, point.seq_len
        best = result.best[0]
        assert best.latency_s <= reference * 1.001, (point.seq_len, best.summary)


@pytest.mark.slow
@pytest.mark.parametrize("arch", ["fusemax", "flat"])
@pytest.mark.parametrize("name", library_names())
def test_every_library_cascade_gets_a_legal_mapping(name, arch):
    """With the workload's own extents (BERT 1K, plus what the cascade alone names), a legal
    mapping comes back, costed by the model as the decomposition costed it."""
    cascade, spec = load_cascade(name), load_spec(arch)
    declared = {r.name for r in cascade.ranks if r.default is not None}
    point = {k: v for k, v in get_workload("BERT", "1K").extents().items() if k not in declared}
    point.update(EXTRA.get(name, {}))
    if any(r.name == "W" for r in cascade.ranks):
        point.update(W=256)
    (result,) = search_mappings(cascade, spec, point, keep=1, budget_s=BUDGET_S[arch])
    assert result.best, name
    found = result.best[0]
    assert np.isfinite(found.latency_s) and found.latency_s > 0
    assert found.screened[0] == pytest.approx(found.latency_s, rel=1e-9)


@pytest.mark.slow
def test_no_enumerated_mapping_beats_the_pick():
    """Every (binding, spread, tile, placement) of a GEMM under one loop order and schedule,
    costed directly by the model: none is better than what the search picked."""
    import itertools
    from dataclasses import replace

    from mappers.cost.model import build_cost_model, evaluate_design_points
    from mappers.mapping.schema import TileRule
    from mappers.search.candidates import template_for
    from mappers.search.space import bindings, placement_options, structures

    cascade, spec = load_cascade("gemm"), load_spec("flat")
    point = {"M": 1024, "K": 256, "N": 256}
    template = template_for(cascade, spec)
    (result,) = search_mappings(cascade, spec, point, template, keep=1, smallest_tile=256)
    pick = _key(result.best[0])
    tiles = [(("M", m), ("N", n)) for m, n in itertools.product((1024, 512, 256), (256,))]
    for bind in bindings(cascade, spec):
        found, _ = structures(cascade, spec, bind)
        options = placement_options(cascade, spec, dict(bind))
        names = list(options)
        for structure in found:
            for choice in itertools.product(*(options[n] for n in names)):
                placed = dict(zip(names, choice, strict=True))
                place = tuple(
                    (level.name, tuple(t for t, o in placed.items() if level.name in o))
                    for level in spec.levels
                )
                mapping = replace(
                    template,
                    bind=structure.bind,
                    spatial=structure.spatial,
                    reads=structure.reads,
                    place=tuple((lv, ts) for lv, ts in place if ts),
                    tiles=(TileRule("M", fixed=1), TileRule("N", fixed=1)),
                )
                model = build_cost_model(cascade, spec, mapping)
                for tile in tiles:
                    rules = tuple(TileRule(r, fixed=t) for r, t in tile)
                    compiled = replace(model, mapping=replace(model.mapping, tiles=rules))
                    values = evaluate_design_points(compiled, point)
                    key = (float(values["latency_s"][()]), float(values["energy_pj"][()]))
                    if better(key, pick, 1e-9) and _fits(
                        cascade, spec, bind, options, placed, tile
                    ):
                        pytest.fail(f"{structure.describe()} {placed} {tile} beats the pick")


def _fits(cascade, spec, bind, options, placed, tile):
    from mappers.search.footprint import fits

    extents = {"K": 256.0, "M": 1024.0, "N": 256.0, **{r: float(t) for r, t in tile}}
    words = {
        t.name: np.array([float(np.prod([extents[r] for r in t.ranks]))]) for t in cascade.tensors
    }
    row = [options[t.name].index(placed[t.name]) for t in cascade.tensors]
    tiles = {r: np.array([float(t)]) for r, t in tile}
    return bool(
        fits(cascade, spec, dict(bind), options, np.array([row]), words, ("M", "N"), tiles)[0, 0]
    )


def test_stationarity_is_searched_and_the_pick_is_never_worse():
    """Issue 11 d7: on a systolic array (fill and drain per fold) which tensor an einsum
    holds in the PEs changes its cost; the search tries each, and no stationarity of the
    picked mapping is better than the pick."""
    from dataclasses import replace

    from mappers.cost.model import build_cost_model, evaluate_design_points

    flat = load_spec("flat")
    spec = flat.replace_array(replace(flat.array("pe2d"), fill_drain=True))
    cascade = load_cascade("gemm")
    point = {"M": 1000, "K": 2048, "N": 3000}  # compute-bound on the 2D array
    (result,) = search_mappings(cascade, spec, point, keep=8)
    pick = result.best[0]
    assert dict(pick.mapping.bind)["Z"] == "pe2d"
    keys = set()
    for held in ("Z", "A", "W"):
        stationary = () if held == "Z" else (("Z", held),)
        mapping = replace(pick.mapping, stationary=stationary)
        values = evaluate_design_points(build_cost_model(cascade, spec, mapping), point)
        key = (float(values["latency_s"][()]), float(values["energy_pj"][()]))
        assert not better(key, _key(pick), 1e-9), held
        keys.add(key)
    assert len(keys) > 1  # the choice changes the cost here: the check is not vacuous
    for other in result.best[1:]:
        assert not better(_key(other), _key(pick), 1e-9)
