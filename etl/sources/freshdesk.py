"""Freshdesk ticket exports (Tickets > Export, CSV), as Freshdesk writes them and as Excel
re-saves them (CRLF line ends, ``25/01/2025 1:30`` dates without seconds).

Grain: one canonical ticket per data row. Freshdesk writes its times without an offset, in
the account's time zone: the load needs ``--source-timezone`` or ``[sources.freshdesk]
timezone``. ``Contact ID`` holds the requester's email in an export with contact fields; it
becomes the keyed hash. Statuses map by the table below, extended by the config's
``[sources.freshdesk.statuses]`` (custom statuses); one it does not know loads as ``other``
and is counted in the run report.
"""

from __future__ import annotations

from etl.sources.mapped_csv import (
    CUSTOMER,
    LATEST,
    TAGS,
    TIMESTAMP,
    VALUES,
    Field,
    Mapping,
    canonical_values,
    register,
    row_by_row,
)

SOURCE = "freshdesk"

# Freshdesk's built-in statuses; custom ones come from the config.
STATUSES = {
    "open": "open",
    "pending": "pending",
    "resolved": "solved",
    "closed": "closed",
    "waiting on customer": "pending",
    "waiting on third party": "hold",
}
# Freshdesk's ticket sources.
CHANNELS = {
    "email": "email",
    "outbound email": "email",
    "portal": "web",
    "feedback widget": "web",
    "forum": "web",
    "phone": "voice",
    "chat": "chat",
    "whatsapp": "chat",
    "twitter": "social",
    "facebook": "social",
    "api": "api",
}
PRIORITIES = {"low": "low", "medium": "normal", "high": "high", "urgent": "urgent"}
TYPES = canonical_values("type")  # Question, Incident, Problem, Task
# Freshdesk's satisfaction survey answers (the classic three-point survey).
SURVEY_RESULTS = {
    "awesome": "good",
    "happy": "good",
    "satisfied": "good",
    "extremely satisfied": "good",
    "not good": "bad",
    "unhappy": "bad",
    "dissatisfied": "bad",
    "extremely dissatisfied": "bad",
}

# Contact fields of an export that name or reach the requester: redacted in quarantine.
PERSON_FIELDS = (
    "Full name",
    "Contact name",
    "Requester name",
    "Mobile phone",
    "Work phone",
    "Phone",
    "Twitter ID",
    "Facebook ID",
)

TICKETS = Mapping(
    name="freshdesk_tickets_csv",
    description="Freshdesk ticket export CSV (Ticket ID, Status, Created time, ...; Excel "
    "re-saves included)",
    source=SOURCE,
    table="tickets",
    signature=("Ticket ID", "Status", "Created time"),
    fields=(
        Field("ticket_id", ("Ticket ID",)),
        # each row's first id it has (an export may hold Contact ID for some rows only)
        *row_by_row("customer_id", ("Contact ID", "Email", "Requester email"), CUSTOMER),
        Field("created_at", ("Created time",), TIMESTAMP),
        # "First response time (in hrs)" is in business hours, and 00:00:00 where no one
        # replied: not a calendar time, so the reply time is the initial response's alone.
        Field("first_reply_at", ("Initial response time",), TIMESTAMP),
        Field("solved_at", ("Resolved time",), TIMESTAMP),
        Field("solved_at", ("Closed time",), TIMESTAMP),
        Field("status", ("Status",), VALUES, STATUSES, unmapped="other", configurable="statuses"),
        Field(
            "channel",
            ("Source",),
            VALUES,
            CHANNELS,
            unmapped="other",
            configurable="channels",
            default="other",
        ),
        Field("type", ("Type",), VALUES, TYPES, configurable="types"),
        Field("priority", ("Priority",), VALUES, PRIORITIES),
        Field("tags", ("Tags",), TAGS),
        Field("group_name", ("Group",), empty=("No Group",)),  # Freshdesk's placeholders
        Field("assignee_id", ("Agent",), CUSTOMER, empty=("No Agent",)),
        Field("agent_replies", ("Agent interactions",)),
        Field("csat", ("Survey results", "Satisfaction survey"), VALUES, SURVEY_RESULTS),
        Field(
            "updated_at",
            ("Last updated time", "Last update time"),
            LATEST,
            of=("created_at", "first_reply_at", "solved_at"),
        ),
    ),
    person_fields=PERSON_FIELDS,
)

FORMATS = register([TICKETS])
