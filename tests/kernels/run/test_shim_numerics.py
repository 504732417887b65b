from pathlib import Path

import numpy as np
import pytest

from einsum_cascade import library, load_cascade
from kernels.build.shim import build_shared_library
from kernels.build.source import KernelSource
from kernels.errors import KernelError
from kernels.plan.lower import plan_kernels
from kernels.plan.tiling import Tiling
from kernels.render.cuda import render_cuda
from kernels.run.execute import run_shim, run_twin
from kernels.run.validate import compare, reference

DATA = Path(__file__).parents[1] / "data"
# small static extents keep one std::thread per CUDA thread cheap
TILING = Tiling(tile=8, threads_per_block=16, static_extents=(("E", 16), ("F", 8)))
VARIANTS = [
    "attention/1pass",
    "attention/3pass",
    "attention/1pass-causal",
    "attention/3pass-window",
    "attention/1pass-window",
    "attention/3pass-scaled",
    "linear",
]
PADDING = 64


def load(name):
    if name == "linear":
        return load_cascade(DATA / "linear.cascade")
    return library.load(name)


def inputs(keys, queries, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "Q": rng.standard_normal((16, queries)).astype(np.float32),
        "K": rng.standard_normal((16, keys)).astype(np.float32),
        "V": rng.standard_normal((8, keys)).astype(np.float32),
    }


@pytest.fixture(scope="session")
def plans():
    """Plan and build each variant once per session (builds are cached on disk too)."""
    built = {}
    for name in VARIANTS:
        plan = plan_kernels(load(name), TILING)
        build_shared_library(render_cuda(plan))
        built[name] = plan
    return built


@pytest.mark.parametrize(("keys", "queries"), [(1, 1), (9, 17), (21, 33)], ids=lambda n: str(n))
@pytest.mark.parametrize("name", VARIANTS)
def test_generated_cuda_on_the_shim_matches_the_twin_with_poisoned_padding(
    plans, name, keys, queries
):
    plan = plans[name]
    extents = {"W": 5} if "window" in name else {}
    data = inputs(keys, queries, seed=keys)
    shim = run_shim(plan, data, extents, padding=PADDING)
    twin = run_twin(plan, data, extents)
    for output, values in shim.items():
        assert not np.isnan(values).any()  # no stray read of the NaN padding, nothing unwritten
        np.testing.assert_allclose(values, twin[output], rtol=1e-5, atol=1e-6)


def test_one_pass_shim_matches_interpreter_to_1e5(plans):
    plan = plans["attention/1pass"]
    data = inputs(21, 33)
    result = compare(run_shim(plan, data, padding=PADDING), reference(plan, data, {}))
    assert result.nan_count == 0
    assert result.max_abs_error < 1e-5


def test_removed_store_guard_is_caught_by_the_output_sentinel(plans, monkeypatch):
    plan = plans["attention/1pass"]
    source = render_cuda(plan)
    mutated = source.text.replace("if (row_ok)", "if (true)", 1)
    assert mutated != source.text
    monkeypatch.setattr(
        "kernels.run.execute.render_cuda", lambda _: KernelSource(mutated, source.kernels)
    )
    # 33 queries in blocks of 16: threads 33..47 of the last block write past AV's end
    with pytest.raises(KernelError) as info:
        run_shim(plan, inputs(21, 33), padding=PADDING)
    assert "the kernel wrote past the end of 'AV'" in str(info.value)


def test_wrong_static_extent_is_reported():
    plan = plan_kernels(library.load("attention/1pass"), TILING)
    data = inputs(9, 9)
    data["Q"] = np.zeros((32, 9), np.float32)
    with pytest.raises(KernelError) as info:
        run_twin(plan, data)
    assert "rank E is 32 elsewhere but 16 in 'K'" in str(info.value)
