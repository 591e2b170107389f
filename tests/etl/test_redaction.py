"""Email redaction (etl/identity.py): every way an address is written in an export's text
goes, in Python (quarantined rows, reasons) and in polars (comment columns) alike."""

from __future__ import annotations

import csv
import io
import json

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from etl.identity import EMAIL_PATTERN, redact_column, redact_emails

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
    # a quoted value that starts with an @ is no quoted local part
    ('{"twitter": "@pat", "id": 1}', '{"twitter": "@pat", "id": 1}'),
    ('{"comment": "@support please help"}', '{"comment": "@support please help"}'),
    ('{"a": "x", "b": "@pat.example.com"}', '{"a": "x", "b": "@pat.example.com"}'),
    ('a,"b","@handle",c', 'a,"b","@handle",c'),
    ('"1","open","@support.example.com"', '"1","open","@support.example.com"'),  # Explore
    ('"pat": "@lee.example.com"', '"pat": "@lee.example.com"'),
]


@pytest.mark.parametrize(("text", "redacted"), CASES)
def test_redact_emails(text, redacted):
    assert redact_emails(text) == redacted


def test_the_polars_column_redacts_exactly_as_python_does():
    frame = pl.DataFrame({"comment": [text for text, _ in CASES]})
    got = frame.select(redact_column(pl.col("comment"))).to_series().to_list()
    assert got == [redacted for _, redacted in CASES]


# Text an export's values are made of, with the characters the patterns turn on.
_TEXT = st.text(alphabet=st.sampled_from('ab.@ "\\,:;%&#40x\n'), max_size=12).filter(
    lambda v: not EMAIL_PATTERN.search(v)
)
_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | _TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=400, deadline=None)
@given(_VALUES)
def test_a_json_document_without_emails_stays_json(document):
    # A quarantined API record stays a JSON document when redacted, however it is written.
    # Every value keeps its place and kind; text may change (a word with an @ is redacted).
    for text in (json.dumps(document), json.dumps(document, separators=(",", ":"))):
        redacted = json.loads(redact_emails(text), object_pairs_hook=_Members)
        assert _shape(redacted) == _shape(document)


class _Members(list):
    """A JSON object as parsed: its members in order, so that no two keys redacted alike
    merge."""


def _shape(value):
    """A JSON value with every text replaced by ``str``: what redaction must keep."""
    if isinstance(value, str):
        return str
    if isinstance(value, dict):
        value = _Members(value.items())
    if isinstance(value, _Members):
        return ("object", [_shape(member) for _, member in value])
    if isinstance(value, list):
        return [_shape(item) for item in value]
    return value


@settings(max_examples=400, deadline=None)
@given(st.lists(_TEXT, min_size=1, max_size=5))
def test_a_csv_record_without_emails_keeps_its_fields(values):
    for quoting in (csv.QUOTE_ALL, csv.QUOTE_MINIMAL):  # Explore quotes every field
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="", quoting=quoting).writerow(values)
        written = buffer.getvalue()
        fields = next(csv.reader(io.StringIO(written)), [])
        assert len(next(csv.reader(io.StringIO(redact_emails(written))), [])) == len(fields)
