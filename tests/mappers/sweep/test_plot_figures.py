"""What a plot shows (issue 12 #11) and which file it writes (issue 15)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from einsum_cascade.cli import _register_commands, app
from mappers.sweep.errors import SweepError
from mappers.sweep.plots import PlotRequest, axis_label, figure_path, plot_results

_register_commands()
RUNNER = CliRunner()

# two designs families; in each, area trades against latency, and one point is dominated
FRAME = pd.DataFrame(
    {
        "config": ["a", "a", "a", "b", "b", "b"],
        "area_um2": [1.0, 2.0, 3.0, 1.5, 2.5, 3.5],
        "latency_s": [4.0, 2.0, 3.0, 3.0, 1.0, 2.0],
    }
)
FRONT = ("area_um2", "latency_s")


def fronts(figure: object) -> list[list[tuple[float, float]]]:
    """The points of each drawn front line (the lines with 1.5-wide strokes and no marker)."""
    (axes,) = figure.axes  # type: ignore[attr-defined]
    return [
        list(zip(line.get_xdata(), line.get_ydata(), strict=True))
        for line in axes.get_lines()
        if line.get_linestyle() == "-" and line.get_marker() in ("None", "", None)
    ]


def test_one_pareto_front_per_hue_group() -> None:
    figure = plot_results(FRAME, PlotRequest(*FRONT, hue="config", kind="scatter", pareto=FRONT))
    # within a: (1, 4), (2, 2); (3, 3) is dominated. within b: (1.5, 3), (2.5, 1).
    # One front over all rows would be (1, 4), (1.5, 3), (2.5, 1) only.
    assert sorted(fronts(figure)) == [[(1.0, 4.0), (2.0, 2.0)], [(1.5, 3.0), (2.5, 1.0)]]


def test_a_numeric_hue_with_many_values_is_a_colour_bar_not_a_legend() -> None:
    frame = pd.DataFrame(
        {"x": np.arange(40.0), "y": np.arange(40.0) ** 2, "size": 2.0 ** np.arange(40)}
    )
    figure = plot_results(frame, PlotRequest("x", "y", hue="size", kind="scatter"))
    main, bar = figure.axes
    assert main.get_legend() is None
    assert bar.get_ylabel() == "size"


def test_axis_labels_carry_units_and_the_title_the_filters() -> None:
    request = PlotRequest(*FRONT, kind="scatter", title="PE size", filters=("seq=1024",))
    (axes,) = plot_results(FRAME, request).axes
    assert axes.get_xlabel() == "area (µm²)"
    assert axes.get_ylabel() == "latency (s)"
    assert axes.get_title() == "PE size\nwhere seq=1024"
    assert axis_label("energy_pj") == "energy (pJ)"


def test_the_figure_file_is_the_name_matplotlib_writes() -> None:
    assert figure_path("fig") == Path("fig.png")
    assert figure_path("fig.svg") == Path("fig.svg")
    with pytest.raises(SweepError) as caught:
        figure_path("y.txt")
    assert caught.value.codes == ("SW420",)


@pytest.fixture
def results(tmp_path: Path) -> Path:
    path = tmp_path / "r.csv"
    FRAME.assign(seq=1024).to_csv(path, index=False)
    return path


def plot(results: Path, *extra: str) -> tuple[int, str]:
    result = RUNNER.invoke(app, ["plot", str(results), "--pareto", "area_um2,latency_s", *extra])
    return result.exit_code, result.output


def test_plot_dash_o_fig_never_replaces_fig_png(tmp_path: Path, results: Path) -> None:
    mine = tmp_path / "fig.png"
    mine.write_bytes(b"precious")
    code, output = plot(results, "-o", str(tmp_path / "fig"))
    assert code == 1 and "fig.png exists; pass --force" in output
    assert mine.read_bytes() == b"precious"
    code, _ = plot(results, "-o", str(tmp_path / "fig"), "--force")
    assert code == 0 and mine.read_bytes()[:4] == b"\x89PNG"


def test_plot_to_a_text_file_is_a_diagnostic(tmp_path: Path, results: Path) -> None:
    code, output = plot(results, "-o", str(tmp_path / "y.txt"))
    assert code == 1 and "SW420" in output and "Traceback" not in output


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_plot_into_a_read_only_folder_is_a_diagnostic_with_the_path(
    tmp_path: Path, results: Path
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    code, output = plot(results, "-o", str(locked / "f.png"))
    assert code == 1 and f"cannot write {locked / 'f.png'}" in output


def test_plot_onto_a_directory_is_a_diagnostic(tmp_path: Path, results: Path) -> None:
    folder = tmp_path / "d.png"
    folder.mkdir()
    code, output = plot(results, "-o", str(folder), "--force")
    assert code == 1 and "Traceback" not in output and str(folder) in output
