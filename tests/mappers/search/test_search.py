"""Mapper search: the space's legality rules, footprints, the decomposition, FLAT, the CLI."""

from dataclasses import replace

import numpy as np
import pytest
from typer.testing import CliRunner

from einsum_cascade import load_cascade
from einsum_cascade.cli import app
from mappers.cost.model import build_cost_model, estimate_cost, evaluate_design_points
from mappers.errors import MappingError
from mappers.hardware.spec_loader import load_spec
from mappers.mapping.loader import available_mappings, load_mapping, mapping_from_text
from mappers.mapping.schema import TileRule
from mappers.mapping.writer import mapping_yaml
from mappers.search.engine import objective_key, search_mappings
from mappers.search.footprint import fits, in_place_pairs, lifetimes, streamed_rank
from mappers.search.space import (
    array_spatial_choices,
    capable_arrays,
    forwarding,
    placement_options,
    structures,
)
from mappers.workloads import get_workload

FLAT_BIND = {"QK": "pe2d", "GM": "pe1d", "SN": "pe1d", "SD": "pe1d", "A": "pe1d", "AV": "pe2d"}


@pytest.fixture(scope="module")
def three_pass():
    return load_cascade("attention/3pass")


@pytest.fixture(scope="module")
def flat_spec():
    return load_spec("flat")


def test_capable_arrays_follow_the_ops(three_pass, flat_spec):
    # pe2d has mac/add/max but no exp or div: SN (exp) and A (div) only run on pe1d
    capable = capable_arrays(three_pass, flat_spec)
    assert capable == {
        "QK": ("pe2d", "pe1d"),
        "GM": ("pe2d", "pe1d"),
        "SN": ("pe1d",),
        "SD": ("pe2d", "pe1d"),
        "A": ("pe1d",),
        "AV": ("pe2d", "pe1d"),
    }


def test_spatial_choices_of_one_einsum_drop_swapped_twins(three_pass, flat_spec):
    # QK iterates m, p, e: 3 * 2 = 6 ordered (rows, cols) pairs; rows and cols are both 256,
    # so each pair's swap is a twin: 3 kept, 3 dominated, none inexpressible
    qk = (three_pass.einsum("QK"),)
    kept, counts = array_spatial_choices(qk, flat_spec.array("pe2d"))
    assert (counts.generated, counts.illegal, counts.dominated, len(kept)) == (6, 0, 3, 3)


def test_every_kept_spatial_choice_is_what_the_mapping_gives(three_pass, flat_spec):
    template = load_mapping("flat")
    found, counts = structures(three_pass, flat_spec, tuple(FLAT_BIND.items()))
    assert counts.generated == counts.illegal + counts.dominated + len(found)
    assert counts.illegal > 0  # e.g. QK rows p with AV rows m: each needs its variable first
    for structure in found:
        mapping = replace(template, bind=structure.bind, spatial=structure.spatial)
        for einsum, pairs in structure.assignment:
            array = structure.array_of(einsum)
            assert mapping.spatial_of(array, three_pass.einsum(einsum).variables) == pairs


def test_forwarding_between_consecutive_einsums_on_one_array(three_pass):
    # FLAT binding: GM, SN, SD, A run one after another on pe1d; QK -> GM changes array
    reads = forwarding(three_pass, FLAT_BIND)
    assert reads == (
        ("SN", "GM", "registers"),
        ("SD", "SN", "registers"),
        ("A", "SD", "registers"),
    )


def test_lifetimes_and_in_place_writes(three_pass):
    # einsums: QK 0, GM 1, SN 2, SD 3, A 4, AV 5
    lives = {life.tensor: (life.start, life.end) for life in lifetimes(three_pass)}
    assert lives["Q"] == (0, 0) and lives["V"] == (0, 5)
    assert lives["QK"] == (0, 2) and lives["SN"] == (2, 4) and lives["AV"] == (5, 5)
    # SN overwrites QK (its last read, same ranks [M, P]); A overwrites SN
    assert in_place_pairs(three_pass) == ((2, "QK", "SN"), (4, "SN", "A"))


def test_streamed_rank(three_pass):
    # SN is produced and read on pe1d by einsums that all keep p: one row of P is live;
    # QK is produced on pe2d and read on pe1d: its whole tile is live
    assert streamed_rank(three_pass, FLAT_BIND, "SN", ("P",)) == "P"
    assert streamed_rank(three_pass, FLAT_BIND, "QK", ("P",)) is None


@pytest.mark.parametrize(
    ("seq", "tile", "fit"),
    [
        (1024, 1024, True),  # QK/SN/A share one M x P tile: 1M words <= 16M
        (16384, 16384, False),  # 256M words > 16M
        (16384, 1024, True),  # 16K x 1024 = 16M words: exactly the 32 MiB buffer
        (16384, 2048, False),  # 32M words
    ],
    ids=["1K-head", "16K-head", "16K-rows-1024", "16K-rows-2048"],
)
def test_footprint_of_flat_on_chip_intermediates(three_pass, flat_spec, seq, tile, fit):
    options = placement_options(three_pass, flat_spec, FLAT_BIND)
    wanted = {"QK": ("L3",), "SN": ("L3",), "A": ("L3",), "GM": (), "SD": ()}
    row = [options[t.name].index(wanted.get(t.name, ("DRAM",))) for t in three_pass.tensors]
    full = {"E": 64, "F": 64, "M": seq, "P": seq}
    tiled = {**full, "P": tile}
    words = {
        t.name: np.array([float(np.prod([tiled[r] for r in t.ranks]))]) for t in three_pass.tensors
    }
    ok = fits(
        three_pass,
        flat_spec,
        FLAT_BIND,
        options,
        np.array([row]),
        words,
        ("P",),
        {"P": np.array([float(tile)])},
    )
    assert ok.tolist() == [[fit]]


def test_a_fixed_tile_value_is_read_at_evaluation(three_pass, flat_spec):
    # the search compiles one model per tile kind and sets the value when it evaluates
    base = load_mapping("flat", "BERT", "16K")
    point = get_workload("BERT", "16K").extents()
    fresh = evaluate_design_points(build_cost_model(three_pass, flat_spec, base, "artifact"), point)
    placeholder = replace(base, tiles=(TileRule("P", fixed=1),))
    model = build_cost_model(three_pass, flat_spec, placeholder, "artifact")
    reused = evaluate_design_points(replace(model, mapping=base), point)
    for key in ("latency_s", "energy_pj", "traffic_bytes"):
        assert reused[key] == pytest.approx(fresh[key], rel=1e-12)


def test_objective_key_ties_within_tolerance():
    latency = np.array([1.0, 1.0 + 1e-12, 1.1])
    energy = np.array([5.0, 4.0, 1.0])
    primary, secondary = objective_key("latency", latency, energy)
    # the first two latencies tie, so the lower energy (index 1) wins; 1.1 comes last
    assert list(np.lexsort((secondary, primary))) == [1, 0, 2]


@pytest.mark.parametrize("name", available_mappings())
def test_mapping_yaml_round_trips(name):
    mapping = load_mapping(name)
    assert mapping_from_text(mapping_yaml(mapping, "a header")) == mapping


def test_unknown_objective_and_unsearchable_schedule(three_pass, flat_spec):
    point = get_workload("BERT", "1K").extents()
    with pytest.raises(MappingError) as unknown:
        search_mappings(three_pass, flat_spec, point, objective="speed")
    assert unknown.value.codes == ("M501",)
    with pytest.raises(MappingError) as schedule:
        search_mappings(three_pass, flat_spec, point, template=load_mapping("unfused"))
    assert schedule.value.codes == ("M502",)


def _at_least_as_good(found, reference) -> bool:
    """Latency lower, or equal within 1e-9 and energy no higher."""
    latency, theirs = found.latency_s, reference.metric("latency_s")
    if latency < theirs * (1 - 1e-9):
        return True
    return latency <= theirs * (1 + 1e-9) and found.energy_pj <= reference.metric("energy_pj")


SEQS = ("1K", "4K", "16K", "64K", "256K", "1M")


@pytest.mark.slow
def test_search_finds_flat_choices_or_better_at_every_point(three_pass, flat_spec):
    """FLAT's dataflow choices (flat.yaml's variants, the artifact's external CSV) are found,
    or beaten, by the search: BERT and TrXL at every sequence length, artifact costs."""
    points = [get_workload(m, s) for m in ("BERT", "TrXL") for s in SEQS]
    columns = {k: np.array([p.extents()[k] for p in points]) for k in points[0].extents()}
    template = load_mapping("flat")
    results = search_mappings(three_pass, flat_spec, columns, template, "artifact", keep=1)
    for point, result in zip(points, results, strict=True):
        flat = load_mapping("flat", point.name, point.seq_len)
        reference = estimate_cost(three_pass, flat_spec, flat, point, "artifact")
        best = result.best[0]
        label = f"{point.name} {point.seq_len}"
        assert _at_least_as_good(best, reference), (label, best.summary)
        # the decomposition's cost is the direct cost of the rebuilt mapping
        assert best.screened[0] == pytest.approx(best.latency_s, rel=1e-9), label
        assert best.screened[1] == pytest.approx(best.energy_pj, rel=1e-9), label
        counts = result.counts
        assert counts.generated > counts.illegal + counts.dominated + counts.bounded
        assert counts.evaluated == counts.generated - counts.illegal - counts.dominated - (
            counts.bounded
        )


def invoke(*arguments: str):
    return CliRunner().invoke(app, list(arguments))


GEMM = ("--arch", "flat", "--cascade", "gemm", "--seq", "1K")
GEMM_EXTENTS = ("--extent", "M=64K", "--extent", "K=768", "--extent", "N=768")


@pytest.fixture
def commands():
    from einsum_cascade.cli import _register_commands

    _register_commands()


def test_cli_search_writes_a_mapping_that_model_costs(tmp_path, commands):
    out = tmp_path / "best.yaml"
    result = invoke("search", *GEMM, *GEMM_EXTENTS, "--keep", "2", "--json", "--out", str(out))
    assert result.exit_code == 0, result.output
    import json

    data = json.loads(result.output)
    assert len(data["best"]) == 2
    assert data["best"][0]["latency_s"] <= data["best"][1]["latency_s"] * (1 + 1e-9)
    modelled = invoke("model", "--arch", "flat", "--mapping", str(out), "--seq", "1K", "--json",
                      *GEMM_EXTENTS)  # fmt: skip
    assert modelled.exit_code == 0, modelled.output
    metrics = json.loads(modelled.output)["metrics"]
    assert metrics["latency_s"] == pytest.approx(data["best"][0]["latency_s"], rel=1e-12)
    assert metrics["energy_pj"] == pytest.approx(data["best"][0]["energy_pj"], rel=1e-12)


def test_cli_search_refuses_to_overwrite(tmp_path, commands):
    out = tmp_path / "best.yaml"
    out.write_text("mine", encoding="utf-8")
    result = invoke("search", *GEMM, *GEMM_EXTENTS, "--out", str(out))
    assert result.exit_code == 1
    assert "--force" in result.output
    assert out.read_text(encoding="utf-8") == "mine"


def test_cli_search_missing_extent_is_a_located_user_error(commands):
    result = invoke("search", *GEMM)
    assert result.exit_code == 1
    assert "M503" in result.output and "K, N" in result.output


def test_energy_objective_trades_latency_for_energy(commands):
    import json

    by_objective = {}
    for objective in ("latency", "energy"):
        result = invoke("search", *GEMM, *GEMM_EXTENTS, "--objective", objective, "--json")
        assert result.exit_code == 0, result.output
        by_objective[objective] = json.loads(result.output)["best"][0]
    fast, frugal = by_objective["latency"], by_objective["energy"]
    assert frugal["energy_pj"] <= fast["energy_pj"]
    assert fast["latency_s"] <= frugal["latency_s"] * (1 + 1e-9)
