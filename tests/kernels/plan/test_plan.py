import dataclasses
from pathlib import Path

import pytest

from einsum_cascade import count_passes, library, load_cascade, parse_cascade
from kernels.errors import KernelError
from kernels.plan.lower import Role, Storage, plan_kernels
from kernels.plan.tiling import Tiling

DATA = Path(__file__).parents[1] / "data"
TILING = Tiling(tile=32, threads_per_block=64, static_extents=(("E", 64), ("F", 64)))


def _loops(kernel):
    return [s for s in kernel.segments if s.is_loop]


def test_one_pass_cascade_becomes_one_kernel_with_one_running_state_loop():
    plan = plan_kernels(library.load("attention/1pass"), TILING)
    (kernel,) = plan.kernels
    (loop,) = _loops(kernel)
    assert [s.einsum.name for s in loop.steps] == [
        "BQK",
        "LM",
        "RM",
        "SLN",
        "SLD",
        "PRM",  # moved ahead of SLNV (it does not depend on it) so the f-steps are adjacent
        "SPD",
        "RD",
        "SLNV",
        "SPNV",
        "RNV",
    ]
    fused = {s.einsum.name: s.fusion for s in loop.steps if s.fusion is not None}
    assert fused == {"SLNV": 0, "SPNV": 0, "RNV": 0}  # one loop over f for the three
    assert loop.staged == ("K", "V")
    assert [s.einsum.name for s in kernel.segments[-1].steps] == ["AV"]  # after the loop
    assert kernel.buffer("RM").iterative and kernel.buffer("RNV").dims == ("f",)
    assert kernel.buffer("BK").storage is Storage.VIEW
    assert kernel.role("m0") is Role.IN_TILE and kernel.role("m1") is Role.TILE


def test_three_pass_cascade_becomes_three_loops_recomputing_scores():
    plan = plan_kernels(library.load("attention/3pass"), TILING)
    (kernel,) = plan.kernels
    loops = _loops(kernel)
    assert [s.pass_number for s in loops] == [1, 2, 3]
    assert [[s.einsum.name for s in loop.steps] for loop in loops] == [
        ["QK", "GM"],
        ["QK", "SN", "SD"],
        ["QK", "SN", "A", "AV"],
    ]
    across = {s.einsum.name for loop in loops for s in loop.steps if s.across_tiles}
    assert across == {"GM", "SD", "AV"}


def test_scaled_query_is_computed_once_before_the_loops():
    plan = plan_kernels(library.load("attention/3pass-scaled"), TILING)
    first = plan.kernels[0].segments[0]
    assert not first.is_loop
    assert [s.einsum.name for s in first.steps] == ["SQ"]


def test_linear_attention_splits_into_a_state_kernel_and_a_query_kernel():
    plan = plan_kernels(load_cascade(DATA / "linear.cascade"), TILING)
    assert [(k.parallel, k.params) for k in plan.kernels] == [
        ("e", ("K", "V", "KV", "Z")),
        ("p", ("KV", "Q", "Z", "AV")),
    ]


def test_presence_masks_only_where_a_filter_can_remove_points():
    plain = plan_kernels(library.load("attention/1pass"), TILING).kernels[0]
    causal = plan_kernels(library.load("attention/1pass-causal"), TILING).kernels[0]
    assert not plain.buffer("BQK").maybe_absent
    assert causal.buffer("BQK").maybe_absent


@pytest.mark.parametrize(
    ("tensor", "presence_dims"),
    [
        ("BQK", ("m0",)),  # the causal filter drops keys within a tile
        ("SLN", ("m0",)),
        ("SLNV", ()),  # reduced over m0: present for every f or for none
        ("RNV", ()),
        ("AV", ()),
    ],
    ids=["BQK", "SLN", "SLNV", "RNV", "AV"],
)
def test_causal_presence_flags_keep_only_the_ranks_a_filter_reaches(tensor, presence_dims):
    kernel = plan_kernels(library.load("attention/1pass-causal"), TILING).kernels[0]
    assert kernel.buffer(tensor).maybe_absent
    assert kernel.buffer(tensor).presence_dims == presence_dims


def test_causal_shared_bytes_count_one_flag_byte_per_tile_column():
    plan = plan_kernels(library.load("attention/1pass-causal"), TILING)
    # K, V tiles 2 x 64 x 32 x 4 B = 16384; BQK, SLN values 2 x 32 x 64 x 4 B = 16384;
    # BQK, SLN flags (over m0 only) 2 x 32 x 64 x 1 B = 4096; total 36864
    assert plan.shared_bytes(plan.kernels[0]) == 36864


def test_plan_is_frozen_and_hashable():
    first = plan_kernels(library.load("attention/1pass"), TILING)
    second = plan_kernels(library.load("attention/1pass"), TILING)
    assert first == second and hash(first) == hash(second)
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.tiling = TILING  # type: ignore[misc]


def test_shared_bytes_of_the_one_pass_plan():
    plan = plan_kernels(library.load("attention/1pass"), TILING)
    # K and V tiles: 2 x 64 x 32 x 4 B = 16384; BQK and SLN columns: 2 x 32 x 64 x 4 B = 16384
    assert plan.shared_bytes(plan.kernels[0]) == 32768


def test_unsupported_index_expression_names_the_einsum():
    text = "rank E, P\ninput Q[E, P]\noutput Y\nY[e, p] = Q[e, p - 1]\n"
    tiling = Tiling(sequence_rank="P", parallel_rank="E", static_extents=())
    with pytest.raises(KernelError) as info:
        plan_kernels(parse_cascade(text), tiling.with_extents(E=4))
    assert info.value.codes == ("K001",)
    assert "einsum 'Y' reads Q at index 'p - 1'" in str(info.value)


def test_unsupported_function_names_the_einsum_and_lists_supported_ones():
    from einsum_cascade import register_function, unregister_function

    register_function("cube", 1, lambda x: x**3, {"mul": 2})
    try:
        text = "rank E, M, P\ninput Q[E, P], K[E, M]\noutput S\nS[m, p] = cube(Q[e, p] * K[e, m])\n"
        with pytest.raises(KernelError) as info:
            plan_kernels(parse_cascade(text), TILING)
    finally:
        unregister_function("cube")
    assert "einsum 'S' calls 'cube'" in str(info.value)
    assert "supported: abs, elu, exp" in str(info.value)


def test_missing_sequence_rank_is_an_error():
    with pytest.raises(KernelError) as info:
        plan_kernels(
            library.load("attention/1pass"), dataclasses.replace(TILING, sequence_rank="N")
        )
    assert "has no sequence rank 'N'" in str(info.value)


def test_rank_without_static_extent_is_an_error():
    with pytest.raises(KernelError) as info:
        plan_kernels(
            library.load("attention/1pass"), dataclasses.replace(TILING, static_extents=())
        )
    assert info.value.codes == ("K002",)
    assert "needs a static extent" in str(info.value)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("threads_per_block", 2048, "over CUDA's 1024"),
        ("input_dtype", "bfloat16", "input dtype 'bfloat16'"),
        ("tile", 0, "must be positive"),
    ],
    ids=["too-many-threads", "bad-dtype", "zero-tile"],
)
def test_tiling_rejects_bad_values(field, value, message):
    with pytest.raises(KernelError) as info:
        dataclasses.replace(TILING, **{field: value})
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("name", "rank"),
    [("attention/1pass", "M1"), ("attention/3pass", "M"), ("attention/3pass-window", "M")],
)
def test_tile_loops_follow_the_pass_report(name, rank):
    cascade = library.load(name)
    report = count_passes(cascade, rank)
    (kernel,) = plan_kernels(cascade, TILING).kernels
    loops = [s for s in kernel.segments if s.is_loop]
    assert len(loops) == report.num_passes
    for loop in loops:
        owned = {
            s.einsum.name for s in loop.steps if report.pass_of(s.einsum.name) == loop.pass_number
        }
        assert owned == set(report.einsums_in(loop.pass_number)) - {"BK", "BV"}


def test_per_position_recurrence_is_refused_with_a_hint():
    # variants/linear-causal iterates S[m + 1, e, f] over the un-tiled sequence rank
    with pytest.raises(KernelError) as info:
        plan_kernels(library.load("variants/linear-causal"), TILING)
    assert info.value.codes == ("K001",)
    assert "einsum 'S' iterates rank 'M' but the sequence rank is not partitioned" in str(
        info.value
    )
    assert "a per-position recurrence is not lowered" in str(info.value)
