from pathlib import Path

import pandas as pd
import pytest

from mappers.sweep.errors import SweepError
from mappers.sweep.plots import PlotRequest, plot_results, save_figure, write_fusemax_figures
from mappers.sweep.values import parse_number

ARTIFACT = Path(__file__).parents[3] / "mappers" / "data" / "fusemax-artifact"
CONFIGS = ("unfused", "flat", "cascade", "arch", "binding")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

FRAME = pd.DataFrame(
    {
        "seq": [1024, 4096, 1024, 4096],
        "config": ["a", "a", "b", "b"],
        "latency_s": [1.0, 4.0, 0.5, 2.0],
        "area_um2": [10.0, 10.0, 20.0, 20.0],
    }
)


@pytest.mark.parametrize("kind", ["line", "bar", "scatter"])
def test_plot_results_writes_a_png(tmp_path, kind):
    request = PlotRequest("seq", "latency_s", hue="config", kind=kind, logx=kind != "bar")
    path = save_figure(plot_results(FRAME, request), tmp_path / f"{kind}.png")
    assert path.read_bytes()[:8] == PNG_MAGIC


def test_plot_with_pareto_front(tmp_path):
    request = PlotRequest("area_um2", "latency_s", kind="scatter", pareto=("area_um2", "latency_s"))
    path = save_figure(plot_results(FRAME, request), tmp_path / "front.png")
    assert path.read_bytes()[:8] == PNG_MAGIC


def test_line_plot_with_repeated_x_names_the_varying_columns():
    with pytest.raises(SweepError) as caught:
        plot_results(FRAME, PlotRequest("seq", "latency_s"))
    assert caught.value.codes == ("SW405",)
    assert "config" in str(caught.value)


def test_unknown_column_and_kind_are_sw404():
    with pytest.raises(SweepError) as caught:
        plot_results(FRAME, PlotRequest("sq", "latency_s", hue="config"))
    assert "did you mean 'seq'?" in str(caught.value)
    with pytest.raises(SweepError) as caught:
        plot_results(FRAME, PlotRequest("seq", "latency_s", hue="config", kind="pie"))
    assert caught.value.codes == ("SW404",)


def artifact_tables() -> dict[str, pd.DataFrame]:
    results = ARTIFACT
    attention, linear = [], []
    for config in CONFIGS:
        table = pd.read_csv(results / f"attn-{config}.csv", index_col=False)
        # the artifact pairs unfused, FLAT and cascade with the 32 MiB linear layers
        pair = "flat" if config in ("unfused", "flat", "cascade") else "proposal"
        layers = pd.read_csv(results / f"end2end-{pair}.csv")
        for rows, out in ((table, attention), (layers, linear)):
            out.append(
                pd.DataFrame(
                    {
                        "config": config,
                        "workload": rows["model"],
                        "seq": [parse_number(s) for s in rows["seq_len"]],
                        "latency_s": rows["latency"],
                        "energy_pj": rows["energy"],
                        **(
                            {"util_2d": rows["util_2d"], "util_1d": rows["util_1d"]}
                            if out is attention
                            else {}
                        ),
                    }
                )
            )
    return {"attention": pd.concat(attention), "linear": pd.concat(linear)}


def test_fusemax_figures_from_the_artifact_numbers(tmp_path):
    tables = artifact_tables()
    pe = [16, 32, 64]
    # latency ~ 1/PE^2 and area ~ PE^2, as in the artifact's PE sweep
    tables["pe_sweep"] = pd.DataFrame(
        {
            "workload": "BERT",
            "pe_dim": pe,
            "latency_s": [118.3 * (256 / p) ** 2 for p in pe],
            "area_um2": [1.8e4 * p * p for p in pe],
        }
    )
    written = write_fusemax_figures(tables, tmp_path)
    assert [p.name for p in written] == [
        "fusemax-utilisation.png",
        "fusemax-attention-speedup.png",
        "fusemax-attention-energy.png",
        "fusemax-end-to-end-speedup.png",
        "fusemax-end-to-end-energy.png",
        "fusemax-pe-sweep.png",
    ]
    assert all(p.read_bytes()[:8] == PNG_MAGIC for p in written)


def test_fusemax_figures_read_a_folder_and_need_the_baseline(tmp_path):
    attention = pd.DataFrame(
        {
            "config": ["x", "y"],
            "workload": ["BERT", "BERT"],
            "seq": [1024, 1024],
            "latency_s": [2.0, 1.0],
            "energy_pj": [2.0, 1.0],
            "util_2d": [0.5, 1.0],
            "util_1d": [0.5, 1.0],
        }
    )
    attention.to_csv(tmp_path / "attention.csv", index=False)
    written = write_fusemax_figures(tmp_path, tmp_path / "figs", baseline="x")
    assert [p.name for p in written] == [
        "fusemax-utilisation.png",
        "fusemax-attention-speedup.png",
        "fusemax-attention-energy.png",
    ]
    with pytest.raises(SweepError) as caught:
        write_fusemax_figures(tmp_path, tmp_path / "figs", baseline="unfused")
    assert caught.value.codes == ("SW407",)
