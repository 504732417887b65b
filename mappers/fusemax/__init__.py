"""The FuseMax paper's evaluation reproduced from data: configurations, comparison with the
artifact, tables and figures. Imports are lazy: the DataFrame tables (``*_table``) need
pandas; the reproduction, its figures and the plain tables (``attention_rows``,
``pe_sweep_columns``) do not.
"""

from __future__ import annotations

from einsum_cascade.exports import lazy_exports

_EXPORTS = {
    "configurations": "mappers.fusemax.reproduce",
    "reproduce_configuration": "mappers.fusemax.reproduce",
    "reproduce_fusemax": "mappers.fusemax.reproduce",
    "reproduce_linear": "mappers.fusemax.reproduce",
    "attention_rows": "mappers.fusemax.tables",
    "attention_table": "mappers.fusemax.tables",
    "pe_sweep_columns": "mappers.fusemax.tables",
    "pe_sweep_table": "mappers.fusemax.tables",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
