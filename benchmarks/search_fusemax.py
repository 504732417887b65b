"""FuseMax rediscovered: attention/1pass on the fusemax spec, searched at every BERT and TrXL
length, against the hand-made fusemax-binding.

Usage: python benchmarks/search_fusemax.py [--models BERT,TrXL]

One search per model covers its six lengths (one row per length and partition size).
Prints latency of both, the ratio, whether the search is within the goal (latency at most
``fusemax-binding``'s x 1.001), the searched choices, and the wall and CPU seconds with
the load average beside them. The test suite checks a sample of these lengths
(``tests/mappers/search/test_search_scaling.py``); this prints every one. Exit status 1
when a length misses the goal.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from einsum_cascade import load_cascade
from mappers.cost.model import estimate_cost
from mappers.hardware.spec_loader import load_spec
from mappers.mapping.loader import load_mapping
from mappers.search.engine import search_mappings
from mappers.workloads import FUSEMAX_SEQS, get_workload


def main() -> int:
    """Search every length of each model; print the table; 1 when a length misses."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", default="BERT,TrXL")
    args = parser.parse_args()
    cascade, spec = load_cascade("attention/1pass"), load_spec("fusemax")
    missed = 0
    for model in args.models.split(","):
        points = [get_workload(model, s) for s in FUSEMAX_SEQS]
        columns = {k: np.array([p.extents()[k] for p in points]) for k in points[0].extents()}
        start, cpu = time.perf_counter(), time.process_time()
        results = search_mappings(cascade, spec, columns, keep=1)
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        print(
            f"{model}: {wall:.1f} s wall, {cpu:.1f} s CPU for {len(points)} lengths "
            f"(load {os.getloadavg()[0]:.2f})"
        )
        print(f"{'seq':>5} {'binding_s':>11} {'searched_s':>11} {'ratio':>6} {'goal':>4}  choices")
        for point, result in zip(points, results, strict=True):
            binding = load_mapping("fusemax-binding", point.name, point.seq_len)
            theirs = estimate_cost(cascade, spec, binding, point).metric("latency_s")
            best = result.best[0]
            ratio = best.latency_s / theirs
            ok = best.latency_s <= theirs * 1.001
            missed += not ok
            print(
                f"{point.seq_len:>5} {theirs:11.6g} {best.latency_s:11.6g} {ratio:6.4f} "
                f"{'yes' if ok else 'NO':>4}  {best.summary}"
            )
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
