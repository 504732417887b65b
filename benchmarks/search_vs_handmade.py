"""Searched mappings against the hand-made ones, from the cascade and the spec alone.

Usage: python benchmarks/search_vs_handmade.py [--seqs 1K,4K] [--budget SECONDS]

Rows: attention/1pass on fusemax against fusemax-binding; attention/1pass on flat against
cascade-on-flat; the 2-pass cascades on fusemax and flat (no hand-made 2-pass mapping
exists: fusemax-binding's 1-pass latency is shown for scale). Default costs. Prints the
load average beside each time.
"""

from __future__ import annotations

import argparse
import os
import time

from einsum_cascade import load_cascade
from mappers.cost.model import estimate_cost
from mappers.hardware.spec_loader import load_spec
from mappers.mapping.loader import load_mapping
from mappers.search.engine import search_mappings
from mappers.workloads import get_workload

ROWS = (
    ("attention/1pass", "fusemax", "fusemax-binding"),
    ("attention/1pass", "flat", "cascade-on-flat"),
    ("attention/2pass-a", "fusemax", "fusemax-binding"),
    ("attention/2pass-b", "fusemax", "fusemax-binding"),
    ("attention/2pass-c", "fusemax", "fusemax-binding"),
    ("attention/2pass-a", "flat", "cascade-on-flat"),
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seqs", default="1K,4K")
    parser.add_argument("--model", default="BERT")
    parser.add_argument("--budget", type=float, default=None)
    args = parser.parse_args()
    header = f"{'cascade':18} {'spec':8} {'seq':>5} {'hand-made':>16} {'hand_s':>10}"
    print(f"{header} {'searched_s':>10} {'ratio':>6} {'exh':>4} {'wall_s':>7} {'load':>5}")
    for cascade_name, arch, reference in ROWS:
        cascade, spec = load_cascade(cascade_name), load_spec(arch)
        for seq in args.seqs.split(","):
            point = get_workload(args.model, seq)
            hand = load_mapping(reference, point.name, point.seq_len)
            hand_cascade = load_cascade(hand.cascade)
            theirs = estimate_cost(hand_cascade, spec, hand, point).metric("latency_s")
            start = time.perf_counter()
            (result,) = search_mappings(
                cascade, spec, point.extents(), keep=1, budget_s=args.budget
            )
            wall = time.perf_counter() - start
            ours = result.best[0].latency_s
            exhaustive = "yes" if result.counts.exhaustive else "no"
            print(
                f"{cascade_name:18} {arch:8} {seq:>5} {reference:>16} {theirs:10.6g} "
                f"{ours:10.6g} {ours / theirs:6.3f} {exhaustive:>4} {wall:7.1f} "
                f"{os.getloadavg()[0]:5.2f}"
            )
            print(f"    {result.best[0].summary}")


if __name__ == "__main__":
    main()
