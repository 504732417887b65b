"""The cost breakdown (``model --stats``): level x tensor traffic, energy, arrays, bounds."""

import json

import pytest
from systolic_gemm import gemm_mapping, systolic_spec
from typer.testing import CliRunner

import einsum_cascade.library as library
from einsum_cascade import load_cascade
from einsum_cascade.cli import _register_commands
from einsum_cascade.cli.app import app
from mappers.cost.model import build_cost_model, evaluate_costs
from mappers.cost.report import BOUNDS
from mappers.hardware.spec_loader import load_spec
from mappers.mapping.loader import load_mapping

_register_commands()
BERT = {"B": 64, "H": 12, "E": 64, "F": 64}
CASES = [
    ("attention/1pass", "fusemax", "fusemax-binding", {**BERT, "M": 65536, "P": 65536}),
    ("attention/1pass", "fusemax", "fusemax-pipelined", {**BERT, "M": 4096, "P": 4096}),
    ("attention/3pass", "flat", "flat", {**BERT, "M": 65536, "P": 65536}),
    ("attention/3pass", "flat", "unfused", {**BERT, "M": 16384, "P": 16384}),
    ("gemm", "fusemax", "gemm-streamed", {"M": 64, "K": 1024, "N": 1024}),
]


def costs_of(cascade, spec, mapping, point, workload=None, seq=None, table="default"):
    mapped = load_mapping(mapping, workload, seq) if workload else load_mapping(mapping)
    model = build_cost_model(library.load(cascade), load_spec(spec), mapped, table)
    return evaluate_costs(model, point)


@pytest.mark.parametrize(("cascade", "spec", "mapping", "point"), CASES)
def test_breakdown_sums_to_the_totals(cascade, spec, mapping, point):
    costs = costs_of(
        cascade,
        spec,
        mapping,
        point,
        "BERT" if "M" in point and "E" in point else None,
        point.get("P"),
    )
    word_bytes = load_spec(spec).word_bytes
    for level in costs.levels:
        parts = [t for t in costs.traffic if t.level == level.name]
        assert sum(float(t.energy_pj) for t in parts) == pytest.approx(
            float(level.energy_pj), rel=1e-9
        )
        words = sum(float(t.reads + t.writes + t.readbacks + t.fills) for t in parts)
        assert words == pytest.approx(float(level.accesses_words), rel=1e-9)
    dram = [t for t in costs.traffic if t.level == "DRAM"]
    moved = sum(float(t.reads + t.writes + t.readbacks) for t in dram) * word_bytes
    assert moved == pytest.approx(float(costs.traffic_bytes), rel=1e-9)
    for link in costs.links:
        parts = [t for t in costs.link_traffic if t.link == link.name]
        assert sum(float(t.energy_pj) for t in parts) == pytest.approx(
            float(link.energy_pj), rel=1e-9
        )
        assert sum(float(t.words) for t in parts) == pytest.approx(float(link.words), rel=1e-9)
    einsum_energy = sum(float(e.energy_pj) for e in costs.einsums)
    level_energy = sum(float(lv.energy_pj) for lv in costs.levels)
    link_energy = sum(float(link.energy_pj) for link in costs.links)
    assert einsum_energy + level_energy + link_energy == pytest.approx(
        float(costs.energy_pj), rel=1e-9
    )
    for array in costs.arrays:
        bound = [e for e in costs.einsums if e.array == array.name]
        assert float(array.busy_cycles) == pytest.approx(sum(float(e.cycles) for e in bound))
        assert float(array.busy_cycles) <= float(costs.latency_cycles) * (1 + 1e-9)
    assert all(0 <= int(e.bound) < len(BOUNDS) for e in costs.einsums)


def test_bounds_name_bandwidth_compute_and_fill_drain():
    flat_256k = costs_of(
        "attention/3pass",
        "flat",
        "flat",
        {**BERT, "M": 262144, "P": 262144},
        "BERT",
        "256K",
        "artifact",
    )
    assert {BOUNDS[int(e.bound)] for e in flat_256k.einsums} == {"bandwidth"}  # DRAM-bound
    binding = costs_of(
        "attention/1pass", "fusemax", "fusemax-binding", {**BERT, "M": 65536, "P": 65536}
    )
    assert {BOUNDS[int(e.bound)] for e in binding.einsums} == {"compute"}
    gemm = load_cascade("gemm")
    tiny = evaluate_costs(
        build_cost_model(gemm, systolic_spec(256, 256), gemm_mapping("os")),
        {"M": 256, "K": 8, "N": 256},
    )
    assert BOUNDS[int(tiny.einsum("Z").bound)] == "fill/drain"  # 510 fill/drain cycles vs 8


def test_model_stats_prints_tables_and_json():
    runner = CliRunner()
    args = ["model", "--arch", "fusemax", "--mapping", "fusemax-binding", "--seq", "4K"]
    text = runner.invoke(app, [*args, "--stats"])
    assert text.exit_code == 0, text.output
    assert "traffic per level and tensor" in text.output and "what bounds each" in text.output
    plain = runner.invoke(app, args)
    assert text.output.startswith(plain.output)  # the usual report, then the breakdown
    data = json.loads(runner.invoke(app, [*args, "--json", "--stats"]).stdout)
    stats = data["stats"]
    assert {e["bound"] for e in stats["einsums"]} <= set(BOUNDS)
    dram = sum(
        t["reads"] + t["writes"] + t["readbacks"]
        for t in stats["traffic_words"]
        if t["level"] == "DRAM"
    )
    assert dram * 2 == pytest.approx(data["metrics"]["traffic_bytes"], rel=1e-9)
    assert "stats" not in json.loads(runner.invoke(app, [*args, "--json"]).stdout)
