"""Filtered einsums (causal masks, windows, prefix scans) costed by the folds that hold a
present point: hand-derived counts, a brute-force check of the block counter, the filtered
cost never above the unfiltered one (equal when the filter keeps everything), and
``model`` on every filtered cascade of the library."""

import itertools
import random
import re

import numpy as np
import pytest
import sympy
from typer.testing import CliRunner

from einsum_cascade import library
from einsum_cascade.cli import _register_commands
from einsum_cascade.cli.app import app
from einsum_cascade.frontend import parse_cascade
from einsum_cascade.shapes import presence_conditions
from mappers.cost.cache import numpy_function
from mappers.cost.filtered import Axis, block_edges, count_blocks, filtered_points, linear_atoms
from mappers.cost.model import (
    compile_cost_model,
    point_columns,
    tile_extents,
)
from mappers.errors import MappingError
from mappers.hardware import load_spec
from mappers.mapping import mapping_from_text, mapping_yaml
from mappers.search.space import capable_arrays, computing_einsums

_register_commands()
RUNNER = CliRunner()
FILTERED = tuple(
    n
    for n in library.names()
    if any(c is not sympy.true for c in presence_conditions(library.load(n)).values())
)
# both specs run every op of the library (Lightning-2's pow lowered to exp(y ln x))
SPECS = {"flat": load_spec("flat"), "fusemax": load_spec("fusemax")}
# extents beyond the transformer workload's, per cascade (window, sinks, chunking)
EXTRA = {"W": 96, "S": 4, "K": 256, "I": 256, "N": 256, "T": 4, "C": 64, "G": 4, "R": 3}


def _count(condition: str, names: str, specs, **params):
    """Count with the block counter: specs are (extent, tile, chunk, counted) per variable."""
    symbols = {n: sympy.Symbol(n) for n in names.split()}
    relation = sympy.sympify(condition, locals={**symbols, **{k: sympy.Symbol(k) for k in params}})
    axes = [
        Axis(n, sympy.Integer(e), sympy.Integer(t), sympy.Integer(d), bool(k))
        for n, (e, t, d, k) in zip(names.split(), specs, strict=True)
    ]
    expr = filtered_points(relation, axes).xreplace(
        {sympy.Symbol(k): sympy.Integer(v) for k, v in params.items()}
    )
    return float(numpy_function([], expr)())


# ---------------------------------------------------------------- hand-derived counts


def test_causal_blocks_by_hand():
    # M = P = 8 cut in blocks of 4: of the four (m, p) block pairs only m in 4..7 with
    # p in 0..3 lies wholly above the diagonal; the diagonal ones are charged whole.
    four = (8, 8, 4, 0)
    assert _count("m <= p", "m p", [four, four]) == 3 * 16
    assert _count("m <= p", "m p", [(8, 8, 4, 1), (8, 8, 4, 1)]) == 3  # blocks, not points
    assert _count("m <= p", "m p", [(8, 1, 1, 0), (8, 1, 1, 0)]) == 36  # points: 8 * 9 / 2
    # blocks of 4 inside tiles of 6 (0-3, 4-5 | a ragged tile 6-7): p-block 0-3 charges
    # m-block 0-3; p-block 4-5 also m-block 4-5; p-block 6-7 all three
    assert _count("m <= p", "m p", [(8, 6, 4, 0), (8, 6, 4, 0)]) == 16 + (8 + 4) + (8 + 4 + 4)
    # one block along m: the mapping cannot skip, every point is charged
    assert _count("m <= p", "m p", [(8, 8, 8, 0), (8, 8, 4, 0)]) == 64


def test_window_blocks_by_hand():
    four = (8, 8, 4, 0)
    # p - 2 < m <= p: block (m 0-3, p 4-7) holds m = 3, p = 4; (m 4-7, p 0-3) nothing
    assert _count("(p - W < m) & (m <= p)", "m p", [four, four], W=2) == 3 * 16
    # W = 1 keeps the diagonal only: the two diagonal blocks
    assert _count("(p - W < m) & (m <= p)", "m p", [four, four], W=1) == 2 * 16
    assert _count("(p - W < m) & (m <= p)", "m p", [(8, 1, 1, 0)] * 2, W=2) == 8 + 7
    # a two-sided window wider than the extents keeps everything
    assert _count("(p - W <= m) & (m <= p + W)", "m p", [four, four], W=8) == 64


def test_split_key_rank_counts_like_the_flat_one():
    # m = 4 * m1 + m0 with M0 = 4: blocks of one m1 each are the blocks of 4 keys
    causal = "M0 * m1 + m0 <= p"
    split = [(2, 1, 1, 0), (4, 4, 4, 0), (8, 8, 4, 0)]
    assert _count(causal, "m1 m0 p", split, M0=4) == 3 * 16


def test_union_of_sinks_and_window_by_inclusion_exclusion():
    # StreamingLLM: keys below S = 2 or inside the window W = 2, and causal
    condition = "((m < S) & (m <= p)) | ((p - W < m) & (m <= p))"
    points = [(8, 1, 1, 0)] * 2
    by_hand = sum(
        1 for m, p in itertools.product(range(8), repeat=2) if m <= p and (m < 2 or m > p - 2)
    )
    assert _count(condition, "m p", points, S=2, W=2) == by_hand
    assert _count(condition, "m p", [(8, 8, 4, 0)] * 2, S=2, W=2) == 3 * 16


# ---------------------------------------------------------------- the counter against brute force


def _brute(condition, variables, specs, values):
    edges = [block_edges(n, t, d) for n, t, d, _ in specs]
    test = sympy.lambdify([sympy.Symbol(v) for v in variables], condition.xreplace(values), "numpy")
    total = 0
    for combo in itertools.product(*(range(len(e) - 1) for e in edges)):
        grids = np.meshgrid(
            *(np.arange(e[j], e[j + 1]) for e, j in zip(edges, combo, strict=True)), indexing="ij"
        )
        if np.any(np.broadcast_to(test(*grids), grids[0].shape)):
            weights = [
                1 if k else int(e[j + 1] - e[j])
                for (*_, k), e, j in zip(specs, edges, combo, strict=True)
            ]
            total += int(np.prod(weights))
    return total


def test_block_counter_matches_brute_force_on_every_library_filter():
    rng = random.Random(11)
    seen = 0
    for name in FILTERED:
        for condition in set(presence_conditions(library.load(name)).values()) - {sympy.true}:
            variables = sorted(s.name for s in condition.free_symbols if s.name.islower())
            plain = condition.xreplace({s: sympy.Symbol(s.name) for s in condition.free_symbols})
            extents = [s for s in plain.free_symbols if not s.name.islower()]
            for _ in range(2):
                values = {s: sympy.Integer(rng.randint(1, 6)) for s in extents}
                specs = []
                for v in variables:
                    extent = rng.randint(1, 11)
                    split = sympy.Symbol({"m0": "M0", "b": "B"}.get(v, "-"))
                    if split in values:  # the low part of a split rank spans its partition
                        extent = int(values[split])
                    tile = rng.randint(1, extent)
                    chunk = rng.randint(1, tile)
                    if v in ("m1", "t"):  # split ranks are looped one tile at a time
                        tile = chunk = 1
                    specs.append((extent, tile, chunk, rng.random() < 0.3))
                disjunction = [
                    [
                        ([int(c.xreplace(values)) for c in cs], int(b.xreplace(values)))
                        for cs, b in conj
                    ]
                    for conj in linear_atoms(plain, variables)
                ]
                assert count_blocks(disjunction, specs) == _brute(
                    plain, variables, specs, values
                ), (
                    name,
                    condition,
                    specs,
                    values,
                )
                seen += 1
    assert seen >= 40


def test_a_nonlinear_filter_is_a_located_error():
    cascade = parse_cascade(
        "cascade bad\nrank E, M, P, W\ninput Q[E, P], K[E, M]\noutput QK\n"
        "QK[m, p] = Q[e, p] * K[e, m] where m <= p / W\n"
    )
    spec = load_spec("flat")
    mapping = _generic_mapping(cascade, "flat")
    with pytest.raises(MappingError) as error:
        compile_cost_model(cascade, spec, mapping)
    assert error.value.codes == ("M302",)
    diagnostic = error.value.diagnostics[0]
    assert diagnostic.span is not None and diagnostic.span.line == 5
    assert "no integer combination of extents" in diagnostic.message


def test_inequality_and_rational_filters_are_counted():
    points = [(8, 1, 1, 0)] * 2
    assert _count("Ne(m, p)", "m p", points) == 64 - 8
    assert _count("2 * m <= p", "m p", points) == sum(p // 2 + 1 for p in range(8))
    assert _count("m <= p / 2", "m p", points) == sum(p // 2 + 1 for p in range(8))


# ---------------------------------------------------------------- the model


def _generic_mapping(cascade, spec_name, tile_p=256, spread=True, name=None):
    """A simple mapping of any cascade: macs on the 2D array (keys on rows, queries on
    columns), the rest on the 1D array, a DRAM loop over query tiles, everything in DRAM."""
    spec = SPECS[spec_name]
    capable = capable_arrays(cascade, spec)
    pe2d, pe1d = [], []
    for einsum in computing_einsums(cascade):
        arrays = capable[einsum.name]
        (pe1d if "pe1d" in arrays and "mac" not in einsum_ops_of(cascade, einsum) else pe2d).append(
            einsum.name
        )
    rows = "[m0, m, c, k, j]" if spread else "[]"
    cols = "[p, n, b, i]" if spread else "[]"
    ranks = {r.name for r in cascade.ranks}
    loop = f"loop_order: [P]\ntiles:\n  P: {tile_p}\n" if "P" in ranks else ""
    tensors = ", ".join(t.name for t in cascade.tensors)
    text = (
        f"version: 1\nname: generic\ncascade: {name or cascade.name}\nspec: {spec.name}\n"
        f"bind:\n  pe2d: [{', '.join(pe2d)}]\n  pe1d: [{', '.join(pe1d)}]\n"
        f"spatial:\n  pe2d: {{rows: {rows}, cols: {cols}}}\n  pe1d: {{cols: {cols}}}\n"
        f"{loop}place:\n  DRAM: [{tensors}]\nschedule: overlapped\n"
    )
    text = re.sub(r"  pe(1|2)d: \[\]\n", "", text)
    return mapping_from_text(text)


def einsum_ops_of(cascade, einsum):
    from einsum_cascade.shapes import einsum_ops

    return einsum_ops(einsum)


def _forms(cascade, spec_name, mapping, extents):
    model = compile_cost_model(cascade, SPECS[spec_name], mapping)
    cols, shape = point_columns(model, extents)
    cols.update(tile_extents(model, cols))
    return model.forms.evaluate(cols, shape)


def _strip_filters(name):
    text = library.path(name).read_text()
    return parse_cascade(re.sub(r" where [^:#\n]*?(?=\s*(::|#|\n))", "", text))


def _extents(cascade, seq):
    """The free extents of a cascade at one sequence length: partitions at their defaults."""
    values = {"B": 1, "H": 1, "E": 64, "F": 64, "M": seq, "P": seq, **EXTRA}
    out = {"B": 1, "H": 1}
    for rank in cascade.ranks:
        if rank.default is not None:
            out[rank.name] = rank.default
        elif not rank.is_derived:
            out[rank.name] = values[rank.name]
    return out


@pytest.mark.parametrize("name", FILTERED)
def test_filtered_cost_never_exceeds_unfiltered(name):
    cascade, unfiltered = library.load(name), _strip_filters(name)
    mapping = _generic_mapping(cascade, "fusemax")
    extents = _extents(cascade, 512)
    filtered_forms = _forms(cascade, "fusemax", mapping, extents)
    full_forms = _forms(unfiltered, "fusemax", mapping, extents)
    assert filtered_forms.keys() <= full_forms.keys() | filtered_forms.keys()
    for key, value in filtered_forms.items():
        full = full_forms.get(key, np.zeros_like(value))
        assert np.all(value <= full * (1 + 1e-12) + 1e-9), (key, value, full)
    busy = [k for k in filtered_forms if k[0] == "busy"]
    assert sum(filtered_forms[k] for k in busy) <= sum(full_forms[k] for k in busy)


def test_causal_qk_is_charged_by_diagonal_folds():
    # 3-pass causal on FLAT's 256 x 256 array, keys on rows and queries on columns:
    # M = P = 4096 are 16 x 16 folds, of which 16 * 17 / 2 = 136 hold a present point.
    name = "attention/3pass-causal"
    cascade = library.load(name)
    mapping = _generic_mapping(cascade, "flat", tile_p=4096)
    extents = _extents(cascade, 4096)
    forms = _forms(cascade, "flat", mapping, extents)
    full = _forms(_strip_filters(name), "flat", mapping, extents)
    assert forms["busy", "QK"] == 64 * 136 * 256 * 256
    assert full["busy", "QK"] == 64 * 4096 * 4096
    # the folds above the diagonal write no QK words and read no K words
    assert forms["ledger", "DRAM", "QK", "writes"] == 136 * 256 * 256
    assert forms["ledger", "DRAM", "K", "reads"] == 64 * 136 * 256  # one K word per fold
    assert full["ledger", "DRAM", "K", "reads"] == 64 * 256 * 256


def test_window_qk_is_charged_by_the_band_of_folds():
    # p - 256 < m <= p with 256-wide folds: the 16 diagonal folds and the 15 below them
    name = "attention/3pass-window"
    cascade = library.load(name)
    mapping = _generic_mapping(cascade, "flat", tile_p=4096)
    forms = _forms(cascade, "flat", mapping, {**_extents(cascade, 4096), "W": 256})
    assert forms["busy", "QK"] == 64 * 31 * 256 * 256


def test_a_window_wider_than_the_sequence_costs_what_no_filter_costs():
    name = "variants/sliding-window"
    cascade = library.load(name)
    mapping = _generic_mapping(cascade, "fusemax")
    extents = {**_extents(cascade, 1024), "W": 1024}
    forms = _forms(cascade, "fusemax", mapping, extents)
    full = _forms(_strip_filters(name), "fusemax", mapping, extents)
    assert forms.keys() == full.keys()
    for key in forms:
        assert np.allclose(forms[key], full[key], rtol=1e-12), key


def test_a_mapping_that_cannot_skip_computes_everything():
    # no spatial spread and no DRAM loop: one fold spans every key, nothing is skipped
    name = "attention/3pass-causal"
    cascade = library.load(name)
    mapping = _generic_mapping(cascade, "flat", spread=False)
    extents = _extents(cascade, 512)
    forms = _forms(cascade, "flat", mapping, extents)
    full = _forms(_strip_filters(name), "flat", mapping, extents)
    assert forms["busy", "GM"] == full["busy", "GM"]  # m streams within a fold


@pytest.mark.parametrize("name", FILTERED)
def test_model_runs_on_every_filtered_cascade(name, tmp_path):
    cascade = library.load(name)
    path = tmp_path / "mapping.yaml"
    mapping = _generic_mapping(cascade, "fusemax", name=name)
    path.write_text(mapping_yaml(mapping))
    args = ["model", "--arch", "fusemax", "--mapping", str(path), "--seq", "1K", "--json"]
    for rank, value in _extents(cascade, 1024).items():
        if cascade.has_rank(rank) and (rank in EXTRA or cascade.rank(rank).default is not None):
            args += ["--extent", f"{rank}={value}"]
    result = RUNNER.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "latency_s" in result.stdout


def test_block_counter_never_undercounts_under_any_cutting():
    # blocks of a split key rank that leave gaps in m = M0 * m1 + m0 may charge a block
    # with no present point (documented), never skip one that has one
    rng = random.Random(5)
    window = library.load("attention/1pass-window")
    condition = presence_conditions(window)["BQK"]
    plain = condition.xreplace({s: sympy.Symbol(s.name) for s in condition.free_symbols})
    variables = ["m0", "m1", "p"]
    for _ in range(25):
        values = {sympy.Symbol("M0"): rng.randint(1, 5), sympy.Symbol("W"): rng.randint(1, 6)}
        specs = []
        for _ in variables:
            extent = rng.randint(1, 9)
            tile = rng.randint(1, extent)
            specs.append((extent, tile, rng.randint(1, tile), rng.random() < 0.3))
        disjunction = [
            [([int(c.xreplace(values)) for c in cs], int(b.xreplace(values))) for cs, b in conj]
            for conj in linear_atoms(plain, variables)
        ]
        assert count_blocks(disjunction, specs) >= _brute(plain, variables, specs, values)
