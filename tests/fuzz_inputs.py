"""Seeded mutants of specs, mappings, sweep files, sweep axes and Timeloop YAML through the CLI.

Shared by ``tests/test_fuzz_inputs.py`` (a bounded run in CI) and ``benchmarks/fuzz.py``
(long runs). Every mutant must give exit 0 with finite, physical numbers (nothing negative,
utilisation at most 1; a sweep's infeasible rows carry their reason) or exit 1 with a
diagnostic; anything else is a finding: a crash, a traceback, another exit code, or a
RuntimeWarning from NumPy (a number computed through a division by zero or an overflow).
"""

from __future__ import annotations

import json
import math
import random
import re
import shutil
import tempfile
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from typer.testing import CliRunner, Result

from einsum_cascade.cli import _register_commands, app

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "mappers/data/accelerators/fusemax.yaml"
MAPPING = ROOT / "mappers/data/mappings/fusemax-binding.yaml"
TIMELOOP = ROOT / "tests/data/timeloop/fusemax-arch-2d.yaml"
SWEEP = """\
version: 1
name: fuzz
evaluator: cost
base:
  mapping: fusemax-binding
  arch: fusemax
axes:
  workload: [BERT, XLM]
  seq: [1K, 16K]
  pe2d.shape: [[64, 64], [256, 256]]
  pe1d.shape: [[64], [256]]
  L3.size_bytes: [4MiB, 16MiB]
  clock_hz: [940e6]
zip:
  - [pe2d.shape, pe1d.shape]
metrics: [latency_s, energy_pj, traffic_bytes, util_pe2d, util_pe1d, area_um2]
constraints: ['area_um2 <= 1e12']
chunk_points: 4
"""
NUMBER = re.compile(r"(?<![\w.])-?\d+(\.\d+)?(e-?\d+)?(?![\w.])")
REPLACEMENTS = (
    "-3", "0", "0.5", "nan", "inf", "-inf", "1e999", "1e-300", "abc", "[1, 2]", "{}", "",
    "9223372036854775808", "4294967296", "-0", "true", "~",
)  # fmt: skip
AXIS_NAMES = (
    "seq", "B", "H", "E", "M0", "workload", "mapping", "arch", "pe2d.shape", "pe1d.shape",
    "L3.size_bytes", "DRAM.bandwidth_bytes_per_s", "clock_hz", "word_bytes",
    "pe2d.register_words_per_pe", "L3.read_energy_pj", "pe2d.area_um2_per_pe", "nope",
)  # fmt: skip
AXIS_ATOMS = (
    *REPLACEMENTS, "1K", "4K", "1M", "64", "256", "16MiB", "940MHz", "400GiB/s", "[64, 64]",
    "[16]", "[[1K]]", "BERT", "XLM", "fusemax-binding", "flat", "'1K'", "-1024", "1e9",
    "!!python/object/apply:os.system [id]", "&a 1K", "*a", "2.5", "0x10", "1_000",
)  # fmt: skip


def mutate(text: str, rng: random.Random) -> str:
    """One mutation: a number replaced, a line deleted or duplicated, a key renamed."""
    lines = text.splitlines()
    kind = rng.randrange(4)
    if kind == 0:
        numbers = list(NUMBER.finditer(text))
        if numbers:
            match = rng.choice(numbers)
            return text[: match.start()] + rng.choice(REPLACEMENTS) + text[match.end() :]
    if kind == 1 and lines:
        del lines[rng.randrange(len(lines))]
    elif kind == 2 and lines:
        index = rng.randrange(len(lines))
        lines.insert(index, lines[index])
    elif lines:
        index = rng.randrange(len(lines))
        lines[index] = re.sub(r"(\w+):", lambda m: m.group(1)[::-1] + ":", lines[index], count=1)
    return "\n".join(lines) + "\n"


def mutate_text(original: str, rng: random.Random) -> str:
    """Apply one to three mutations to a file's text."""
    text = original
    for _ in range(rng.randint(1, 3)):
        text = mutate(text, rng)
    return text


def axis_option(_original: str, rng: random.Random) -> str:
    """Return one ``--axis NAME=VALUES`` text: a list, a range or a single value."""
    name = rng.choice(AXIS_NAMES)
    atoms = [rng.choice(AXIS_ATOMS) for _ in range(rng.randint(1, 3))]
    form = rng.randrange(4)
    if form == 0:
        values = "[" + ", ".join(atoms) + "]"
    elif form == 1:
        step = rng.choice(("", " x2", " x4", " x0", " x-1", " +1K", " xabc"))
        values = f"{atoms[0]}..{rng.choice(AXIS_ATOMS)}{step}"
    elif form == 2:
        values = atoms[0]
    else:
        pairs = zip(atoms, reversed(atoms), strict=True)
        values = "{" + ", ".join(f"{a}: {b}" for a, b in pairs) + "}"
    return f"{name}={values}"


def physical(metrics: dict[str, object]) -> str | None:
    """Return why a metrics table is not physical, or None when it is."""
    for name, value in metrics.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if not math.isfinite(value) or value < 0:
            return f"{name} = {value}"
        if name.startswith("util") and value > 1 + 1e-9:
            return f"{name} = {value} > 1"
    return None


def _model_check(result: Result, _out: Path) -> str:
    why = physical(json.loads(result.stdout)["metrics"])
    return "ok" if why is None else f"FINDING: exit 0 with {why}"


def _sweep_check(result: Result, out: Path) -> str:
    """Check every feasible row's numbers; every infeasible row must carry its reason."""
    from mappers.sweep.store import read_results

    frame = read_results(out)
    for row in frame.to_dict("records"):
        if not row.get("feasible", True):
            reason = str(row.get("reason") or "")
            if not reason or "Traceback" in reason:
                return f"FINDING: infeasible row {row['point_id']} without a clear reason"
            continue
        numbers = {k: v for k, v in row.items() if k not in {"point_id", "reason"}}
        why = physical(numbers)
        if why is not None:
            return f"FINDING: exit 0, row {row['point_id']} with {why}"
    return "ok"


def _timeloop_check(_result: Result, _out: Path) -> str:
    return "ok"


def _model_args(spec: Path | str, mapping: Path | str) -> list[str]:
    return ["model", "--arch", str(spec), "--mapping", str(mapping), "--workload", "BERT",
            "--seq", "4K", "--json"]  # fmt: skip


def _sweep_args(file: Path, out: Path, *extra: str) -> list[str]:
    return ["sweep", str(file), "--out", str(out), "--workers", "1", "--json", *extra]


@dataclass(frozen=True)
class Surface:
    """One input surface: its original text, how a mutant is made, run and checked."""

    original: str
    suffix: str
    make: Callable[[str, random.Random], str]
    args: Callable[[Path, Path], list[str]]
    check: Callable[[Result, Path], str]


def _base_sweep(folder: Path) -> Path:
    path = folder / "base-sweep.yaml"
    if not path.exists():
        path.write_text(SWEEP, encoding="utf-8")
    return path


SURFACES: dict[str, Surface] = {
    "spec": Surface(
        SPEC.read_text(encoding="utf-8"),
        ".yaml",
        mutate_text,
        lambda f, _o: _model_args(f, MAPPING),
        _model_check,
    ),
    "mapping": Surface(
        MAPPING.read_text(encoding="utf-8"),
        ".yaml",
        mutate_text,
        lambda f, _o: _model_args(SPEC, f),
        _model_check,
    ),
    "timeloop": Surface(
        TIMELOOP.read_text(encoding="utf-8"),
        ".yaml",
        mutate_text,
        lambda f, o: ["timeloop", "import", str(f), "--base", "fusemax", "-o", str(o)],
        _timeloop_check,
    ),
    "sweep": Surface(SWEEP, ".yaml", mutate_text, lambda f, o: _sweep_args(f, o), _sweep_check),
    "axis": Surface(
        "",
        ".txt",
        axis_option,
        lambda f, o: _sweep_args(_base_sweep(f.parent), o, "--axis", f.read_text(encoding="utf-8")),
        _sweep_check,
    ),
}


def run_one(surface: str, text: str, folder: Path) -> str:
    """Run one mutant; return 'ok', 'error' or a finding ('FINDING: ...')."""
    _register_commands()
    entry = SURFACES[surface]
    path = folder / f"mutant{entry.suffix}"
    path.write_text(text, encoding="utf-8")
    out = folder / ("out.yaml" if surface == "timeloop" else "out")
    if out.is_dir():
        shutil.rmtree(out)
    out.unlink(missing_ok=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = CliRunner().invoke(app, entry.args(path, out))
    crashed = result.exception is not None and not isinstance(result.exception, SystemExit)
    if crashed:
        kind = type(result.exception).__name__
        return f"FINDING: {kind}: {str(result.exception)[:120]}"
    numeric = [w for w in caught if issubclass(w.category, RuntimeWarning)]
    if numeric:
        where = f"{Path(numeric[0].filename).name}:{numeric[0].lineno}"
        return f"FINDING: RuntimeWarning at {where}: {numeric[0].message}"
    if result.exit_code == 1:
        return "error" if "Traceback" not in result.output else "FINDING: traceback"
    if result.exit_code != 0:
        return f"FINDING: exit {result.exit_code}"
    return entry.check(result, out)


def fuzz(surface: str, n: int, seed: int = 0) -> Iterator[tuple[str, str]]:
    """Yield ``(outcome, mutant text)`` for ``n`` seeded mutants of one surface."""
    rng = random.Random(f"{surface}-{seed}")
    entry = SURFACES[surface]
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(n):
            text = entry.make(entry.original, rng)
            yield run_one(surface, text, Path(folder)), text


def summary(outcomes: list[str]) -> Counter[str]:
    """Count outcomes: ok, error, finding."""
    return Counter("finding" if o.startswith("FINDING") else o for o in outcomes)
