"""Honest energy: write energy for writes at every level, partial-sum read-backs, register reuse."""

import pytest
from systolic_gemm import gemm_mapping, systolic_spec

from einsum_cascade import load_cascade
from mappers.cost.model import build_cost_model, evaluate_costs

GEMM = load_cascade("gemm")
M, K, N = 200, 300, 100  # on 128 x 128: K spans 3 row folds, M 2, N 1
REGISTERS = "    register_read_energy_pj: 1\n    register_write_energy_pj: 0\n"


def cost(dataflow, extra=""):
    spec = systolic_spec(128, 128, extra=extra)
    return evaluate_costs(
        build_cost_model(GEMM, spec, gemm_mapping(dataflow)), {"M": M, "K": K, "N": N}
    )


def test_dram_writes_cost_the_write_energy():
    out = cost("os")
    # DRAM: 1 pJ per read access, 2 per write, 2 one-byte words per 16-bit access
    reads, writes = M * K + K * N, M * N
    assert float(out.level("DRAM").energy_pj) == pytest.approx((reads * 1 + writes * 2) / 2)


def test_spilled_partial_sums_are_written_and_read_back():
    out = cost("ws")
    folds = 3  # K = 300 over 128 rows
    writes, readbacks = folds * M * N, (folds - 1) * M * N
    reads = M * K + K * N
    assert float(out.traffic_bytes) == reads + writes + readbacks
    assert float(out.level("DRAM").energy_pj) == pytest.approx((reads + readbacks + 2 * writes) / 2)


def test_register_reads_follow_the_stationary_operand():
    points, results = M * K * N, M * N
    partial_sums = points - results
    # output-stationary: A and W read per MAC
    assert float(cost("os", REGISTERS).array("pe2d").register_energy_pj) == (
        2 * points + partial_sums
    )
    # weight-stationary: W read once per fold by each PE (K x N words, each once), A per MAC
    assert float(cost("ws", REGISTERS).array("pe2d").register_energy_pj) == (
        points + K * N + partial_sums
    )
    # input-stationary: A once per fold (N streams through: K x M words once)
    assert float(cost("is", REGISTERS).array("pe2d").register_energy_pj) == (
        points + K * M + partial_sums
    )
