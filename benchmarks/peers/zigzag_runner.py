"""Search and cost one GEMM-shaped layer with ZigZag (LOMA) and print the result as JSON.

Executed by the ZigZag venv's interpreter (see ``harness.py``), never imported by ours::

    python zigzag_runner.py --json B K C ROWS COLS latency|energy|EDP

ZigZag's Gemm layer is O[b][k] += I[b][c] W[c][k] (loop dims B, K, C). Our GEMM
Z[m, n] = A[k, m] W[k, n] maps as B = M, C = K (the contraction), ZigZag's K = our N; QKᵀ
(S[m, p] = Σe Q[m, e] K[p, e]) as B = M queries, K = P keys, C = E.

The hardware is the FuseMax 2D array's (``mappers/data/accelerators/fusemax.yaml``) on a
ROWS x COLS array: 16-bit words; MAC 17.1645 pJ; per-PE registers of 4 words for each of I,
W and O (FuseMax's 12-word register file); a 16 MiB L3 at 12519 / 15751 pJ per 4096-bit row
read / written, i.e. 48.90 / 61.53 pJ per word; DRAM 249.6 pJ per 64-bit access (62.4 pJ a
word) at 400 GiB/s and 940 MHz, 3655 bit per cycle. ZigZag charges ``r_cost``/``w_cost``
per ``bandwidth_max`` bits, pro-rated in steps of ``bandwidth_min``: with ``bandwidth_min``
one word, a cost of (pJ per word) x (``bandwidth_max`` / 16) is exact per word.

Our spec has no L3 bandwidth limit, so the L3 has one read and one write port per operand
(with one shared read port ZigZag serialises I and W and doubles the latency), each wide
enough to fill or drain one operand's registers in every PE in one cycle. ZigZag's
registers are not double-buffered here (4 words per operand, all in use), so it allows a
refill or drain only the last few cycles of each register period (``calc_latency``: the
period over the outermost irrelevant loop) and charges the rest as a stall
(``stall_slack_comb``). With 65,536-bit ports (4096 words a cycle) draining 256 x 256 PEs'
output registers took 48-64 cycles against a window of 3-4: 180-675 cycles of stall on
the 256 x 256 GEMMs, a limit our spec does not have.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Any

WORD_BITS = 16
CLOCK_HZ = 940e6
DRAM_BITS_PER_CYCLE = int(400 * 2**30 * 8 / CLOCK_HZ)  # 3655 (3655.29 truncated)
DRAM_PJ_PER_WORD = 249.6 / 4
L3_BITS = 16 * 2**20 * 8
L3_READ_PJ_PER_WORD = 12519 / 256
L3_WRITE_PJ_PER_WORD = 15751 / 256
REG_WORDS = 4
REG_BITS_PER_CYCLE = 2 * WORD_BITS
REG_READ_PJ_PER_WORD = 2.194455
REG_WRITE_PJ_PER_WORD = 1.906455
MAC_PJ = 17.1645


def port(name: str, kind: str, bits: int, allocation: list[str]) -> str:
    lines = "".join(f"\n          - {a}" for a in allocation)
    return (
        f"      - name: {name}\n        type: {kind}\n        bandwidth_min: {WORD_BITS}\n"
        f"        bandwidth_max: {bits}\n        allocation:{lines}\n"
    )


def memory(
    name: str,
    size_bits: int,
    read_pj: float,
    write_pj: float,
    bits: int,
    operands: list[str],
    ports: str,
    served: str,
) -> str:
    """One memory level; costs are per ``bits``-wide access (exact per word, see above)."""
    return (
        f"  {name}:\n    size: {size_bits}\n"
        f"    r_cost: {read_pj * bits / WORD_BITS!r}\n    w_cost: {write_pj * bits / WORD_BITS!r}\n"
        f"    area: 0\n    latency: 1\n    auto_cost_extraction: false\n"
        f"    operands: [{', '.join(operands)}]\n    ports:\n{ports}"
        f"    served_dimensions: {served}\n"
    )


def accelerator(rows: int, cols: int) -> str:
    """Registers per PE, the L3 and DRAM over a rows x cols MAC array."""
    l3_bits_per_cycle = rows * cols * REG_WORDS * WORD_BITS  # one operand's registers a cycle
    text = ""
    for operand, name in (("I1", "reg_I"), ("I2", "reg_W")):
        ports = port("r_port_1", "read", REG_BITS_PER_CYCLE, [f"{operand}, tl"]) + port(
            "w_port_1", "write", REG_BITS_PER_CYCLE, [f"{operand}, fh"]
        )
        text += memory(
            name,
            REG_WORDS * WORD_BITS,
            REG_READ_PJ_PER_WORD,
            REG_WRITE_PJ_PER_WORD,
            REG_BITS_PER_CYCLE,
            [operand],
            ports,
            "[]",
        )
    ports = (
        port("r_port_1", "read", REG_BITS_PER_CYCLE, ["O, tl"])
        + port("r_port_2", "read", REG_BITS_PER_CYCLE, ["O, th"])
        + port("w_port_1", "write", REG_BITS_PER_CYCLE, ["O, fh"])
        + port("w_port_2", "write", REG_BITS_PER_CYCLE, ["O, fl"])
    )
    text += memory(
        "reg_O",
        REG_WORDS * WORD_BITS,
        REG_READ_PJ_PER_WORD,
        REG_WRITE_PJ_PER_WORD,
        REG_BITS_PER_CYCLE,
        ["O"],
        ports,
        "[]",
    )
    ports = (
        port("r_port_1", "read", l3_bits_per_cycle, ["I1, tl"])
        + port("w_port_1", "write", l3_bits_per_cycle, ["I1, fh"])
        + port("r_port_2", "read", l3_bits_per_cycle, ["I2, tl"])
        + port("w_port_2", "write", l3_bits_per_cycle, ["I2, fh"])
        + port("r_port_3", "read", l3_bits_per_cycle, ["O, tl", "O, th"])
        + port("w_port_3", "write", l3_bits_per_cycle, ["O, fh", "O, fl"])
    )
    text += memory(
        "L3",
        L3_BITS,
        L3_READ_PJ_PER_WORD,
        L3_WRITE_PJ_PER_WORD,
        l3_bits_per_cycle,
        ["I1", "I2", "O"],
        ports,
        "[D1, D2]",
    )
    ports = port(
        "rw_port_1",
        "read_write",
        DRAM_BITS_PER_CYCLE,
        ["I1, fh", "I1, tl", "I2, fh", "I2, tl", "O, fh", "O, tl", "O, fl", "O, th"],
    )
    text += memory(
        "DRAM",
        10**12,
        DRAM_PJ_PER_WORD,
        DRAM_PJ_PER_WORD,
        DRAM_BITS_PER_CYCLE,
        ["I1", "I2", "O"],
        ports,
        "[D1, D2]",
    )
    return (
        f"name: fusemax_2d_{rows}x{cols}\n\nmemories:\n{text}\n"
        f"operational_array:\n  unit_energy: {MAC_PJ}\n  unit_area: 1\n"
        f"  dimensions: [D1, D2]\n  sizes: [{rows}, {cols}]\n"
    )


def workload(b: int, k: int, c: int) -> str:
    return (
        f"- id: 0\n  name: gemm\n  operator_type: Gemm\n  equation: O[b][k]+=I[b][c]*W[c][k]\n"
        f"  dimension_relations: []\n  loop_dims: [B, K, C]\n  loop_sizes: [{b}, {k}, {c}]\n"
        f"  operand_precision: {{W: 16, I: 16, O: 16, O_final: 16}}\n"
        f"  operand_source: {{I: 0, W: 0}}\n"
    )


# No spatial mapping is fixed: ZigZag tries each of B, K, C on each array axis.
MAPPING = (
    "- name: default\n  spatial_mapping_hint:\n    D1: [B, K, C]\n    D2: [B, K, C]\n"
    "  memory_operand_links:\n    O: O\n    W: I2\n    I: I1\n"
)


def describe(cme: Any) -> dict[str, Any]:
    """Return the chosen mapping: spatial unrolling and, per operand, the temporal loops of
    each of its memory levels (innermost level and loop first)."""
    user = cme.layer.spatial_mapping
    spatial = {
        str(axis): {str(d): float(n) for d, n in dims.items()} for axis, dims in user.items()
    }
    temporal = {
        str(op): [[[str(d), float(s)] for d, s in level] for level in levels]
        for op, levels in cme.temporal_mapping.mapping_dic_stationary.items()
    }
    hierarchy = cme.accelerator.memory_hierarchy
    levels = {
        str(op): [
            m.name
            for m in hierarchy.get_memory_levels(cme.memory_operand_links.layer_to_mem_op(op))
        ]
        for op in cme.layer.layer_operands
    }
    return {"spatial": spatial, "temporal": temporal, "levels": levels}


def dram_words(cme: Any) -> float:
    """Return the words the chosen mapping moves between DRAM and the L3 (both ways)."""
    from zigzag.mapping.data_movement import DataDirection, DataMoveAttr

    total = 0.0
    for op in cme.layer.layer_operands:
        top = cme.mapping_int.mem_level[op] - 1
        moves = cme.mapping_int.unit_mem_data_movement[op][top]
        amount = moves.get_attribute(DataMoveAttr.DATA_TRANS_AMOUNT_PER_PERIOD)
        count = moves.get_attribute(DataMoveAttr.DATA_TRANS_PERIOD_COUNT)
        for way in (DataDirection.RD_OUT_TO_LOW, DataDirection.WR_IN_BY_LOW):
            total += float(amount.get(way)) * float(count.get(way))
    return total


def run(b: int, k: int, c: int, rows: int, cols: int, opt: str, lpf_limit: int) -> dict[str, Any]:
    start = time.perf_counter()
    from zigzag import api
    from zigzag.cost_model.cost_model import CostModelEvaluation

    import_s = time.perf_counter() - start
    logging.disable(logging.CRITICAL)
    with tempfile.TemporaryDirectory(prefix="zigzag-") as tmp:
        folder = Path(tmp)
        (folder / "accelerator.yaml").write_text(accelerator(rows, cols))
        (folder / "workload.yaml").write_text(workload(b, k, c))
        (folder / "mapping.yaml").write_text(MAPPING)
        sink = io.StringIO()
        start = time.perf_counter()
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            _, _, cmes = api.get_hardware_performance_zigzag(
                workload=str(folder / "workload.yaml"),
                accelerator=str(folder / "accelerator.yaml"),
                mapping=str(folder / "mapping.yaml"),
                opt=opt,
                lpf_limit=lpf_limit,
                dump_folder=str(folder / "out"),
                loma_show_progress_bar=False,
            )
        search_s = time.perf_counter() - start
    cme = cmes[0][1][0][0]
    repeats = 5
    start = time.perf_counter()
    for _ in range(repeats):  # one evaluation of the chosen mapping by ZigZag's cost model
        CostModelEvaluation(
            accelerator=cme.accelerator,
            layer=cme.layer,
            spatial_mapping=cme.spatial_mapping,
            spatial_mapping_int=cme.spatial_mapping_int,
            temporal_mapping=cme.temporal_mapping,
            access_same_data_considered_as_no_access=True,
        )
    eval_s = (time.perf_counter() - start) / repeats
    latency = float(cme.latency_total2)
    energy = float(cme.energy_total)
    return {
        "B": b,
        "K": k,
        "C": c,
        "rows": rows,
        "cols": cols,
        "opt": opt,
        "lpf_limit": lpf_limit,
        "latency_cycles": latency,
        "ideal_cycles": float(cme.ideal_cycle),
        "onload_cycles": float(cme.data_onloading_cycle),
        "offload_cycles": float(cme.data_offloading_cycle),
        "stall_cycles": float(cme.stall_slack_comb),
        "ideal_temporal_cycles": float(cme.ideal_temporal_cycle),
        "dram_words": dram_words(cme),
        "energy_pj": energy,
        "mac_energy_pj": float(cme.mac_energy),
        "memory_energy_pj": {
            str(op): [float(x) for x in v] for op, v in cme.mem_energy_breakdown.items()
        },
        "edp_pj_cycles": energy * latency,
        "mapping": describe(cme),
        "import_s": import_s,
        "search_s": search_s,
        "eval_s": eval_s,
        "loadavg": list(os.getloadavg()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in ("B", "K", "C", "rows", "cols"):
        parser.add_argument(name, type=int)
    parser.add_argument("opt", choices=["latency", "energy", "EDP"])
    parser.add_argument("--lpf", type=int, default=2, help="LOMA loop-prime-factor limit")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    a = parser.parse_args()
    print(json.dumps(run(a.B, a.K, a.C, a.rows, a.cols, a.opt, a.lpf)))


if __name__ == "__main__":
    main()
