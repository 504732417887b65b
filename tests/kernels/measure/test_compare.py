import dataclasses
import json
import math

import pandas
import pytest
from typer.testing import CliRunner

from einsum_cascade.cli import _register_commands, app
from kernels.errors import KernelError
from kernels.measure.compare import (
    CompareRow,
    parse_sizes,
    spearman,
    summarize,
    sweep_points,
)
from kernels.run.cupy_launch import cupy_unavailable_reason
from mappers.hardware.catalog import MACHINE_DIR

_register_commands()
RUNNER = CliRunner()
CPU_TEMPLATE = MACHINE_DIR / "cpu-template.yaml"


def test_parse_sizes_builds_the_cartesian_sweep():
    sizes = parse_sizes("M=64,128; P=32; E=64; M0=16,32")
    points = sweep_points("attention/1pass", sizes)
    # 2 sequence lengths * 1 * 1 * 2 tiles * 1 block size (default 64) = 4 points
    assert len(points) == 4
    assert {(p.sequence, p.tile) for p in points} == {(64, 16), (64, 32), (128, 16), (128, 32)}


@pytest.mark.parametrize(
    ("text", "code"), [("Q=1", "K610"), ("M=0", "K611"), ("M=a", "K611")], ids=["key", "0", "nan"]
)
def test_parse_sizes_rejects_bad_input(text, code):
    with pytest.raises(KernelError) as caught:
        parse_sizes(text)
    assert caught.value.codes == (code,)


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        ([1, 2, 3, 4], [10, 20, 30, 40], 1.0),
        ([1, 2, 3, 4], [4, 3, 2, 1], -1.0),
        # ranks (0, 1, 2) against (0.5, 0.5, 2): covariance 1.5 / sqrt(2 * 1.5) = 0.866
        ([1, 2, 3], [5, 5, 9], 0.8660254),
    ],
    ids=["same-order", "reversed", "tie"],
)
def test_spearman(left, right, expected):
    assert spearman(left, right) == pytest.approx(expected)


def test_summary_takes_median_and_worst_absolute_error():
    rows = [
        CompareRow("c", "numpy", "m", 1, 1, 1, 1, measured_s=1.0, modelled_s=m)
        for m in (0.9, 1.2, 2.0)
    ]
    summary = summarize(rows)
    # errors -10 %, +20 %, +100 %: median |e| 0.2, worst 1.0
    assert summary.median_abs_relative_error == pytest.approx(0.2)
    assert summary.worst_abs_relative_error == pytest.approx(1.0)
    assert math.isnan(summary.spearman)  # every measured time ties: no ranking to correlate


def test_compare_numpy_writes_results_and_a_plot(tmp_path):
    out, plot = tmp_path / "r.csv", tmp_path / "r.png"
    result = RUNNER.invoke(
        app,
        [
            "compare", "--cascade", "attention/1pass", "--cascade", "attention/3pass",
            "--backend", "numpy", "--machine", str(CPU_TEMPLATE), "--sizes",
            "M=64,256;P=32;E=16;M0=16", "--repeats", "2", "--out", str(out), "--plot",
            str(plot), "--json",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["rows"] == 4
    frame = pandas.read_csv(out)
    assert list(frame.columns[:9]) == [
        "cascade", "backend", "machine", "M", "P", "E", "M0", "measured_s", "modelled_s",
    ]  # fmt: skip
    assert (frame["measured_s"] > 0).all() and (frame["modelled_s"] > 0).all()
    # loose: the template host is not this host, so only within two orders of magnitude
    assert ((frame["ratio_measured_over_modelled"] > 0.01)
            & (frame["ratio_measured_over_modelled"] < 100)).all()  # fmt: skip
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_compare_shim_models_every_point(tmp_path):
    from mappers.hardware.machine import ShimRates
    from mappers.hardware.machine_loader import load_machine
    from mappers.hardware.machine_writer import cpu_spec_to_yaml

    template = load_machine(CPU_TEMPLATE)
    # rates of the order calibrate measures on a 2-core VM (the test checks plumbing only)
    shim = ShimRates(64, 1e-4, 2e-3, 4e-5, 4e-10, 6e-10, 1e-9, 4e-10)
    spec = tmp_path / "host.yaml"
    spec.write_text(cpu_spec_to_yaml(dataclasses.replace(template, shim=shim)))
    out = tmp_path / "shim.csv"
    result = RUNNER.invoke(
        app,
        ["compare", "--cascade", "variants/linear", "--backend", "shim", "--machine", str(spec),
         "--sizes", "M=64,128;P=64;E=16;M0=16", "--repeats", "1", "--out", str(out), "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    frame = pandas.read_csv(out)
    assert len(frame) == 2 and set(frame["backend"]) == {"shim"}
    assert (frame["measured_s"] > 0).all() and (frame["modelled_s"] > 0).all()
    # longer sequences cost more in the model: 4 tiles of 16 -> 8 (more barriers and work)
    assert frame["modelled_s"].iloc[1] > frame["modelled_s"].iloc[0]


def test_compare_shim_without_shim_rates_fails_clearly(tmp_path):
    result = RUNNER.invoke(
        app,
        ["compare", "--cascade", "attention/1pass", "--backend", "shim", "--machine",
         str(CPU_TEMPLATE), "--sizes", "M=64;P=64;E=16;M0=16", "--out", str(tmp_path / "x.csv")],
    )  # fmt: skip
    assert result.exit_code == 1
    assert "K604" in result.output


def test_compare_rejects_an_unknown_backend():
    result = RUNNER.invoke(app, ["compare", "--cascade", "attention/1pass", "--backend", "tpu"])
    assert result.exit_code == 2


@pytest.mark.skipif(cupy_unavailable_reason() is None, reason="a GPU is present")
def test_compare_cupy_without_a_device_fails_clearly():
    result = RUNNER.invoke(app, ["compare", "--cascade", "attention/1pass", "--backend", "cupy"])
    assert result.exit_code == 1
    assert "K401" in result.output
    assert "cupy backend cannot run" in result.output


@pytest.mark.gpu
def test_compare_cupy_on_a_gpu_models_every_point(tmp_path):
    out = tmp_path / "gpu.csv"
    result = RUNNER.invoke(
        app,
        ["compare", "--cascade", "attention/1pass", "--backend", "cupy", "--sizes",
         "M=1024,4096;P=4096;E=64;M0=32", "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    frame = pandas.read_csv(out)
    assert len(frame) == 2 and (frame["measured_s"] > 0).all()


def test_compare_never_overwrites_an_existing_file_without_force(tmp_path):
    out = tmp_path / "mine.csv"
    out.write_text("precious\n")
    args = [
        "compare", "--cascade", "attention/1pass", "--machine", str(CPU_TEMPLATE), "--sizes",
        "M=64;P=32;E=16;M0=16", "--repeats", "1", "--out", str(out),
    ]  # fmt: skip
    result = RUNNER.invoke(app, args)
    assert result.exit_code == 1
    assert "exists; pass --force" in result.output
    assert out.read_text() == "precious\n"
    assert RUNNER.invoke(app, [*args, "--force"]).exit_code == 0
    assert out.read_text().startswith("cascade,")


def test_compare_without_a_host_spec_says_how_to_make_one(tmp_path, monkeypatch):
    monkeypatch.setenv("EINSUM_CASCADE_HOME", str(tmp_path))
    result = RUNNER.invoke(
        app, ["compare", "--cascade", "attention/1pass", "--out", str(tmp_path / "r.csv")]
    )
    assert result.exit_code == 1
    assert "error[H100]: no machine spec 'host'" in result.output
    assert "einsum-cascade calibrate" in result.output
