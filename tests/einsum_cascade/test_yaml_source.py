"""The one YAML reader: located, bounded, no aliases, no tags, no duplicate keys."""

from pathlib import Path

import pytest

from einsum_cascade.errors import DslSyntaxError
from einsum_cascade.teaal import parse_teaal_yaml
from einsum_cascade.yaml_source import MAX_BYTES, MAX_DEPTH, compose, read_yaml
from mappers.errors import MappingError, SpecError
from mappers.hardware.spec_loader import spec_from_text
from mappers.mapping.loader import mapping_from_text
from mappers.sweep.errors import SweepError
from mappers.sweep.spec import axis_from_option, sweep_from_text

DATA = Path(__file__).parents[2] / "mappers" / "data"
SPEC = (DATA / "accelerators" / "fusemax.yaml").read_text()
MAPPING = (DATA / "mappings" / "fusemax-binding.yaml").read_text()
TEAAL = """einsum:
  declaration: {A: [K], Z: []}
  expressions:
    - "Z[] = A[k]"
"""
# nine levels of nine aliases: 9**9 leaves once expanded (the 344-byte bomb)
BOMB = 'a: &a ["x","x","x","x","x","x","x","x","x"]\n' + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{','.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(8)
)

READERS = {
    "spec": (lambda text: spec_from_text(text, "f.yaml"), SpecError),
    "mapping": (lambda text: mapping_from_text(text, "f.yaml"), MappingError),
    "sweep": (lambda text: sweep_from_text(text, "f.yaml"), SweepError),
    "teaal": (lambda text: parse_teaal_yaml(text, "f.yaml"), DslSyntaxError),
}


@pytest.mark.parametrize("reader", READERS)
def test_an_alias_bomb_fails_at_the_first_alias(reader):
    read, error = READERS[reader]
    with pytest.raises(error) as caught:
        read(BOMB)
    assert caught.value.codes == ("Y006",)
    assert caught.value.diagnostics[0].span.line == 2  # the first '*a'


@pytest.mark.parametrize("reader", READERS)
def test_deep_nesting_is_a_located_error_not_a_recursion_error(reader):
    read, error = READERS[reader]
    text = "a: " + "[" * 5000 + "]" * 5000 + "\n"
    with pytest.raises(error) as caught:
        read(text)
    assert caught.value.codes == ("Y007",)
    assert (
        caught.value.diagnostics[0].span.col == 3 + MAX_DEPTH
    )  # the root mapping is the first level


@pytest.mark.parametrize(
    ("reader", "text", "line"),
    [
        ("spec", SPEC.replace("clock_hz: 940e6", "clock_hz: 940e6\nclock_hz: 1"), 8),
        ("mapping", MAPPING.replace("spec: fusemax", "spec: fusemax\nspec: flat"), 8),
        ("sweep", "version: 1\naxes: {seq: [1K], seq: [2K]}\n", 2),
        ("teaal", TEAAL.replace("einsum:\n", "einsum:\n  name: a\n  name: b\n"), 3),
    ],
    ids=["spec", "mapping", "sweep", "teaal"],
)
def test_duplicate_keys_are_located_errors(reader, text, line):
    read, error = READERS[reader]
    with pytest.raises(error) as caught:
        read(text)
    assert caught.value.codes == ("Y004",)
    diagnostic = caught.value.diagnostics[0]
    assert diagnostic.span.line == line
    assert diagnostic.notes[0].message == "first given here"


def test_python_tags_are_refused_on_a_sweep_axis():
    with pytest.raises(SweepError) as caught:
        axis_from_option("seq", '!!python/object/apply:os.system ["id"]')
    assert caught.value.codes == ("Y005",)


@pytest.mark.parametrize("reader", READERS)
def test_tags_are_refused_in_every_reader(reader):
    read, error = READERS[reader]
    with pytest.raises(error) as caught:
        read("version: !!python/name:os.system 1\n")
    assert caught.value.codes == ("Y005",)


def test_text_over_the_size_cap_is_refused():
    with pytest.raises(SpecError) as caught:
        compose("a: 1\n" + "#" * MAX_BYTES, "big.yaml", SpecError)
    assert caught.value.codes == ("Y003",)


def test_a_second_document_is_refused():
    with pytest.raises(SpecError) as caught:
        compose("a: 1\n---\nb: 2\n", "two.yaml", SpecError)
    assert caught.value.codes == ("Y009",)
    assert caught.value.diagnostics[0].span.line == 2


def test_scalars_keep_their_text():
    root = compose("a: .nan\nb: 1e999\nc: 0x10\n", "t.yaml", SpecError)
    assert [root.value[k].text for k in "abc"] == [".nan", "1e999", "0x10"]


def test_files_are_read_once_until_they_change(tmp_path):
    path = tmp_path / "a.yaml"
    path.write_text("a: 1\n")
    first = read_yaml(path, SpecError)
    assert read_yaml(path, SpecError) is first  # cached: same tree
    path.write_text("a: 22\n")  # another size: a fresh read
    assert read_yaml(path, SpecError).value["a"].value == 22


def test_a_missing_file_is_a_diagnostic(tmp_path):
    with pytest.raises(SpecError) as caught:
        read_yaml(tmp_path / "nope.yaml", SpecError)
    assert caught.value.codes == ("Y010",)
