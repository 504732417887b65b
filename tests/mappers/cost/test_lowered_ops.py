"""Ops a spec lowers to others (``lower_to``): what they become and how often they are charged.

Lightning-2's decay ``pow(L, b - c)`` is lowered by the FuseMax and FLAT specs to
``exp(y ln x)``; its exponent is an expression of coordinates, so each evaluation also
computes ``b - c``.
"""

from dataclasses import replace
from itertools import product

import pytest

from einsum_cascade import load_cascade
from mappers.cost.model import build_cost_model, evaluate_costs
from mappers.hardware import load_spec
from mappers.hardware.spec import OpCost, lower_op, op_cycles_and_energy
from mappers.mapping import mapping_from_text


def test_pow_is_exp_of_y_ln_x():
    fusemax, flat = load_spec("fusemax"), load_spec("flat")
    for array in fusemax.arrays:  # log and exp are 6 MACs each, the multiply 1
        assert lower_op(array, "pow") == {"mac": 13.0}
    assert lower_op(flat.array("pe1d"), "pow") == {"mac": 7.0, "exp": 1.0}  # the exp unit
    assert lower_op(flat.array("pe2d"), "pow") is None  # FLAT's 2D array has no exp


N, E, F, B = 64, 8, 4, 4
T = N // B
MAPPING = """version: 1
name: lightning2-on-pe1d
cascade: variants/lightning2
spec: fusemax
batch_ranks: [H]   # B is the block size here, not a batch
bind:
  pe1d: [SC, OI, OX, KS, KV, BO, O]
spatial:
  pe1d: {cols: [f]}
place:
  DRAM: [Q, K, V, L, BQ, BK, BV, SC, OI, OX, KS, KV, BO, O]
schedule: overlapped
"""


def _charged(op: str) -> dict[str, float]:
    """Per einsum, how many ``op`` the model charges: the energy one more pJ per op adds."""
    cascade, spec = load_cascade("variants/lightning2"), load_spec("fusemax")
    mapping = mapping_from_text(MAPPING)
    point = {"N": N, "E": E, "F": F, "B": B, "H": 1}
    pe1d = spec.array("pe1d")
    cycles, energy = op_cycles_and_energy(pe1d, op) or (0.0, 0.0)
    bumped = spec.replace_array(replace(pe1d.with_op(op, OpCost(cycles, energy + 1.0))))
    base = evaluate_costs(build_cost_model(cascade, spec, mapping), point)
    more = evaluate_costs(build_cost_model(cascade, bumped, mapping), point)
    return {
        a.name: float(b.energy_pj) - float(a.energy_pj)
        for a, b in zip(base.einsums, more.einsums, strict=True)
    }


def test_pow_with_a_coordinate_exponent_is_charged_once_per_point():
    pows, subs = _charged("pow"), _charged("sub")
    # OX: pow(L, b) per (f, t, b, e); KS: pow(L, B - c) per (t, e, f, c); KV: pow(L, B)
    assert pows["OX"] == pytest.approx(F * T * B * E)
    assert pows["KS"] == pytest.approx(T * E * F * B)
    assert pows["KV"] == pytest.approx(T * E * F)
    # the exponent's index arithmetic is one subtract wherever it is b - c or B - c
    assert subs["KS"] == pytest.approx(pows["KS"])
    assert subs["OX"] == pytest.approx(0) and subs["KV"] == pytest.approx(0)
    # OI (c <= b) is charged by the folds that hold a present point, its pow like its subtract
    present = sum(1 for _, _, b, c in product(range(F), range(T), range(B), range(B)) if c <= b)
    assert present <= pows["OI"] <= F * T * B * B
    assert subs["OI"] == pytest.approx(pows["OI"])
