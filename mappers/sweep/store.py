"""Crash-safe sweep results: a directory of Parquet part files, one per completed chunk.

Layout of ``OUT`` (for example ``r.parquet/``): ``_sweep.json`` (the sweep's fingerprint and
chunking) and ``part-00000042.parquet`` for chunk 42. A part file is written under a
temporary name, fsynced and renamed, so after a crash (even SIGKILL) every part present is
complete, and a chunk is either wholly done or not started. ``--resume`` re-runs exactly the
chunks without a part. ``pandas.read_parquet(OUT)`` reads the directory as one table;
:func:`read_results` also orders rows by point id and reads CSV and single Parquet files.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from mappers.sweep.errors import SweepError
from mappers.sweep.points import POINT_ID

MANIFEST = "_sweep.json"
_PART = re.compile(r"^part-(\d+)\.parquet$")
FORMAT_VERSION = 1


@dataclass(frozen=True, slots=True)
class ResultsStore:
    """An opened results directory."""

    path: Path

    def completed_chunks(self) -> frozenset[int]:
        """Return the ids of the chunks whose part file exists."""
        found = (_PART.match(p.name) for p in self.path.iterdir())
        return frozenset(int(m.group(1)) for m in found if m is not None)

    def write_chunk(self, chunk_id: int, frame: pd.DataFrame) -> None:
        """Write one chunk's rows atomically (temporary file, fsync, rename, fsync dir)."""
        final = self.path / f"part-{chunk_id:08d}.parquet"
        temporary = self.path / f".part-{chunk_id:08d}.parquet.tmp"
        frame.to_parquet(temporary, index=False)
        _fsync(temporary)
        temporary.replace(final)
        _fsync(self.path)


def open_store(
    path: str | Path, fingerprint: str, num_chunks: int, *, resume: bool, force: bool
) -> ResultsStore:
    """Create or reopen the results directory at ``path``.

    Args:
        path: the output directory (conventionally ending in ``.parquet``).
        fingerprint: the sweep's fingerprint; resuming checks that it matches.
        num_chunks: how many chunks the sweep has, recorded in the manifest.
        resume: keep the completed chunks of an earlier run of the same sweep.
        force: delete an existing output first.

    Raises:
        SweepError: SW201 when the output exists and neither ``resume`` nor ``force`` is
            given, SW202 when resuming a different sweep, SW203 when ``force`` would delete
            something that is not a sweep output.
    """
    out = Path(path)
    if out.exists() and force:
        _remove_output(out)
    elif out.exists() and not resume:
        raise SweepError.single(
            "SW201",
            f"output '{out}' already exists",
            None,
            "pass --resume to finish that sweep, or --force to overwrite it",
        )
    manifest = {"format": FORMAT_VERSION, "fingerprint": fingerprint, "num_chunks": num_chunks}
    if out.exists():
        _check_manifest(out, manifest)
    else:
        out.mkdir(parents=True)
        (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        _fsync(out / MANIFEST)
        _fsync(out)
    for stale in out.glob(".part-*.tmp"):
        stale.unlink()
    return ResultsStore(out)


def _check_manifest(out: Path, expected: dict[str, object]) -> None:
    manifest_path = out / MANIFEST
    try:
        found = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise SweepError.single(
            "SW202", f"'{out}' is not a sweep output (no readable {MANIFEST})"
        ) from None
    if found != expected:
        raise SweepError.single(
            "SW202",
            f"'{out}' holds the results of a different sweep (fingerprint "
            f"{found.get('fingerprint')}, this sweep is {expected['fingerprint']})",
            None,
            "pass --force to overwrite it, or choose another --out",
        )


def _remove_output(out: Path) -> None:
    if out.is_dir():
        if not (out / MANIFEST).exists():
            raise SweepError.single(
                "SW203",
                f"refusing to delete '{out}': it is a directory but not a sweep output",
                None,
                "choose another --out",
            )
        shutil.rmtree(out)
    else:
        out.unlink()


def _fsync(path: Path) -> None:
    """Flush a file's or a directory's entry to disk."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def read_results(path: str | Path) -> pd.DataFrame:
    """Read sweep results: a results directory, a Parquet file or a CSV file.

    Rows of a results directory come back ordered by point id with a fresh index.

    Raises:
        SweepError: SW204 when the path does not exist or is not a results table.
    """
    source = Path(path)
    if not source.exists():
        raise SweepError.single("SW204", f"results '{source}' do not exist")
    if source.is_dir():
        parts = sorted(p for p in source.iterdir() if _PART.match(p.name))
        frames = [pd.read_parquet(p) for p in parts]
        frames = [f for f in frames if len(f)] or frames[:1]
        if not frames:
            return pd.DataFrame({POINT_ID: pd.Series(dtype="int64")})
        frame = pd.concat(frames, ignore_index=True)
        return frame.sort_values(POINT_ID, kind="stable").reset_index(drop=True)
    if source.suffix.lower() == ".csv":
        return pd.read_csv(source)
    if source.suffix.lower() in (".parquet", ".pq"):
        return pd.read_parquet(source)
    raise SweepError.single(
        "SW204",
        f"'{source}' is not a results table",
        None,
        "give a sweep output directory, a .parquet or a .csv file",
    )
