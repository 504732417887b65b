from pathlib import Path

import pytest

from mappers.sweep.errors import SweepError
from mappers.sweep.spec import axis_from_option, load_sweep, sweep_from_text, with_options

EXAMPLES = Path(__file__).parents[3] / "examples" / "sweeps"

GOOD = """\
version: 1
name: demo
evaluator: test_sweep_evaluator:toy_roofline
base: {workload: BERT}
axes:
  seq: 1K..16K x4
  pe2d.shape: [[16, 16], [32, 32]]
  workload: [BERT, XLM]
metrics: [latency_s]
constraints: ["area_um2 <= 5e5"]
chunk_points: 4
"""


def test_sweep_from_text_reads_every_section():
    spec = sweep_from_text(GOOD)
    assert spec.name == "demo"
    assert [(a.name, a.kind) for a in spec.axes] == [
        ("seq", "number"),
        ("pe2d.shape", "vector"),
        ("workload", "text"),
    ]
    assert spec.axes[0].values == (1024, 4096, 16384)
    assert spec.axes[1].values == ((16, 16), (32, 32))
    assert spec.metrics == ("latency_s",)
    assert str(spec.constraints[0]) == "area_um2 <= 500000"
    assert spec.chunk_points == 4


def test_fingerprint_is_stable_and_tracks_changes():
    assert sweep_from_text(GOOD).fingerprint() == sweep_from_text(GOOD).fingerprint()
    changed = sweep_from_text(GOOD.replace("1K..16K", "1K..64K"))
    assert changed.fingerprint() != sweep_from_text(GOOD).fingerprint()


def test_unknown_key_is_located_with_suggestion():
    with pytest.raises(SweepError) as caught:
        sweep_from_text("version: 1\naxis:\n  seq: [1]\n", "s.yaml")
    assert caught.value.codes == ("SW101",)
    assert str(caught.value) == (
        "s.yaml:2:1: error[SW101]: unknown key 'axis' in the sweep spec\n"
        "   2 | axis:\n"
        "     | ^^^^\n"
        "  hint: did you mean 'axes'?"
    )


def test_bad_range_points_at_the_value():
    with pytest.raises(SweepError) as caught:
        sweep_from_text("version: 1\naxes:\n  seq: 1K..1M x1\n", "s.yaml")
    diagnostic = caught.value.diagnostics[0]
    assert diagnostic.code == "SW111"
    assert (diagnostic.span.line, diagnostic.span.col, diagnostic.span.end_col) == (3, 8, 16)


def test_missing_version_is_sw102():
    with pytest.raises(SweepError) as caught:
        sweep_from_text("axes: {seq: [1]}\n")
    assert caught.value.codes == ("SW102",)


def test_unknown_version_names_supported_ones():
    with pytest.raises(SweepError) as caught:
        sweep_from_text("version: 7\n")
    assert caught.value.codes == ("SW105",)
    assert "supported: 1" in str(caught.value)


def test_yaml_syntax_error_is_located():
    with pytest.raises(SweepError) as caught:
        sweep_from_text("version: 1\naxes: [1, 2\n", "s.yaml")
    assert caught.value.codes == ("SW100",)
    assert caught.value.diagnostics[0].span.file == "s.yaml"


def test_zip_lengths_must_agree():
    text = "version: 1\naxes:\n  a: [1, 2]\n  b: [1, 2, 3]\nzip: [[a, b]]\n"
    with pytest.raises(SweepError) as caught:
        sweep_from_text(text)
    assert caught.value.codes == ("SW107",)
    assert "a: 2, b: 3" in str(caught.value)


def test_zip_of_unknown_axis_suggests_a_name():
    text = "version: 1\naxes:\n  seq: [1, 2]\nzip: [[sq]]\n"
    with pytest.raises(SweepError) as caught:
        sweep_from_text(text)
    assert "did you mean 'seq'?" in str(caught.value)


def test_vectors_of_different_lengths_are_rejected():
    with pytest.raises(SweepError) as caught:
        sweep_from_text("version: 1\naxes:\n  s: [[1, 2], [3]]\n")
    assert caught.value.codes == ("SW106",)


def test_axis_from_option_reads_yaml_flow_values():
    assert axis_from_option("workload", "[BERT, XLM]").values == ("BERT", "XLM")
    assert axis_from_option("clock_hz", "940e6").values == (940e6,)


def test_with_options_replaces_axes_and_adds_constraints():
    spec = with_options(
        sweep_from_text(GOOD),
        axes=("seq=[2K]",),
        base=("workload=XLM",),
        constraints=("latency_s < 1",),
    )
    assert spec.axes[0].values == (2048,)
    assert dict(spec.base)["workload"] == "XLM"
    assert [str(c) for c in spec.constraints] == ["area_um2 <= 500000", "latency_s < 1"]


def test_with_options_rejects_option_without_equals():
    with pytest.raises(SweepError) as caught:
        with_options(sweep_from_text(GOOD), axes=("seq",))
    assert caught.value.codes == ("SW109",)


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.name)
def test_example_sweeps_load(path):
    spec = load_sweep(path)
    assert spec.axes
