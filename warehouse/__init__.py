"""The warehouse: engines and access (readers, writers, locks), tables, dialect differences."""

from warehouse.access import Warehouse, WarehouseBusy, WarehouseMissing
from warehouse.engine import DEFAULT_URL, WarehouseError, get_engine, resolve_url
from warehouse.schema import SCHEMA_VERSION, ensure_schema, tables

__all__ = [
    "DEFAULT_URL",
    "SCHEMA_VERSION",
    "Warehouse",
    "WarehouseBusy",
    "WarehouseError",
    "WarehouseMissing",
    "ensure_schema",
    "get_engine",
    "resolve_url",
    "tables",
]
