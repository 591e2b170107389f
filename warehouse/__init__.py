"""The warehouse: SQLAlchemy engine, canonical tables, dialect differences."""

from warehouse.engine import DEFAULT_URL, get_engine, resolve_url
from warehouse.schema import SCHEMA_VERSION, ensure_schema, tables

__all__ = ["DEFAULT_URL", "SCHEMA_VERSION", "ensure_schema", "get_engine", "resolve_url", "tables"]
