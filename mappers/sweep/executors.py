"""Where sweep chunks run: in this process, in a local process pool, or on a Dask cluster.

Every executor maps a picklable top-level function over tasks and yields the results in
completion order, keeping only a few tasks in flight so memory stays bounded. Dask is
imported only when a Dask executor is made.
"""

from __future__ import annotations

import concurrent.futures as futures
import importlib
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from einsum_cascade.diagnostics import suggest
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
        """Yield results in completion order, with at most two tasks per worker queued."""
        pending = iter(tasks)
        with futures.ProcessPoolExecutor(max_workers=self.workers) as pool:
            running = {pool.submit(function, t) for t in _take(pending, 2 * self.workers)}
            while running:
                done, running = futures.wait(running, return_when=futures.FIRST_COMPLETED)
                running |= {pool.submit(function, t) for t in _take(pending, len(done))}
                for future in done:
                    yield future.result()


@dataclass(frozen=True, slots=True)
class DaskExecutor:
    """Runs tasks on the Dask distributed scheduler at ``address``."""

    address: str

    def run(self, function: Callable[[Task], Result], tasks: Iterable[Task]) -> Iterator[Result]:
        """Yield results in completion order, keeping two tasks per worker thread queued."""
        try:
            distributed: Any = importlib.import_module("distributed")
        except ImportError:
            raise SweepError.single(
                "SW205",
                "--scheduler needs Dask distributed, which is not installed",
                None,
                "pip install 'einsum-cascade[dask]'",
            ) from None
        with distributed.Client(self.address) as client:
            threads = sum(client.nthreads().values()) or 1
            pending = iter(tasks)
            batch = [client.submit(function, t, pure=False) for t in _take(pending, 2 * threads)]
            queue = distributed.as_completed(batch)
            for future in queue:
                for task in _take(pending, 1):
                    queue.add(client.submit(function, task, pure=False))
                yield future.result()


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
