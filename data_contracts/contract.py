"""Load the canonical-table contracts (``contracts/*.yaml``) into typed objects.

Every other layer reads the shape of a canonical table from here: the readers' column
lists and types, the warehouse DDL and the great-expectations suites.
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

    @property
    def polars_type(self) -> pl.DataType:
        return POLARS_TYPES[self.type]


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

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def schema(self) -> dict[str, pl.DataType]:
        """The polars schema of a canonical frame (without lineage)."""
        return {c.name: c.polars_type for c in self.columns}

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


def _load(path: Path) -> Contract:
    raw = yaml.safe_load(path.read_text())
    columns = tuple(
        Column(**{**c, "allowed": tuple(c["allowed"]) if "allowed" in c else None})
        for c in raw["columns"]
    )
    quality = tuple(QualityRule(**q) for q in raw.get("quality", []))
    return Contract(raw["table"], raw["grain"], tuple(raw["key"]), columns, quality)


CONTRACTS: dict[str, Contract] = {
    c.table: c for c in (_load(p) for p in sorted(CONTRACT_DIR.glob("*.yaml")))
}
