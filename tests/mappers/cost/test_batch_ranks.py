"""Batch ranks repeat a whole cascade; a cascade's own rank is never one (M212)."""

import pytest

from einsum_cascade import load_cascade
from mappers.cost.model import build_cost_model, evaluate_costs
from mappers.errors import MappingError
from mappers.hardware.spec_loader import load_spec
from mappers.mapping.loader import mapping_from_text

# Lightning-2 has a rank B (its block size, 4 tokens): the workload's batch rank B is not it
MAPPING = """version: 1
name: lightning2-on-1d
cascade: variants/lightning2
{batch}bind:
  pe1d: [SC, OI, OX, KS, KV, BO, O]
schedule: overlapped
"""


def _latency(batch: str) -> float:
    cascade, spec = load_cascade("variants/lightning2"), load_spec("fusemax")
    mapping = mapping_from_text(MAPPING.format(batch=batch), "l2.yaml")
    model = build_cost_model(cascade, spec, mapping)
    point = {"E": 64, "F": 64, "N": 1024, "B": 4, "H": 12}
    return float(evaluate_costs(model, point).latency_s)


def test_a_written_batch_rank_that_the_cascade_has_is_refused() -> None:
    with pytest.raises(MappingError) as error:
        _latency("batch_ranks: [B, H]\n")
    assert error.value.codes == ("M212",)
    (diagnostic,) = error.value.diagnostics
    assert diagnostic.span is not None and diagnostic.span.line == 4
    assert "drop 'B'" in (diagnostic.hint or "")


def test_the_default_batch_ranks_leave_out_the_cascades_own_ranks() -> None:
    # no batch_ranks: the default (B, H) less the block size B; so the same as [H]
    assert _latency("") == _latency("batch_ranks: [H]\n")
    assert _latency("") == pytest.approx(12 * _latency("batch_ranks: []\n"))
