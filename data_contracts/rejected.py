"""A row that did not make it into the warehouse, and why: one quarantine row."""

from __future__ import annotations

from dataclasses import dataclass

from data_contracts.text import storable


@dataclass
class Rejected:
    """A record a reader could not turn into a canonical row, or one a contract check failed."""

    table: str
    row_number: int
    raw: str  # the record as read: the CSV line, the JSON line or element
    reason: str
    # The customer the row would have belonged to, where known (hashed like every id made
    # from an email), so a data-protection erasure finds quarantined rows too.
    customer_id: str | None = None

    def __post_init__(self) -> None:
        # A record may quote a NUL or a lone surrogate: written as escapes, it can be stored.
        self.raw, self.reason = storable(self.raw), storable(self.reason)
        if self.customer_id is not None:
            self.customer_id = storable(self.customer_id)
