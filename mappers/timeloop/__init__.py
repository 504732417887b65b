"""Timeloop v4 interchange: import an architecture as a spec, export one mapped einsum as Timeloop
documents.
"""

from mappers.timeloop.reader import import_timeloop_arch
from mappers.timeloop.writer import timeloop_documents, write_timeloop

__all__ = ["import_timeloop_arch", "timeloop_documents", "write_timeloop"]
