"""Read Delighted survey responses as the Delighted API returns them (JSON array or JSON Lines).

Grain of the frame returned: ``nps_responses``, one row per NPS survey response in the file.
Responses of other survey types (CSAT, CES...) are skipped and counted per type.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import polars as pl

from data_contracts import CONTRACTS
from data_contracts.text import lone_surrogate_in, lone_surrogate_reason
from etl.identity import customer_key, email_customer_id, redact_emails
from etl.pipeline.formats import Format, refused_if_unreadable, whole_file
from etl.pipeline.frames import (
    ReadContext,
    ReadResult,
    Rejected,
    UnreadableFile,
    without_lone_surrogates,
)
from etl.pipeline.json_stream import JsonValue, connector_record, is_control_message, json_values

FORMAT_NAME = "delighted_json"
SOURCE = "delighted"
DESCRIPTION = (
    "Delighted API JSON: survey responses as a JSON array or JSON Lines, bare or as "
    "Airbyte / Singer records"
)
TABLE = "nps_responses"
SCHEMA: dict[str, pl.DataType] = {**CONTRACTS[TABLE].schema, "row_number": pl.Int64()}

# canonical column -> (conversion, Delighted response field); customer_id is derived from
# the person and its properties (see customer_id_of).
RESPONSE_COLUMNS: dict[str, tuple[str, str]] = {
    "response_id": ("text", "id"),
    "responded_at": ("unix_seconds", "created_at"),
    "updated_at": ("unix_seconds", "updated_at"),  # null until the response is edited
    "score": ("score", "score"),
    "comment": ("text", "comment"),
}
# Keys of an expanded person that name or reach them: redacted in quarantine.
PERSON_FIELDS = ("name", "phone_number")
CUSTOMER_ID_PROPERTY = "customer_id"  # the person property holding the company's customer id
NPS_SURVEY_TYPE = "nps"  # responses without survey_type predate other survey types: NPS
RESPONSE_FIELDS = frozenset({"id", "person", "score"})
RESPONSES_STREAM = "survey_responses"  # the connector stream of survey responses
STREAM_MARKER = re.compile(r'"stream"\s*:\s*"survey_responses"')
SNIFF_MARKERS = (re.compile(r'"survey_type"\s*:'), re.compile(r'"person"\s*:'))


class FieldError(ValueError):
    """A field of a response whose value cannot be converted."""


def is_response(value: Any) -> bool:
    return isinstance(value, dict) and value.keys() >= RESPONSE_FIELDS


def unwrapped(value: Any) -> tuple[str | None, Any]:
    """(stream, response) of a value: an Airbyte or Singer record of the Delighted
    connector's ``survey_responses`` (or another) stream, else (None, the bare value)."""
    wrapped = connector_record(value)
    return wrapped if wrapped is not None else (None, value)


def holds_response(value: Any) -> bool:
    stream, data = unwrapped(value)
    return stream in (None, RESPONSES_STREAM) and is_response(data)


def unix_to_utc(value: Any) -> dt.datetime | None:
    """Unix seconds as a naive UTC datetime."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise ValueError(f"{value!r} is not a Unix timestamp") from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{value!r} is not a Unix timestamp")
    try:
        return dt.datetime.fromtimestamp(value, dt.UTC).replace(tzinfo=None)
    except (OverflowError, OSError, ValueError):
        raise ValueError(f"{value!r} is out of range for a Unix timestamp") from None


def to_score(value: Any) -> int | None:
    """A whole-number score (its 0-10 range is checked by the contract)."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    raise ValueError(f"{value!r} is not a whole-number score")


def to_text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dict | list | bool):
        raise ValueError(f"{value!r} is not text")
    return str(value)


CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "text": to_text,
    "unix_seconds": unix_to_utc,
    "score": to_score,
}


def customer_id_of(response: dict, hash_key: str) -> str | None:
    """The person property customer_id, else the hashed email of an expanded person, else
    the Delighted person id."""
    properties = response.get("person_properties")
    if isinstance(properties, dict):
        known = properties.get(CUSTOMER_ID_PROPERTY)
        if known is not None and not isinstance(known, dict | list) and str(known).strip():
            return customer_key(str(known).strip(), hash_key)
    person = response.get("person")
    if isinstance(person, dict):
        email = person.get("email")
        if isinstance(email, str) and email.strip():
            return email_customer_id(email, hash_key)
        person = person.get("id")
    if person is None or isinstance(person, dict | list | bool) or not str(person).strip():
        return None
    return customer_key(str(person).strip(), hash_key)


def _customer_or_none(value: Any, hash_key: str) -> str | None:
    """The customer a rejected response belongs to, where it can be told."""
    try:
        return customer_id_of(value, hash_key) if isinstance(value, dict) else None
    except UnicodeEncodeError:  # an email with a lone surrogate has no hash
        return None


def response_row(response: dict, hash_key: str) -> dict[str, Any]:
    """One canonical nps_responses row from a Delighted response; raises FieldError."""
    row: dict[str, Any] = {}
    for column, (kind, field) in RESPONSE_COLUMNS.items():
        try:
            row[column] = CONVERTERS[kind](response.get(field))
        except ValueError as exc:
            raise FieldError(f"{field}: {exc}") from None
    if not row["response_id"]:
        raise FieldError("id: the response has no id")
    # A response never edited is as new as its creation: that is its source time.
    row["updated_at"] = row["updated_at"] or row["responded_at"]
    if row["comment"]:
        row["comment"] = redact_emails(row["comment"])
    row["customer_id"] = customer_id_of(response, hash_key)
    return row


def survey_type_of(response: dict) -> str:
    survey_type = response.get("survey_type")
    return str(survey_type).strip().lower() if survey_type else NPS_SURVEY_TYPE


def _redacted(raw: str | None, value: Any) -> str:
    text = raw if raw is not None else json.dumps(value, ensure_ascii=False)
    return redact_emails(text)


BATCH_RECORDS = 50_000


def read_batches(
    path: Path, ctx: ReadContext, batch_records: int | None = None
) -> Iterator[ReadResult]:
    """Read Delighted responses into nps_responses frames (plus rejected and skipped),
    ``batch_records`` values of the file at a time; raises UnreadableFile when the file
    holds no survey response at all."""
    batch_records = batch_records or BATCH_RECORDS
    batch: list[JsonValue] = []
    found_response = False
    with refused_if_unreadable(path, ctx.encoding, [DESCRIPTION]):
        for one in json_values(path, ctx.encoding):
            found_response = found_response or holds_response(one.value)
            batch.append(one)
            if len(batch) >= batch_records and found_response:
                yield _batch_result(batch, ctx.hash_key)
                batch = []
    if not found_response:
        raise UnreadableFile(str(path), "holds no Delighted survey responses", [DESCRIPTION])
    yield _batch_result(batch, ctx.hash_key)


def _batch_result(values: list[JsonValue], hash_key: str) -> ReadResult:
    rows: list[dict[str, Any]] = []
    rejected: list[Rejected] = []
    skipped: Counter[str] = Counter()
    for one in values:
        number, problem = one.number, one.problem
        stream, value = unwrapped(one.value)
        if problem is None:
            if is_control_message(value):
                continue  # a Singer SCHEMA or STATE line: no record
            if stream not in (None, RESPONSES_STREAM):
                skipped[stream] += 1  # people, bounces, unsubscribes...
                continue
            if not is_response(value):
                problem = "is not a Delighted survey response"
            elif (survey_type := survey_type_of(value)) != NPS_SURVEY_TYPE:
                skipped[f"survey_type:{survey_type}"] += 1
                continue
            else:
                try:
                    rows.append({**response_row(value, hash_key), "row_number": number})
                    continue
                except FieldError as exc:
                    problem = str(exc)
                except UnicodeEncodeError:  # a lone surrogate in an email or id being hashed
                    problem = lone_surrogate_reason(*lone_surrogate_in(value))
        customer = _customer_or_none(value, hash_key)
        rejected.append(Rejected(TABLE, number, _redacted(one.raw, value), problem, customer))
    by_number = {one.number: one for one in values}

    def lookup(table: str, row_numbers: list[int]) -> dict[int, str]:
        return {
            n: _redacted(by_number[n].raw, by_number[n].value)
            for n in row_numbers
            if n in by_number
        }

    try:
        frame = _frame(rows)
    except UnicodeEncodeError:  # a lone surrogate in a comment: that response is rejected
        rows, reasons = without_lone_surrogates(rows)
        for n, reason in reasons.items():
            customer = _customer_or_none(by_number[n].value, hash_key)
            rejected.append(Rejected(TABLE, n, lookup(TABLE, [n])[n], reason, customer))
        rejected.sort(key=lambda r: r.row_number)
        frame = _frame(rows)
    return ReadResult(
        format=FORMAT_NAME,
        source=SOURCE,
        nps_responses=frame,
        rejected=rejected,
        skipped=dict(skipped),
        raw_lookup=lookup,
        person_fields=PERSON_FIELDS,
    )


def _frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    return pl.DataFrame({name: [row.get(name) for row in rows] for name in SCHEMA}, schema=SCHEMA)


def sniff(head: str) -> bool:
    """Whether the start of a file (up to 64 KiB of text) holds Delighted responses."""
    head = head.lstrip("\ufeff \t\r\n")
    if not head.startswith(("{", "[")):
        return False
    try:
        document = json.loads(head)
    except (ValueError, RecursionError):
        document = None
    else:
        elements = document if isinstance(document, list) else [document]
        return any(holds_response(element) for element in elements)
    if STREAM_MARKER.search(head):
        return True
    for line in head.split("\n")[:50]:
        try:
            if holds_response(json.loads(line)):
                return True
        except (ValueError, RecursionError):
            continue
    return all(marker.search(head) for marker in SNIFF_MARKERS)


read = whole_file(read_batches)

FORMATS: list[Format] = [Format(FORMAT_NAME, DESCRIPTION, sniff, read, read_batches=read_batches)]
