"""Mapping search: enumerate the legal mappings of a cascade on a spec, prune by bounds, cost and
rank them.
"""

from mappers.search.candidates import SearchResult, objective_key, template_for
from mappers.search.engine import search_mappings

__all__ = ["SearchResult", "objective_key", "search_mappings", "template_for"]
