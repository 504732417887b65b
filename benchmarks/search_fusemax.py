"""FuseMax rediscovered: attention/1pass on the fusemax spec, searched at every BERT and TrXL
length, against the hand-made fusemax-binding.

Usage: python benchmarks/search_fusemax.py [--models BERT,TrXL]

One search per model covers its six lengths (one row per length and partition size).
Prints latency of both, the ratio, the searched choices and the load average beside the
time.
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", default="BERT,TrXL")
    args = parser.parse_args()
    cascade, spec = load_cascade("attention/1pass"), load_spec("fusemax")
    for model in args.models.split(","):
        points = [get_workload(model, s) for s in FUSEMAX_SEQS]
        columns = {k: np.array([p.extents()[k] for p in points]) for k in points[0].extents()}
        start = time.perf_counter()
        results = search_mappings(cascade, spec, columns, keep=1)
        wall = time.perf_counter() - start
        print(f"{model}: {wall:.1f} s for {len(points)} lengths (load {os.getloadavg()[0]:.2f})")
        print(f"{'seq':>5} {'binding_s':>11} {'searched_s':>11} {'ratio':>6}  choices")
        for point, result in zip(points, results, strict=True):
            binding = load_mapping("fusemax-binding", point.name, point.seq_len)
            theirs = estimate_cost(cascade, spec, binding, point).metric("latency_s")
            best = result.best[0]
            ratio = best.latency_s / theirs
            print(
                f"{point.seq_len:>5} {theirs:11.6g} {best.latency_s:11.6g} {ratio:6.4f}  ", end=""
            )
            print(best.summary)


if __name__ == "__main__":
    main()
