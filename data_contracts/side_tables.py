"""The tables readers fill besides the canonical ones (``side_tables.yaml``), as typed objects.

Like the contracts, every other layer reads their shape from here: the readers' polars
schemas, the warehouse DDL, what a load merges on, and which ticket columns the ticket
metrics feed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl
import yaml

from data_contracts.contract import BOOKKEEPING, CONTRACTS, Column, columns_of

SIDE_TABLE_FILE = Path(__file__).parent / "side_tables.yaml"


@dataclass(frozen=True)
class SideTable:
    table: str  # in the warehouse
    frame: str  # in a reader's result
    grain: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]  # the frame's, in order
    bookkeeping: tuple[str, ...]  # of BOOKKEEPING, stored after the frame's columns
    # the column naming the employee a row is about (an agent's id), where it is one's own
    # personal data: what ``turnaround forget`` erases by that id
    person: str | None = None

    @property
    def schema(self) -> dict[str, pl.DataType]:
        """The polars schema of the reader's frame (without row_number)."""
        return {c.name: c.polars_type for c in self.columns}

    @property
    def bookkeeping_columns(self) -> tuple[Column, ...]:
        return tuple(BOOKKEEPING[name] for name in self.bookkeeping)


def _load(raw: dict) -> SideTable:
    return SideTable(
        raw["table"],
        raw["frame"],
        raw["grain"],
        tuple(raw["key"]),
        columns_of(raw["columns"]),
        tuple(raw["bookkeeping"]),
        raw.get("person"),
    )


SIDE_TABLES: dict[str, SideTable] = {
    side.frame: side for side in map(_load, yaml.safe_load(SIDE_TABLE_FILE.read_text()))
}
TICKET_METRICS = SIDE_TABLES["ticket_metrics"]
AGENTS = SIDE_TABLES["agents"]

# Ticket column -> the ticket-metrics column its value comes from, in the metrics' order (the
# source time of the values, ``metrics_updated_at``, last). A newer ticket version without
# metric values of its own (a Zendesk ticket: they come in their own stream) keeps these.
FED_BY_METRICS: dict[str, str] = {c.feeds: c.name for c in TICKET_METRICS.columns if c.feeds}

_tickets = CONTRACTS["tickets"]
_unknown = set(FED_BY_METRICS) - {c.name for c in (*_tickets.columns, *_tickets.stored)}
if _unknown or list(FED_BY_METRICS)[-1] != "metrics_updated_at":  # caught on import
    raise ValueError("side_tables.yaml: ticket metrics must feed ticket columns, the time last")
