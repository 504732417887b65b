import pandas as pd
import pytest

from mappers.fusemax.tables import attention_table, pe_sweep_table
from mappers.sweep.errors import SweepError
from mappers.sweep.plots import write_fusemax_figures


@pytest.fixture(scope="module")
def pe_table():
    return pe_sweep_table(workloads=("BERT",))


@pytest.mark.parametrize(
    ("pe_dim", "latency_s"),
    [(256, 118.28), (64, 1891.83)],  # the artifact note, section 6
    ids=["pe256", "pe64"],
)
def test_pe_sweep_matches_the_artifact_latency(pe_table, pe_dim, latency_s):
    row = pe_table[pe_table["pe_dim"] == pe_dim]
    assert row["latency_s"].item() == pytest.approx(latency_s, rel=1e-4)


def test_pe_sweep_area_grows_with_the_pe_count(pe_table):
    area = pe_table.set_index("pe_dim")["area_um2"]
    # 2D PEs dominate: 18426.05 um^2 per PE, so going from 256^2 to 512^2 PEs adds
    # 196608 * 18426.05 = 3.623e9 um^2 (the 1D array and L3 add a little more)
    assert area[512] - area[256] == pytest.approx(3.623e9, rel=0.02)


def test_pe_sweep_rejects_mismatched_buffer_sizes():
    with pytest.raises(SweepError) as caught:
        pe_sweep_table(pe_dims=(16, 32), l3_bytes=(32768,))
    assert caught.value.codes == ("SW107",)


def test_attention_table_converts_artifact_columns():
    rows = pd.DataFrame(
        {"model": ["BERT"], "seq_len": ["4K"], "latency": [2.0], "energy": [3.0], "util_2d": [1.0]}
    )
    table = attention_table({"binding": rows})
    assert table.to_dict("records") == [
        {
            "config": "binding",
            "workload": "BERT",
            "seq": 4096,
            "latency_s": 2.0,
            "energy_pj": 3.0,
            "util_2d": 1.0,
        }
    ]


def test_pe_sweep_figure_from_the_cost_model(pe_table, tmp_path):
    written = write_fusemax_figures({"pe_sweep": pe_table}, tmp_path)
    assert [p.name for p in written] == ["fusemax-pe-sweep.png"]
    assert written[0].read_bytes()[:4] == b"\x89PNG"
