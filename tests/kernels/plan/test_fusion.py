from pathlib import Path

import pytest

from einsum_cascade import library, load_cascade, parse_cascade
from kernels.plan.lower import plan_kernels
from kernels.plan.tiling import Tiling

DATA = Path(__file__).parents[1] / "data"
TILING = Tiling(tile=32, threads_per_block=64, static_extents=(("E", 64), ("F", 64)))


def _steps(kernel):
    return [(s.einsum.name, s.fusion) for segment in kernel.segments for s in segment.steps]


def test_independent_step_moves_ahead_so_f_steps_share_one_loop():
    # N[f] and AV[f] loop over f; D does not read N, so it moves ahead of N
    plan = plan_kernels(load_cascade(DATA / "linear.cascade"), TILING)
    assert _steps(plan.kernels[1]) == [("FQ", None), ("D", None), ("N", 0), ("AV", 0)]


def test_step_reading_a_reduction_of_the_group_does_not_join_it():
    # S reduces A over f, and B reads S: B must wait for every f of A, so no shared loop
    text = (
        "rank F, M, P\ninput Q[F, P], K[F, M]\noutput B\n"
        "A[f, p] = Q[f, p] * 2\nS[p] = A[f, p]\nB[f, p] = A[f, p] / S[p]\n"
    )
    tiling = Tiling(tile=32, threads_per_block=64, static_extents=(("F", 8),))
    (kernel,) = plan_kernels(parse_cascade(text), tiling).kernels
    assert _steps(kernel) == [("A", None), ("S", None), ("B", None)]


@pytest.mark.parametrize("name", ["attention/1pass-causal", "attention/1pass-window"])
def test_running_numerator_steps_share_one_loop_over_f(name):
    (kernel,) = plan_kernels(library.load(name), TILING).kernels
    fused = [n for n, number in _steps(kernel) if number is not None]
    assert fused == ["SLNV", "SPNV", "RNV"]
