"""The closed-form schedules against ``schedule: simulate``, across sequence and bandwidth.

FuseMax binding (``fusemax-pipelined``, default costs), BERT and XLM. Two tables: at the
spec's 400 GiB/s, ``stages`` and ``pipelined`` against the simulation per sequence length
(with one tile buffer as a contrast, and the time to evaluate one simulated point, the
model built); then ``pipelined``
against ``simulate`` across DRAM bandwidths (a ``DRAM.bandwidth_bytes_per_s`` column, one
mapping), where ``closed / simulated - 1`` negative means the closed form is optimistic.
Usage::

    python benchmarks/simulate_vs_closed.py [--models BERT,XLM] [--gib 5,10,12,50,400]
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import os
import time

import numpy as np

import einsum_cascade.library as library
from mappers.cost import schedule
from mappers.cost.model import CostModel, build_cost_model, evaluate_design_points
from mappers.hardware.spec_loader import load_spec
from mappers.mapping.loader import load_mapping
from mappers.mapping.schema import Schedule
from mappers.workloads import load_workload

SEQS = ("1K", "4K", "16K", "64K", "256K", "1M")
SWEEP = 200  # bandwidths of the sweep, 1 GiB/s to 1 TiB/s


@functools.cache
def model_of(kind: str) -> CostModel:
    """Return the cost model of the FuseMax binding under one schedule kind."""
    mapping = load_mapping("fusemax-pipelined")
    if kind != "pipelined":
        stages = load_mapping("fusemax-binding").schedule
        mapping = dataclasses.replace(
            mapping, schedule=stages if kind == "stages" else Schedule(kind)
        )
    return build_cost_model(library.load("attention/1pass"), load_spec("fusemax"), mapping)


def latency(kind: str, extents: dict[str, object], buffers: int | None = None) -> np.ndarray:
    """Return the latency in cycles of the FuseMax binding under one schedule kind."""
    model = model_of(kind)
    if buffers is None:
        return np.asarray(evaluate_design_points(model, extents)["latency_cycles"])
    default = schedule.simulate_latency
    schedule.simulate_latency = functools.partial(default, buffers=buffers)
    try:
        return np.asarray(evaluate_design_points(model, extents)["latency_cycles"])
    finally:
        schedule.simulate_latency = default


def extents_of(model: str, seq: str) -> dict[str, object]:
    """Return the attention extents of a built-in model at one sequence length."""
    extents = load_workload(model, seq).extents()
    return {r: extents[r] for r in ("B", "H", "E", "F", "M", "P")}


def per_sequence(models: list[str]) -> None:
    """Print the table at the spec's bandwidth."""
    print(
        "| model | seq | stages (fusemax-binding) | pipelined (closed form) | simulated "
        "| pipelined vs simulated | one tile buffer | time per point |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for model in models:
        for seq in SEQS:
            point = extents_of(model, seq)
            stages, closed = float(latency("stages", point)), float(latency("pipelined", point))
            simulated = float(latency("simulate", point))
            start = time.perf_counter()  # the model is built and compiled: one evaluation
            latency("simulate", point)
            elapsed = time.perf_counter() - start
            load = os.getloadavg()[0]
            single = float(latency("simulate", point, buffers=1))
            print(
                f"| {model} | {seq} | {stages:.6g} | {closed:.6g} | {simulated:.6g} "
                f"| {closed / simulated - 1:+.4%} | {single / simulated - 1:+.1%} "
                f"| {elapsed * 1e3:.0f} ms (load {load:.2f}) |"
            )


def per_bandwidth(models: list[str], gib: list[float], seqs: list[str]) -> None:
    """Print closed form / simulated - 1 per sequence and bandwidth, and the worst of a sweep.

    The sweep is ``SWEEP`` bandwidths from 1 GiB/s to 1 TiB/s (geometric): its most
    optimistic gap, where, and in brackets its largest; "simulated monotone" is over the
    listed bandwidths and the sweep together.
    """
    header = " | ".join(f"{g:g} GiB/s" for g in gib)
    sweep = f"worst of {SWEEP} from 1 to 1024 GiB/s (largest)"
    print(f"| model | seq | {header} | {sweep} | simulated monotone |")
    print("|---|---|" + "---|" * len(gib) + "---|---|")
    listed = len(gib)
    bandwidth = np.concatenate([gib, np.geomspace(1.0, 1024.0, SWEEP)]) * 2**30
    for model in models:
        for seq in seqs:
            point = {**extents_of(model, seq), "DRAM.bandwidth_bytes_per_s": bandwidth}
            closed, simulated = latency("pipelined", point), latency("simulate", point)
            gap = closed / simulated - 1
            gaps = " | ".join(f"{g:+.3%}" for g in gap[:listed])
            worst = listed + int(np.argmin(gap[listed:]))
            at = f"{gap[worst]:+.2%} at {bandwidth[worst] / 2**30:.3g} GiB/s"
            at += f" ({np.max(gap[listed:]):+.3%})"
            order = np.argsort(bandwidth, kind="stable")
            monotone = bool(np.all(np.diff(simulated[order]) <= 0))
            print(f"| {model} | {seq} | {gaps} | {at} | {'yes' if monotone else 'NO'} |")


def main() -> None:
    """Print both tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="BERT,XLM", help="built-in models, comma-separated")
    parser.add_argument("--gib", default="5,10,12,50,400", help="DRAM bandwidths in GiB/s")
    parser.add_argument("--seqs", default=",".join(SEQS), help="sequences of the second table")
    args = parser.parse_args()
    models = args.models.split(",")
    print(f"load average at start: {os.getloadavg()[0]:.2f}\n")
    per_sequence(models)
    print()
    per_bandwidth(models, [float(g) for g in args.gib.split(",")], args.seqs.split(","))
    print(f"\nload average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
