"""The search prices an overlapped schedule's first load and last store (``ends: tile``)
as the cost model does: per tensor, by its staging; the pick is the model's best."""

import itertools
from dataclasses import replace

import numpy as np
import pytest
from ends_gemm import GEMM, SPEC

from mappers.cost.model import build_cost_model, evaluate_costs
from mappers.mapping.loader import mapping_from_text
from mappers.mapping.schema import Schedule
from mappers.mapping.writer import mapping_yaml
from mappers.search.engine import search_mappings, template_for
from mappers.search.placement import (
    PlacementSearch,
    TensorChoices,
    Timing,
    adds_ends,
    better,
    objective_pair,
)

POINT = {"M": 16, "K": 8, "N": 16}


def _choices(deltas):
    """Tensors with two options each (0: streamed, 1: staged), no pool to fill."""
    live = (np.zeros((1, 1)), np.zeros((1, 1)))
    return [
        TensorChoices(
            name,
            (None, None),
            live,
            [tuple(np.zeros(1) for _ in range(3)), tuple(np.array([v]) for v in delta)],
        )
        for name, delta in deltas.items()
    ]


def _search(deltas, base, timing, objective="latency", keep=1):
    search = PlacementSearch(_choices(deltas), {}, (), _no_fetch, objective, 1e-9)
    best = []
    assert search.run(0, base, timing, 1.0, 1.0, best, keep)
    return best


def _no_fetch(t, k):
    raise AssertionError("every delta is known")


def test_the_ends_change_which_placement_wins_by_hand():
    # one byte a cycle, compute 100 cycles; base (both streamed): 150 bytes of traffic.
    # Staging A saves 40 bytes of traffic and adds a first tile of 30 bytes; staging B
    # saves 40 and adds 5.
    deltas = {"A": (-40.0, -10.0, 30.0), "B": (-40.0, -10.0, 5.0)}
    base = (150.0, 1000.0, 0.0)
    # ends overlapped: none 150, A 110, B 110, both max(70, 100) = 100
    (none,) = _search(deltas, base, Timing((100.0,), (False,)))
    assert (none.choice, none.latency_s, none.energy_pj) == ((1, 1), 100.0, 980.0)
    # ends charged: A max(110, 100 + 30) = 130, B max(110, 105) = 110, both max(70, 135) = 135
    (tile,) = _search(deltas, base, Timing((100.0,), (True,)))
    assert (tile.choice, tile.latency_s, tile.energy_pj) == ((0, 1), 110.0, 990.0)
    # a second schedule without ends (compute 120) wins where the ends cost more: both
    # staged is max(70, 120) = 120 there, B staged alone 110 with the ends still best
    (two,) = _search(deltas, base, Timing((100.0, 120.0), (True, False)))
    assert (two.choice, two.latency_s, two.schedule) == ((0, 1), 110.0, 0)
    (slow,) = _search(
        {"A": (-80.0, 0.0, 60.0)}, (150.0, 0.0, 0.0), Timing((100.0, 120.0), (True, False))
    )
    assert (slow.latency_s, slow.schedule) == (120.0, 1)  # max(70, 160) against max(70, 120)


@pytest.mark.parametrize("objective", ["latency", "energy", "edp"])
def test_the_bound_never_cuts_the_best_placement(objective):
    """Random deltas of traffic, energy and ends, two schedules (one adding the ends): the
    branch and bound's pick is as good as the best of every placement enumerated."""
    rng = np.random.default_rng(11)
    for _ in range(60):
        count = int(rng.integers(1, 5))
        names = [f"T{i}" for i in range(count)]
        deltas = {
            n: (rng.uniform(-50, 10), rng.uniform(-20, 20), rng.uniform(0, 40)) for n in names
        }
        base = (
            float(rng.uniform(100, 300)),
            float(rng.uniform(200, 400)),
            float(rng.uniform(0, 20)),
        )
        timing = Timing((float(rng.uniform(50, 150)), float(rng.uniform(50, 200))), (True, False))
        (found,) = _search(deltas, base, timing, objective)

        def key(choice, names=names, deltas=deltas, base=base, timing=timing):
            picked = [n for n, c in zip(names, choice, strict=True) if c]
            total = [base[i] + sum(deltas[n][i] for n in picked) for i in range(3)]
            cycles, _ = timing.latency_cycles(total[0], total[2], 1.0)
            return objective_pair(objective, cycles, total[1])

        for choice in itertools.product((0, 1), repeat=count):
            assert not better(key(choice), key(found.choice), 1e-9), (choice, found.choice)


def test_every_tiled_schedule_with_tile_ends_adds_them():
    # pipelined and stages charged no ends before, so the search picked them to dodge them
    for kind in ("overlapped", "stages", "pipelined"):
        assert adds_ends(Schedule(kind))
        assert not adds_ends(Schedule(kind, ends="none"))
    assert not adds_ends(Schedule("sequential"))
    assert not adds_ends(Schedule("simulate"))


def _modelled(found):
    """Return (latency s, energy pJ) of the found mapping's YAML as `model` costs it."""
    mapping = mapping_from_text(mapping_yaml(found.mapping))
    costs = evaluate_costs(build_cost_model(GEMM, SPEC, mapping), POINT)
    return float(costs.latency_s), float(costs.energy_pj)


def _search_gemm(ends, kind="overlapped"):
    template = None
    if ends is not None:
        template = replace(template_for(GEMM, SPEC), schedule=Schedule(kind, ends=ends))
    (result,) = search_mappings(GEMM, SPEC, POINT, template, keep=3)
    return result.best


def test_a_gemm_whose_ends_make_streaming_win():
    # Compute: 16 x 8 x 16 = 2,048 MACs on 16 PEs (m on rows, n on cols) = 128 cycles.
    # Staging A and W in L3: DRAM words A 128 + W 128 + Z 256 = 512 (32 cycles, hidden),
    # energy 2,048 + 512 = 2,560 pJ. Streaming them (the array reads DRAM): A is read once
    # per column fold (16 / 4 = 4 times), W once per row fold: 512 + 512 + 256 = 1,280
    # words (80 cycles, hidden), 3,328 pJ. Both take 128 cycles with ends: none, so the
    # staging's energy wins; with ends: tile the staged first tile (M and N whole: A and
    # W, 256 words = 16 cycles) comes before the compute, 144 cycles, and streaming wins.
    none = _search_gemm("none")[0]
    assert none.mapping.schedule == Schedule("overlapped", ends="none")  # the template's
    assert {t for t in ("A", "W") if "L3" in none.mapping.levels_of(t)} == {"A", "W"}
    assert (none.latency_s, none.energy_pj, none.traffic_bytes) == (128e-9, 2560.0, 1024.0)
    tile = _search_gemm("tile")[0]
    assert tile.mapping.schedule == Schedule("overlapped")
    assert all(tile.mapping.levels_of(t) == ("DRAM",) for t in ("A", "W", "Z"))
    assert (tile.latency_s, tile.energy_pj, tile.traffic_bytes) == (128e-9, 3328.0, 2560.0)
    staged = mapping_from_text(mapping_yaml(none.mapping).replace("{ends: none}", "{ends: tile}"))
    costs = evaluate_costs(build_cost_model(GEMM, SPEC, staged), POINT)
    assert float(costs.latency_cycles) == 128 + 16
    assert float(costs.ends_words) == 256


def test_pipelined_pays_the_ends_as_overlapped_does():
    # the same GEMM under a pipelined template: one einsum, so its compute is overlapped's
    # (128 cycles); with ends: tile the staged first tile's 16 cycles no longer hide, and
    # streaming wins as above (before, pipelined charged no ends and kept A and W staged)
    none = _search_gemm("none", "pipelined")[0]
    assert none.mapping.schedule == Schedule("pipelined", ends="none")
    assert (none.latency_s, none.energy_pj, none.traffic_bytes) == (128e-9, 2560.0, 1024.0)
    tile = _search_gemm("tile", "pipelined")[0]
    assert tile.mapping.schedule == Schedule("pipelined")
    assert all(tile.mapping.levels_of(t) == ("DRAM",) for t in ("A", "W", "Z"))
    assert (tile.latency_s, tile.energy_pj, tile.traffic_bytes) == (128e-9, 3328.0, 2560.0)
    assert "pipelined: {ends: none}" in mapping_yaml(none.mapping)


def test_the_untemplated_search_no_longer_dodges_the_ends_with_pipelined():
    # both searched schedules pay the ends, so staging A and W costs 144 cycles under
    # either, and the search streams them (128 cycles) whichever schedule it keeps
    best = _search_gemm(None)[0]
    assert best.latency_s == 128e-9
    assert all(best.mapping.levels_of(t) == ("DRAM",) for t in ("A", "W", "Z"))


@pytest.mark.parametrize(
    ("ends", "kind"),
    [
        ("tile", "overlapped"),
        ("none", "overlapped"),
        (None, None),
        ("tile", "pipelined"),
        ("none", "pipelined"),
    ],
)
def test_each_searched_mapping_costs_in_the_model_what_the_search_reported(ends, kind):
    # None: no template; the schedule is searched too (overlapped and pipelined, tile ends)
    for found in _search_gemm(ends, kind or "overlapped"):
        assert found.screened[0] == pytest.approx(found.latency_s, rel=1e-9)
        assert found.screened[1] == pytest.approx(found.energy_pj, rel=1e-9)
        latency, energy = _modelled(found)
        assert latency == pytest.approx(found.latency_s, rel=1e-12), found.summary
        assert energy == pytest.approx(found.energy_pj, rel=1e-12), found.summary
