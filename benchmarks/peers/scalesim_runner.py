"""Run one GEMM through SCALE-Sim and print its compute cycles and DRAM words as JSON.

Executed by the SCALE-Sim venv's interpreter (see ``harness.py``), never imported by ours::

    python scalesim_runner.py --json M K N ROWS COLS os|ws|is

Our GEMM is C[M, N] = A[M, K] B[K, N]. In SCALE-Sim's GEMM mode the ifmap operand is A (M
"ofmap pixels" by a K-long window), the filter operand is B (N filters of K), the ofmap is C;
its topology rows are ``name, M, N, K`` (that order). ArrayHeight is the rows R, ArrayWidth
the columns C. Every SRAM holds its whole operand twice over (SCALE-Sim double-buffers), and
the interface bandwidth is CALC, so there are no stalls and DRAM reads are compulsory.
SCALE-Sim's word is one byte; all counts are words.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import tempfile
import time
from pathlib import Path

CONFIG = """[general]
run_name = gemm

[architecture_presets]
ArrayHeight: {rows}
ArrayWidth: {cols}
IfmapSramSzkB: {sram_kb}
FilterSramSzkB: {sram_kb}
OfmapSramSzkB: {sram_kb}
IfmapOffset: 0
FilterOffset: 10000000
OfmapOffset: 20000000
Bandwidth : 10
Dataflow : {dataflow}
MemoryBanks: 1
ReadRequestBuffer: 32
WriteRequestBuffer: 32

[layout]
IfmapCustomLayout: False
IfmapSRAMBankBandwidth: 10
IfmapSRAMBankNum: 10
IfmapSRAMBankPort: 2
FilterCustomLayout: False
FilterSRAMBankBandwidth: 10
FilterSRAMBankNum: 10
FilterSRAMBankPort: 2

[sparsity]
SparsitySupport : false
SparseRep : ellpack_block
OptimizedMapping : false
BlockSize : 8
RandomNumberGeneratorSeed : 40

[run_presets]
InterfaceBandwidth: CALC
UseRamulatorTrace: False
"""

# SCALE-Sim parses a layout file even with custom layouts off: a header and one row suffice.
LAYOUT = (
    "Layer name,IFMAP Height Intraline Factor,IFMAP Width Intraline Factor,"
    "Filter Height Intraline Factor,Filter Width Intraline Factor,Channel Intraline Factor,"
    "Num Filter Intraline Factor,IFMAP Height Intraline Order,IFMAP Width Intraline Order,"
    "Channel Intraline Order,IFMAP Height Interline Order,IFMAP Width Interline Order,"
    "Channel Interline Order,Num Filter Intraline Order,Channel Intraline Order,"
    "Filter Height Intraline Order,Filter Width Intraline Order,Num Filter Interline Order,"
    "Channel Interline Order,Filter Height Interline Order,Filter Width Interline Order,\n"
    "gemm,1,1,1,1,1,1,1,2,0,4,5,3,3,0,1,2,7,4,5,6,\n"
)


def sram_kb(m: int, k: int, n: int) -> int:
    """Return an SRAM size (kB) that holds the largest operand twice (one-byte words)."""
    return max(64, -(-4 * max(m * k, k * n, m * n) // 1024))


def report_row(path: Path) -> list[float]:
    """Return the numbers of a one-layer SCALE-Sim report (its second line)."""
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    return [float(x) for x in lines[1].split(",")[1:] if x.strip()]


def simulate(m: int, k: int, n: int, rows: int, cols: int, dataflow: str) -> dict[str, object]:
    """Simulate C[M, N] = A[M, K] B[K, N] on a rows x cols array; return cycles and words."""
    from scalesim.scale_sim import scalesim

    with tempfile.TemporaryDirectory(prefix="scalesim-") as tmp:
        folder = Path(tmp)
        kb = sram_kb(m, k, n)
        (folder / "gemm.cfg").write_text(
            CONFIG.format(rows=rows, cols=cols, sram_kb=kb, dataflow=dataflow)
        )
        (folder / "topology.csv").write_text(f"Layer,M,N,K,\ngemm,{m},{n},{k},\n")
        (folder / "layout.csv").write_text(LAYOUT)
        start = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            sim = scalesim(
                save_disk_space=True,
                verbose=False,
                config=str(folder / "gemm.cfg"),
                topology=str(folder / "topology.csv"),
                layout=str(folder / "layout.csv"),
                input_type_gemm=True,
            )
            sim.run_scale(top_path=str(folder / "out"))
        wall = time.perf_counter() - start
        # COMPUTE_REPORT: total cycles incl. prefetch, total cycles, stall cycles, utilisations.
        compute = report_row(folder / "out" / "gemm" / "COMPUTE_REPORT.csv")
        # DETAILED_ACCESS_REPORT: (start, stop, count) for SRAM ifmap, filter, ofmap, then
        # DRAM ifmap reads, DRAM filter reads, DRAM ofmap writes.
        access = report_row(folder / "out" / "gemm" / "DETAILED_ACCESS_REPORT.csv")
    return {
        "M": m,
        "K": k,
        "N": n,
        "rows": rows,
        "cols": cols,
        "dataflow": dataflow,
        "sram_kb": kb,
        "cycles": int(compute[1]) - int(compute[2]),
        "stall_cycles": int(compute[2]),
        "cycles_incl_prefetch": int(compute[0]),
        "compute_util_pct": compute[5],
        "dram_ifmap_reads": int(access[11]),
        "dram_filter_reads": int(access[14]),
        "dram_read_words": int(access[11] + access[14]),
        "dram_write_words": int(access[17]),
        "wall_s": wall,
        "loadavg": list(os.getloadavg()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in ("M", "K", "N", "rows", "cols"):
        parser.add_argument(name, type=int)
    parser.add_argument("dataflow", choices=["os", "ws", "is"])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    a = parser.parse_args()
    print(json.dumps(simulate(a.M, a.K, a.N, a.rows, a.cols, a.dataflow)))


if __name__ == "__main__":
    main()
