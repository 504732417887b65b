"""Time the command line's start in fresh processes: ``--help``, ``check``, ``reproduce``.

Each command runs ``--repeat`` times (default 5) in a new interpreter; the best wall time is
printed with its CPU time and the 1-minute load average, beside a bare ``python -c pass``
from the same run (the interpreter's own start on this machine, now). Usage::

    python benchmarks/startup.py [--repeat N] [--skip-reproduce] [--record FILE]

``reproduce fusemax`` is timed with a warm cost-model cache (one untimed run fills it),
with and without figures, each run into a new empty folder.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import Timing, time_command

CLI = [sys.executable, "-m", "einsum_cascade"]
CASCADE = "attention/1pass"


def main() -> None:
    """Time each command and print one line per command."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per command; best is kept")
    parser.add_argument("--skip-reproduce", action="store_true", help="time --help and check only")
    parser.add_argument("--record", type=Path, default=None, help="JSON record to write")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="startup-"))

    def fresh(_: int) -> list[str]:
        return ["--out", tempfile.mkdtemp(dir=scratch)]

    timings: list[Timing] = [
        time_command("python -c pass", [sys.executable, "-c", "pass"], args.repeat),
        time_command("einsum-cascade --help", [*CLI, "--help"], args.repeat),
        time_command(f"einsum-cascade check {CASCADE}", [*CLI, "check", CASCADE], args.repeat),
    ]
    if not args.skip_reproduce:
        reproduce = [*CLI, "reproduce", "fusemax"]
        time_command("fill the cost-model cache", reproduce, 1, fresh)
        timings.append(time_command("reproduce fusemax", reproduce, args.repeat, fresh))
        timings.append(
            time_command(
                "reproduce fusemax --no-figures", [*reproduce, "--no-figures"], args.repeat, fresh
            )
        )
    for timing in timings:
        print(timing.line())
    if args.record is not None:
        args.record.write_text(json.dumps([t.to_dict() for t in timings], indent=2) + "\n")


if __name__ == "__main__":
    main()
