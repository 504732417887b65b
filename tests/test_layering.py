"""The layering contract: einsum_cascade <- mappers <- kernels, the CLI on top."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import grimp
import networkx as nx
import pytest

ROOT = Path(__file__).parents[1]


def test_import_linter_contracts_hold() -> None:
    lint_imports = shutil.which("lint-imports")
    if lint_imports is None:
        pytest.fail("lint-imports is not installed; pip install -e '.[dev]'")
    result = subprocess.run([lint_imports], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("module", "source", "expected"),
    [
        ("einsum_cascade/violation.py", "import mappers\n", "einsum_cascade.violation -> mappers"),
        # a module added later to a subpackage is covered without editing the contracts
        ("mappers/cost/violation.py", "import mappers.sweep\n", "mappers.cost.violation"),
        ("kernels/render/violation.py", "import cupy\n", "kernels.render.violation -> cupy"),
        ("kernels/plan/violation.py", "import kernels.run\n", "kernels.plan.violation"),
    ],
)
def test_import_linter_catches_a_violation(
    tmp_path: Path, module: str, source: str, expected: str
) -> None:
    """Prove the gate fails: a copy of the tree with one new module that breaks a contract."""
    copy = tmp_path / "tree"
    shutil.copytree(
        ROOT, copy, ignore=shutil.ignore_patterns(".git", "*.egg-info", "__pycache__", "tests")
    )
    (copy / module).write_text(source)
    lint_imports = shutil.which("lint-imports")
    assert lint_imports is not None
    result = subprocess.run(
        [lint_imports],
        cwd=copy,
        capture_output=True,
        text=True,
        check=False,
        env={"PYTHONPATH": str(copy), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode != 0
    assert expected in result.stdout


def test_importing_packages_needs_no_gpu_stack() -> None:
    code = (
        "import sys, einsum_cascade, mappers, kernels, einsum_cascade.cli;"
        "bad = [m for m in ('cupy', 'dask', 'matplotlib') if m in sys.modules];"
        "print(','.join(bad))"
    )
    result = subprocess.run(
        ["python", "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert result.stdout.strip() == ""


def _import_cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Return each set of project modules that import one another (directly or round a loop)."""
    edges = nx.DiGraph()
    for importer in graph.modules:
        edges.add_edges_from(
            (importer, b) for b in graph.find_modules_directly_imported_by(importer)
        )
    return sorted(sorted(c) for c in nx.strongly_connected_components(edges) if len(c) > 1)


def _project_graph() -> grimp.ImportGraph:
    return grimp.build_graph("einsum_cascade", "mappers", "kernels", cache_dir=None)


def test_no_two_project_modules_import_each_other_lazily_or_not() -> None:
    assert _import_cycles(_project_graph()) == []


def test_an_import_back_is_reported_as_a_cycle() -> None:
    graph = _project_graph()
    graph.add_import(importer="kernels.run.binding", imported="kernels.run.triton_launch")
    assert ["kernels.run.binding", "kernels.run.triton_launch"] in _import_cycles(graph)
