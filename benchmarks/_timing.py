"""Fresh-process timing shared by the benchmarks: wall and CPU seconds, with the load average.

Every run starts a new interpreter, as a user's command does, with bytecode caching on (an
installed package has its ``.pyc`` files; ``PYTHONDONTWRITEBYTECODE`` in the caller's
environment would make every run compile the package's sources again). The figure kept is
the best (minimum) of the runs; the 1-minute load average is read right after each run,
because on a shared machine a wall time means little without it.
"""

from __future__ import annotations

import os
import resource
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Timing:
    """The runs of one command: wall and CPU (user + system) seconds, load after each."""

    label: str
    walls: tuple[float, ...]
    cpus: tuple[float, ...]
    loads: tuple[float, ...]

    @property
    def best(self) -> int:
        """Return the index of the fastest run (by wall time)."""
        return min(range(len(self.walls)), key=self.walls.__getitem__)

    def line(self) -> str:
        """Return ``label: wall s (cpu s), load L, best of N``."""
        i = self.best
        return (
            f"{self.label}: {self.walls[i]:.3f} s wall, {self.cpus[i]:.3f} s CPU, "
            f"load average {self.loads[i]:.2f}, best of {len(self.walls)}"
        )

    def to_dict(self) -> dict[str, object]:
        """Return a JSON-ready record."""
        i = self.best
        return {
            "label": self.label,
            "best_wall_s": self.walls[i],
            "best_cpu_s": self.cpus[i],
            "load_average_1m": self.loads[i],
            "wall_s": list(self.walls),
            "cpu_s": list(self.cpus),
            "load_average": list(self.loads),
        }


def user_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Return this environment plus ``extra``, with bytecode caching on, as a user has it."""
    environment = {**os.environ, **(extra or {})}
    environment.pop("PYTHONDONTWRITEBYTECODE", None)
    return environment


def time_command(
    label: str,
    command: Sequence[str],
    repeat: int = 5,
    before: Callable[[int], Sequence[str]] | None = None,
    env: dict[str, str] | None = None,
) -> Timing:
    """Run ``command`` ``repeat`` times, each in a fresh process; ``before(i)`` may add args.

    Raises:
        subprocess.CalledProcessError: the command failed (its stderr is attached).
    """
    walls, cpus, loads = [], [], []
    for run in range(max(1, repeat)):
        args = [*command, *(before(run) if before else ())]
        start_usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(args, check=True, capture_output=True, env=user_environment(env))
        walls.append(time.perf_counter() - start)
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(usage.ru_utime - start_usage.ru_utime + usage.ru_stime - start_usage.ru_stime)
        loads.append(os.getloadavg()[0])
    return Timing(label, tuple(walls), tuple(cpus), tuple(loads))
