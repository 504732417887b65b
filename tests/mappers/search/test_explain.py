"""An empty search says why (issue 12 #8): ops no array runs, tensors no buffer holds."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from typer.testing import CliRunner

from einsum_cascade import parse_cascade
from einsum_cascade.cli import _register_commands, app
from mappers.hardware.spec_loader import load_spec
from mappers.search.explain import missing_ops, oversized_tensors, why_no_mapping

_register_commands()
RMS = """cascade rms
rank D, P
input X[D, P]
output Y
S[p] = X[d, p] * X[d, p]
R[p] = sqrt(S[p])
Y[d, p] = X[d, p] / R[p]
"""


def test_search_without_a_sqrt_unit_names_the_einsum_and_the_op(tmp_path: Path) -> None:
    source = tmp_path / "rms.cascade"
    source.write_text(RMS)
    result = CliRunner().invoke(
        app,
        ["search", "--arch", "fusemax", "--cascade", str(source), "--extent", "D=64",
         "--extent", "P=1024", "--extent", "B=1", "--extent", "H=1"],
    )  # fmt: skip
    assert result.exit_code == 1
    # the search refuses up front (M505, located at the einsum) or explains its empty result
    assert "sqrt" in result.output and "Traceback" not in result.output


def test_an_array_with_the_op_clears_the_cause() -> None:
    spec = load_spec("fusemax")
    pe1d = spec.array("pe1d").with_op("sqrt", spec.array("pe1d").op("div"))  # type: ignore[arg-type]
    assert missing_ops(parse_cascade(RMS), spec.replace_array(pe1d)) == ()


def test_a_tensor_larger_than_every_buffer_at_its_smallest_tile_is_named() -> None:
    spec = load_spec("fusemax")
    tiny = dataclasses.replace(
        spec,
        levels=(spec.levels[0], dataclasses.replace(spec.levels[1], size_bytes=64.0)),
        arrays=tuple(dataclasses.replace(a, register_words_per_pe=0) for a in spec.arrays),
    )
    reasons = oversized_tensors(parse_cascade(RMS), tiny, {"D": 64, "P": 1024}, 16)
    # X[D, P] and Y[D, P] at a 16 x 16 tile are 256 words; L3 holds 64 bytes / 2 = 32 words
    # (S[P] and R[P], 16 words, fit)
    assert [r.split("'")[1] for r in reasons] == ["X", "Y"]
    assert reasons[0].startswith("tensor 'X' needs at least 256 words")
    assert "L3, holds (32 words)" in reasons[0]
    assert why_no_mapping(parse_cascade(RMS), spec, {"D": 64, "P": 1024})[0].startswith(
        "einsum 'R' needs sqrt"
    )


def test_search_on_a_cascade_without_einsums_is_a_diagnostic(tmp_path: Path) -> None:
    source = tmp_path / "nothing.cascade"
    source.write_text("cascade nothing\nrank K\ninput A[K]\n")
    result = CliRunner().invoke(
        app, ["search", "--arch", "fusemax", "--cascade", str(source), "--extent", "K=8"]
    )
    assert result.exit_code == 1
    assert "error[M506]: cascade 'nothing' has no einsums" in result.output


def test_a_template_for_another_cascade_is_a_diagnostic() -> None:
    result = CliRunner().invoke(
        app,
        ["search", "--arch", "fusemax", "--cascade", "attention/3pass", "--template",
         "fusemax-binding", "--seq", "1K"],
    )  # fmt: skip
    assert result.exit_code == 1
    assert "error[M507]: template 'fusemax-binding" in result.output
    assert "loops over rank 'M1', which cascade 'attention_3pass' does not have" in result.output
