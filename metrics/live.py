"""The tickets the metrics read: every stored ticket except those the source deleted.

A ticket its source deleted (Zendesk's incremental export gives it with status ``deleted``)
stays in the warehouse, so that it is still counted and an older copy of it loaded later
cannot bring it back (the newest version wins); every measure reads ``tickets`` from here
and so leaves it out.
"""

from __future__ import annotations

import sqlalchemy as sa

from warehouse import schema
from warehouse.schema import DELETED_STATUS

tickets = (
    sa.select(schema.tickets)
    .where(schema.tickets.c.status != DELETED_STATUS)
    .subquery("live_tickets")
)
