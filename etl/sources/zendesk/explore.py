"""Zendesk Explore CSV exports of the Support: Tickets dataset (a report with one row per
ticket, exported as CSV).

Explore quotes every field, writes a no-break space in an empty cell, writes timestamps
without an offset in the account's time zone (the load needs ``--source-timezone`` or
``[sources.zendesk_explore] timezone``), names the requester by email (it becomes the keyed
hash) and may give a reply time only as a bracket ("0-1 hrs"). A ticket whose reply time is
known only by its bracket keeps the bracket in ``first_reply_bracket`` and is left out of
the TTA KPIs; the bracket " No replies" means no reply (an unacknowledged ticket).

The column names are those of Explore's Tickets dataset attributes and metrics; a report
may hold any of them. Grain: one canonical ticket per data row.
"""

from __future__ import annotations

from etl.sources.mapped_csv import (
    AFTER,
    CUSTOMER,
    HOURS,
    LATEST,
    MINUTES,
    TAGS,
    TIMESTAMP,
    VALUES,
    Field,
    Mapping,
    canonical_values,
    register,
    row_by_row,
)

SOURCE = "zendesk_explore"

STATUSES = {
    "new": "new",
    "open": "open",
    "pending": "pending",
    "on-hold": "hold",
    "hold": "hold",
    "solved": "solved",
    "closed": "closed",
    "deleted": "deleted",
}
CHANNELS = {
    "email": "email",
    "web form": "web",
    "web": "web",
    "help center": "web",
    "chat": "chat",
    "messaging": "chat",
    "native messaging": "chat",
    "phone call (incoming)": "voice",
    "phone call (outgoing)": "voice",
    "voicemail": "voice",
    "voice": "voice",
    "twitter": "social",
    "twitter dm": "social",
    "facebook post": "social",
    "facebook private message": "social",
    "whatsapp": "social",
    "api": "api",
    "web service": "api",
}
TYPES = canonical_values("type")  # Explore writes them capitalised: Incident
PRIORITIES = canonical_values("priority")
RATINGS = {
    "good": "good",
    "bad": "bad",
    "offered": "offered",
    "unoffered": "unoffered",
    "not offered": "unoffered",
}
NO_REPLY = ("No replies", "No reply")
# Attributes of the Tickets dataset that name the requester: redacted in quarantine.
PERSON_FIELDS = ("Requester name", "Submitter name")

TICKETS = Mapping(
    name="zendesk_explore_tickets_csv",
    description="Zendesk Explore CSV export of tickets (Ticket ID, Ticket status, "
    '"Ticket created - Timestamp", ...)',
    source=SOURCE,
    table="tickets",
    signature=("Ticket ID", "Ticket status", "Ticket created - Timestamp"),
    fields=(
        Field("ticket_id", ("Ticket ID",)),
        # each row's first id it has: a requester without an external id is known by email
        *row_by_row(
            "customer_id", ("Requester external ID", "Requester email", "Requester ID"), CUSTOMER
        ),
        Field("created_at", ("Ticket created - Timestamp",), TIMESTAMP),
        Field(
            "first_reply_at",
            ("First reply time (min)",),
            AFTER,
            base="created_at",
            unit=MINUTES,
        ),
        Field(
            "first_reply_at",
            ("First reply time (hrs)",),
            AFTER,
            base="created_at",
            unit=HOURS,
        ),
        Field(
            "first_reply_bracket",
            ("First reply time brackets", "First reply time - Brackets"),
            empty=NO_REPLY,
        ),
        Field("solved_at", ("Ticket solved - Timestamp",), TIMESTAMP),
        Field("status", ("Ticket status",), VALUES, STATUSES, unmapped="other"),
        Field(
            "channel",
            ("Ticket channel",),
            VALUES,
            CHANNELS,
            unmapped="other",
            configurable="channels",
            default="other",
        ),
        Field("type", ("Ticket type",), VALUES, TYPES),
        Field("priority", ("Ticket priority",), VALUES, PRIORITIES),
        Field("tags", ("Ticket tags",), TAGS, separator=r"[,\s]+"),  # Zendesk tags have no spaces
        Field("group_name", ("Ticket group",)),
        Field("assignee_id", ("Assignee ID", "Assignee name"), CUSTOMER),
        Field("agent_replies", ("Agent replies",)),
        Field("reopens", ("Reopens",)),
        Field("assignee_stations", ("Assignee stations",)),
        Field("group_stations", ("Group stations",)),
        Field("csat", ("Ticket satisfaction rating", "Satisfaction rating"), VALUES, RATINGS),
        Field(
            "updated_at",
            ("Ticket updated - Timestamp",),
            LATEST,
            of=("created_at", "first_reply_at", "solved_at"),
        ),
    ),
    person_fields=PERSON_FIELDS,
)

FORMATS = register([TICKETS])
