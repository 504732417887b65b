"""Our first ``search`` call in a fresh process beside ZigZag's LOMA search, in one run.

For each row of ``vs_zigzag.py`` (QKᵀ and GEMMs on 256x256 and 32x32 arrays), in the same
run: ZigZag's search (``opt=EDP``, LOMA with ``lpf_limit`` 2, its in-process ``search_s``,
``import zigzag`` excluded; run again, not read from the peer cache) and ours (the first
``search_mappings`` call of a fresh interpreter, objective EDP, imports excluded, with the
cost-model cache as a user has it after one earlier run, or off with ``--no-model-cache``).
Each of ours is the best of ``--repeat`` fresh processes; the load average is printed
beside every figure. Usage::

    python benchmarks/search_first_call.py [--arrays 256,32] [--repeat 3] [--no-model-cache]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

from peers.harness import ZIGZAG, run_peer
from vs_zigzag import SPEC, WORKLOADS

FIRST_CALL = """
import json, sys, time
from einsum_cascade import load_cascade
from mappers import spec_from_text
from mappers.search import search_mappings
size, m, k, n = (int(x) for x in sys.argv[1:5])
spec, cascade = spec_from_text(sys.argv[5]), load_cascade("gemm")
start, cpu = time.perf_counter(), time.process_time()
search_mappings(cascade, spec, {"M": m, "K": k, "N": n}, objective="edp", keep=1)
wall, cpu = time.perf_counter() - start, time.process_time() - cpu
print(json.dumps({"first_call_s": wall, "cpu_s": cpu}))
"""


def ours(
    size: int, m: int, k: int, n: int, repeat: int, env: dict[str, str]
) -> tuple[float, float]:
    """Return the best first-call (wall, CPU) seconds of ``repeat`` fresh interpreters."""
    times = []
    for _ in range(repeat):
        args = [sys.executable, "-c", FIRST_CALL, *map(str, (size, m, k, n))]
        result = subprocess.run(
            [*args, SPEC.format(size=size)], capture_output=True, text=True, check=True, env=env
        )
        row = json.loads(result.stdout.strip().splitlines()[-1])
        times.append((row["first_call_s"], row["cpu_s"]))
    return min(times)


def main() -> None:
    """Print one row per workload and array: ZigZag's search time and ours, with the load."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arrays", default="256,32", help="square array sizes")
    parser.add_argument("--repeat", type=int, default=3, help="fresh processes of ours per row")
    parser.add_argument("--no-model-cache", action="store_true", help="compile every model")
    args = parser.parse_args()
    env = dict(os.environ)
    if args.no_model_cache:
        env["EINSUM_CASCADE_NO_CACHE"] = "1"
    else:  # one untimed run per row fills the cache, as any earlier use would have
        for size in (int(s) for s in args.arrays.split(",")):
            for _, m, k, n in WORKLOADS:
                ours(size, m, k, n, 1, env)
    print(
        "| workload | array | ZigZag search s | ours, first call s (CPU s) | ours / ZigZag | load |"
    )
    print("|---|---|---|---|---|---|")
    faster = total = 0
    for size in (int(s) for s in args.arrays.split(",")):
        for label, m, k, n in WORKLOADS:
            zz = run_peer(ZIGZAG, [str(x) for x in (m, n, k, size, size, "EDP")], use_cache=False)
            ours_s, ours_cpu = ours(size, m, k, n, args.repeat, env)
            total += 1
            faster += ours_s < zz["search_s"]
            print(
                f"| {label} | {size}² | {zz['search_s']:.2f} | {ours_s:.2f} ({ours_cpu:.2f}) "
                f"| {ours_s / zz['search_s']:.2f} | {os.getloadavg()[0]:.2f} |",
                flush=True,
            )
    cache = "off" if args.no_model_cache else "warm"
    print(f"ours faster on {faster}/{total} rows (cost-model cache {cache})")


if __name__ == "__main__":
    main()
