"""Plain tables of the reproduction: rows as dicts, read and written as pandas would.

``reproduce fusemax`` reads seven artifact CSVs and writes nine small ones; importing
pandas for them took half of a warm run. A table here is a list of rows (column name ->
value), its columns in order of first appearance; a row may lack a column (an empty cell).
CSV files are read and written with the formatting of ``pandas.read_csv`` and
``DataFrame.to_csv(index=False)``: the files are byte for byte what pandas writes, and
:func:`to_frame` / :func:`from_frame` convert for callers that want DataFrames.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

Row = dict[str, Any]


def columns_of(rows: Iterable[Row]) -> list[str]:
    """Return every column of the rows, in order of first appearance."""
    return list(dict.fromkeys(name for row in rows for name in row))


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _cells(values: Sequence[Any]) -> list[str]:
    """Format one column as pandas does: whole numbers stay whole unless a cell is a float
    or missing (then every number is a float), missing cells are empty."""
    numbers = [v for v in values if not _missing(v)]
    if numbers and all(_number(v) for v in numbers):
        floats = len(numbers) < len(values) or any(isinstance(v, float) for v in numbers)
        return ["" if _missing(v) else repr(float(v)) if floats else str(v) for v in values]
    return ["" if _missing(v) else str(v) for v in values]


def write_csv(rows: Sequence[Row], path: Path) -> None:
    """Write the rows as ``DataFrame(rows).to_csv(path, index=False)`` would."""
    columns = columns_of(rows)
    cells = [_cells([row.get(name) for row in rows]) for name in columns]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(zip(*cells, strict=True))


def _parse(text: str) -> Any:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def read_csv(path: Path) -> list[Row]:
    """Read a CSV with a header as the artifact's files are read: numbers parsed (a column
    with a float or an empty cell is all floats), unnamed and all-empty columns dropped."""
    with path.open(encoding="utf-8", newline="") as handle:
        header, *lines = list(csv.reader(handle))
    columns: dict[str, list[Any]] = {}
    for i, name in enumerate(header):
        values = [_parse(line[i]) if i < len(line) and line[i] != "" else None for line in lines]
        if not name or all(v is None for v in values):
            continue
        if all(v is None or _number(v) for v in values) and not all(
            isinstance(v, int) for v in values
        ):
            values = [math.nan if v is None else float(v) for v in values]
        columns[name] = values
    return [dict(zip(columns, cells, strict=True)) for cells in zip(*columns.values(), strict=True)]


def to_frame(rows: Sequence[Row]) -> pd.DataFrame:
    """Return the rows as a DataFrame (missing cells NaN)."""
    import pandas as pd

    return pd.DataFrame(list(rows), columns=columns_of(rows))


def from_frame(frame: pd.DataFrame) -> list[Row]:
    """Return a DataFrame's rows with Python values (NaN for a missing number)."""
    rows: list[Row] = frame.to_dict("records")
    return rows
