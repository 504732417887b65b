"""Array-to-array links: a tensor produced on one array and read from registers on another
crosses a declared link, which charges it, or the mapping is refused (M211)."""

import pytest

import einsum_cascade.library as library
from einsum_cascade import parse_cascade
from mappers.cost.model import build_cost_model, evaluate_costs
from mappers.errors import MappingError
from mappers.hardware.spec_loader import load_spec, spec_from_text, spec_path
from mappers.mapping.loader import load_mapping, mapping_from_text
from mappers.search.space import placement_options

CHAIN = parse_cascade(
    """cascade chain
rank K, M, N
input A[K, M], B[K, N]
output Y
Z[m, n] = A[k, m] * B[k, n]
Y[m, n] = Z[m, n] * Z[m, n]
"""
)

SPEC = """version: 1
name: two
clock_hz: 1e9
word_bytes: 2
levels:
  - {{name: DRAM, bandwidth_bytes_per_s: 1e12, read_energy_pj: 8, write_energy_pj: 8}}
  - {{name: L3, size_bytes: 1GiB, read_energy_pj: 1, write_energy_pj: 1}}
arrays:
  - name: pe2d
    shape: [4, 4]
    ops: {{mac: {{cycles: 1, energy_pj: 1}}, mul: {{cycles: 1, energy_pj: 1}}}}
  - name: pe1d
    shape: [4]
    register_write_energy_pj: 0.5
    ops: {{mac: {{cycles: 1, energy_pj: 1}}, mul: {{cycles: 1, energy_pj: 1}}}}
{links}"""

MAPPING = """version: 1
name: two
cascade: chain
batch_ranks: []
bind:
  pe2d: [Z]
  pe1d: [Y]
spatial: {{pe2d: {{rows: m, cols: n}}, pe1d: {{cols: n}}}}
place: {{DRAM: [A, B, Y]{extra}}}
schedule: sequential
"""


def link_yaml(bandwidth=""):
    return f"links:\n  - {{from: pe2d, to: pe1d, energy_pj_per_word: 3{bandwidth}}}\n"


LINK = link_yaml()
POINT = {"M": 8, "K": 16, "N": 8}


def chain_costs(links=LINK, extra=""):
    spec = spec_from_text(SPEC.format(links=links))
    mapping = mapping_from_text(MAPPING.format(extra=extra), "two.yaml")
    return evaluate_costs(build_cost_model(CHAIN, spec, mapping), POINT)


def test_link_charges_each_word_the_reader_receives():
    costs = chain_costs()
    # Y reads each Z[m, n] once (Z * Z is one reference): M * N = 64 words at 3 pJ
    (link,) = costs.links
    assert (link.name, link.source, link.target) == ("pe2d_pe1d", "pe2d", "pe1d")
    assert float(link.words) == 64 and float(link.energy_pj) == 64 * 3
    (crossed,) = costs.link_traffic
    assert (crossed.link, crossed.tensor, float(crossed.words)) == ("pe2d_pe1d", "Z", 64)
    assert costs.row()["energy_pe2d_pe1d_pj"] == 192
    assert costs.stats_row()["words_pe2d_pe1d_Z"] == 64
    # each word lands in a pe1d register: 64 fills at 0.5 pJ, on top of Y's 64 updates
    pe1d = costs.array("pe1d")
    assert float(pe1d.register_energy_pj) == pytest.approx((64 + 64) * 0.5)
    parts = sum(float(a.energy_pj + a.register_energy_pj) for a in costs.arrays)
    parts += sum(float(lv.energy_pj) for lv in costs.levels) + float(link.energy_pj)
    assert parts == pytest.approx(float(costs.energy_pj), rel=1e-12)


def test_link_energy_is_a_parameter_of_the_spec():
    spec = spec_from_text(SPEC.format(links=LINK))
    mapping = mapping_from_text(MAPPING.format(extra=""))
    model = build_cost_model(CHAIN, spec, mapping)
    at = {w: evaluate_costs(model, {**POINT, "pe2d_pe1d.energy_pj_per_word": w}) for w in (3, 5)}
    assert float(at[5].energy_pj - at[3].energy_pj) == pytest.approx(64 * 2)


def test_link_bandwidth_gives_busy_cycles_in_the_breakdown():
    slow = chain_costs(link_yaml(", bandwidth_words_per_cycle: 0.125"))
    (link,) = slow.links
    assert float(link.busy_cycles) == 64 / 0.125
    assert slow.stats_row()["busy_cycles_pe2d_pe1d"] == 64 / 0.125
    assert float(chain_costs().links[0].busy_cycles) == 0  # no bandwidth given
    # the schedules assume the link keeps pace: it is no latency term
    assert float(slow.latency_cycles) == float(chain_costs().latency_cycles)


def test_placed_tensor_does_not_cross_the_link():
    costs = chain_costs(extra=", L3: [Z]")
    assert float(costs.links[0].words) == 0 and not costs.link_traffic
    assert any(t.level == "L3" and t.tensor == "Z" for t in costs.traffic)


def test_crossing_without_a_link_is_located_with_a_hint():
    with pytest.raises(MappingError) as info:
        chain_costs(links="")
    (diag,) = info.value.diagnostics
    assert diag.code == "M211"
    assert "'Z' is produced on 'pe2d'" in diag.message and "no link" in diag.message
    assert diag.span is not None and (diag.span.file, diag.span.line) == ("two.yaml", 7)
    assert "place: {L3: [Z]}" in diag.hint and "links:" in diag.hint


def test_fusemax_binding_crosses_the_staging_link():
    spec = load_spec("fusemax")
    costs = evaluate_costs(
        build_cost_model(library.load("attention/1pass"), spec, load_mapping("fusemax-binding")),
        {"B": 1, "H": 1, "E": 64, "F": 64, "M": 1024, "P": 512},
    )
    # LM and SLD are [M1, P], SLNV [F, M1, P], M1 = M / 256 key tiles
    words = {t.tensor: float(t.words) for t in costs.link_traffic}
    assert words == {"LM": 4 * 512, "SLD": 4 * 512, "SLNV": 64 * 4 * 512}
    per_word = spec.link("pe2d", "pe1d").energy_pj_per_word
    assert float(costs.links[0].energy_pj) == pytest.approx(sum(words.values()) * per_word)


def without_links(name):
    text = spec_path(name).read_text()
    start, end = text.index("links:"), text.index("cost_tables:")
    return spec_from_text(text[:start] + text[end:])


def test_fusemax_without_its_links_refuses_the_binding():
    spec = without_links("fusemax")
    with pytest.raises(MappingError) as info:
        build_cost_model(library.load("attention/1pass"), spec, load_mapping("fusemax-binding"))
    assert info.value.codes == ("M211", "M211", "M211")  # LM, SLD, SLNV


def test_flat_artifact_table_makes_its_link_free():
    cascade, mapping = library.load("attention/1pass"), load_mapping("cascade-on-flat")
    point = {"B": 1, "H": 1, "E": 64, "F": 64, "M": 1024, "P": 512}
    spec = load_spec("flat")
    charged = evaluate_costs(build_cost_model(cascade, spec, mapping), point)
    free = evaluate_costs(build_cost_model(cascade, spec, mapping, "artifact"), point)
    assert float(charged.links[0].energy_pj) > 0 and float(free.links[0].energy_pj) == 0


def test_search_may_leave_a_linked_crossing_in_registers():
    cascade = library.load("attention/1pass")
    bind = dict(load_mapping("fusemax-binding").bind)
    linked = placement_options(cascade, load_spec("fusemax"), bind)
    assert () in linked["LM"] and () in linked["SLNV"]
    unlinked = placement_options(cascade, without_links("fusemax"), bind)
    assert () not in unlinked["LM"] and () not in unlinked["SLNV"]


def test_model_stats_shows_the_link_energy_per_tensor():
    import json

    from typer.testing import CliRunner

    from einsum_cascade.cli import _register_commands
    from einsum_cascade.cli.app import app

    _register_commands()
    args = ["model", "--arch", "fusemax", "--mapping", "fusemax-binding", "--seq", "4K"]
    runner = CliRunner()
    text = runner.invoke(app, [*args, "--stats"])
    assert text.exit_code == 0, text.output
    assert "array-to-array links" in text.output and "SLNV" in text.output
    data = json.loads(runner.invoke(app, [*args, "--json", "--stats"]).stdout)
    (link,) = [k for k in data["stats"]["links"] if k["link"] == "pe2d_pe1d"]
    assert {t["tensor"] for t in link["tensors"]} == {"LM", "SLD", "SLNV"}
    assert sum(t["energy_pj"] for t in link["tensors"]) == pytest.approx(link["energy_pj"])
    assert data["metrics"]["energy_pe2d_pe1d_pj"] == pytest.approx(link["energy_pj"])
