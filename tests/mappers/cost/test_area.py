"""Area per byte: buffers carry area; the report breaks area into PEs and buffers."""

import numpy as np
import pytest

import einsum_cascade.library as library
from mappers.cost.model import build_cost_model, evaluate_costs
from mappers.hardware.spec_loader import load_spec
from mappers.mapping.loader import load_mapping

ONE_PASS = library.load("attention/1pass")
BERT_256K = {"B": 64, "H": 12, "E": 64, "F": 64, "M": 262144, "P": 262144}
# the artifact's PE sweep (the artifact note, section 6): PE_dim, L3 for E = 64, area in cm2
ARTIFACT_PE_SWEEP = [
    (16, 16, 0.054),
    (32, 32, 0.203),
    (64, 64, 0.784),
    (128, 128, 3.08),
    (256, 256, 12.21),
    (512, 1024, 48.85),
]


def binding(columns):
    model = build_cost_model(ONE_PASS, load_spec("fusemax"), load_mapping("fusemax-binding"))
    return evaluate_costs(model, {**BERT_256K, **columns})


def test_a_larger_buffer_has_a_larger_area():
    sizes = np.array([1, 10, 100]) * 2**20
    costs = binding({"L3.size_bytes": sizes})
    per_byte = load_spec("fusemax").level("L3").area_um2_per_byte
    assert per_byte > 0
    assert list(np.diff(costs.area_um2)) == pytest.approx(list(np.diff(sizes) * per_byte))
    assert list(costs.level("L3").area_um2) == pytest.approx(list(sizes * per_byte))


def test_area_parts_sum_to_the_total():
    costs = binding({})
    parts = sum(a.area_um2 for a in costs.arrays) + sum(lv.area_um2 for lv in costs.levels)
    assert float(parts) == pytest.approx(float(costs.area_um2), rel=1e-12)
    assert float(costs.area_um2) == pytest.approx(load_spec("fusemax").area_um2, rel=1e-12)


def test_pe_sweep_areas_within_one_percent_of_the_artifact():
    dims = np.array([d for d, _, _ in ARTIFACT_PE_SWEEP], dtype=float)
    costs = binding(
        {
            "pe2d.shape": np.stack([dims, dims], axis=-1),
            "pe1d.shape": dims[:, None],
            "L3.size_bytes": np.array([kib * 1024 for _, kib, _ in ARTIFACT_PE_SWEEP]),
        }
    )
    ours = costs.area_um2 * 1e-8
    theirs = np.array([cm2 for _, _, cm2 in ARTIFACT_PE_SWEEP])
    assert np.abs(ours / theirs - 1).max() < 0.01
