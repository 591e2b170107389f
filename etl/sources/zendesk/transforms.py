"""Pure row clean-up: one Zendesk API object in, one canonical row (a dict) out.

Each converter takes the raw JSON value and returns the canonical value, or raises
ValueError saying why the value cannot be used; the row functions turn that into a
FieldError naming the field, which the reader records as a rejected row.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from typing import Any

from data_contracts import CONTRACTS, SIDE_TABLES
from data_contracts.times import to_naive_utc
from etl.identity import agent_pseudonym, email_customer_id, looks_like_email
from etl.sources.zendesk.settings import CHANNELS, COMPENSATION_FIELD_ID, OTHER_CHANNEL, SOURCE

# canonical column -> (conversion, path into the Zendesk ticket object)
TICKET_COLUMNS: dict[str, tuple[str, tuple[str, ...]]] = {
    "ticket_id": ("id", ("id",)),
    "requester_id": ("id", ("requester_id",)),
    "created_at": ("timestamp", ("created_at",)),
    "updated_at": ("timestamp", ("updated_at",)),
    "status": ("text", ("status",)),
    "channel": ("channel", ("via", "channel")),
    "type": ("text", ("type",)),
    "priority": ("text", ("priority",)),
    "tags": ("tags", ("tags",)),
    "group_name": ("id", ("group_id",)),  # the id; its name comes from the groups stream
    "assignee_id": ("id", ("assignee_id",)),
    "csat": ("text", ("satisfaction_rating", "score")),
    "compensation": ("compensation", ("custom_fields",)),
}

# ticket-metrics column (data_contracts/side_tables.yaml) -> path into the Zendesk
# ticket_metric object
TICKET_METRIC_PATHS: dict[str, tuple[str, ...]] = {
    "ticket_id": ("ticket_id",),
    "reply_minutes": ("reply_time_in_minutes", "calendar"),
    "first_reply_business_minutes": ("reply_time_in_minutes", "business"),
    "solved_at": ("solved_at",),
    "agent_replies": ("replies",),
    "reopens": ("reopens",),
    "assignee_stations": ("assignee_stations",),
    "group_stations": ("group_stations",),
    "first_resolution_minutes": ("first_resolution_time_in_minutes", "calendar"),
    "updated_at": ("updated_at",),
}

COMPENSATION_FIELD_IDS = (COMPENSATION_FIELD_ID, str(COMPENSATION_FIELD_ID))  # int, or as text
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


class FieldError(ValueError):
    """A field of a record whose value cannot be converted."""


def to_id(value: Any) -> str | None:
    """A Zendesk id (an integer, or its digits as text) as text."""
    if type(value) is int:  # the common case first: this runs for every id of every row
        return str(value)
    if value is None or value == "":
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return value.strip()
    raise ValueError(f"{value!r} is not a numeric id")


def to_utc(value: Any) -> dt.datetime | None:
    """An ISO 8601 timestamp as a naive UTC datetime; a timestamp without offset is UTC."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not an ISO 8601 timestamp")
    text = value.strip()
    is_zulu = text.endswith("Z")  # what Zendesk sends: parsed as naive, it is already UTC
    try:
        parsed = dt.datetime.fromisoformat(text[:-1] if is_zulu else text)
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO 8601 timestamp") from None
    if parsed.tzinfo is None:
        return parsed
    if is_zulu:  # an offset and a Z
        raise ValueError(f"{value!r} is not an ISO 8601 timestamp")
    return to_naive_utc(parsed)


def to_text(value: Any) -> str | None:
    """A scalar as text, kept as given (allowed values are checked by the contract)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        raise ValueError(f"{value!r} is not a text value")
    return str(value)


def to_integer(value: Any) -> int | None:
    """A whole number (an integer, an integral float, or its digits as text)."""
    if type(value) is int:
        return value
    if value is None or value == "":
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise ValueError(f"{value!r} is not a whole number")


def to_tags(value: Any) -> list[str]:
    """Ticket tags as a list of non-empty text without control characters (Zendesk tags
    have none); a ticket without tags has an empty list."""
    if value is None:
        return []
    if isinstance(value, str):  # some exports join the tags with spaces
        value = value.split()
    if not isinstance(value, list):
        raise ValueError(f"{value!r} is not a list of tags")
    tags = [tag if type(tag) is str else str(tag) for tag in value if tag is not None]
    if not "".join(tags).isprintable():
        tags = [CONTROL_CHARACTERS.sub("", tag) for tag in tags]
    return [stripped for tag in tags if (stripped := tag.strip())]


def channel_of(via_channel: Any) -> str:
    """The canonical channel of a Zendesk `via.channel`."""
    if not isinstance(via_channel, str):
        return OTHER_CHANNEL
    return CHANNELS.get(via_channel.strip().lower(), OTHER_CHANNEL)


def compensation_of(custom_fields: Any) -> float | None:
    """The value of the compensation custom field, as money; None when absent or empty."""
    if not isinstance(custom_fields, list):
        return None
    for field in custom_fields:
        if isinstance(field, dict) and field.get("id") in COMPENSATION_FIELD_IDS:
            value = field.get("value")
            break
    else:
        return None
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not an amount")
    try:
        amount = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{value!r} is not an amount") from None
    if not math.isfinite(amount):
        raise ValueError(f"{value!r} is not an amount")
    return amount


CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "id": to_id,
    "timestamp": to_utc,
    "text": to_text,
    "integer": to_integer,
    "tags": to_tags,
    "channel": channel_of,
    "compensation": compensation_of,
}


def dig(obj: dict, path: tuple[str, ...]) -> Any:
    """The value at ``path`` in nested objects; None where a step is missing or not an object."""
    value: Any = obj
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


Plan = tuple[tuple[str, Callable[[Any], Any], str, tuple[str, ...], str], ...]


def plan(columns: dict[str, tuple[str, tuple[str, ...]]]) -> Plan:
    """A column map resolved once into (column, converter, first key, rest of path, label)."""
    return tuple(
        (column, CONVERTERS[kind], path[0], path[1:], ".".join(path))
        for column, (kind, path) in columns.items()
    )


def convert(obj: dict, steps: Plan) -> dict[str, Any]:
    """One canonical row from ``obj`` following a planned column map; raises FieldError."""
    row: dict[str, Any] = {}
    for column, converter, key, rest, label in steps:
        value = obj.get(key)
        if rest:
            value = dig(value, rest) if isinstance(value, dict) else None
        try:
            row[column] = converter(value)
        except ValueError as exc:
            raise FieldError(f"{label}: {exc}") from None
    return row


# side-table column -> path into the Zendesk group object, and into its satisfaction_rating
GROUP_PATHS = {"group_id": ("id",), "name": ("name",), "updated_at": ("updated_at",)}
AGENT_PATHS = {"agent_id": ("id",), "name": ("name",), "updated_at": ("updated_at",)}
# The user roles that make a Zendesk user an agent, whose name a ticket's assignee id shows.
AGENT_ROLES = frozenset({"agent", "admin"})
RATING_PATHS = {
    "rating_id": ("id",),
    "ticket_id": ("ticket_id",),
    "score": ("score",),
    "created_at": ("created_at",),
    "updated_at": ("updated_at",),
}
RATING_SCORES = CONTRACTS["tickets"].column("csat").allowed or ()
SIDE_CONVERSIONS = {"string": "text", "integer": "integer", "timestamp": "timestamp"}


def side_columns(
    frame: str, paths: dict[str, tuple[str, ...]]
) -> dict[str, tuple[str, tuple[str, ...]]]:
    """A side table's column map (column -> (conversion, path)), in its declared order: its
    ``*_id`` columns are Zendesk ids, its other columns converted by their declared type. A
    column without a path (an agent's pseudonym) is the reader's own to fill."""
    return {
        c.name: ("id" if c.name.endswith("_id") else SIDE_CONVERSIONS[c.type], paths[c.name])
        for c in SIDE_TABLES[frame].columns
        if c.name in paths
    }


TICKET_PLAN = plan(TICKET_COLUMNS)
GROUP_PLAN = plan(side_columns("groups", GROUP_PATHS))
RATING_PLAN = plan(side_columns("ratings", RATING_PATHS))
AGENT_PLAN = plan(side_columns("agents", AGENT_PATHS))
TICKET_METRIC_PLAN = plan(side_columns("ticket_metrics", TICKET_METRIC_PATHS))


def ticket_row(ticket: dict) -> dict[str, Any]:
    """A canonical ticket (without customer_id: the loader resolves requester_id)."""
    row = convert(ticket, TICKET_PLAN)
    if row["ticket_id"] is None:
        raise FieldError("id: the ticket has no id")
    return row | {"follow_up_of": _follow_up_of(ticket)}


def _follow_up_of(ticket: dict) -> str | None:
    """The ticket a follow-up was opened from (``via.source.rel`` "follow_up")."""
    via = ticket.get("via")
    source = via.get("source") if isinstance(via, dict) else None
    if not isinstance(source, dict) or source.get("rel") != "follow_up":
        return None
    parent = source.get("from")
    try:
        return to_id(parent.get("ticket_id")) if isinstance(parent, dict) else None
    except ValueError:
        return None  # an unreadable link is no link


def ticket_metric_row(metric: dict) -> dict[str, Any]:
    """The metric fields of one ticket (Zendesk ticket_metrics object)."""
    row = convert(metric, TICKET_METRIC_PLAN)
    if row["ticket_id"] is None:
        raise FieldError("ticket_id: the ticket metric names no ticket")
    return row


def group_row(group: dict) -> dict[str, Any]:
    """A Zendesk group: its id and name (a ticket carries the id)."""
    row = convert(group, GROUP_PLAN)
    if row["group_id"] is None:
        raise FieldError("id: the group has no id")
    return row


def rating_row(rating: dict) -> dict[str, Any]:
    """A Zendesk satisfaction rating: which ticket, what score, and since when."""
    row = convert(rating, RATING_PLAN)
    if row["rating_id"] is None or row["ticket_id"] is None:
        raise FieldError("id, ticket_id: the satisfaction rating names no rating or ticket")
    score = (row["score"] or "").strip().lower()
    if score not in RATING_SCORES:
        raise FieldError(f"score: {row['score']!r} is not one of {', '.join(RATING_SCORES)}")
    if row["updated_at"] is None:
        raise FieldError("updated_at: the satisfaction rating has no time")
    return row | {"score": score}


def agent_row(user: dict, hash_key: str) -> dict[str, Any] | None:
    """A Zendesk user who is an agent (role agent or admin): id, name and pseudonym; None for
    any other user (a customer's name is never kept)."""
    if user.get("role") not in AGENT_ROLES:
        return None
    row = convert(user, AGENT_PLAN)
    if row["agent_id"] is None:
        raise FieldError("id: the user has no id")
    return row | {"pseudonym": agent_pseudonym(SOURCE, row["agent_id"], hash_key)}


def identity_row(user: dict, hash_key: str) -> dict[str, Any]:
    """A Zendesk user mapped to the canonical customer id, never keeping a raw email.

    The customer id is the user's external_id, else the keyed hash of their email, else the
    Zendesk user id. An external_id that is itself an email is hashed like one. The email's
    hash is kept beside it in any case (``turnaround forget EMAIL`` finds the person by it).
    """
    try:
        user_id = to_id(user.get("id"))
    except ValueError as exc:
        raise FieldError(f"id: {exc}") from None
    if user_id is None:
        raise FieldError("id: the user has no id")
    external_id = user.get("external_id")
    external_id = str(external_id).strip() if external_id is not None else ""
    email = user.get("email")
    email = email.strip() if isinstance(email, str) else ""
    if external_id:
        customer_id = (
            email_customer_id(external_id, hash_key)
            if looks_like_email(external_id)
            else external_id
        )
    elif email:
        customer_id = email_customer_id(email, hash_key)
    else:
        customer_id = user_id
    email_hash = email_customer_id(email, hash_key) if email else None
    return {"user_id": user_id, "customer_id": customer_id, "email_hash": email_hash}
