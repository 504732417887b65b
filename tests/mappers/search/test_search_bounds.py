"""The search's bounds and its compute assembled from einsums costed in other structures.

A bound must never exceed what the cost model then charges (else the search could cut the
best mapping), and assembled compute must equal the model's exactly.
"""

import math

import numpy as np
from fusemax_search import fusemax_search

from einsum_cascade import load_cascade
from mappers.hardware.spec_loader import load_spec
from mappers.search.chain import Option
from mappers.search.engine import (
    _Search,
    search_mappings,
)
from mappers.search.space import Structure
from mappers.workloads import get_workload


def _structures(search: _Search, count: int) -> list[tuple[Structure, np.ndarray]]:
    """Return the first structures best first, with their latency bounds (no incumbent)."""
    never = np.full(search.count, np.inf)
    out = []
    for structure, latency, _ in search.chain.structures(
        lambda: (never, never), search.worse, search.memory_bound, lambda: False
    ):
        out.append((structure, latency))
        if len(out) == count:
            break
    return out


def _chosen(search: _Search, structure: Structure) -> tuple[Option, ...]:
    chain, assignment = search.chain, dict(structure.assignment)
    return tuple(
        next(
            o
            for o in chain.options[depth]
            if o.array == structure.array_of(einsum.name)
            and o.assignment == assignment[einsum.name]
        )
        for depth, einsum in enumerate(chain.einsums)
    )


def _least_latency(search: _Search, structure: Structure) -> np.ndarray:
    """Return per row the model's least latency at unbounded DRAM bandwidth (every loop
    order, tile and schedule) under the compulsory-traffic floor, as the bound is."""
    fastest = [search.prepare(structure, order).fastest for order in search.orders]
    return search.memory_bound(np.min(fastest, axis=0))


def test_pipelined_bound_never_exceeds_the_model():
    """The 1-pass cascade runs pipelined only: its bound counts (T - 1) intervals plus one
    tile's critical path, and (once learned) the model's cycles of each einsum option."""
    one = {"B": 1, "H": 1}  # few tiles: the critical path weighs in the bound
    search = fusemax_search("attention/1pass", "1K", one)
    for structure, bound in _structures(search, 6):
        least = _least_latency(search, structure)
        assert np.all(bound <= least * (1 + 1e-12)), structure.describe()
    learned = search.chain.learned
    assert learned  # every option of the costed structures is known under every order
    for (depth, array, assignment), cycles in learned.items():
        option = next(
            o
            for o in search.chain.options[depth]
            if o.array == array and o.assignment == assignment
        )
        assert np.all(cycles >= option.cycles)
    for structure, _ in _structures(fusemax_search("attention/1pass", "1K", one), 6):
        chosen = _chosen(search, structure)
        loads = search.chain._bound_loads(chosen)
        tightened = search.memory_bound(search.chain.compute_bound(loads, len(chosen), chosen))
        assert np.all(tightened <= _least_latency(search, structure) * (1 + 1e-12))


def test_learned_bound_is_tighter_than_the_present_points():
    """A causal filter's model charges whole folds: after one structure the bound of a
    structure with the same options is the model's, above the exact present points'."""
    search = fusemax_search("attention/2pass-a-causal", "1K")
    ((structure, analytic),) = _structures(search, 1)
    least = _least_latency(search, structure)
    chosen = _chosen(search, structure)
    loads = search.chain._bound_loads(chosen)
    learned = search.memory_bound(search.chain.compute_bound(loads, len(chosen), chosen))
    assert np.all(learned <= least * (1 + 1e-12))
    assert np.all(learned > analytic * 1.01)


def test_assembled_compute_equals_the_models():
    """An einsum's cycles depend on its array, spread, loop order and tiles only: compute
    assembled from other structures' einsums is the model's, for both schedules."""
    search = fusemax_search("attention/2pass-a-causal", "1K")
    assembled = 0
    for structure, _ in _structures(search, 12):
        for order in search.orders:
            combos = search.tile_choices(order)
            got = search.assembled(structure, order, combos)
            _, base = search.placement_setup(structure)
            probe = tuple((rank, 1) for rank, _ in combos[0]) if combos else ()
            mapping = search.mapping(structure, order, search.schedules[0], probe, base)
            want = search.compute(search.model(mapping), combos, structure)
            if got is None:
                continue
            assembled += 1
            for mine, model in zip(got, want, strict=True):
                assert mine.keys() == model.keys() == {"overlapped", "pipelined"}
                for schedule in mine:
                    np.testing.assert_array_equal(mine[schedule], model[schedule])
    assert assembled > 0


def test_gqa_search_is_exhaustive_with_few_models():
    """GQA's extra ranks multiply the spreads of its small einsums; the bounds (critical
    path, learned cycles) and assembled compute cut them before their models are built
    (1,404 models and 72 costed structures before)."""
    cascade, spec = load_cascade("variants/gqa"), load_spec("fusemax")
    point = {**get_workload("BERT", "1K").extents(), "G": 2, "R": 2, "H": 1}
    (result,) = search_mappings(cascade, spec, point, keep=1)
    assert result.counts.exhaustive
    assert result.counts.structures_costed <= 10
    assert result.counts.models_built <= 400
    # 561,788 cycles at 940 MHz, plus the pipelined schedule's first load and last store
    # (ends: tile): 65,536 words at 400 GiB/s (228.5 words a cycle), 286.9 cycles
    ends_s = 65536 * 2 / (400 * 2**30)
    assert math.isclose(result.best[0].latency_s, 561788 / 940e6 + ends_s, rel_tol=1e-9)


def test_learned_energy_bound_never_exceeds_the_models():
    """Once an einsum option was costed under every loop order, the energy bound uses its
    ops at the points the model charges, its register reads and its result writes: no
    placement of a structure with those options costs less (window cascades tie on
    latency; energy decides)."""
    search = fusemax_search("attention/1pass-window", "1K", {"B": 1, "H": 1, "W": 128})
    structures = [s for s, _ in _structures(search, 2)]
    for structure in structures:
        for order in search.orders:
            search.prepare(structure, order)
    chain = search.chain
    assert chain.learned_energy
    raised = 0
    for (depth, array, assignment), energy in chain.learned_energy.items():
        option = next(
            o for o in chain.options[depth] if o.array == array and o.assignment == assignment
        )
        assert np.all(energy >= option.energy)
        raised += bool(np.all(energy > option.energy * 1.01))
    assert raised > 0  # register reads and a filter's folds charge more than the ops
    for structure in structures:
        chosen = _chosen(search, structure)
        bound = chain.energy_bound(
            sum((o.energy for o in chosen), np.zeros(search.count)), len(chosen), chosen
        )
        bound = bound + chain.base_energy
        options, base = search.placement_setup(structure)
        variants = [base] + [
            {**base, name: choice} for name in search.tensors for choice in options[name][1:]
        ]
        for order in search.orders:
            combos = search.tile_choices(order)
            probe = tuple((rank, 1) for rank, _ in combos[0]) if combos else ()
            for placement in variants:
                mapping = search.mapping(structure, order, search.schedules[0], probe, placement)
                for values in search.evaluate(search.model(mapping), combos):
                    assert np.all(bound <= values["energy_pj"] * (1 + 1e-12)), structure.describe()


def test_worse_is_better_negated_at_every_row():
    """The whole-row comparison agrees with the per-candidate one, ties and infinities too."""
    from mappers.search.candidates import TOLERANCE
    from mappers.search.placement import better, objective_pair

    rng = np.random.default_rng(7)
    search = fusemax_search("attention/1pass", "4K")
    rows = search.count
    for objective in ("latency", "energy", "edp"):
        search.objective = objective
        for _ in range(200):
            latency, energy = rng.choice([1.0, 2.0, 1.0 + 5e-10, np.inf], size=(2, rows))
            primary, secondary = rng.choice([1.0, 2.0, 4.0, np.inf], size=(2, rows))
            got = search.worse(latency, energy, primary, secondary)
            for row in range(rows):
                key = objective_pair(objective, float(latency[row]), float(energy[row]))
                want = not better(key, (float(primary[row]), float(secondary[row])), TOLERANCE)
                assert got[row] == want, (objective, latency[row], energy[row], primary[row])
