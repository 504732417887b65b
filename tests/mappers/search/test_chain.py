"""The chain's node work: what it decides incrementally equals what it decides from scratch,
and its bound per loop order never exceeds the cost model."""

import random

import numpy as np
from fusemax_search import fusemax_search

from mappers.search.chain import Chain, Option, _dimension_list, _DimState, _grown
from mappers.search.space import Structure

EXTENTS = {"B": 1}  # a batch of one keeps the models small


def test_grown_dimension_states_decide_as_candidate_lists():
    """Each array dimension's state, grown one einsum at a time, is refused exactly when no
    candidate list gives every einsum on the array its spread (networkx's topological
    sort, from scratch), over random einsum chains of Agent's 17 einsums on both arrays."""
    chain = fusemax_search("variants/agent", "1K", EXTENTS).chain
    rng = random.Random(5)
    refused = accepted = 0
    for _ in range(400):
        array = rng.choice(chain.spec.arrays)
        dims = array.dims
        states = (_DimState(),) * len(dims)
        on_array = []
        for depth in sorted(rng.sample(range(len(chain.einsums)), rng.randint(2, 9))):
            choices = [o for o in chain.options[depth] if o.array == array.name]
            if not choices:
                continue
            option = rng.choice(choices)
            einsum = chain.einsums[depth]
            on_array.append((einsum, option))
            variables = frozenset(einsum.variables)
            spread = dict(option.assignment)
            grown = [_grown(s, spread.get(d), variables) for s, d in zip(states, dims, strict=True)]
            for dim, state in zip(dims, grown, strict=True):
                listed = _dimension_list(on_array, dim, chain.variables)
                assert (state is None) == (listed is None), (dim, on_array)
            if any(state is None for state in grown):
                refused += 1
                break
            accepted += 1
            states = tuple(s for s in grown if s is not None)
    assert refused > 50 and accepted > 50


def _agent_structure(chain: Chain) -> list[Option]:
    """Return the options of a structure Agent's search costed, slower than the memory
    bound, before per-order bounds."""
    # (array, variable on the rows, on the columns) per einsum
    spreads = {
        **dict.fromkeys(("AG", "QA", "O"), ("pe1d", None, "p")),
        **dict.fromkeys(("BAK", "VA"), ("pe1d", None, "n")),
        **dict.fromkeys(("LM", "SLN", "SLD", "SLNV"), ("pe2d", "m0", "n")),
        **dict.fromkeys(("RM", "PRM", "RD"), ("pe2d", None, "n")),
        "RNV": ("pe2d", "f", "n"),
        **dict.fromkeys(("GA", "EA", "DA"), ("pe2d", None, "p")),
        "OA": ("pe2d", "f", "p"),
    }
    chosen = []
    for depth, einsum in enumerate(chain.einsums):
        array, rows, cols = spreads[str(einsum.name)]
        wanted = tuple((d, v) for d, v in (("rows", rows), ("cols", cols)) if v is not None)
        options = chain.options[depth]
        chosen.append(next(o for o in options if (o.array, o.assignment) == (array, wanted)))
    return chosen


def test_analytic_cycles_per_loop_order_never_exceed_the_model():
    """Before anything is learned, an option's cycles under a loop order that runs a
    derived rank one index at a time (``N``: one agent per tile) count one PE for a spread
    over it: never above the model's least over tiles under that order, and far above the
    full-extent cycles where the spread is over that rank."""
    search = fusemax_search("variants/agent", "1K", EXTENTS)
    chain = search.chain
    chosen = _agent_structure(chain)
    structure = chain._structure(tuple(chosen))
    raised = 0
    for o, order in enumerate(search.orders):
        search.prepare(structure, order)
        for einsum, option in zip(chain.einsums, chosen, strict=True):
            key = search.einsum_key(structure, str(einsum.name), order)
            model = search.einsum_cycles[key].reshape(-1, search.count).min(axis=0)
            assert np.all(option.per_order[o] <= model * (1 + 1e-12)), (einsum.name, order)
            if "n" in {v for _, v in option.assignment} and "N" in order:
                assert np.all(option.per_order[o] >= 16 * option.cycles), einsum.name
                raised += 1
    assert raised >= 5


def test_bound_per_loop_order_never_exceeds_the_model():
    """Agent's pooling einsum spread over queries is cheapest under the loop over agents
    (its filter's folds are then small), the einsums spread over agents without it: once
    the options are learned under each order, the bound (least over orders of each order's
    bound) stays below the model and above the bound with each option's least over orders.
    """
    search = fusemax_search("variants/agent", "1K", EXTENTS)
    chain = search.chain
    chosen = _agent_structure(chain)
    structure = chain._structure(tuple(chosen))
    fastest = [search.prepare(structure, order).fastest for order in search.orders]
    assert all(c.shape == (len(search.orders), search.count) for c in chain.learned.values())
    bound = chain.compute_bound(chain._bound_loads(chosen), len(chosen), chosen)
    assert np.all(bound <= np.min(fastest, axis=0) * (1 + 1e-12))
    least = fusemax_search("variants/agent", "1K", EXTENTS).chain
    for (depth, array, spread), cycles in chain.learned.items():
        for order in range(len(search.orders)):
            least.learn(
                str(chain.einsums[depth].name), array, spread, order, np.min(cycles, axis=0)
            )
    loose = least.compute_bound(least._bound_loads(chosen), len(chosen), chosen)
    assert np.all(bound > loose * 1.1)  # 5.97e6 cycles against 4.89e6 (model: 6.11e6)


def _chosen(chain: Chain, structure: Structure) -> tuple[Option, ...]:
    assignment = dict(structure.assignment)
    return tuple(
        next(
            o
            for o in chain.options[depth]
            if o.array == structure.array_of(e.name) and o.assignment == assignment[e.name]
        )
        for depth, e in enumerate(chain.einsums)
    )
