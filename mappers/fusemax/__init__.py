"""The FuseMax paper's evaluation reproduced from data: configurations, comparison with the
artifact, tables and figures.
"""

from mappers.fusemax.reproduce import (
    configurations,
    reproduce_configuration,
    reproduce_fusemax,
    reproduce_linear,
)
from mappers.fusemax.tables import attention_table, pe_sweep_table

__all__ = [
    "attention_table",
    "configurations",
    "pe_sweep_table",
    "reproduce_configuration",
    "reproduce_fusemax",
    "reproduce_linear",
]
