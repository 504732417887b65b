"""Crash-safe sweep results: a directory of Parquet part files, one per completed chunk.

Layout of ``OUT`` (for example ``r.parquet/``): ``_sweep.json`` (the sweep's fingerprint,
chunking and provenance) and ``part-00000042.parquet`` for chunk 42. A part file is written
under a temporary name, fsynced and renamed, so after a crash (even SIGKILL) every part
present is complete, and a chunk is either wholly done or not started. ``--resume`` re-runs
exactly the chunks without a part. ``pandas.read_parquet(OUT)`` reads the directory as one
table; :func:`read_results` also orders rows by point id and reads CSV and single Parquet
files.

A running sweep holds an exclusive lock on its output directory: a second run into the same
output (resuming or forcing) is refused while the first runs, so it never deletes the
first's part in flight. ``force`` replaces only a sweep output (a directory with our
manifest), and then only the files a sweep writes.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from mappers.sweep.errors import SweepError
from mappers.sweep.points import POINT_ID

MANIFEST = "_sweep.json"
PROVENANCE_KEY = b"einsum_cascade.provenance"
_PART = re.compile(r"^part-(\d+)\.parquet$")
_TEMPORARY = re.compile(r"^\.part-(\d+)\.parquet\.tmp$")
FORMAT_VERSION = 2


class ResultsStore:
    """An opened, locked results directory; :meth:`close` or :meth:`abandon` releases it."""

    def __init__(self, path: Path, lock: int, created: bool, provenance: Mapping[str, Any]):
        """Keep the directory, its lock descriptor and whether this run created it."""
        self.path = path
        self._lock: int | None = lock
        self._created = created
        self._written = 0
        self._metadata = {PROVENANCE_KEY: json.dumps(provenance, default=str).encode()}

    def completed_chunks(self) -> frozenset[int]:
        """Return the ids of the chunks whose part file exists."""
        found = (_PART.match(p.name) for p in self.path.iterdir())
        return frozenset(int(m.group(1)) for m in found if m is not None)

    def write_chunk(self, chunk_id: int, rows: Any) -> None:
        """Write one chunk's rows atomically (temporary file, fsync, rename, fsync dir).

        ``rows`` has ``columns`` and ``names`` (see :class:`mappers.sweep.run.ChunkRows`).
        """
        import pyarrow.parquet as parquet

        final = self.path / f"part-{chunk_id:08d}.parquet"
        temporary = self.path / f".part-{chunk_id:08d}.parquet.tmp"
        table = arrow_table(rows.columns, rows.names).replace_schema_metadata(self._metadata)
        texts = [name for name, values in rows.columns.items() if values.dtype.kind in "OU"]
        texts += list(rows.names)
        try:
            # dictionary pages only for the text columns: on metrics they cost time for nothing
            parquet.write_table(table, temporary, use_dictionary=texts)
            _fsync(temporary)
            temporary.replace(final)
            _fsync(self.path)
        except OSError as exc:
            raise _os_error(exc, temporary) from None
        self._written += 1

    def close(self) -> None:
        """Release the lock."""
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None

    def abandon(self) -> None:
        """Release the lock after a failed run; remove the output if this run made it empty."""
        if self._created and self._written == 0:
            for entry in self.path.iterdir():
                if entry.name == MANIFEST or _TEMPORARY.match(entry.name):
                    entry.unlink(missing_ok=True)
            with contextlib.suppress(OSError):  # something else is in it now: leave it
                self.path.rmdir()
        self.close()


def arrow_table(
    columns: Mapping[str, np.ndarray], names: Mapping[str, tuple[str, ...]] | None = None
) -> Any:
    """Return columns as a pyarrow Table; text becomes strings (None or code -1: null).

    A column named in ``names`` holds codes into its names (how text columns travel).
    Numbers, flags and codes go to Arrow through their buffers: ``pyarrow.array`` would
    import pandas (a third of a second) to ask whether they are pandas objects.
    """
    import pyarrow as pa

    coded = names or {}
    arrays = []
    for name, values in columns.items():
        if name in coded:
            indices = _buffer_array(values.astype(np.int32, copy=False), values < 0)
            dictionary = _string_array(coded[name])
            arrays.append(pa.DictionaryArray.from_arrays(indices, dictionary).cast(pa.string()))
        elif values.dtype.kind in "iufb":
            arrays.append(_buffer_array(values))
        elif values.dtype.kind in "OU":
            arrays.append(pa.array(values, type=pa.string(), from_pandas=True))
        else:
            arrays.append(pa.array(values))
    return pa.Table.from_arrays(arrays, names=list(columns))


def _bits(flags: np.ndarray) -> Any:
    import pyarrow as pa

    return pa.py_buffer(np.packbits(flags, bitorder="little"))


def _buffer_array(values: np.ndarray, null: np.ndarray | None = None) -> Any:
    """A numeric or boolean NumPy array as an Arrow array of the same type, ``null`` masked."""
    import pyarrow as pa

    validity = _bits(~null) if null is not None and null.any() else None
    if values.dtype.kind == "b":
        return pa.Array.from_buffers(pa.bool_(), len(values), [validity, _bits(values)])
    data = pa.py_buffer(np.ascontiguousarray(values))
    return pa.Array.from_buffers(pa.from_numpy_dtype(values.dtype), len(values), [validity, data])


def _string_array(texts: tuple[str, ...]) -> Any:
    """Texts as an Arrow string array, from offsets and UTF-8 bytes."""
    import pyarrow as pa

    encoded = [t.encode("utf-8") for t in texts]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int32)
    np.cumsum([len(e) for e in encoded], out=offsets[1:])
    buffers = [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))]
    return pa.Array.from_buffers(pa.string(), len(encoded), buffers)


def open_store(
    path: str | Path,
    fingerprint: str,
    num_chunks: int,
    provenance: Mapping[str, Any] | None = None,
    *,
    resume: bool,
    force: bool,
) -> ResultsStore:
    """Create or reopen the results directory at ``path`` and lock it.

    Args:
        path: the output directory (conventionally ending in ``.parquet``).
        fingerprint: the sweep's fingerprint; resuming checks that it matches.
        num_chunks: how many chunks the sweep has, recorded in the manifest.
        provenance: what the sweep runs (see :mod:`mappers.sweep.provenance`).
        resume: keep the completed chunks of an earlier run of the same sweep.
        force: replace an existing sweep output.

    Raises:
        SweepError: SW201 when the output exists and neither ``resume`` nor ``force`` is
            given, SW202 when resuming a different sweep, SW203 when ``force`` would replace
            something that is not a sweep output, SW208 when another run holds the output,
            SW209 for an operating-system error (with the path).
    """
    out = Path(path)
    record = dict(provenance or {})
    manifest = {
        "format": FORMAT_VERSION,
        "fingerprint": fingerprint,
        "num_chunks": num_chunks,
        "provenance": record,
    }
    if not out.exists() and not out.is_symlink():
        created = _create(out, resume)
        if created is not None:
            _write_manifest(out, manifest)
            return ResultsStore(out, created, True, record)
    if not force and not resume:
        raise SweepError.single(
            "SW201",
            f"output '{out}' already exists",
            None,
            "pass --resume to finish that sweep, or --force to replace it",
        )
    if force:
        _check_is_output(out)
    elif not out.is_dir():
        raise SweepError.single("SW202", f"'{out}' is not a sweep output (not a directory)")
    lock = _lock(out)
    try:
        if force:
            _clear(out)
            _write_manifest(out, manifest)
        else:
            _check_manifest(out, manifest)
            for entry in out.iterdir():
                if _TEMPORARY.match(entry.name):
                    entry.unlink(missing_ok=True)
    except BaseException:
        os.close(lock)
        raise
    return ResultsStore(out, lock, False, record)


def _create(out: Path, resume: bool) -> int | None:
    """Make and lock a new output directory; None when another run made it first."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.mkdir()
    except FileExistsError:
        return None
    except OSError as exc:
        raise _os_error(exc, out) from None
    return _lock(out)


def _check_is_output(out: Path) -> None:
    if not out.is_dir() or not (out / MANIFEST).is_file():
        what = "a symbolic link" if out.is_symlink() and not out.is_dir() else None
        what = what or ("a directory" if out.is_dir() else "a file")
        raise SweepError.single(
            "SW203",
            f"refusing to replace '{out}': it is {what}, not a sweep output (no {MANIFEST})",
            None,
            "choose another --out",
        )


def _lock(out: Path) -> int:
    try:
        descriptor = os.open(out, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as exc:
        raise _os_error(exc, out) from None
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        os.close(descriptor)
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            raise SweepError.single(
                "SW208",
                f"output '{out}' is in use by another running sweep",
                None,
                "wait for it to finish (then --resume), or choose another --out",
            ) from None
        raise _os_error(exc, out) from None
    return descriptor


def _clear(out: Path) -> None:
    """Delete what a sweep wrote into ``out`` (parts, temporaries, manifest); keep the rest."""
    for entry in out.iterdir():
        if entry.name == MANIFEST or _PART.match(entry.name) or _TEMPORARY.match(entry.name):
            try:
                entry.unlink()
            except OSError as exc:
                raise _os_error(exc, entry) from None


def _write_manifest(out: Path, manifest: Mapping[str, Any]) -> None:
    path = out / MANIFEST
    temporary = out / f".{MANIFEST}.tmp"
    try:
        temporary.write_text(json.dumps(manifest, indent=2, default=str) + "\n", encoding="utf-8")
        _fsync(temporary)
        temporary.replace(path)
        _fsync(out)
    except OSError as exc:
        raise _os_error(exc, path) from None


def read_manifest(out: str | Path) -> dict[str, Any]:
    """Return the manifest of a sweep output directory.

    Raises:
        SweepError: SW202 when ``out`` has no readable manifest.
    """
    path = Path(out) / MANIFEST
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise SweepError.single(
            "SW202", f"'{out}' is not a sweep output (no readable {MANIFEST})"
        ) from None
    if not isinstance(found, dict):
        raise SweepError.single("SW202", f"'{out}' is not a sweep output ({MANIFEST} is not ours)")
    return found


def _check_manifest(out: Path, expected: Mapping[str, Any]) -> None:
    found = read_manifest(out)
    keys = ("format", "fingerprint", "num_chunks")
    if any(found.get(key) != expected[key] for key in keys):
        raise SweepError.single(
            "SW202",
            f"'{out}' holds the results of a different sweep, or of the same sweep over "
            f"files that have changed since (fingerprint {found.get('fingerprint')}, this "
            f"sweep is {expected['fingerprint']})",
            None,
            "pass --force to replace it, or choose another --out",
        )


def _os_error(exc: OSError, path: Path) -> SweepError:
    return SweepError.single("SW209", f"cannot write '{path}': {exc.strerror or exc}")


def _fsync(path: Path) -> None:
    """Flush a file's or a directory's entry to disk."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def read_provenance(path: str | Path) -> dict[str, Any]:
    """Return the provenance of sweep results: a sweep output or one of its Parquet parts.

    Raises:
        SweepError: SW204 when the path does not exist or carries no provenance.
    """
    source = Path(path)
    if not source.exists():
        raise SweepError.single("SW204", f"results '{source}' do not exist")
    if source.is_dir():
        record = read_manifest(source).get("provenance")
    else:
        import pyarrow.parquet as parquet

        try:
            metadata = parquet.read_schema(source).metadata or {}
        except (OSError, ValueError) as exc:
            raise SweepError.single("SW204", f"'{source}' is not a Parquet file: {exc}") from None
        raw = metadata.get(PROVENANCE_KEY)
        record = json.loads(raw) if raw else None
    if not isinstance(record, dict) or not record:
        raise SweepError.single("SW204", f"'{source}' carries no provenance")
    return record


def read_results(path: str | Path) -> Any:
    """Read sweep results: a results directory, a Parquet file or a CSV file.

    Rows of a results directory come back ordered by point id with a fresh index.

    Raises:
        SweepError: SW204 when the path does not exist or is not a results table.
    """
    import pandas as pd

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
