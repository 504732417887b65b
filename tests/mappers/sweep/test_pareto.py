import numpy as np
import pandas as pd
import pytest

from mappers.sweep.errors import SweepError
from mappers.sweep.pareto import front_positions, pareto


def brute_force_front(values: np.ndarray) -> set[int]:
    keep = set()
    for i, point in enumerate(values):
        dominated = np.any(np.all(values <= point, axis=1) & np.any(values < point, axis=1))
        if not dominated:
            keep.add(i)
    return keep


def test_two_metric_front_by_hand():
    frame = pd.DataFrame({"area": [1, 2, 3, 2, 4], "latency": [9, 4, 1, 5, 1]})
    # (2,5) is dominated by (2,4); (4,1) by (3,1)
    assert pareto(frame, ["area", "latency"]).index.tolist() == [0, 1, 2]


def test_maximise_direction_flips_a_metric():
    frame = pd.DataFrame({"area": [1, 2, 3], "throughput": [1, 5, 4]})
    front = pareto(frame, ["area", "throughput"], ["min", "max"])
    assert front.index.tolist() == [0, 1]  # (3,4) loses to (2,5) on both


def test_exact_duplicates_of_a_front_point_are_all_kept():
    frame = pd.DataFrame({"a": [1, 1, 2], "b": [2, 2, 3]})
    assert pareto(frame, ["a", "b"]).index.tolist() == [0, 1]


def test_rows_with_nan_are_not_on_the_front():
    frame = pd.DataFrame({"a": [np.nan, 2.0, 3.0], "b": [0.0, 2.0, 1.0]})
    assert pareto(frame, ["a", "b"]).index.tolist() == [1, 2]


@pytest.mark.parametrize("seed", [0, 1, 2], ids=["seed0", "seed1", "seed2"])
@pytest.mark.parametrize("count", [2, 3], ids=["2-metrics", "3-metrics"])
def test_front_matches_brute_force(seed, count):
    rng = np.random.default_rng(seed)
    values = rng.integers(0, 12, size=(300, count)).astype(float)
    frame = pd.DataFrame(values, columns=list("abc")[:count])
    front = pareto(frame, list(frame.columns))
    assert set(front.index) == brute_force_front(values)


def test_unknown_metric_suggests_a_column():
    frame = pd.DataFrame({"latency_s": [1.0], "area_um2": [1.0]})
    with pytest.raises(SweepError) as caught:
        pareto(frame, ["latency", "area_um2"])
    assert caught.value.codes == ("SW401",)
    assert "did you mean 'latency_s'?" in str(caught.value)


@pytest.mark.parametrize(
    ("metrics", "directions", "code"),
    [(["a"], None, "SW403"), (["a", "b"], ["min", "up"], "SW402"), (["a", "b"], ["min"], "SW402")],
    ids=["one-metric", "bad-direction", "too-few-directions"],
)
def test_bad_arguments_are_sweep_errors(metrics, directions, code):
    frame = pd.DataFrame({"a": [1.0], "b": [1.0]})
    with pytest.raises(SweepError) as caught:
        pareto(frame, metrics, directions)
    assert caught.value.codes == (code,)


def test_front_positions_are_the_rows_pareto_returns():
    rng = np.random.default_rng(7)
    values = rng.integers(0, 20, size=(200, 2)).astype(float)
    values[3, 1] = np.nan
    frame = pd.DataFrame(values, columns=["area", "latency"], index=np.arange(200) * 3)
    positions = front_positions(values, ["min", "max"])
    expected = pareto(frame, ["area", "latency"], ["min", "max"]).index // 3
    assert positions.tolist() == expected.tolist()
