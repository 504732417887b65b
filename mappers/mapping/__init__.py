"""Mappings: how a cascade runs on a spec (binding, spatial dims, tiles, placement, schedule), read
from and written as YAML.
"""

from mappers.mapping.loader import available_mappings, load_mapping, mapping_from_text, mapping_path
from mappers.mapping.schema import DimRef, Mapping, Quantity, Schedule, Stall, TileRule
from mappers.mapping.writer import mapping_document, mapping_yaml

__all__ = [
    "DimRef",
    "Mapping",
    "Quantity",
    "Schedule",
    "Stall",
    "TileRule",
    "available_mappings",
    "load_mapping",
    "mapping_document",
    "mapping_from_text",
    "mapping_path",
    "mapping_yaml",
]
