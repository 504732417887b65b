"""Batch/head ranks on the grid: plan roles, launch shape, source, and numerics."""

import dataclasses

import numpy as np
import pytest

from einsum_cascade import library, parse_cascade
from kernels.build.compile import check_resources, compile_source
from kernels.errors import KernelError
from kernels.plan.lower import Role, plan_kernels
from kernels.plan.tiling import Tiling
from kernels.render.cuda import render_cuda
from kernels.run.execute import launch_shape, run_shim, run_twin
from kernels.run.validate import compare, reference

SMALL = Tiling(tile=8, threads_per_block=16, static_extents=(("E", 16), ("F", 8)))
GRIDS = {"variants/mqa": ("H",), "variants/gqa": ("G", "R")}


def _plan(name, tiling=SMALL):
    return plan_kernels(library.load(name), dataclasses.replace(tiling, grid_ranks=GRIDS[name]))


def _inputs(name, keys, queries, seed=0):
    rng = np.random.default_rng(seed)
    shapes = {
        "variants/mqa": {"Q": (3, 16, queries), "K": (16, keys), "V": (8, keys)},
        "variants/gqa": {"Q": (2, 3, 16, queries), "K": (2, 16, keys), "V": (2, 8, keys)},
    }[name]
    return {k: rng.standard_normal(shape).astype(np.float32) for k, shape in shapes.items()}


def test_head_rank_is_a_grid_role_kept_out_of_per_thread_buffers():
    (kernel,) = _plan("variants/mqa").kernels
    assert kernel.role("h") is Role.GRID and kernel.role("p") is Role.PARALLEL
    assert kernel.buffer("RNV").dims == ("f",)  # RNV[h, f, m1, p]: h is the block's, p the thread's
    assert kernel.buffer("K").dims == ("e", "m0")  # the staged tile
    assert "H" in kernel.extents  # the grid extent is a runtime parameter


def test_launch_shape_puts_every_grid_coordinate_on_y():
    plan = _plan("variants/gqa")
    # 33 queries in blocks of 16 -> 3 blocks on x; G x R = 2 x 3 = 6 blocks on y
    grid, block = launch_shape(plan, plan.kernels[0], {"P": 33, "G": 2, "R": 3, "M": 21})
    assert (grid, block) == ((3, 6, 1), (16, 1, 1))


def test_two_grid_ranks_are_decoded_from_block_y_minor_rank_first():
    text = render_cuda(_plan("variants/gqa")).text
    assert "const int r = blockIdx.y % R;\n    const int g = (blockIdx.y / R);" in text
    assert "K[((g) * E + c0) * M + (t * TILE + c1)]" in text  # the block's own head slice


@pytest.mark.parametrize("name", sorted(GRIDS))
@pytest.mark.parametrize(("keys", "queries"), [(1, 1), (21, 33)], ids=["1x1", "21x33"])
def test_grid_plan_on_the_shim_matches_the_twin_and_the_interpreter(name, keys, queries):
    plan = _plan(name)
    data = _inputs(name, keys, queries, seed=keys)
    shim = run_shim(plan, data, padding=64)
    twin = run_twin(plan, data)
    for output, values in shim.items():
        assert not np.isnan(values).any()
        np.testing.assert_allclose(values, twin[output], rtol=1e-5, atol=1e-6)
    assert compare(twin, reference(plan, data, {})).max_abs_error < 1e-5


@pytest.mark.parametrize("arch", ["sm_80", "sm_90"])
@pytest.mark.parametrize("name", sorted(GRIDS))
def test_grid_plans_compile_without_spills_at_head_dim_64(name, arch):
    tiling = Tiling(tile=32, threads_per_block=64, static_extents=(("E", 64), ("F", 64)))
    check_resources(compile_source(render_cuda(_plan(name, tiling)), arch, "nvrtc"))


def test_missing_grid_rank_is_an_error():
    tiling = dataclasses.replace(SMALL, grid_ranks=("B",))
    with pytest.raises(KernelError) as info:
        plan_kernels(library.load("attention/1pass"), tiling)
    assert "has no grid rank 'B'" in str(info.value)


def test_grid_rank_cannot_also_be_the_parallel_rank():
    with pytest.raises(KernelError) as info:
        dataclasses.replace(SMALL, grid_ranks=("P",))
    assert info.value.codes == ("K003",)
    assert "a grid rank must differ from the parallel" in str(info.value)


def test_reducing_a_grid_rank_is_an_error():
    text = "rank E, H, M, P\ninput Q[H, E, P], K[E, M]\noutput S\nS[m, p] = Q[h, e, p] * K[e, m]\n"
    tiling = dataclasses.replace(SMALL, static_extents=(("E", 4),), grid_ranks=("H",))
    with pytest.raises(KernelError) as info:
        plan_kernels(parse_cascade(text), tiling)
    assert "einsum 'S' reduces the grid rank 'H'" in str(info.value)
