"""Time reading the project's YAML files: PyYAML's pure-Python composer against the one reader.

For every YAML file under ``mappers/data`` (specs, mappings, sweeps, the reproduction plan)
this composes the text ``--repeat`` times three ways and prints milliseconds per pass over
all files, beside the machine's load average:

* ``pure``: ``yaml.compose`` with the pure-Python ``SafeLoader`` (what the readers did);
* ``reader, cold``: ``einsum_cascade.yaml_source.compose`` with its cache cleared each time
  (libyaml's event parser when installed, plus the checks and spans);
* ``reader, cached``: the same call again within the process (the text is composed once).

Usage::

    python benchmarks/yaml_reader.py [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from einsum_cascade.errors import DiagnosticError  # noqa: E402
from einsum_cascade.yaml_source import _compose_cached, compose_nodes  # noqa: E402


def _best_ms(run: object, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        run()  # type: ignore[operator]
        best = min(best, time.perf_counter() - start)
    return best * 1e3


def main() -> None:
    """Print the three timings."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    files = sorted((ROOT / "mappers" / "data").rglob("*.yaml"))
    texts = [(str(p), p.read_text(encoding="utf-8")) for p in files]

    def pure() -> None:
        for _, text in texts:
            yaml.compose(text, Loader=yaml.SafeLoader)

    def cold() -> None:
        _compose_cached.cache_clear()
        for file, text in texts:
            compose_nodes(text, file, DiagnosticError)

    def cached() -> None:
        for file, text in texts:
            compose_nodes(text, file, DiagnosticError)

    libyaml = "libyaml" if getattr(yaml, "__with_libyaml__", False) else "pure Python"
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"{len(texts)} files, {sum(len(t) for _, t in texts)} characters; parser: {libyaml}")
    print(f"load average (1, 5, 15 min): {load}")
    for name, run in (("pure", pure), ("reader, cold", cold), ("reader, cached", cached)):
        print(f"{name:>15}: {_best_ms(run, args.repeat):8.2f} ms per pass (best of {args.repeat})")


if __name__ == "__main__":
    main()
