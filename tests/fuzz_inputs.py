"""Seeded mutants of specs, mappings and Timeloop YAML through the CLI entry points.

Shared by ``tests/test_fuzz_inputs.py`` (a bounded run in CI) and ``benchmarks/fuzz.py``
(long runs). Every mutant must give exit 0 with finite, physical numbers (nothing negative,
utilisation at most 1) or exit 1 with a diagnostic; anything else is a finding.
"""

from __future__ import annotations

import json
import math
import random
import re
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

from typer.testing import CliRunner

from einsum_cascade.cli import _register_commands, app

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "mappers/data/accelerators/fusemax.yaml"
MAPPING = ROOT / "mappers/data/mappings/fusemax-binding.yaml"
TIMELOOP = ROOT / "tests/data/timeloop/fusemax-arch-2d.yaml"
NUMBER = re.compile(r"(?<![\w.])-?\d+(\.\d+)?(e-?\d+)?(?![\w.])")
REPLACEMENTS = (
    "-3", "0", "0.5", "nan", "inf", "-inf", "1e999", "1e-300", "abc", "[1, 2]", "{}", "",
    "9223372036854775808", "4294967296", "-0", "true", "~",
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


def physical(metrics: dict[str, object]) -> str | None:
    """Return why a metrics table is not physical, or None when it is."""
    for name, value in metrics.items():
        if not isinstance(value, int | float):
            continue
        if not math.isfinite(value) or value < 0:
            return f"{name} = {value}"
        if name.startswith("util") and value > 1 + 1e-9:
            return f"{name} = {value} > 1"
    return None


Surface = Callable[[Path, str], list[str]]


def _model_args(spec: Path, mapping: Path) -> list[str]:
    return ["model", "--arch", str(spec), "--mapping", str(mapping), "--workload", "BERT",
            "--seq", "4K", "--json"]  # fmt: skip


SURFACES: dict[str, tuple[Path, Callable[[Path], list[str]]]] = {
    "spec": (SPEC, lambda f: _model_args(f, MAPPING)),
    "mapping": (MAPPING, lambda f: _model_args(SPEC, f)),
    "timeloop": (
        TIMELOOP,
        lambda f: [
            "timeloop",
            "import",
            str(f),
            "--base",
            "fusemax",
            "-o",
            str(f.with_suffix(".spec.yaml")),
        ],
    ),
}


def run_one(surface: str, text: str, folder: Path) -> str:
    """Run one mutant; return 'ok', 'error' or a finding ('FINDING: ...')."""
    _register_commands()
    original, args_of = SURFACES[surface]
    path = folder / f"mutant{original.suffix}"
    path.write_text(text, encoding="utf-8")
    out = path.with_suffix(".spec.yaml")
    out.unlink(missing_ok=True)
    result = CliRunner().invoke(app, args_of(path))
    crashed = result.exception is not None and not isinstance(result.exception, SystemExit)
    if crashed:
        kind = type(result.exception).__name__
        return f"FINDING: {kind}: {str(result.exception)[:120]}"
    if result.exit_code == 1:
        return "error" if "Traceback" not in result.output else "FINDING: traceback"
    if result.exit_code != 0:
        return f"FINDING: exit {result.exit_code}"
    if surface == "timeloop":
        return "ok"
    why = physical(json.loads(result.stdout)["metrics"])
    return "ok" if why is None else f"FINDING: exit 0 with {why}"


def fuzz(surface: str, n: int, seed: int = 0) -> Iterator[tuple[str, str]]:
    """Yield ``(outcome, mutant text)`` for ``n`` seeded mutants of one surface."""
    rng = random.Random(f"{surface}-{seed}")
    original = SURFACES[surface][0].read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(n):
            text = original
            for _ in range(rng.randint(1, 3)):
                text = mutate(text, rng)
            yield run_one(surface, text, Path(folder)), text


def summary(outcomes: list[str]) -> Counter[str]:
    """Count outcomes: ok, error, finding."""
    return Counter("finding" if o.startswith("FINDING") else o for o in outcomes)
