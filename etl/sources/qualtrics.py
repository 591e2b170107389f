"""Qualtrics survey response exports (Data & Analysis > Export, CSV) as NPS responses.

Two layouts: the current one has three header rows (column ids such as ``ResponseId`` and
``Q5``, the question texts in the survey's language, and ``{"ImportId": ...}`` JSON); the
legacy one has two (``V1``... ids for the response fields with ``Q1``... for the
questions, then the field names and question texts), often with a byte-order mark and a
comma after every row's last field.

The NPS question is the one named by ``[sources.qualtrics] nps_question`` where the file
has that column (a survey with several NPS questions), else the column that has an
``_NPS_GROUP`` companion (Qualtrics adds ``Q5_NPS_GROUP`` to an NPS question ``Q5``); a
file with neither is refused. So one setting never breaks another survey's export. A
comment comes from the question named by ``comment_question``. The respondent is
``ExternalReference`` (the id the distribution was given), else the recipient's email
(keyed hash), else the ``ResponseId`` itself (an anonymous response stands for its own
respondent). Survey previews, tests and spam, and responses that left the NPS question
unanswered, are skipped and counted. Qualtrics writes times without an offset, in the
export's time zone: the zone the export declares in its ImportId row (``"timeZone":
"America/Denver"``), else ``--source-timezone`` or ``[sources.qualtrics] timezone``;
without any, the file is refused.

Grain: one canonical NPS response per data row.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import polars as pl

from etl.pipeline.frames import ReadContext, UnreadableFile
from etl.sources.mapped_csv import (
    COMMENT,
    CUSTOMER,
    TIMESTAMP,
    Field,
    Mapping,
    header_of,
    register,
    row_by_row,
)

SOURCE = "qualtrics"
NPS_GROUP_SUFFIX = "_NPS_GROUP"
# Response types (Status) that are not a respondent's answer, as the code an export writes
# by default or the label it writes with "use choice text".
NOT_ANSWERS = {
    "1": "survey preview",
    "2": "survey test",
    "8": "spam",
    "9": "survey preview",  # preview spam
    "12": "spam",  # imported spam
    "17": "survey preview",  # offline survey preview
}
NOT_ANSWER_LABELS = {
    "survey preview": "survey preview",
    "survey test": "survey test",
    "spam": "spam",
    "preview spam": "survey preview",
    "imported spam": "spam",
    "offline survey preview": "survey preview",
}
LEGACY_ID = re.compile(r"V\d+")
# The legacy layout's names for the current layout's fields.
LEGACY_NAMES = {
    "ResponseID": "ResponseId",
    "ExternalDataReference": "ExternalReference",
    "EmailAddress": "RecipientEmail",
}

# Response fields that name or locate the respondent (``Name`` in the legacy layout):
# redacted in quarantine.
PERSON_FIELDS = (
    "RecipientFirstName",
    "RecipientLastName",
    "Name",
    "IPAddress",
    "LocationLatitude",
    "LocationLongitude",
)

DESCRIPTION = (
    "Qualtrics survey responses CSV (ResponseId, StartDate, ... with three header rows, or "
    "the legacy V1, V2, ... layout with two)"
)


def sniff(head: str) -> bool:
    header = header_of(head)
    if not header:
        return False
    names = set(header)
    if {"ResponseId", "StartDate"} <= names:
        return True
    second = _second_row(head)
    return "V1" in names and second is not None and "ResponseID" in second


def _second_row(text: str) -> list[str] | None:
    rows = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    try:
        next(rows, None)
        return next(rows, None)
    except csv.Error:
        return None


def resolve(base: Mapping, header: list[str], body: str, ctx: ReadContext, path: Path) -> Mapping:
    """The mapping of this file: its layout, its NPS question, its respondent columns."""
    rename: dict[str, str] = {}
    header_rows, zone = header_rows_of(header, body), None
    if "ResponseId" not in header:  # legacy: the second row names the V columns
        labels = header_of(body) or []
        for position, name in enumerate(header):
            if LEGACY_ID.fullmatch(name) and position < len(labels):
                rename[name] = LEGACY_NAMES.get(labels[position], labels[position])
    elif header_rows == 2:
        zone = _known_zone(_declared_zone(header, _import_ids(body) or []), path)
    names = [rename.get(n, n) for n in header]
    options = ctx.options_for(SOURCE)
    # The configured question where this file has it (a survey with several NPS questions),
    # else the one the file marks with its companion column: one setting serves every survey.
    named = options.get("nps_question")
    question = named if named in names else _nps_question(names)
    if question is None:
        found = f"no column with an {NPS_GROUP_SUFFIX} companion" + (
            f" and no column {named!r}" if named else ""
        )
        raise UnreadableFile(
            str(path),
            f"is a Qualtrics export but has {found}, so its NPS question is unknown; name it "
            'as [sources.qualtrics] nps_question in the config (such as "Q5")',
            [DESCRIPTION],
        )
    comment = options.get("comment_question")
    fields = [
        Field("response_id", ("ResponseId",)),
        *row_by_row("customer_id", ("ExternalReference", "RecipientEmail"), CUSTOMER),
        Field("customer_id", ("ResponseId",)),
        Field("responded_at", ("RecordedDate", "EndDate"), TIMESTAMP),
        Field("score", (question,)),
    ]
    if comment:
        fields.append(Field("comment", (comment,), COMMENT))
    return Mapping(
        name=base.name,
        description=DESCRIPTION,
        source=SOURCE,
        table="nps_responses",
        fields=tuple(fields),
        signature=(),
        header_rows=header_rows,
        rename=rename,
        skip=lambda frame: _skip(frame, question),
        timezone=zone,
        person_fields=base.person_fields,
    )


def header_rows_of(header: list[str], body: str) -> int:
    """Rows under the header that are not responses: the labels, and in the current layout
    the ImportId row when the export has one."""
    if "ResponseId" not in header:
        return 1
    return 2 if _import_ids(body) is not None else 1


def _import_ids(body: str) -> list[str] | None:
    """The third header row (``{"ImportId": ...}`` per column), or None without one."""
    rows = csv.reader(io.StringIO(body))
    try:
        next(rows, None)
        third = next(rows, None)
    except csv.Error:
        return None
    if not third or not third[0].lstrip().startswith('{"ImportId"'):
        return None
    return third


def _declared_zone(header: list[str], import_ids: list[str]) -> str | None:
    """The time zone the export declares for its response times (its ImportId JSON names
    it as ``timeZone`` when the export was made with one)."""
    for name in ("RecordedDate", "EndDate"):
        if name in header and header.index(name) < len(import_ids):
            try:
                declared = json.loads(import_ids[header.index(name)])
            except ValueError:
                continue
            if isinstance(declared, dict) and isinstance(declared.get("timeZone"), str):
                return declared["timeZone"]
    return None


def _known_zone(zone: str | None, path: Path) -> str | None:
    """The zone an export declares, if Turnaround knows it; else the file is refused."""
    if zone is None:
        return None
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise UnreadableFile(
            str(path),
            f"declares its times in {zone!r}, which is not an IANA time zone name",
            [DESCRIPTION],
        ) from None
    return zone


def _nps_question(names: list[str]) -> str | None:
    present = set(names)
    return next(
        (
            n.removesuffix(NPS_GROUP_SUFFIX)
            for n in names
            if n.endswith(NPS_GROUP_SUFFIX) and n.removesuffix(NPS_GROUP_SUFFIX) in present
        ),
        None,
    )


def _skip(frame: pl.DataFrame, question: str) -> dict[str, pl.Series]:
    """Rows that are not a respondent's NPS answer, by reason."""
    skipped: dict[str, pl.Series] = {}
    if "Status" in frame.columns:
        status = frame.get_column("Status").str.to_lowercase()
        for value, reason in {**NOT_ANSWERS, **NOT_ANSWER_LABELS}.items():
            name = f"{reason} responses"
            rows = (status == value).fill_null(False)
            skipped[name] = skipped[name] | rows if name in skipped else rows
    skipped["responses without an NPS answer"] = frame.get_column(question).is_null()
    return skipped


QUALTRICS = Mapping(
    name="qualtrics_responses_csv",
    description=DESCRIPTION,
    source=SOURCE,
    table="nps_responses",
    fields=(),
    signature=(),
    resolve=resolve,
    detect=sniff,
    header_rows_of=header_rows_of,
    person_fields=PERSON_FIELDS,
)

FORMATS = register([QUALTRICS])
