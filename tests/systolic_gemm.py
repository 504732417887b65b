"""A bare systolic spec, GEMM mappings per stationarity and SCALE-Sim's cycle counts."""

import math

from mappers.hardware.spec_loader import spec_from_text
from mappers.mapping.loader import mapping_from_text

SPEC = """version: 1
name: systolic
clock_hz: 1e9
word_bytes: 1
levels:
  - {{name: DRAM, bandwidth_bytes_per_s: 1e18, read_energy_pj: 1, write_energy_pj: 2}}
  - {{name: L3, size_bytes: {l3}}}
arrays:
  - name: pe2d
    shape: [{rows}, {cols}]
{extra}    ops: {{mac: {{cycles: 1, energy_pj: 1}}}}
"""

# stationarity -> (spatial dims, stationary tensor): OS keeps Z, WS keeps W, IS keeps A
DATAFLOWS = {
    "os": ("{rows: m, cols: n}", "Z"),
    "ws": ("{rows: k, cols: n}", "W"),
    "is": ("{rows: k, cols: m}", "A"),
}


def systolic_spec(rows, cols, l3="1GiB", extra=""):
    return spec_from_text(SPEC.format(rows=rows, cols=cols, l3=l3, extra=extra))


def gemm_mapping(dataflow, loop="", tiles=""):
    spatial, stationary = DATAFLOWS[dataflow]
    return mapping_from_text(
        f"""version: 1
name: gemm-{dataflow}
cascade: gemm
batch_ranks: []
bind: {{pe2d: [Z]}}
spatial: {{pe2d: {spatial}}}
stationary: {{Z: {stationary}}}
{loop}{tiles}place: {{DRAM: [A, W, Z], L3: [A, W]}}
writes: {{Z: DRAM}}
schedule: sequential
"""
    )


def scalesim_cycles(m, k, n, rows, cols, dataflow):
    """SCALE-Sim 3.0's compute cycles, matched exactly on 114 simulated GEMMs (OS, WS, IS)."""
    if dataflow == "os":
        return math.ceil(m / rows) * math.ceil(n / cols) * (k + rows + cols - 2) - 1
    if dataflow == "ws":
        return math.ceil(k / rows) * math.ceil(n / cols) * (m + 2 * rows + cols - 2) - 1
    return math.ceil(k / rows) * math.ceil(m / cols) * (n + 2 * rows + cols - 2) - 1
