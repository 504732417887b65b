"""Machine specs for modelling generated kernels: a GPU from its datasheet, a CPU as measured.

A :class:`GpuSpec` holds peak rates and the occupancy limits of one GPU; a :class:`CpuSpec`
holds rates measured on a host by ``einsum-cascade calibrate``, one :class:`CpuProfile` per
thread count, with the conditions of the measurement. Both are frozen and hashable.
"""

from __future__ import annotations

import enum
import itertools
import math
from dataclasses import dataclass


class MachineKind(enum.Enum):
    """What a machine spec describes."""

    GPU = "gpu"
    CPU = "cpu"


@dataclass(frozen=True, slots=True)
class GpuSpec:
    """Peak rates and per-SM limits of one GPU (all rates are whole-device, dense)."""

    name: str
    sm_count: int
    clock_hz: float
    fp32_flops_per_s: float
    tensor_fp16_flops_per_s: float
    tensor_tf32_flops_per_s: float
    exp_per_s: float
    hbm_bandwidth_bytes_per_s: float
    l2_size_bytes: float
    shared_bandwidth_bytes_per_s: float
    registers_per_sm: int
    max_registers_per_thread: int
    register_allocation_unit: int
    shared_bytes_per_sm: float
    max_shared_bytes_per_block: float
    reserved_shared_bytes_per_block: float
    shared_allocation_unit: int
    max_threads_per_sm: int
    max_blocks_per_sm: int
    warp_size: int
    launch_overhead_s: float
    description: str = ""
    source_file: str = "<string>"

    @property
    def kind(self) -> MachineKind:
        """Return :attr:`MachineKind.GPU`."""
        return MachineKind.GPU


@dataclass(frozen=True, slots=True)
class BandwidthLevel:
    """Streaming bandwidth of elementwise NumPy work whose data fit in ``size_bytes``."""

    name: str
    size_bytes: float
    bandwidth_bytes_per_s: float


@dataclass(frozen=True, slots=True)
class EinsumRate:
    """Measured ``numpy.einsum`` rate for one subscript string at one operand shape."""

    subscripts: str
    shapes: tuple[tuple[int, ...], ...]
    flops_per_s: float


@dataclass(frozen=True, slots=True)
class MatmulRate:
    """Measured BLAS ``matmul`` rate of an (m x k) by (k x n) product."""

    m: int
    n: int
    k: int
    flops_per_s: float


@dataclass(frozen=True, slots=True)
class ReduceRate:
    """Measured reduction rate over a contiguous last axis of length ``inner``."""

    inner: int
    elements_per_s: float


@dataclass(frozen=True, slots=True)
class CallTime:
    """Measured seconds of one call of an elementwise array function at ``elements`` outputs."""

    function: str
    elements: int
    seconds: float


@dataclass(frozen=True, slots=True)
class CpuProfile:
    """Rates of a host measured with ``threads`` threads for BLAS and NumPy."""

    threads: int
    call_overhead_s: tuple[tuple[str, float], ...]
    levels: tuple[BandwidthLevel, ...]
    exp_per_s: float
    einsum: tuple[EinsumRate, ...] = ()
    matmul: tuple[MatmulRate, ...] = ()
    reduce: tuple[ReduceRate, ...] = ()
    call_times: tuple[CallTime, ...] = ()
    interpreter_s_per_call: float = 0.0

    def call_seconds(self, function: str, elements: int) -> float | None:
        """Return the measured time of one ``function`` call at ``elements``, if measured.

        Piecewise linear in ``elements`` between measured sizes; below the smallest size the
        smallest time (the fixed cost), above the largest the last segment's slope continues.
        """
        points = sorted((c.elements, c.seconds) for c in self.call_times if c.function == function)
        if not points:
            return None
        if elements <= points[0][0] or len(points) == 1:
            return points[0][1]
        for (x0, y0), (x1, y1) in itertools.pairwise(points):
            if elements <= x1:
                return y0 + (elements - x0) * (y1 - y0) / (x1 - x0)
        (x0, y0), (x1, y1) = points[-2], points[-1]
        return y1 + (elements - x1) * (y1 - y0) / (x1 - x0)

    def overhead_s(self, function: str) -> float:
        """Return the per-call overhead of ``function``; the ``default`` entry otherwise."""
        table = dict(self.call_overhead_s)
        return table.get(function, table.get("default", 0.0))

    def bandwidth_bytes_per_s(self, working_set_bytes: float) -> float:
        """Return the bandwidth of the smallest level that holds ``working_set_bytes``."""
        for level in sorted(self.levels, key=lambda item: item.size_bytes):
            if working_set_bytes <= level.size_bytes:
                return level.bandwidth_bytes_per_s
        return max(self.levels, key=lambda item: item.size_bytes).bandwidth_bytes_per_s

    def einsum_flops_per_s(self, subscripts: str, shapes: tuple[tuple[int, ...], ...]) -> float:
        """Return the rate of the measured einsum closest in shape (same subscripts first)."""
        same = [r for r in self.einsum if r.subscripts == subscripts] or list(self.einsum)
        if not same:
            return 1e9
        return min(same, key=lambda r: _shape_distance(r.shapes, shapes)).flops_per_s

    def reduce_elements_per_s(self, inner: int) -> float:
        """Return the reduction rate interpolated in log(inner) between measured points."""
        points = sorted((r.inner, r.elements_per_s) for r in self.reduce)
        if not points:
            return self.exp_per_s
        return _log_interpolate(points, inner)


def _shape_distance(a: tuple[tuple[int, ...], ...], b: tuple[tuple[int, ...], ...]) -> float:
    if len(a) != len(b) or any(len(x) != len(y) for x, y in zip(a, b, strict=True)):
        return math.inf
    return sum(
        abs(math.log(max(p, 1)) - math.log(max(q, 1)))
        for x, y in zip(a, b, strict=True)
        for p, q in zip(x, y, strict=True)
    )


def _log_interpolate(points: list[tuple[int, float]], x: int) -> float:
    if x <= points[0][0]:
        return points[0][1]
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        if x <= x1:
            share = (math.log(x) - math.log(x0)) / (math.log(x1) - math.log(x0))
            return y0 + share * (y1 - y0)
    return points[-1][1]


@dataclass(frozen=True, slots=True)
class ShimRates:
    """Costs of the CPU shim (generated CUDA built by g++, one std::thread per CUDA thread).

    Measured with one block of ``threads_per_block`` threads on every core, so the per-point
    costs are wall seconds per thread-point of a whole block (the cores' parallelism is in
    them): a dependent accumulation (``acc = acc + a * b``), an independent elementwise
    point, and the extra cost of one ``expf`` and one division.
    """

    threads_per_block: int
    launch_s: float  # one launch through ctypes, blocks excluded
    block_s: float  # create and join one block's threads
    barrier_s: float  # one __syncthreads of a whole block
    accumulate_s: float  # per thread-point of a reduction
    elementwise_s: float  # per thread-point of an independent update
    exp_s: float  # extra per expf
    divide_s: float  # extra per division


@dataclass(frozen=True, slots=True)
class CpuSpec:
    """A host measured by microbenchmarks: one profile per thread count, with conditions."""

    name: str
    logical_cores: int
    profiles: tuple[CpuProfile, ...]
    conditions: tuple[tuple[str, str], ...] = ()
    description: str = ""
    source_file: str = "<string>"
    shim: ShimRates | None = None

    @property
    def kind(self) -> MachineKind:
        """Return :attr:`MachineKind.CPU`."""
        return MachineKind.CPU

    def profile(self, threads: int = 1) -> CpuProfile:
        """Return the profile measured with ``threads`` threads, else the closest one."""
        return min(self.profiles, key=lambda p: (abs(p.threads - threads), p.threads))


MachineSpec = GpuSpec | CpuSpec
