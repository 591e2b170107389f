"""Delighted's CSV export of survey responses (Responses > Export), as NPS responses.

Grain: one canonical NPS response per data row of an NPS survey. The respondent is the
``customer_id`` person property (the company's own id, as the API reader reads it), else
the email (keyed hash), else Delighted's person id. Responses of other survey types (CSAT,
CES) are skipped and counted, as the API reader does. Comments have their emails redacted.
A time written without an offset takes ``[sources.delighted] timezone``.
"""

from __future__ import annotations

import polars as pl

from etl.sources.delighted import CUSTOMER_ID_PROPERTY
from etl.sources.mapped_csv import (
    COMMENT,
    CUSTOMER,
    TIMESTAMP,
    Field,
    Mapping,
    register,
    row_by_row,
)

SOURCE = "delighted"
# The respondent's name and phone: redacted in quarantine.
PERSON_FIELDS = ("Name", "Phone Number")


def _other_surveys(frame: pl.DataFrame) -> dict[str, pl.Series]:
    """Responses of another survey type than NPS, by type."""
    if "Survey Type" not in frame.columns:
        return {}
    kinds = frame.get_column("Survey Type").str.to_lowercase()
    return {
        f"survey_type:{kind}": kinds == kind
        for kind in kinds.unique().drop_nulls()
        if kind != "nps"
    }


RESPONSES = Mapping(
    name="delighted_responses_csv",
    description="Delighted CSV export of survey responses (Response ID, Score, Comment, ...)",
    source=SOURCE,
    table="nps_responses",
    signature=("Response ID", "Score"),
    fields=(
        Field("response_id", ("Response ID",)),
        Field("customer_id", (CUSTOMER_ID_PROPERTY, "Customer ID"), CUSTOMER),
        *row_by_row("customer_id", ("Email", "Person ID"), CUSTOMER),
        Field("responded_at", ("Response Timestamp", "Created At", "Date"), TIMESTAMP),
        Field("score", ("Score",)),
        Field("comment", ("Comment",), COMMENT),
        Field("updated_at", ("Updated At", "Last Updated"), TIMESTAMP),
    ),
    skip=_other_surveys,
    person_fields=PERSON_FIELDS,
)

FORMATS = register([RESPONSES])
