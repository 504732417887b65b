import pytest

from einsum_cascade import library
from einsum_cascade.ir import Binary, Call, Literal, TensorRef
from einsum_cascade.symbols import index_symbol
from kernels.errors import KernelError
from kernels.plan.lower import plan_kernels
from kernels.plan.tiling import Tiling
from kernels.render.cuda import CudaRenderer
from kernels.render.registry import RENDERERS, renderer_class
from kernels.render.twin import TwinRenderer

TILING = Tiling(tile=32, threads_per_block=64, static_extents=(("E", 64), ("F", 64)))


def _renderer(cls):
    plan = plan_kernels(library.load("attention/1pass-causal"), TILING)
    return cls(plan, plan.kernels[0])


@pytest.mark.parametrize(
    ("cls", "expected"),
    [(CudaRenderer, "(a && b)"), (TwinRenderer, "(a & b)")],
    ids=["cuda", "twin"],
)
def test_conjoin_folds_constants_and_repeats(cls, expected):
    r = _renderer(cls)
    assert r.conjoin("a", "b") == expected
    assert r.conjoin("a", "a") == "a"
    assert r.conjoin(r.true, "a") == "a"
    assert r.conjoin("a", r.false) == r.false
    assert r.disjoin(r.false, "a") == "a"
    assert r.disjoin("a", r.true) == r.true


def _twin_read(name):
    return f"rt.align(xp, {name}, ('p',), ('p',))"


@pytest.mark.parametrize(
    ("cls", "expected_value", "expected_present"),
    [
        (
            CudaRenderer,
            "fmaxf((l_RM_prev_ok ? l_RM_prev : (-__int_as_float(0x7f800000))), "
            "(l_LM_ok ? l_LM : (-__int_as_float(0x7f800000))))",
            "(l_RM_prev_ok || l_LM_ok)",
        ),
        (
            TwinRenderer,
            f"xp.maximum(xp.where({_twin_read('l_RM_prev_ok')}, {_twin_read('l_RM_prev')}, "
            f"-math.inf), xp.where({_twin_read('l_LM_ok')}, {_twin_read('l_LM')}, -math.inf))",
            f"({_twin_read('l_RM_prev_ok')} | {_twin_read('l_LM_ok')})",
        ),
    ],
    ids=["cuda", "twin"],
)
def test_max_treats_an_absent_operand_as_minus_infinity_in_every_target(
    cls, expected_value, expected_present
):
    r = _renderer(cls)
    r.target = ("p",)  # the twin aligns reads to the parallel axis; CUDA ignores it
    m1, p = index_symbol("m1"), index_symbol("p")
    expr = Call("max", (TensorRef("RM", (m1, p)), TensorRef("LM", (m1, p))))
    assert r.expression(expr) == (expected_value, expected_present)


def test_product_with_a_literal_keeps_the_operand_presence():
    r = _renderer(CudaRenderer)
    m1, p = index_symbol("m1"), index_symbol("p")
    value, present = r.expression(Binary("*", TensorRef("LM", (m1, p)), Literal(2.0)))
    assert (value, present) == ("(l_LM * 2.0f)", "l_LM_ok")


def test_registry_lists_valid_renderers_for_an_unknown_name():
    assert renderer_class("cuda") is CudaRenderer and set(RENDERERS) == {"cuda", "twin", "triton"}
    with pytest.raises(KernelError) as info:
        renderer_class("metal")
    assert info.value.codes == ("K006",)
    assert "valid renderers: cuda, triton, twin" in str(info.value)
