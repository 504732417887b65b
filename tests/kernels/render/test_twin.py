from pathlib import Path

import numpy as np
import pytest

from einsum_cascade import library, load_cascade, parse_cascade
from kernels.plan.lower import plan_kernels
from kernels.plan.tiling import Tiling
from kernels.render.twin import render_twin
from kernels.run.execute import run_twin
from kernels.run.validate import reference

DATA = Path(__file__).parents[1] / "data"
TILE = 32
VARIANTS = [
    "attention/1pass",
    "attention/3pass",
    "attention/1pass-causal",
    "attention/3pass-causal",
    "attention/1pass-window",
    "attention/3pass-window",
    "attention/1pass-scaled",
    "attention/3pass-scaled",
    "linear",
]


def load(name):
    if name == "linear":
        return load_cascade(DATA / "linear.cascade")
    return library.load(name)


def tiling(head_dim=64, dtype="float32"):
    return Tiling(
        tile=TILE,
        threads_per_block=32,
        static_extents=(("E", head_dim), ("F", head_dim)),
        input_dtype=dtype,
    )


def attention_inputs(head_dim, keys, queries, seed=0, logit_scale=1.0):
    rng = np.random.default_rng(seed)
    scale = np.sqrt(logit_scale / np.sqrt(head_dim))
    return {
        "Q": (scale * rng.standard_normal((head_dim, queries))).astype(np.float32),
        "K": (scale * rng.standard_normal((head_dim, keys))).astype(np.float32),
        "V": rng.standard_normal((head_dim, keys)).astype(np.float32),
    }


def extents_for(name):
    return {"W": 5} if "window" in name else {}


def check_against_interpreter(cascade, plan, inputs, extents):
    outputs = run_twin(plan, inputs, extents)
    expected = reference(
        plan,
        inputs,
        {
            **extents,
            **{
                r: s
                for k, a in inputs.items()
                for r, s in zip(cascade.tensor(k).ranks, a.shape, strict=True)
            },
        },
    )
    for name, want in expected.items():
        got = outputs[name]
        assert not np.isnan(got).any()
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("length", [1, 33, TILE - 1, TILE, TILE + 1], ids=lambda n: f"N{n}")
@pytest.mark.parametrize("name", VARIANTS)
def test_twin_matches_interpreter_on_ragged_shapes(name, length):
    cascade = load(name)
    plan = plan_kernels(cascade, tiling())
    inputs = attention_inputs(64, keys=length, queries=length, seed=length)
    check_against_interpreter(cascade, plan, inputs, extents_for(name))


@pytest.mark.parametrize("name", ["attention/1pass", "attention/3pass", "linear"])
def test_twin_matches_interpreter_at_head_dim_128(name):
    cascade = load(name)
    plan = plan_kernels(cascade, tiling(128))
    check_against_interpreter(cascade, plan, attention_inputs(128, 70, 45), {})


@pytest.mark.parametrize("name", ["attention/1pass", "attention/3pass", "attention/1pass-causal"])
def test_twin_survives_logits_of_1e4(name):
    cascade = load(name)
    plan = plan_kernels(cascade, tiling())
    inputs = attention_inputs(64, 50, 40, logit_scale=1e4)
    logits = inputs["Q"].T.astype(np.float64) @ inputs["K"].astype(np.float64)
    assert np.abs(logits).max() > 1e4  # the test really reaches the overflow range of exp
    check_against_interpreter(cascade, plan, inputs, {})


def shifted_causal(name):
    """Causal attention where query p sees keys m <= p - 4: queries 0..3 see no key."""
    text = library.path(name).read_text()
    text = text.replace("m1 * M0 + m0 <= p", "m1 * M0 + m0 + 4 <= p")
    text = text.replace("where m <= p", "where m + 4 <= p")
    assert "+ 4 <= p" in text
    return parse_cascade(text)


@pytest.mark.parametrize("name", ["attention/1pass-causal", "attention/3pass-causal"])
def test_fully_masked_rows_give_the_interpreter_value_without_nan(name):
    cascade = shifted_causal(name)
    plan = plan_kernels(cascade, tiling())
    inputs = attention_inputs(64, 40, 40)
    check_against_interpreter(cascade, plan, inputs, {})
    masked = run_twin(plan, inputs)["AV"][:, :4]
    np.testing.assert_array_equal(masked, np.zeros_like(masked))  # absent -> empty value 0


def test_twin_with_fp16_inputs_accumulates_in_fp32():
    cascade = load("attention/1pass")
    plan = plan_kernels(cascade, tiling(dtype="float16"))
    check_against_interpreter(cascade, plan, attention_inputs(64, 45, 37), {})


@pytest.mark.parametrize("name", ["attention/1pass", "attention/3pass-causal", "linear"])
def test_twin_source_is_deterministic_and_matches_golden(name, golden):
    cascade = load(name)
    text = render_twin(plan_kernels(cascade, tiling()))
    assert text == render_twin(plan_kernels(load(name), tiling()))
    golden(f"kernels/twin_{name.replace('/', '_')}.py.txt", text)
