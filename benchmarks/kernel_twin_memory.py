"""Time and peak memory of the 1-pass kernel's NumPy twin against plain softmax(QK^T)V.

Each case runs in a fresh subprocess (one BLAS thread) so its peak resident set size
(``ru_maxrss``) is its own. The twin walks the keys in tiles with a running max, so its
memory grows with M0 * P, never with M * P; plain NumPy materialises the M x P score
matrix and is run only at the sizes it can hold. Usage::

    python benchmarks/kernel_twin_memory.py [--sizes 2048,8192,32768] [--plain-max 16384]
        [--out results.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

HEAD_DIM = 64
TILE = 256


def _inputs(size: int) -> dict[str, object]:
    import numpy as np

    rng = np.random.default_rng(0)
    return {
        "Q": rng.standard_normal((HEAD_DIM, size), dtype=np.float32),
        "K": rng.standard_normal((HEAD_DIM, size), dtype=np.float32),
        "V": rng.standard_normal((HEAD_DIM, size), dtype=np.float32),
    }


def _run_twin(size: int) -> object:
    from einsum_cascade import library
    from kernels.plan.lower import plan_kernels
    from kernels.plan.tiling import Tiling
    from kernels.run.execute import run_twin

    tiling = Tiling(tile=TILE, static_extents=(("E", HEAD_DIM), ("F", HEAD_DIM)))
    plan = plan_kernels(library.load("attention/1pass"), tiling)
    arrays = _inputs(size)
    start = time.perf_counter()
    output = run_twin(plan, arrays)["AV"]
    return time.perf_counter() - start, output


def _run_plain(size: int) -> object:
    import numpy as np

    arrays = _inputs(size)
    start = time.perf_counter()
    scores = arrays["Q"].T @ arrays["K"]  # [P, M]: the matrix the twin never builds
    scores -= scores.max(axis=1, keepdims=True)
    np.exp(scores, out=scores)
    scores /= scores.sum(axis=1, keepdims=True)
    output = (scores @ arrays["V"].T).T
    return time.perf_counter() - start, output


def child(kind: str, size: int) -> None:
    """Run one case and print its record as JSON (called in a subprocess)."""
    import numpy as np

    seconds, output = (_run_twin if kind == "twin" else _run_plain)(size)
    peak_bytes = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    record = {
        "kind": kind,
        "M": size,
        "P": size,
        "E": HEAD_DIM,
        "F": HEAD_DIM,
        "seconds": round(seconds, 3),
        "peak_rss_bytes": peak_bytes,
        "score_matrix_bytes": size * size * 4,
        "checksum": float(np.asarray(output, dtype=np.float64).sum()),
    }
    print(json.dumps(record))


def measure(kind: str, size: int) -> dict[str, object]:
    """Run one case in a fresh interpreter and return its record."""
    done = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(size)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    """Run every case and print (and optionally save) the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2048,8192,16384,32768")
    parser.add_argument("--plain-max", type=int, default=16384)
    parser.add_argument("--out", default=None)
    parser.add_argument("--child", nargs=2, default=None, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        child(options.child[0], int(options.child[1]))
        return
    records = []
    for size in (int(s) for s in options.sizes.split(",")):
        kinds = ["twin", "plain"] if size <= options.plain_max else ["twin"]
        for kind in kinds:
            record = measure(kind, size)
            records.append(record)
            print(
                f"{kind:5s} M=P={size:6d}  {record['seconds']:8.2f} s  peak RSS "
                f"{record['peak_rss_bytes'] / 2**20:8.1f} MiB  (M x P scores: "
                f"{record['score_matrix_bytes'] / 2**20:8.1f} MiB)",
                flush=True,
            )
    device = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, 1 thread"
    if options.out:
        with open(options.out, "w", encoding="utf-8") as handle:  # noqa: PTH123
            json.dump({"device": device, "records": records}, handle, indent=2)


if __name__ == "__main__":
    main()
