"""The small GEMM spec the first-load / last-store tests share (model and search)."""

from einsum_cascade import load_cascade
from mappers.hardware.spec_loader import spec_from_text

GEMM = load_cascade("gemm")

# 4 x 4 PEs, one MAC a cycle (1 pJ), no fill/drain; DRAM moves 16 words (32 bytes) a cycle
# at 1 pJ a word; L3 costs nothing per access
SPEC = spec_from_text(
    """version: 1
name: ends
clock_hz: 1e9
word_bytes: 2
levels:
  - {name: DRAM, bandwidth_bytes_per_s: 32e9, read_energy_pj: 1, write_energy_pj: 1}
  - {name: L3, size_bytes: 1MiB}
arrays:
  - name: pe2d
    shape: [4, 4]
    fill_drain: false
    ops: {mac: {cycles: 1, energy_pj: 1}}
"""
)
