"""Load the canonical-table contracts (``contracts/*.yaml``) into typed objects.

Every other layer reads the shape of a canonical table from here: the readers' column
lists and types, the warehouse DDL and the great-expectations suites. The tables readers
fill besides these are declared beside them (data_contracts/side_tables.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import yaml

CONTRACT_DIR = Path(__file__).parent / "contracts"

POLARS_TYPES: dict[str, pl.DataType] = {
    "string": pl.String(),
    "integer": pl.Int64(),
    "float": pl.Float64(),
    "timestamp": pl.Datetime("us"),
    "text_list": pl.List(pl.String()),
}

# Lineage carried by every loaded row (docs/contract.md, Canonical tables).
LINEAGE_COLUMNS = ("source", "batch_id", "source_file")
# The canonical tables, in the order a load merges them (and a reader's result lists them).
CANONICAL_TABLES = ("tickets", "nps_responses", "customers")


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    required: bool = False
    allowed: tuple[str, ...] | None = None
    min: float | None = None
    max: float | None = None
    # A timestamp that may lie after the load (a contract's scheduled end): only the start
    # of the plausible range applies to it (data_contracts.plausible).
    future_allowed: bool = False
    description: str = ""
    # A side table's column: the ticket column its value is applied to (ticket metrics).
    feeds: str | None = None
    # In the header the canonical CSV's documentation gives (header: false for optional
    # columns it leaves out).
    header: bool = True
    # Stored after the bookkeeping columns (a column a later schema added), so that the
    # table's column order stays what it was.
    after_bookkeeping: bool = False

    @property
    def polars_type(self) -> pl.DataType:
        return POLARS_TYPES[self.type]


# Where and when a stored row was read, never what it says: the side tables name those they
# keep (data_contracts/side_tables.py); a version's content leaves them out.
BOOKKEEPING: dict[str, Column] = {
    c.name: c
    for c in (
        Column("batch_id", "string", required=True, description="The run that loaded the row"),
        Column("source_file", "string", required=True, description="The file it was read from"),
        Column("row_number", "integer", required=True, description="Its record in that file"),
    )
}
# The source system a row came from: part of the key of every table but customers.
SOURCE = Column("source", "string", required=True, description="The source system")


@dataclass(frozen=True)
class QualityRule:
    rule: str
    column: str
    other: str
    description: str = ""


@dataclass(frozen=True)
class Contract:
    table: str
    grain: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    quality: tuple[QualityRule, ...] = field(default_factory=tuple)
    # Columns the warehouse keeps beyond the contract (not checked on read), after lineage.
    stored: tuple[Column, ...] = ()
    # The columns whose changes the table's history keeps, in the history's order.
    versioned: tuple[str, ...] = ()

    @property
    def frame(self) -> str:
        """The name of a reader's frame for this table (its own name)."""
        return self.table

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def schema(self) -> dict[str, pl.DataType]:
        """The polars schema of a canonical frame (without lineage)."""
        return {c.name: c.polars_type for c in self.columns}

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


def columns_of(raw: list[dict]) -> tuple[Column, ...]:
    """Columns as a YAML file declares them."""
    return tuple(
        Column(**{**c, "allowed": tuple(c["allowed"]) if "allowed" in c else None}) for c in raw
    )


def _load(path: Path) -> Contract:
    raw = yaml.safe_load(path.read_text())
    quality = tuple(QualityRule(**q) for q in raw.get("quality", []))
    return Contract(
        raw["table"],
        raw["grain"],
        tuple(raw["key"]),
        columns_of(raw["columns"]),
        quality,
        columns_of(raw.get("stored", [])),
        tuple(raw.get("versioned", [])),
    )


CONTRACTS: dict[str, Contract] = {
    table: _load(CONTRACT_DIR / f"{table}.yaml") for table in CANONICAL_TABLES
}
