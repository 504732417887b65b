"""The linear layers of one workload point as a report (estimate_linear_cost) and the
GEMM extents each layer gets from the plan."""

import numpy as np
import pytest

from mappers.cost.linear import (
    LinearLayer,
    LinearPlan,
    estimate_linear_cost,
    gemm_extents,
    linear_layers_cost,
)
from mappers.errors import MappingError
from mappers.hardware.spec_loader import load_spec
from mappers.workloads import get_workload


@pytest.mark.parametrize(
    ("layer", "expected"),
    [
        # M = B*P = 64*65536 = 4194304 rows for every layer of BERT at 64K
        (LinearLayer("Q", ("D",), ("E", "H")), (4194304, 768, 64 * 12)),
        (LinearLayer("Z", ("F", "H"), ("D",)), (4194304, 64 * 12, 768)),
        (LinearLayer("FFN1", ("D",), ("S",)), (4194304, 768, 3072)),
    ],
    ids=["projection", "output-projection", "ffn1"],
)
def test_gemm_extents_multiply_the_plan_extents(layer, expected):
    plan = LinearPlan("gemm", ("gemm-resident",), ("B", "P"), (layer,))
    columns = {k: np.asarray(float(v)) for k, v in get_workload("BERT", "64K").extents().items()}
    extents = gemm_extents(plan, layer, columns)
    assert tuple(int(extents[k]) for k in ("M", "K", "N")) == expected


def test_bert_64k_linear_report_on_fusemax():
    report = estimate_linear_cost(load_spec("fusemax"), get_workload("BERT", "64K"))
    assert [layer.name for layer in report.layers] == ["Q", "K", "V", "Z", "FFN1", "FFN2"]
    q = report.layers[0]
    assert (q.rows, q.contraction, q.columns, q.mapping) == (4194304, 768, 768, "gemm-resident")
    # compute-bound on 256x256 PEs: 4194304*768*768 MACs / 65536 = 37748736 cycles / 940 MHz
    assert q.latency_s == pytest.approx(37748736 / 940e6)
    # W fits L3, so A, W and Z each move once: 2 B * (2*4194304*768 + 768*768) = 12886081536
    assert q.traffic_bytes == 12886081536
    # all six: 4194304 * (4*768*768 + 2*768*3072) MACs / 65536 / 940e6
    assert report.latency_s == pytest.approx(
        4194304 * (4 * 768 * 768 + 2 * 768 * 3072) / 65536 / 940e6
    )


def test_linear_report_agrees_with_the_vectorised_costs():
    spec, workload = load_spec("flat"), get_workload("XLM", "1K")
    report = estimate_linear_cost(spec, workload)
    values = linear_layers_cost(spec, workload.extents())
    assert report.energy_pj == pytest.approx(float(values["energy_pj"]))
    assert report.traffic_bytes == float(values["traffic_bytes"])
    # XLM's FFN weights (2048*8192 words) do not fit: the second candidate streams them
    assert {layer.name: layer.mapping for layer in report.layers}["FFN1"] == "gemm-streamed"
    assert report.to_dict()["layers"][4]["mapping"] == "gemm-streamed"


def test_a_plan_extent_the_workload_lacks_is_m403():
    plan = LinearPlan("gemm", ("gemm-resident",), ("B", "P"), (LinearLayer("X", ("D",), ("G",)),))
    with pytest.raises(MappingError) as info:
        estimate_linear_cost(load_spec("fusemax"), get_workload("BERT", "1K"), plan=plan)
    assert info.value.codes == ("M403",)
    assert "linear plan uses extent 'G'" in str(info.value)
