"""Where sweep chunks run: in this process, in a local process pool, or on a Dask cluster.

Every executor maps a picklable top-level function over tasks and yields the results in
completion order, keeping only a few tasks in flight so memory stays bounded. Dask is
imported only when a Dask executor is made.
"""

from __future__ import annotations

import concurrent.futures as futures
import functools
import importlib
import os
import socket
import threading
import traceback
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

from einsum_cascade.diagnostics import suggest
from einsum_cascade.errors import CascadeError
from mappers.sweep.errors import SweepError

Task = Any
Result = Any


class Executor(Protocol):
    """Runs ``function`` over ``tasks``, yielding results as they complete."""

    def run(self, function: Callable[[Task], Result], tasks: Iterable[Task]) -> Iterator[Result]:
        """Yield ``function(task)`` for every task, in completion order."""
        ...


@dataclass(frozen=True, slots=True)
class SerialExecutor:
    """Runs every task in the calling process, in order."""

    def run(self, function: Callable[[Task], Result], tasks: Iterable[Task]) -> Iterator[Result]:
        """Yield ``function(task)`` for every task, in order."""
        for task in tasks:
            yield function(task)


@dataclass(frozen=True, slots=True)
class ProcessExecutor:
    """Runs tasks in a local pool of ``workers`` processes."""

    workers: int

    def run(self, function: Callable[[Task], Result], tasks: Iterable[Task]) -> Iterator[Result]:
        """Yield results in completion order, with at most two tasks per worker queued.

        Workers exit when this process dies (even by SIGKILL); an exception in a worker
        arrives here as a :class:`SweepError`, and so does a worker that died.
        """
        pending = iter(tasks)
        guarded = functools.partial(_guarded, function)
        pool = futures.ProcessPoolExecutor(
            max_workers=self.workers, initializer=_watch_parent, initargs=(os.getpid(),)
        )
        try:
            running = {pool.submit(guarded, t) for t in _take(pending, 2 * self.workers)}
            while running:
                done, running = futures.wait(running, return_when=futures.FIRST_COMPLETED)
                running |= {pool.submit(guarded, t) for t in _take(pending, len(done))}
                for future in done:
                    try:
                        result = future.result()
                    except BrokenProcessPool:
                        raise SweepError.single(
                            "SW312",
                            "a sweep worker process died (killed, or out of memory)",
                            None,
                            "run again with --resume; --workers 1 runs in this process",
                        ) from None
                    yield result
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def _guarded(function: Callable[[Task], Result], task: Task) -> Result:
    """Run ``function`` in a worker; an unexpected exception becomes a SweepError."""
    try:
        return function(task)
    except CascadeError:
        raise
    except Exception as exc:
        where = traceback.extract_tb(exc.__traceback__)[-1:]
        place = f" at {where[0].filename}:{where[0].lineno}" if where else ""
        raise SweepError.single(
            "SW311", f"a sweep worker failed: {type(exc).__name__}: {exc}{place}"
        ) from None


def _watch_parent(parent: int) -> None:
    """Make this worker exit when the process that started it dies."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, 9)  # PR_SET_PDEATHSIG, SIGKILL (Linux)
    except (OSError, AttributeError):
        pass

    def watch() -> None:
        while True:
            if os.getppid() != parent:
                os._exit(1)
            threading.Event().wait(0.5)

    if os.getppid() != parent:
        os._exit(1)
    threading.Thread(target=watch, name="watch-parent", daemon=True).start()


@dataclass(frozen=True, slots=True)
class DaskExecutor:
    """Runs tasks on the Dask distributed scheduler at ``address``."""

    address: str

    def run(self, function: Callable[[Task], Result], tasks: Iterable[Task]) -> Iterator[Result]:
        """Yield results in completion order, keeping two tasks per worker thread queued."""
        check_reachable(self.address)
        try:
            distributed: Any = importlib.import_module("distributed")
        except ImportError:
            raise SweepError.single(
                "SW205",
                "--scheduler needs Dask distributed, which is not installed",
                None,
                "pip install 'einsum-cascade[dask]'",
            ) from None
        try:
            client = distributed.Client(self.address, timeout=10)
        except (OSError, TimeoutError) as exc:
            raise _unreachable(self.address, str(exc)) from None
        with client:
            threads = sum(client.nthreads().values()) or 1
            pending = iter(tasks)
            batch = [client.submit(function, t, pure=False) for t in _take(pending, 2 * threads)]
            queue = distributed.as_completed(batch)
            for future in queue:
                for task in _take(pending, 1):
                    queue.add(client.submit(function, task, pure=False))
                yield future.result()


def check_reachable(address: str) -> None:
    """Fail fast, with a diagnostic, when a tcp:// scheduler address does not answer."""
    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    if parts.scheme != "tcp":
        return
    try:
        port = parts.port
    except ValueError:
        port = None
    if not parts.hostname or port is None:
        raise SweepError.single(
            "SW210",
            f"--scheduler '{address}' is not an address such as tcp://host:8786",
        )
    try:
        with socket.create_connection((parts.hostname, port), timeout=3):
            pass
    except OSError as exc:
        raise _unreachable(address, exc.strerror or str(exc)) from None


def _unreachable(address: str, why: str) -> SweepError:
    return SweepError.single(
        "SW210",
        f"cannot reach the Dask scheduler at '{address}': {why}",
        None,
        "start one with 'dask scheduler', or leave out --scheduler to use local processes",
    )


def _take(iterator: Iterator[Task], count: int) -> list[Task]:
    taken = []
    for _ in range(count):
        try:
            taken.append(next(iterator))
        except StopIteration:
            break
    return taken


_EXECUTORS: dict[str, Callable[..., Executor]] = {
    "serial": lambda **_: SerialExecutor(),
    "processes": lambda workers=None, **_: ProcessExecutor(workers or os.cpu_count() or 1),
    "dask": lambda address=None, **_: DaskExecutor(str(address)),
}


def get_executor(name: str, **options: Any) -> Executor:
    """Return the executor called ``name`` (``serial``, ``processes`` or ``dask``).

    Raises:
        SweepError: SW206 for an unknown name; the message lists the valid ones.
    """
    if name not in _EXECUTORS:
        valid = ", ".join(sorted(_EXECUTORS))
        raise SweepError.single(
            "SW206", f"unknown executor '{name}' (valid: {valid})", None, suggest(name, _EXECUTORS)
        )
    return _EXECUTORS[name](**options)


def choose_executor(workers: int | None = None, scheduler: str | None = None) -> Executor:
    """Return the executor for the CLI options: Dask with a scheduler, else local processes.

    ``workers=1`` runs in this process (no pool); ``None`` uses every core.
    """
    if scheduler:
        return get_executor("dask", address=scheduler)
    count = workers if workers is not None else (os.cpu_count() or 1)
    if count < 1:
        raise SweepError.single("SW207", f"--workers must be at least 1, not {count}")
    return get_executor("serial") if count == 1 else get_executor("processes", workers=count)
