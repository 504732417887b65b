"""Run a peer tool (SCALE-Sim, ZigZag) in a virtual environment of its own, with a cache.

The peers pin NumPy versions that clash with ours, so they never enter this interpreter: each
has a runner script in this folder that the peer's venv runs as a subprocess, one JSON object
per call. The venvs and the results live in a cache folder outside the repository
(``$EINSUM_CASCADE_CACHE`` or ``~/.cache/einsum-cascade``, then ``peers/``). A result is
keyed by the runner's code, the peer's pinned requirements and the call's arguments, so a
rerun reads what it already measured and only new or changed points are simulated again.
"""

from __future__ import annotations

import ast
import concurrent.futures
import hashlib
import json
import os
import subprocess
import sys
import time
import venv
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Peer:
    """A peer tool: its venv name, pip requirements, runner script and version probe."""

    name: str
    requirements: tuple[str, ...]
    runner: str
    distribution: str  # whose version the report prints

    @property
    def runner_path(self) -> Path:
        return HERE / self.runner


SCALESIM = Peer("scalesim", ("scalesim==3.0.0", "numpy<2.4"), "scalesim_runner.py", "scalesim")
ZIGZAG = Peer("zigzag", ("zigzag-dse==3.9.1", "six"), "zigzag_runner.py", "zigzag-dse")


def cache_root() -> Path:
    """Return the folder that holds the peers' venvs and cached results."""
    base = os.environ.get("EINSUM_CASCADE_CACHE") or Path.home() / ".cache" / "einsum-cascade"
    return Path(base) / "peers"


def venv_python(peer: Peer) -> Path:
    """Return the peer venv's interpreter, creating the venv and installing the peer if missing.

    A venv whose install did not finish has no ``.installed`` marker and is completed again.
    """
    folder = cache_root() / f"venv-{peer.name}"
    python = folder / "bin" / "python"
    marker = folder / ".installed"
    wanted = "\n".join(peer.requirements)
    if marker.is_file() and marker.read_text() == wanted:
        return python
    print(f"setting up {folder} (pip install {' '.join(peer.requirements)}) ...", flush=True)
    if not python.is_file():
        venv.EnvBuilder(with_pip=True).create(folder)
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            *peer.requirements,
        ],
        check=True,
    )
    marker.write_text(wanted)
    return python


def peer_version(peer: Peer) -> str:
    """Return the installed version of the peer's distribution."""
    out = subprocess.run(
        [
            str(venv_python(peer)),
            "-c",
            f"import importlib.metadata as m; print(m.version({peer.distribution!r}))",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip()


def _key(peer: Peer, args: Sequence[str]) -> str:
    """Hash the runner's code (its syntax tree: reformatting or comments keep the key), the
    requirements and the arguments."""
    h = hashlib.sha256()
    h.update(ast.dump(ast.parse(peer.runner_path.read_text())).encode())
    h.update("\n".join(peer.requirements).encode())
    h.update(json.dumps(list(args)).encode())
    return h.hexdigest()[:32]


def run_peer(peer: Peer, args: Sequence[str], *, use_cache: bool = True) -> dict[str, Any]:
    """Run the peer's runner with ``args`` (plus ``--json``); return its JSON object.

    The result carries ``process_s`` (the wall time of the whole subprocess: a cold run,
    interpreter start and imports included) and ``cached`` (whether it was read from the
    cache).

    Raises:
        RuntimeError: the runner failed; the message holds its stderr's tail.
    """
    key = _key(peer, args)
    path = cache_root() / "results" / peer.name / f"{key}.json"
    if use_cache and path.is_file():
        return {**json.loads(path.read_text()), "cached": True}
    python = venv_python(peer)
    start = time.perf_counter()
    done = subprocess.run(
        [str(python), str(peer.runner_path), "--json", *args],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{peer.name} {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["process_s"] = time.perf_counter() - start  # a fresh interpreter, imports included
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(result))
    tmp.replace(path)
    return {**result, "cached": False}


def run_many(
    peer: Peer,
    calls: Sequence[Sequence[str]],
    *,
    jobs: int,
    use_cache: bool = True,
    progress: Callable[[int, int, Sequence[str], dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Run many calls of one peer, ``jobs`` at a time; results in the order of ``calls``."""
    venv_python(peer)  # set up once, before the workers start
    results: list[dict[str, Any] | None] = [None] * len(calls)
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {
            pool.submit(run_peer, peer, call, use_cache=use_cache): i
            for i, call in enumerate(calls)
        }
        for done, future in enumerate(concurrent.futures.as_completed(futures), 1):
            i = futures[future]
            results[i] = future.result()
            if progress is not None:
                progress(done, len(calls), calls[i], results[i])
    return [r for r in results if r is not None]


def load_average() -> str:
    """Return the 1/5/15-minute load averages as text (printed beside every time)."""
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def python_version() -> str:
    return sys.version.split()[0]
