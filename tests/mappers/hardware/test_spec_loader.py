import pytest

from mappers.errors import SpecError
from mappers.hardware import load_spec, spec_from_text
from mappers.hardware.catalog import ACCELERATOR_DIR

SPECS = sorted(
    p.stem for p in ACCELERATOR_DIR.glob("*.yaml") if p.stem in {"fusemax", "flat", "fusemax-edge"}
)
GOOD = (ACCELERATOR_DIR / "fusemax.yaml").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", SPECS, ids=SPECS)
def test_builtin_spec_loads(name):
    spec = load_spec(name)
    assert spec.backing.bandwidth_bytes_per_s > 0
    assert spec.levels[1].size_bytes > 0


def test_sizes_and_numbers_are_parsed():
    spec = load_spec("fusemax")
    assert spec.level("L3").size_bytes == 16 * 2**20  # 16MiB
    assert spec.backing.bandwidth_bytes_per_s == 400 * 2**30  # 400GiB
    assert spec.clock_hz == 940e6  # "940e6" is a string in YAML 1.1


def test_edge_spec_shape():
    spec = load_spec("fusemax-edge")
    assert spec.array("pe2d").shape == (32, 32)
    assert spec.level("L3").size_bytes == 512 * 1024


def test_misspelt_key_is_located_with_suggestion():
    text = GOOD.replace("    access_bits: 64", "    acces_bits: 64")
    with pytest.raises(SpecError) as info:
        spec_from_text(text, "bad.yaml")
    (diag,) = info.value.diagnostics
    assert diag.code == "S101"
    line = text.splitlines().index("    acces_bits: 64") + 1
    assert (diag.span.file, diag.span.line, diag.span.col) == ("bad.yaml", line, 5)
    assert diag.hint == "did you mean 'access_bits'?"


def test_negative_size_is_an_error():
    with pytest.raises(SpecError) as info:
        spec_from_text(GOOD.replace("size_bytes: 16MiB", "size_bytes: -16MiB"), "bad.yaml")
    assert info.value.codes == ("S104",)
    assert "size_bytes of level 'L3' must be greater than 0" in str(info.value)


def test_missing_level_is_an_error():
    start = GOOD.index("  - name: L3")
    end = GOOD.index("arrays:")
    with pytest.raises(SpecError) as info:
        spec_from_text(GOOD[:start] + GOOD[end:], "bad.yaml")
    assert info.value.codes == ("S107",)


def test_unknown_version_names_supported_ones():
    with pytest.raises(SpecError) as info:
        spec_from_text(GOOD.replace("version: 1", "version: 2"), "bad.yaml")
    assert info.value.codes == ("S105",)
    assert info.value.diagnostics[0].hint == "supported: 1"


def test_lowering_to_unknown_op_is_located():
    text = GOOD.replace(
        "exp: {lower_to: {mac: 6}}     # degree", "exp: {lower_to: {fma: 6}}     # degree"
    )
    with pytest.raises(SpecError) as info:
        spec_from_text(text, "bad.yaml")
    assert set(info.value.codes) == {"S106"}


def test_accelerator_specs_are_package_data():
    assert ACCELERATOR_DIR.is_dir()
    assert {"fusemax", "flat", "fusemax-edge"} <= {p.stem for p in ACCELERATOR_DIR.glob("*.yaml")}


def test_a_machine_name_given_as_an_accelerator_spec_is_one_clear_error():
    with pytest.raises(SpecError) as info:
        load_spec("h100")
    assert info.value.codes == ("S105",)
    assert "--machine takes it" in str(info.value.diagnostics[0].hint)


def test_a_machine_spec_file_given_as_an_accelerator_spec_is_one_clear_error(tmp_path):
    from mappers.hardware.catalog import MACHINE_DIR

    with pytest.raises(SpecError) as info:
        load_spec(MACHINE_DIR / "a100.yaml")
    assert info.value.codes == ("S105",)


def test_a_typo_suggests_a_spec_of_the_right_kind_only():
    with pytest.raises(SpecError) as info:
        load_spec("flt")
    assert info.value.codes == ("S100",)
    assert "flat" in str(info.value.diagnostics[0].hint)


def test_register_energies_and_the_artifact_table():
    spec = load_spec("fusemax")
    pe2d = spec.array("pe2d")
    assert (pe2d.register_read_energy_pj, pe2d.register_write_energy_pj) == (2.194455, 1.906455)
    artifact = spec.with_table("artifact").array("pe2d")
    assert (artifact.register_read_energy_pj, artifact.register_write_energy_pj) == (0.0, 0.0)
    assert spec.with_table("default") == spec  # the spec defines no default entries


def test_cost_table_for_an_unknown_array_is_located():
    text = GOOD.replace("    pe1d: {register_read", "    pe3d: {register_read")
    with pytest.raises(SpecError) as info:
        spec_from_text(text, "bad.yaml")
    (diag,) = info.value.diagnostics
    assert diag.code == "S106"
    assert diag.message == "unknown array 'pe3d' in cost table 'artifact'"
    line = text.splitlines().index(next(x for x in text.splitlines() if "pe3d" in x)) + 1
    assert (diag.span.line, diag.span.col) == (line, 5)
    assert diag.hint == "did you mean 'pe2d' or 'pe1d'?"


def test_cost_table_accepts_only_register_energies():
    text = GOOD.replace("pe2d: {register_read_energy_pj: 0,", "pe2d: {mac_energy_pj: 0,")
    with pytest.raises(SpecError) as info:
        spec_from_text(text, "bad.yaml")
    assert info.value.codes == ("S101",)
    assert "unknown key 'mac_energy_pj' in array 'pe2d' in cost table 'artifact'" in str(info.value)


FIRST_LINK = (
    "  - {from: pe2d, to: pe1d, energy_pj_per_word: 4.10091, bandwidth_words_per_cycle: 256}"
)


def test_links_are_parsed_named_and_written_back():
    from mappers.hardware.spec_writer import spec_to_yaml

    spec = load_spec("fusemax")
    link = spec.link("pe2d", "pe1d")
    assert link is not None and link.name == "pe2d_pe1d"
    assert (link.energy_pj_per_word, link.bandwidth_words_per_cycle) == (4.10091, 256)
    assert spec.link("pe1d", "pe2d") is not None
    assert spec_from_text(spec_to_yaml(spec)) == spec
    flat = load_spec("flat")
    assert flat.with_table("artifact").link("pe2d", "pe1d").energy_pj_per_word == 0
    assert flat.link("pe2d", "pe1d").energy_pj_per_word == 4.10091


@pytest.mark.parametrize(
    ("entry", "code", "words"),
    [
        ("  - {from: pe2d, to: pe9d}", "S106", "array 'pe9d'"),
        ("  - {from: pe2d, to: pe2d}", "S110", "to itself"),
        ("  - {name: L3, from: pe2d, to: pe1d}", "S110", "already taken"),
        ("  - {from: pe2d, to: pe1d, energy_pj_per_word: -1}", "S104", "energy_pj_per_word"),
        ("  - {from: pe2d, to: pe1d, bandwidth_words_per_cycle: 0}", "S104", "bandwidth"),
        ("  - {from: pe2d}", "S102", "'to'"),
    ],
)
def test_a_bad_link_is_located(entry, code, words):
    text = GOOD.replace(FIRST_LINK, entry)
    assert text != GOOD
    with pytest.raises(SpecError) as info:
        spec_from_text(text, "bad.yaml")
    (diag,) = info.value.diagnostics
    assert diag.code == code and words in diag.message
    assert diag.span.file == "bad.yaml"
    assert diag.span.line == text.splitlines().index(entry) + 1


def test_a_link_repeated_is_an_error():
    text = GOOD.replace(FIRST_LINK, f"{FIRST_LINK}\n{FIRST_LINK.replace('256}', '8}')}")
    with pytest.raises(SpecError) as info:
        spec_from_text(text, "bad.yaml")
    assert info.value.codes == ("S110",)
