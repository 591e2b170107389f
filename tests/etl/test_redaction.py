"""Email redaction (etl/identity.py): every way an address is written in an export's text
goes, in Python (quarantined rows, reasons) and in polars (comment columns) alike."""

from __future__ import annotations

import polars as pl
import pytest

from etl.identity import redact_column, redact_emails

CASES = [
    ("mail victim.person@example.com today", "mail <email> today"),
    ("mail victim.person%40example.com today", "mail <email> today"),  # URL-encoded @
    ("/unsubscribe?email=victim.person%40example.com&list=2", "/unsubscribe?email=<email>&list=2"),
    ('mail "victim.person"@example.com today', "mail <email> today"),  # quoted local part
    ('mail "victim person"@example.com today', "mail <email> today"),
    ('{"email": "\\"victim.person\\"@example.com"}', '{"email": "<email>"}'),  # in JSON
    ('7,"""victim.person""@example.com",9', '7,"<email>",9'),  # in a quoted CSV field
    ("victim.person&#64;example.com wrote", "<email> wrote"),  # HTML entity
    ("victim.person&#x40;example.com wrote", "<email> wrote"),
    ('{"id": 1, "email": "pat.lee@exa', '{"id": 1, "email": "<email>'),  # cut off
    ("ping @team about it", "ping @team about it"),  # no address
    ('a "quote" and @team', 'a "quote" and @team'),
    ("100% 40 times", "100% 40 times"),
    ("save 5%40 now", "save 5%40 now"),  # no domain after the %40
    ("meet me (at) noon", "meet me (at) noon"),  # "(at)" is left: ordinary words too
]


@pytest.mark.parametrize(("text", "redacted"), CASES)
def test_redact_emails(text, redacted):
    assert redact_emails(text) == redacted


def test_the_polars_column_redacts_exactly_as_python_does():
    frame = pl.DataFrame({"comment": [text for text, _ in CASES]})
    got = frame.select(redact_column(pl.col("comment"))).to_series().to_list()
    assert got == [redacted for _, redacted in CASES]
