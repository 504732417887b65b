"""The Triton renderer, run by Triton's interpreter (CPU) against the cascade interpreter.

Tolerances (``kernels.run.validate.TOLERANCES``) against float64 on the same rounded inputs,
|got - want| <= atol + rtol * |want|: fp32 rtol 1e-4, atol 1e-5 (the interpreter's dots are
exact fp32); fp16 rtol = atol = 2e-3 (P is rounded to fp16 before the PV dot, as on a GPU).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("triton", reason="Triton is not installed (pip install -e '.[triton]')")

from einsum_cascade.sources import load_cascade
from kernels import KernelError, Tiling, plan_kernels
from kernels.plan.skipping import tile_bounds
from kernels.render.triton import render_triton
from kernels.run.triton_launch import run_triton_interpreter
from kernels.run.validate import compare, reference, tolerance, within

ROOT = Path(__file__).parents[3]
GRIDS = {"variants/gqa": ("G", "R"), "variants/mqa": ("H",)}
LIBRARY = [
    "attention/1pass",
    "attention/1pass-causal",
    "attention/1pass-scaled",
    "attention/1pass-window",
    "attention/3pass",
    "attention/3pass-causal",
    "attention/3pass-window",
    "attention/3pass-scaled",
    "attention/3pass-deferred",
    "attention/3pass-deferred-causal",
    "attention/3pass-deferred-window",
    "attention/3pass-deferred-scaled",
    "variants/gqa",
    "variants/mqa",
    "variants/linear",
    "variants/sink",
    "variants/sliding-window",
    "variants/softcap",
    "variants/streaming-llm",
]


def _plan(name: str, dtype: str = "float32", tile: int = 32, rows: int = 32, **kw: object):
    tiling = Tiling(
        tile=tile,
        threads_per_block=rows,
        input_dtype=dtype,
        grid_ranks=GRIDS.get(name, ()),
        **kw,  # type: ignore[arg-type]
    )
    return plan_kernels(load_cascade(name), tiling)


def _check(plan, shape: dict[str, int], scale: float = 1.0, seed: int = 0) -> None:
    extents = {**dict(plan.tiling.static_extents), **shape}
    extents = {k: v for k, v in extents.items() if plan.cascade.has_rank(k)}
    rng = np.random.default_rng(seed)
    arrays = {
        t.name: (rng.standard_normal(tuple(extents[r] for r in t.ranks)) * scale).astype(np.float32)
        for t in plan.cascade.inputs
    }
    inputs = {r for t in plan.cascade.inputs for r in t.ranks}
    runtime = {k: v for k, v in extents.items() if k not in inputs}
    outputs = run_triton_interpreter(plan, arrays, runtime)
    expected = reference(plan, arrays, extents)
    rtol, atol = tolerance("triton", plan.tiling.input_dtype)
    result = compare(outputs, expected)
    assert result.nan_count == 0
    assert within(outputs, expected, rtol, atol), result


@pytest.mark.parametrize("dtype", ["float32", "float16"])
@pytest.mark.parametrize("name", LIBRARY)
def test_every_planned_library_cascade_matches_the_interpreter(name: str, dtype: str) -> None:
    shape = {"M": 77, "P": 45, "W": 20, "S": 4, "G": 2, "R": 2, "H": 2}
    _check(_plan(name, dtype), shape)


@pytest.mark.parametrize(
    ("name", "shape"),
    [
        ("attention/1pass", {"M": 1, "P": 1}),  # L = 1
        ("attention/1pass-causal", {"M": 33, "P": 65}),  # tile +- 1, rows past the keys
        ("attention/1pass-window", {"M": 40, "P": 70, "W": 1}),  # rows >= M fully masked
        ("attention/3pass-window", {"M": 40, "P": 70, "W": 1}),
        ("attention/1pass-window", {"M": 96, "P": 70, "W": 16}),  # tiles skipped both ends
    ],
)
def test_ragged_empty_and_fully_masked_rows(name: str, shape: dict[str, int]) -> None:
    _check(_plan(name), shape)


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_large_logits_do_not_overflow(dtype: str) -> None:
    # Q and K scaled by 100 give logits of order 1e4.
    _check(_plan("attention/1pass-causal", dtype), {"M": 50, "P": 40}, scale=100.0)


def test_head_dim_128_and_a_padded_head_dim() -> None:
    plan = _plan("attention/1pass", "float16", static_extents=(("E", 128), ("F", 72)))
    _check(plan, {"M": 40, "P": 33})


def test_gemm_and_layernorm_shaped_cascades() -> None:
    gemm = load_cascade("linear/gemm")
    tiling = Tiling(parallel_rank="M", sequence_rank="K", static_extents=(("N", 64),), tile=32)
    _check(plan_kernels(gemm, tiling), {"K": 70, "M": 50})
    norm = load_cascade(str(ROOT / "examples/kernels/layernorm.cascade"))
    tiling = Tiling(parallel_rank="P", sequence_rank="E", static_extents=(), tile=64)
    _check(plan_kernels(norm, tiling), {"E": 300, "P": 37})


def test_causal_and_window_tiles_are_skipped_by_the_loop_bounds() -> None:
    causal = _plan("attention/1pass-causal")
    bounds = tile_bounds(causal, causal.kernels[0], causal.kernels[0].segments[0])
    assert bounds is not None and bounds.lowest is None and str(bounds.highest) == "p"
    window = _plan("attention/1pass-window")
    bounds = tile_bounds(window, window.kernels[0], window.kernels[0].segments[0])
    assert bounds is not None and bounds.lowest is not None and bounds.highest is not None
    assert "skipped" in render_triton(window).text
    full = _plan("attention/1pass")
    assert tile_bounds(full, full.kernels[0], full.kernels[0].segments[0]) is None


def test_skipping_is_refused_when_an_absent_tile_changes_the_state(tmp_path: Path) -> None:
    text = (ROOT / "einsum_cascade/library/attention/1pass-causal.cascade").read_text()
    counting = text.replace(
        "RD[m1 + 1, p]     = SLD[m1, p] + SPD[m1, p]",
        "RD[m1 + 1, p]     = SLD[m1, p] + SPD[m1, p] + 1",
    )
    assert counting != text
    path = tmp_path / "counting.cascade"
    path.write_text(counting)
    plan = plan_kernels(load_cascade(str(path)), Tiling(tile=32, threads_per_block=32))
    assert tile_bounds(plan, plan.kernels[0], plan.kernels[0].segments[0]) is None
    assert "skipped" not in render_triton(plan).text
    _check(plan, {"M": 70, "P": 40})


def test_gqa_reads_the_shared_kv_head_without_copies() -> None:
    source = render_triton(_plan("variants/gqa", "float16", tile=64, rows=128)).text
    assert "c_g.to(tl.int64)" in source and "c_r" in source
    k_load = next(line for line in source.splitlines() if "t_K = tl.load(" in line)
    assert "c_r" not in k_load  # K is indexed by its group only
    assert source.count("tl.dot(") == 2


def test_non_power_of_two_blocks_are_a_located_error() -> None:
    with pytest.raises(KernelError) as info:
        render_triton(_plan("attention/1pass", tile=48))
    assert info.value.diagnostics[0].code == "K701"


def test_the_mutation_replaces_every_dot() -> None:
    plan = _plan("attention/1pass")
    assert "tl.dot(" in render_triton(plan).text
    mutated = render_triton(plan, mutate_dots=True).text
    assert "tl.dot(" not in mutated and "tl.sum(dot_a" in mutated
    _check_mutant = run_triton_interpreter  # the mutant still computes the right values
    rng = np.random.default_rng(1)
    arrays = {
        "Q": rng.standard_normal((64, 20)).astype(np.float32),
        "K": rng.standard_normal((64, 30)).astype(np.float32),
        "V": rng.standard_normal((64, 30)).astype(np.float32),
    }
    got = _check_mutant(plan, arrays, {}, mutate_dots=True)
    want = reference(plan, arrays, {"E": 64, "F": 64, "M": 30, "P": 20})
    assert within(got, want, 1e-4, 1e-5)
