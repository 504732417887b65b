"""A small numeric evaluator for the sweep tests, and tests of the evaluator registry.

``toy_roofline`` is a pure function of the axes: attention-like work 2*seq*seq*E MACs on a
``pe2d.shape`` array at ``clock_hz``, area 1000 um^2 per PE. Other test modules and the
subprocess of the kill test load it as ``test_sweep_evaluator:toy_roofline``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pytest

from mappers.errors import SpecError
from mappers.sweep.errors import SweepError
from mappers.sweep.evaluators import (
    InfeasiblePoints,
    evaluator_names,
    get_evaluator,
    register_evaluator,
)
from mappers.sweep.points import PointGroup

HEAD_DIM = {"BERT": 64, "XLM": 128}
HERE = Path(__file__).parent


@pytest.fixture(autouse=True)
def _toy_importable(monkeypatch):
    monkeypatch.syspath_prepend(str(HERE))


def toy_roofline(group: PointGroup, columns: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    count = len(next(iter(columns.values()))) if columns else 1
    seq = columns.get("seq", np.full(count, 1024))
    shape = columns.get("pe2d.shape", np.full((count, 2), 16))
    clock_hz = columns.get("clock_hz", np.full(count, 1e9))
    head_dim = HEAD_DIM[group.get("workload", "BERT") or "BERT"]
    pes = shape[:, 0] * shape[:, 1]
    macs = 2.0 * seq * seq * head_dim
    delay_s = float(group.get("delay_s", "0") or 0)
    if delay_s:
        time.sleep(delay_s)
    limit = group.get("infeasible_from_seq")
    if limit is not None and (seq >= float(limit)).any():
        message = f"seq {limit} and above does not fit"
        raise InfeasiblePoints(seq >= float(limit), "T401", message, axis="seq")
    broken = group.get("broken_seq")
    if broken is not None and (seq == float(broken)).any():
        raise ValueError(f"cannot evaluate seq {broken}")
    return {"latency_s": macs / (pes * clock_hz), "area_um2": pes * 1000.0, "macs": macs}


def failing_evaluator(
    group: PointGroup, columns: Mapping[str, np.ndarray]
) -> dict[str, np.ndarray]:
    raise SpecError.single("S999", f"spec '{group.get('spec')}' is broken")


def test_get_evaluator_resolves_module_function_names():
    assert get_evaluator("test_sweep_evaluator:toy_roofline").__name__ == "toy_roofline"


def test_register_evaluator_adds_a_name():
    register_evaluator("toy-for-registry-test", toy_roofline)
    assert "toy-for-registry-test" in evaluator_names()
    assert get_evaluator("toy-for-registry-test") is toy_roofline


def test_unknown_evaluator_lists_valid_names():
    with pytest.raises(SweepError) as caught:
        get_evaluator("cots")
    assert caught.value.codes == ("SW301",)
    assert "valid: cost" in str(caught.value)
    assert "did you mean 'cost'?" in str(caught.value)


def test_unloadable_evaluator_path_is_sw302():
    with pytest.raises(SweepError) as caught:
        get_evaluator("no_such_module_here:function")
    assert caught.value.codes == ("SW302",)
