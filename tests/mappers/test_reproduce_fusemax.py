"""Pin the reproduction of the FuseMax artifact's BERT and TrXL rows (artifact cost table)."""

from pathlib import Path

import pandas as pd
import pytest

from mappers.reproduce import compare, configurations, reproduce_configuration

DATA = Path(__file__).parent.parent / "data" / "fusemax"
CONFIGS = {c.name: c for c in configurations()}
# Rows whose energy the artifact inflates with Timeloop counting jumps (the artifact note,
# section 7, item 10): FLAT at every 64K row, 256K and 1M; cascade at 256K and 1M; binding
# and arch at 256K and 1M stay within 2 % anyway.
ENERGY_ANOMALIES = {
    "flat": {"64K", "256K", "1M"},
    "cascade": {"256K", "1M"},
}


@pytest.fixture(scope="module")
def errors():
    out = {}
    for name, config in CONFIGS.items():
        ours = reproduce_configuration(config, "artifact", ("BERT", "TrXL"))
        artifact = pd.read_csv(DATA / config.csv)
        artifact = artifact.loc[:, ~artifact.columns.str.startswith("Unnamed")]
        out[name] = compare(ours, artifact)
    return out


@pytest.mark.parametrize("config", sorted(CONFIGS), ids=sorted(CONFIGS))
@pytest.mark.parametrize("column", ["latency", "traffic", "util_2d", "util_1d"])
def test_performance_columns_within_half_percent(errors, config, column):
    table = errors[config]
    assert len(table) == 12  # 2 models x 6 sequence lengths
    assert table[column].abs().max() < 0.005


@pytest.mark.parametrize("config", ["binding", "arch", "cascade", "flat"])
def test_energy_within_two_percent_outside_anomalies(errors, config):
    table = errors[config]
    normal = table[~table["seq_len"].isin(ENERGY_ANOMALIES.get(config, set()))]
    assert len(normal) > 0
    assert normal["energy"].abs().max() < 0.02


@pytest.mark.xfail(strict=True, reason="unfused L3 accounting is ~12 % above the artifact")
def test_unfused_energy_within_two_percent(errors):
    assert errors["unfused"]["energy"].abs().max() < 0.02


@pytest.mark.parametrize("config", ["binding", "arch", "cascade", "flat"])
def test_per_einsum_share_columns(errors, config):
    table = errors[config]
    shares = [
        c
        for c in table.columns
        if c not in {"model", "seq_len", "latency", "traffic", "energy", "util_2d", "util_1d"}
    ]
    assert shares  # QK/SLNV, QK/AV or QK, LM, SLN, SLD, SLNV
    for column in shares:
        assert table[column].abs().max() < 0.005
