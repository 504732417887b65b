"""The on-disk cache of compiled cost models and the generated NumPy evaluation code."""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
import sympy

from einsum_cascade import load_cascade
from mappers.cost import cache
from mappers.cost.model import (
    Outline,
    build_cost_model,
    compile_cost_model,
    evaluate_design_points,
)
from mappers.hardware.spec_loader import load_spec
from mappers.mapping.loader import load_mapping

POINTS = {"B": np.array([1, 2]), "H": 12, "E": 64, "F": 64, "M": np.array([1024, 65536]), "P": 1024}


def _inputs(name: str = "fusemax-binding") -> tuple[object, ...]:
    mapping = load_mapping(name, "BERT", 65536)
    return load_cascade(mapping.cascade), load_spec(mapping.spec or "fusemax"), mapping, "artifact"


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv(cache.DISABLE_ENV, raising=False)
    build_cost_model.cache_clear()
    yield tmp_path / "einsum-cascade" / "cost-models"
    build_cost_model.cache_clear()


def test_generated_code_agrees_with_lambdify_on_dotted_names_and_lattice_functions() -> None:
    a, b = sympy.Symbol("L3.size_bytes", positive=True), sympy.Symbol("M", positive=True)
    exprs = [sympy.Min(a, 2 * b, 7) + sympy.ceiling(a / b), sympy.Max(a, b) * 3]
    ours = cache.numpy_function([a, b], exprs)
    theirs = sympy.lambdify([a, b], exprs, "numpy")
    x, y = np.array([1.0, 10.0, 100.0]), np.array([3.0, 2.0, 1.0])
    np.testing.assert_array_equal(ours(x, y), theirs(x, y))
    again = pickle.loads(pickle.dumps(ours))
    np.testing.assert_array_equal(again(x, y), theirs(x, y))


def test_a_model_is_stored_then_loaded_with_the_same_forms_and_values(folder) -> None:
    inputs = _inputs()
    built = build_cost_model(*inputs)
    assert len(list(folder.glob("*.pickle"))) == 1
    build_cost_model.cache_clear()
    loaded = build_cost_model(*inputs)
    assert loaded is not built
    assert loaded.symbolic == built.symbolic and loaded.parametric == built.parametric
    expected, got = evaluate_design_points(built, POINTS), evaluate_design_points(loaded, POINTS)
    assert expected.keys() == got.keys()
    for key in expected:
        np.testing.assert_array_equal(got[key], expected[key])


def test_sympy_nodes_load_unevaluated_and_equal() -> None:
    model = compile_cost_model(*_inputs("flat"))
    buffer = io.BytesIO()
    cache._Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(model.parametric)
    assert pickle.loads(buffer.getvalue()) == model.parametric


def test_other_inputs_or_a_code_change_make_another_key() -> None:
    cascade, spec, mapping, table = _inputs()
    key = cache.model_key(cascade, spec, mapping, table)
    assert key == cache.model_key(cascade, spec, mapping, table)
    assert key != cache.model_key(cascade, spec, mapping, "default")
    assert key != cache.model_key(*_inputs("flat"))


def test_a_corrupt_entry_is_rebuilt_and_replaced(folder) -> None:
    inputs = _inputs()
    build_cost_model(*inputs)
    (entry,) = folder.glob("*.pickle")
    entry.write_bytes(b"not a pickle")
    build_cost_model.cache_clear()
    model = build_cost_model(*inputs)
    assert evaluate_design_points(model, POINTS)["latency_s"].shape == (2,)
    assert entry.read_bytes() != b"not a pickle"


def test_the_environment_variable_turns_the_cache_off(folder, monkeypatch) -> None:
    monkeypatch.setenv(cache.DISABLE_ENV, "1")
    build_cost_model(*_inputs())
    assert not folder.exists()


def test_the_folder_is_pruned_to_the_most_recently_used_entries(tmp_path) -> None:
    for i in range(12):
        entry = tmp_path / f"{i:02d}.pickle"
        entry.write_bytes(b"x")
        os.utime(entry, (i, i))
    cache._prune(tmp_path, limit=10)
    assert sorted(p.name for p in tmp_path.glob("*.pickle")) == [
        f"{i:02d}.pickle" for i in range(4, 12)
    ]


def test_a_model_read_from_the_cache_is_evaluated_without_sympy(folder) -> None:
    expected = evaluate_design_points(build_cost_model(*_inputs()), POINTS)["latency_s"]
    code = (
        "import sys\n"
        "import numpy as np\n"
        "from einsum_cascade import load_cascade\n"
        "from mappers.cost.model import build_cost_model, evaluate_design_points\n"
        "from mappers.hardware.spec_loader import load_spec\n"
        "from mappers.mapping.loader import load_mapping\n"
        "mapping = load_mapping('fusemax-binding', 'BERT', 65536)\n"
        "inputs = load_cascade(mapping.cascade), load_spec('fusemax'), mapping, 'artifact'\n"
        "model = build_cost_model(*inputs)\n"
        "points = {'B': np.array([1, 2]), 'H': 12, 'E': 64, 'F': 64, 'P': 1024,\n"
        "          'M': np.array([1024, 65536])}\n"
        "print(evaluate_design_points(model, points)['latency_s'].tolist())\n"
        "assert 'sympy' not in sys.modules\n"
        "assert model.einsum_names == tuple(e.name for e in model.symbolic.einsums)\n"
    )
    env = {**os.environ, "XDG_CACHE_HOME": str(folder.parents[1])}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert json.loads(done.stdout) == expected.tolist()


def test_an_entry_of_another_shape_is_rebuilt_and_replaced(folder) -> None:
    inputs = _inputs()
    build_cost_model(*inputs)
    (entry,) = folder.glob("*.pickle")
    old = pickle.dumps({"symbolic": None, "forms": None})
    entry.write_bytes(hashlib.sha256(old).digest() + old)
    build_cost_model.cache_clear()
    model = build_cost_model(*inputs)
    assert evaluate_design_points(model, POINTS)["latency_s"].shape == (2,)
    assert isinstance(pickle.loads(entry.read_bytes()[32:])["outline"], Outline)


def test_an_altered_entry_is_never_unpickled(folder) -> None:
    inputs = _inputs()
    build_cost_model(*inputs)
    (entry,) = folder.glob("*.pickle")
    data = bytearray(entry.read_bytes())
    data[-40] ^= 1  # one bit of the pickle: the digest no longer matches
    entry.write_bytes(bytes(data))
    assert cache.load(entry.stem) is None and not entry.exists()


def test_a_stored_function_runs_its_bytecode_or_compiles_its_source_again() -> None:
    a, b = sympy.Symbol("a"), sympy.Symbol("b")
    function = cache.numpy_function([a, b], [a * b + 1, sympy.Max(a, b)])
    stored = pickle.loads(pickle.dumps(function))
    assert list(stored(2.0, 3.0)) == [7.0, 3.0]
    foreign = cache.NumpyFunction(function.arguments, function.source, b"other magic")
    assert list(foreign(2.0, 3.0)) == [7.0, 3.0]
