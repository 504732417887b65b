"""Our cost model and mapping search beside ZigZag (LOMA), on the same hardware.

Workloads: QKᵀ at 1K and 4K tokens (E = 64) and GEMMs (1024³ and BERT-base's layers at 4096
tokens), on 256x256 and 32x32 arrays. The hardware is the FuseMax 2D array's, written twice:
a spec of ours and a ZigZag accelerator (``peers/zigzag_runner.py``), aligned per word (L3
and DRAM energies, the register file, the MAC) and with an L3 that never limits bandwidth
(one read and one write port per operand in ZigZag; no L3 bandwidth in our spec).

Per row:

* ZigZag: latency, energy and EDP of the mapping its search chose (``opt=EDP``, LOMA with
  ``lpf_limit`` 2, spatial unrolling searched), as ZigZag costs it; the time of its search
  (in-process, and cold: the runner's whole process, interpreter start and imports
  included) and of one evaluation of the chosen mapping.
* Ours: the best mapping of ``search`` (objective EDP), costed by our model, and the same for
  ZigZag's chosen mapping translated into our mapping language, so that one model judges both
  mappings; the time of one evaluation and of one search, in-process and cold
  (``python -m einsum_cascade search`` in a fresh interpreter).
* Latency, ZigZag's mapping: ZigZag's compute (``ideal_temporal_cycle``) + on-loading +
  off-loading + port stall, and ours: compute + what the first DRAM tile's load and the last
  tile's store add (the default ``ends: tile``; ``(DRAM)`` where the DRAM time bounds it).
  The two tools charge the ends differently (see the README), so the comparison of what
  both model is separate: the larger of the mapping's compute and its DRAM words at the
  DRAM port's bandwidth, ZigZag's from its own counts (its DRAM port: 3655 bits a cycle,
  ``dram_words``), ours the latency with ``ends: none``.
* EDP: one model judges both mappings under one schedule: ZigZag's mapping is overlapped,
  so ours is the best EDP the search finds with the overlapped schedule (one search per
  DRAM loop order, a template fixing each), with ``ends: none`` and again with ``ends:
  tile``, each priced by the search as the model prices it. The default search (no
  template, timed) also tries ``pipelined``, which charges the first load and last store
  as ``overlapped`` does; its pick is listed below the table.

ZigZag runs in a venv of its own, set up on first use outside the repository, and its
results are cached by input hash (``peers/harness.py``); ``--no-cache`` reruns it.

Usage::

    python benchmarks/vs_zigzag.py [--no-cache] [--arrays 256,32]
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from peers.harness import ZIGZAG, load_average, peer_version, run_peer

from einsum_cascade import load_cascade
from mappers import build_cost_model, evaluate_design_points, mapping_from_text, spec_from_text
from mappers.mapping.schema import Schedule
from mappers.search import search_mappings
from mappers.search.candidates import Found
from mappers.search.engine import loop_orders, template_for

CLOCK_HZ = 940e6
WORD_BITS = 16
ZZ_DRAM_BITS_PER_CYCLE = int(400 * 2**30 * 8 / CLOCK_HZ)  # ZigZag's DRAM port (3655 bits)

# (label, M, K, N) of Z[m, n] = A[k, m] W[k, n]; QKᵀ is M queries x N keys over K = E.
WORKLOADS: tuple[tuple[str, int, int, int], ...] = (
    ("QKᵀ 1K", 1024, 64, 1024),
    ("QKᵀ 4K", 4096, 64, 4096),
    ("GEMM 1024³", 1024, 1024, 1024),
    ("BERT QKV/O 4096×768×768", 4096, 768, 768),
    ("BERT FFN1 4096×768×3072", 4096, 768, 3072),
    ("BERT FFN2 4096×3072×768", 4096, 3072, 768),
)

# The FuseMax 2D array (mappers/data/accelerators/fusemax.yaml) on an RxR array, alone.
SPEC = """\
version: 1
name: fusemax-2d-{size}x{size}
description: the FuseMax 2D array's hardware on a {size}x{size} array (no 1D array)
clock_hz: 940e6
word_bytes: 2
levels:
  - name: DRAM
    bandwidth_bytes_per_s: 400GiB
    access_bits: 64
    read_energy_pj: 249.6
    write_energy_pj: 249.6
  - name: L3
    size_bytes: 16MiB
    access_bits: 4096
    read_energy_pj: 12519
    write_energy_pj: 15751
arrays:
  - name: pe2d
    shape: [{size}, {size}]
    dims: [rows, cols]
    fill_drain: false   # ZigZag without systolic_dimensions charges no fill or drain
    register_words_per_pe: 12
    register_read_energy_pj: 2.194455
    register_write_energy_pj: 1.906455
    area_um2_per_pe: 18426.05
    ops:
      mac: {{cycles: 1, energy_pj: 17.1645}}
"""

# ZigZag's Gemm O[b][k] += I[b][c] W[c][k]: B is our M, K our N, C our contraction K.
ZIGZAG_RANK = {"B": "M", "K": "N", "C": "K"}
IRRELEVANT = {"O": "C", "I": "K", "W": "B"}  # the loop each operand does not depend on
STATIONARY = {"O": "Z", "I": "A", "W": "W"}  # ZigZag operand -> our tensor


@dataclass(frozen=True)
class Costed:
    latency_cycles: float
    energy_pj: float

    @property
    def edp(self) -> float:
        return self.latency_cycles * self.energy_pj


def translate(zz: dict[str, Any], m: int, k: int, n: int) -> tuple[str, list[str]]:
    """Return ZigZag's chosen mapping as our mapping YAML, and what could not be kept.

    * Spatial: ZigZag's D1 (the array's first axis) is our ``rows``, D2 our ``cols``. Our
      spreads are whole, so M or N unrolled over part of an axis (128 queries over 256
      columns) is also tiled at DRAM by the unrolled size: each fold is that wide, as
      ZigZag's, and no word moves more often (the other operand stays in L3). A partly
      unrolled contraction would spill partial sums if tiled, so it is spread whole.
    * DRAM loops: a rank with loops at any operand's DRAM level is tiled at DRAM, its tile
      the extent over those loops; the others stay whole. Every tensor is placed in L3, as
      every ZigZag operand passes through it.
    * Stationarity: the operand with the most reuse in its registers (the product of the
      loops at its register level that it does not depend on) stays in the PEs.
    """
    notes: list[str] = []
    extent = {"M": m, "K": k, "N": n}
    spatial = {}
    partial: dict[str, int] = {}
    for axis, dim in (("D1", "rows"), ("D2", "cols")):
        unrolled = zz["mapping"]["spatial"].get(axis, {})
        for rank, size in unrolled.items():
            ours = ZIGZAG_RANK[rank]
            spatial[dim] = ours.lower()
            if size < min(extent[ours], zz["rows"] if dim == "rows" else zz["cols"]):
                if ours == "K":
                    notes.append(f"{rank} unrolled {size:.0f} on {axis}, spread whole here")
                else:
                    partial[ours] = int(size)
                    notes.append(f"{rank} unrolled {size:.0f} on {axis}: {ours} tiled {size:.0f}")
    temporal = zz["mapping"]["temporal"]
    tiles: dict[str, int] = dict(partial)
    for loops in (levels[-1] for levels in temporal.values()):
        for rank, size in loops:
            ours = ZIGZAG_RANK[rank]
            tiles[ours] = min(tiles.get(ours, extent[ours]), math.ceil(extent[ours] / size))
    reuse = {
        op: math.prod(size for rank, size in levels[0] if rank == IRRELEVANT[op])
        for op, levels in temporal.items()
    }
    stationary = STATIONARY[max(("O", "I", "W"), key=lambda op: (reuse[op], op == "O"))]
    order = [r for r in ("M", "N", "K") if r in tiles]
    lines = [
        "version: 1",
        "name: zigzag-choice",
        "description: ZigZag's chosen mapping",
        "cascade: gemm",
        "batch_ranks: []",
        "bind: {pe2d: [Z]}",
        f"spatial: {{pe2d: {{rows: {spatial['rows']}, cols: {spatial['cols']}}}}}",
        f"stationary: {{Z: {stationary}}}",
        f"loop_order: [{', '.join(order)}]",
    ]
    if tiles:
        lines.append("tiles: {" + ", ".join(f"{r}: {tiles[r]}" for r in order) + "}")
    lines += ["place: {DRAM: [A, W, Z], L3: [A, W, Z]}", "schedule: overlapped", ""]
    return "\n".join(lines), notes


def cost(
    spec_text: str, mapping_text: str, m: int, k: int, n: int, **columns: float
) -> tuple[Costed, float]:
    """Cost one mapping in our model; return the cost and the seconds of one evaluation.

    ``columns`` set spec parameters (``DRAM.bandwidth_bytes_per_s``) at the point.
    """
    model = build_cost_model(
        load_cascade("gemm"), spec_from_text(spec_text), mapping_from_text(mapping_text)
    )
    point = {"M": m, "K": k, "N": n, **columns}
    values = evaluate_design_points(model, point)
    start = time.perf_counter()
    repeats = 20
    for _ in range(repeats):
        evaluate_design_points(model, point)
    eval_s = (time.perf_counter() - start) / repeats
    return Costed(float(values["latency_cycles"]), float(values["energy_pj"])), eval_s


def with_ends(mapping_text: str, ends: str) -> str:
    """Return overlapped mapping YAML whose first load and last store are ``ends``."""
    lines = [
        f"schedule: {{overlapped: {{ends: {ends}}}}}" if line.startswith("schedule:") else line
        for line in mapping_text.splitlines()
    ]
    return "\n".join(lines) + "\n"


def cold_search(spec_text: str, m: int, k: int, n: int) -> float:
    """Return the wall time of ``einsum-cascade search`` in a fresh interpreter."""
    with tempfile.TemporaryDirectory() as tmp:
        spec_file = Path(tmp) / "spec.yaml"
        spec_file.write_text(spec_text)
        start = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "einsum_cascade",
                "search",
                "--arch",
                str(spec_file),
                "--cascade",
                "gemm",
                "--extent",
                f"M={m}",
                "--extent",
                f"K={k}",
                "--extent",
                f"N={n}",
                "--objective",
                "edp",
                "--keep",
                "1",
                "--json",
            ],
            check=True,
            capture_output=True,
        )
        return time.perf_counter() - start


def search_overlapped(spec_text: str, m: int, k: int, n: int, ends: str) -> Found:
    """Return the best-EDP mapping the search finds with the overlapped schedule and the
    given ends, over every DRAM loop order (a template fixes one order per search)."""
    cascade, spec = load_cascade("gemm"), spec_from_text(spec_text)
    base = template_for(cascade, spec)
    found = [
        search_mappings(
            cascade,
            spec,
            {"M": m, "K": k, "N": n},
            replace(base, loop_order=order, schedule=Schedule("overlapped", ends=ends)),
            objective="edp",
            keep=1,
        )[0].best[0]
        for order in loop_orders(cascade, spec)
    ]
    return min(found, key=lambda f: (f.latency_s * f.energy_pj, f.latency_s))


def costed(found: Found) -> Costed:
    return Costed(found.latency_s * CLOCK_HZ, found.energy_pj)


def within(ratio: float) -> bool:
    return abs(ratio - 1) <= 0.01


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arrays", default="256,32", help="square array sizes")
    parser.add_argument("--no-cache", action="store_true", help="run ZigZag again")
    args = parser.parse_args()
    head = (
        "| workload | array | ZigZag: compute + on-load + off-load + stall = latency "
        "| ours, ZigZag's mapping: compute + first load and last store = latency | ratio "
        "| both model, ZigZag / ours | ratio | latency ours, searched "
        "| energy µJ ZigZag / ours, ZigZag's mapping / ours, searched "
        "| EDP ours, ZigZag's mapping / searched, ends: none (pJ·cycle) | searched ÷ ZigZag's "
        "| same, ends: tile | searched ÷ ZigZag's "
        "| eval ms ZigZag / ours | search s ZigZag / ours | cold s ZigZag / ours |"
    )
    rows = [head, "|" + "---|" * (head.count("|") - 1)]
    notes: list[str] = []
    mappings: list[str] = []
    raw_ok = both_ok = edp_ok = edp_none_ok = default_ok = total = 0
    for size in (int(s) for s in args.arrays.split(",")):
        spec_text = SPEC.format(size=size)
        for label, m, k, n in WORKLOADS:
            zz_args = [str(x) for x in (m, n, k, size, size, "EDP")]
            zz = run_peer(ZIGZAG, zz_args, use_cache=not args.no_cache)
            start = time.perf_counter()
            found = search_mappings(
                load_cascade("gemm"),
                spec_from_text(spec_text),
                {"M": m, "K": k, "N": n},
                objective="edp",
                keep=1,
            )[0].best[0]
            search_s = time.perf_counter() - start
            ours_cold = cold_search(spec_text, m, k, n)
            tile_found = search_overlapped(spec_text, m, k, n, "tile")
            searched = costed(tile_found)
            searched_none = costed(search_overlapped(spec_text, m, k, n, "none"))
            mapping_text, lost = translate(zz, m, k, n)
            theirs, eval_s = cost(spec_text, mapping_text, m, k, n)
            overlapped, _ = cost(spec_text, with_ends(mapping_text, "none"), m, k, n)
            compute, _ = cost(
                spec_text,
                with_ends(mapping_text, "none"),
                m,
                k,
                n,
                **{"DRAM.bandwidth_bytes_per_s": math.inf},
            )
            zz_latency, zz_energy = zz["latency_cycles"], zz["energy_pj"]
            zz_compute = zz["ideal_temporal_cycles"]
            zz_both = max(zz_compute, zz["dram_words"] * WORD_BITS / ZZ_DRAM_BITS_PER_CYCLE)
            ends = theirs.latency_cycles - compute.latency_cycles
            if theirs.latency_cycles == overlapped.latency_cycles > compute.latency_cycles:
                ours_text = (
                    f"{compute.latency_cycles:,.0f}, DRAM-bound: {theirs.latency_cycles:,.0f}"
                )
            else:
                ours_text = (
                    f"{compute.latency_cycles:,.0f} + {ends:,.0f} = {theirs.latency_cycles:,.0f}"
                )
            raw, both = theirs.latency_cycles / zz_latency, overlapped.latency_cycles / zz_both
            edp_ratio = searched.edp / theirs.edp
            edp_none = searched_none.edp / overlapped.edp
            total += 1
            raw_ok += within(raw)
            both_ok += within(both)
            edp_ok += edp_ratio <= 1 + 1e-9
            edp_none_ok += edp_none <= 1 + 1e-9
            default_ok += costed(found).edp <= theirs.edp * (1 + 1e-9)
            rows.append(
                f"| {label} | {size}² | {zz_compute:,.0f} + {zz['onload_cycles']:,.0f} + "
                f"{zz['offload_cycles']:,.0f} + {zz['stall_cycles']:,.0f} = {zz_latency:,.0f} "
                f"| {ours_text} | {raw:.3f} "
                f"| {zz_both:,.0f} / {overlapped.latency_cycles:,.0f} | {both:.3f} "
                f"| {searched.latency_cycles:,.0f} "
                f"| {zz_energy / 1e6:,.0f} / {theirs.energy_pj / 1e6:,.0f} / "
                f"{searched.energy_pj / 1e6:,.0f} "
                f"| {overlapped.edp:.3e} / {searched_none.edp:.3e} | {edp_none:.3f} "
                f"| {theirs.edp:.3e} / {searched.edp:.3e} | {edp_ratio:.3f} "
                f"| {zz['eval_s'] * 1e3:.1f} / {eval_s * 1e3:.1f} "
                f"| {zz['search_s']:.2f} / {search_s:.2f} "
                f"| {zz['process_s']:.1f} / {ours_cold:.1f} |"
            )
            notes += [f"{label} on {size}²: {note}" for note in lost]
            mappings.append(
                f"{label} on {size}²: ZigZag {zz_mapping_text(zz)}; ours searched, overlapped "
                f"with ends: tile: {tile_found.summary}; the default search: {found.summary}, "
                f"{costed(found).latency_cycles:,.0f} cycles, EDP {costed(found).edp:.3e}"
            )
    print(f"ZigZag {peer_version(ZIGZAG)} vs einsum-cascade, {time.strftime('%Y-%m-%d')}")
    print("\n".join(rows))
    print(
        f"latency of ZigZag's mapping within 1 % of ZigZag: {raw_ok}/{total} as each tool "
        f"costs it, {both_ok}/{total} on what both model (max of compute and DRAM time); "
        f"our searched EDP ≤ ZigZag's mapping's EDP (both ours): {edp_none_ok}/{total} "
        f"with ends: none, {edp_ok}/{total} with ends: tile (the overlapped schedule); the "
        f"default search's pick ≤ ZigZag's mapping's with ends: tile: {default_ok}/{total}; "
        f"load average {load_average()}"
    )
    for line in notes:
        print(f"note: {line}")
    for line in mappings:
        print(f"mapping: {line}")


def zz_mapping_text(zz: dict[str, Any]) -> str:
    """Return ZigZag's mapping in one line: spatial, then per operand its loops per level."""
    spatial = " ".join(
        f"{axis}={''.join(f'{d}{s:.0f}' for d, s in dims.items())}"
        for axis, dims in zz["mapping"]["spatial"].items()
    )
    parts = [spatial]
    for op, levels in zz["mapping"]["temporal"].items():
        names = zz["mapping"]["levels"][op]
        parts.append(
            f"{op}: "
            + " < ".join(
                f"{name}[{' '.join(f'{d}{s:.0f}' for d, s in loops)}]"
                for name, loops in zip(names, levels, strict=False)
            )
        )
    return " | ".join(parts)


if __name__ == "__main__":
    main()
