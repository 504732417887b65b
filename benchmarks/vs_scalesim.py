"""Our cost model beside SCALE-Sim, a cycle-level systolic-array simulator, on GEMMs.

For every GEMM shape x square array x dataflow (output- or weight-stationary), one table row:
compute cycles and DRAM words (reads and writes), ours and SCALE-Sim's, with the ratio.
Ours is the ``gemm`` cascade (Z[m, n] = A[k, m] W[k, n]) costed through the public Python
API on a spec generated per array size (one-byte words like SCALE-Sim's, DRAM bandwidth high
enough that nothing stalls, an L3 that holds every operand) with one mapping per dataflow.

SCALE-Sim runs in a venv of its own (set up on first use, outside the repository: see
``peers/harness.py``), one subprocess per point, ``--jobs`` at a time; its results are
cached by input hash, so a rerun simulates only new points. Its SRAMs hold every operand
and its interface bandwidth is computed (no stalls), so its cycles are compute cycles and
its DRAM reads compulsory.

Usage::

    python benchmarks/vs_scalesim.py [--jobs 2] [--slow] [--no-cache] [--shapes 64x128x256,...]

``--slow`` adds the points whose simulation alone takes minutes and gigabytes (1024^3 and
4096x64x4096 on a 32x32 array).
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from peers.harness import SCALESIM, load_average, peer_version, run_many

from einsum_cascade import load_cascade
from mappers import build_cost_model, evaluate_costs, mapping_from_text, spec_from_text

# (M, K, N): ragged extents, M below the array's rows, M = 1, K-heavy, N-heavy and square.
SHAPES: tuple[tuple[int, int, int], ...] = (
    (33, 65, 129),
    (64, 128, 256),
    (96, 96, 96),
    (200, 300, 100),
    (100, 1000, 50),
    (256, 64, 1024),
    (1000, 200, 300),
    (512, 512, 512),
    (128, 4096, 128),
    (64, 1024, 1024),
    (1024, 1024, 1024),
    (4096, 64, 4096),
)
ARRAYS = (32, 128, 256)
DATAFLOWS = ("os", "ws")
# SCALE-Sim builds per-cycle demand matrices: these points take minutes and GBs each.
SLOW = {((1024, 1024, 1024), 32), ((4096, 64, 4096), 32)}

SPEC = """\
version: 1
name: systolic-{rows}x{cols}
description: a {rows}x{cols} MAC array; one-byte words; no bandwidth stall; L3 holds all
clock_hz: 1e9
word_bytes: 1
levels:
  - name: DRAM
    bandwidth_bytes_per_s: 1e18
    access_bits: 8
    read_energy_pj: 1
    write_energy_pj: 1
  - name: L3
    size_bytes: 1GiB
    access_bits: 8
    read_energy_pj: 1
    write_energy_pj: 1
arrays:
  - name: pe2d
    shape: [{rows}, {cols}]
    dims: [rows, cols]
    register_words_per_pe: 3
    register_read_energy_pj: 0
    register_write_energy_pj: 0
    area_um2_per_pe: 1
    ops:
      mac: {{cycles: 1, energy_pj: 1}}
"""

# Output-stationary: M on the rows, N on the columns, K streamed through each PE.
# Weight-stationary: K on the rows, N on the columns, M streamed (SCALE-Sim's bindings).
MAPPING = """\
version: 1
name: gemm-{dataflow}
description: GEMM, {long} on a systolic array; every operand in L3
cascade: gemm
batch_ranks: []
bind:
  pe2d: [Z]
spatial:
  pe2d: {{rows: {rows}, cols: n}}
stationary:
  Z: {stationary}
place:
  DRAM: [A, W, Z]
  L3: [A, W, Z]
schedule: sequential
"""
DATAFLOW = {"os": ("m", "Z", "output-stationary"), "ws": ("k", "W", "weight-stationary")}


@dataclass(frozen=True)
class Ours:
    cycles: float
    dram_read_words: float  # reads and partial-sum read-backs, summed over tensors
    dram_write_words: float
    dram_words: float
    eval_s: float


def ours(m: int, k: int, n: int, size: int, dataflow: str) -> Ours:
    """Cost one GEMM point in our model: build (cached per spec and mapping) and evaluate."""
    rows, stationary, long = DATAFLOW[dataflow]
    start = time.perf_counter()
    spec = spec_from_text(SPEC.format(rows=size, cols=size))
    mapping = mapping_from_text(
        MAPPING.format(dataflow=dataflow, long=long, rows=rows, stationary=stationary)
    )
    model = build_cost_model(load_cascade("gemm"), spec, mapping)
    costs = evaluate_costs(model, {"M": m, "K": k, "N": n})
    elapsed = time.perf_counter() - start
    dram = [t for t in costs.traffic if t.level == "DRAM"]  # per tensor, as --stats prints
    reads = sum(float(t.reads) + float(t.readbacks) for t in dram)
    writes = sum(float(t.writes) for t in dram)
    total = float(costs.row()["accesses_DRAM_words"])
    return Ours(float(costs.latency_cycles), reads, writes, total, elapsed)


def ratio(a: float, b: float) -> str:
    return "—" if b == 0 else f"{a / b:.3f}"


def count(x: float) -> str:
    return f"{x:,.0f}"


def points(
    shapes: Sequence[tuple[int, int, int]], slow: bool
) -> list[tuple[tuple[int, int, int], int, str]]:
    return [
        (shape, size, dataflow)
        for shape in shapes
        for size in ARRAYS
        if slow or (shape, size) not in SLOW
        for dataflow in DATAFLOWS
    ]


def pair(values: Sequence[str]) -> str:
    """Join one value per dataflow (OS / WS), or give one value when they agree."""
    return values[0] if len(set(values)) == 1 else " / ".join(values)


def table(
    rows: Sequence[tuple[tuple[tuple[int, int, int], int, str], Ours, dict[str, Any]]],
) -> str:
    """One line per shape and array: cycles per dataflow, then DRAM words (OS / WS)."""
    flows = "/".join(f.upper() for f in DATAFLOWS)
    head = "| M×K×N | array |"
    for flow in DATAFLOWS:
        head += f" {flow.upper()} cycles ours | SCALE-Sim | ratio |"
    head += (
        f" DRAM reads ours ({flows}) | SCALE-Sim | DRAM writes ours ({flows}) | SCALE-Sim "
        "| WS K folds | SCALE-Sim s |"
    )
    lines = [head, "|" + "|".join("---" for _ in range(head.count("|") - 1)) + "|"]
    groups: dict[tuple[tuple[int, int, int], int], list[tuple[Ours, dict[str, Any]]]] = {}
    for (shape, size, _), our, peer in rows:
        groups.setdefault((shape, size), []).append((our, peer))
    for ((m, k, n), size), cells in groups.items():
        line = f"| {m}×{k}×{n} | {size}² |"
        for our, peer in cells:
            line += (
                f" {our.cycles:,.0f} | {peer['cycles']:,} | {ratio(our.cycles, peer['cycles'])} |"
            )
        our_reads = pair([count(our.dram_read_words) for our, _ in cells])
        our_writes = pair([count(our.dram_write_words) for our, _ in cells])
        wall = sum(peer["wall_s"] for _, peer in cells)
        peer_reads = pair([count(peer["dram_read_words"]) for _, peer in cells])
        peer_writes = pair([count(peer["dram_write_words"]) for _, peer in cells])
        line += (
            f" {our_reads} | {peer_reads} | {our_writes} | {peer_writes} "
            f"| {math.ceil(k / size)} | {wall:.1f} |"
        )
        lines.append(line)
    return "\n".join(lines)


def summary(
    rows: Sequence[tuple[tuple[tuple[int, int, int], int, str], Ours, dict[str, Any]]],
) -> str:
    """Cycles within 1 %, DRAM reads equal, OS writes equal, WS writes as SCALE-Sim's rule.

    SCALE-Sim's WS array writes every K fold's partial sums to DRAM (its ofmap SRAM is a
    write buffer): M N ceil(K / R) words plus at most C - 1 from that buffer. Ours holds Z
    in L3 until its sum is complete (M N words).
    """
    within = [abs(our.cycles / peer["cycles"] - 1) <= 0.01 for _, our, peer in rows]
    worst = max(abs(our.cycles / peer["cycles"] - 1) for _, our, peer in rows)
    reads = [our.dram_read_words == peer["dram_read_words"] for _, our, peer in rows]
    os_writes = [
        our.dram_write_words == peer["dram_write_words"]
        for (_, _, flow), our, peer in rows
        if flow == "os"
    ]
    ws_rule = [
        0 <= peer["dram_write_words"] - m * n * math.ceil(k / size) < size
        and our.dram_write_words == m * n
        for ((m, k, n), size, flow), our, peer in rows
        if flow == "ws"
    ]
    parts = [
        f"cycles within 1 %: {sum(within)}/{len(within)} points (worst {worst:.1%} off)",
        f"DRAM reads equal: {sum(reads)}/{len(reads)}",
        f"OS DRAM writes equal: {sum(os_writes)}/{len(os_writes)}",
        f"WS DRAM writes: ours M·N, SCALE-Sim's M·N·ceil(K/R) + e (0 <= e < C) on "
        f"{sum(ws_rule)}/{len(ws_rule)}",
    ]
    return "; ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2, help="SCALE-Sim processes at a time")
    parser.add_argument("--slow", action="store_true", help="add the minutes-long points")
    parser.add_argument("--no-cache", action="store_true", help="simulate every point again")
    parser.add_argument(
        "--shapes", help="comma-separated MxKxN shapes instead of the built-in list (64x128x256)"
    )
    args = parser.parse_args()
    shapes = (
        [tuple(int(x) for x in s.split("x")) for s in args.shapes.split(",")]
        if args.shapes
        else SHAPES
    )
    todo = points(shapes, args.slow)
    start = time.perf_counter()
    peers = run_many(
        SCALESIM,
        [[str(x) for x in (*shape, size, size, flow)] for shape, size, flow in todo],
        jobs=args.jobs,
        use_cache=not args.no_cache,
    )
    peer_wall = time.perf_counter() - start
    start = time.perf_counter()
    rows = [
        (point, ours(*point[0], point[1], point[2]), peer)
        for point, peer in zip(todo, peers, strict=True)
    ]
    our_wall = time.perf_counter() - start
    simulated = sum(p["wall_s"] for p in peers if not p["cached"])
    print(f"SCALE-Sim {peer_version(SCALESIM)} vs einsum-cascade, {time.strftime('%Y-%m-%d')}")
    print(table(rows))
    print(summary(rows))
    print(
        f"SCALE-Sim: {len(peers)} points, {sum(not p['cached'] for p in peers)} simulated now "
        f"({simulated:.0f} s of simulation, {peer_wall:.0f} s wall with {args.jobs} jobs); "
        f"ours: {our_wall:.2f} s for all points, builds included; load average {load_average()}"
    )


if __name__ == "__main__":
    main()
