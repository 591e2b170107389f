"""Qualtrics survey exports: the real current (three header rows) and legacy (two header
rows, trailing commas) samples, and an NPS survey export built from Qualtrics' layout."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

import pytest
import sqlalchemy as sa

from etl.pipeline.formats import detect
from etl.pipeline.frames import ReadContext, SourceSettings, UnreadableFile
from etl.pipeline.load import LoadOptions, load_paths
from tests.conftest import FIXTURES, TEST_HASH_KEY

CURRENT = FIXTURES / "real" / "qualtrics_export_3header.csv"
LEGACY = FIXTURES / "real" / "qualtrics_export_legacy.csv"
NPS_EXPORT = FIXTURES / "qualtrics" / "nps_export.csv"
ZURICH = "Europe/Zurich"
# The real samples' one question is a coded choice (Q1 = 2), not NPS: named by the config.
NAMED = ReadContext(
    hash_key="k",
    timezone=ZURICH,
    sources={"qualtrics": SourceSettings(options={"nps_question": "Q1", "comment_question": "Q2"})},
)


def _email_id(email: str, key: str) -> str:
    digest = hmac.new(key.encode(), email.strip().lower().encode(), hashlib.sha256)
    return "email:" + digest.hexdigest()[:32]


# The one response of both real samples, written out by hand: recorded 2017-07-18 08:28:48
# in Zurich (CEST, UTC+2); anonymous, so the response id stands for the respondent.
SAMPLE_RESPONSE = {
    "response_id": "R_2YPOQ602ER1jkf1",
    "customer_id": "R_2YPOQ602ER1jkf1",
    "responded_at": dt.datetime(2017, 7, 18, 6, 28, 48),
    "score": 2,
    "comment": "Hello World!",
    "updated_at": None,
    "row_number": 1,
}


def test_both_real_layouts_are_detected():
    assert detect(CURRENT).name == detect(LEGACY).name == "qualtrics_responses_csv"


def test_a_survey_without_an_nps_question_is_refused_naming_the_setting():
    with pytest.raises(UnreadableFile, match=r"\[sources.qualtrics\] nps_question") as refused:
        detect(CURRENT).read(CURRENT, ReadContext(hash_key="k", timezone=ZURICH))
    assert "no column with an _NPS_GROUP companion" in str(refused.value)


def test_the_current_layout_skips_its_label_and_import_id_rows():
    result = detect(CURRENT).read(CURRENT, NAMED)
    assert result.rejected == [] and result.skipped == {}
    assert result.nps_responses.to_dicts() == [SAMPLE_RESPONSE]


def test_the_legacy_layout_with_a_bom_and_trailing_commas_reads_the_same(tmp_path):
    with_bom = tmp_path / "legacy.csv"
    with_bom.write_bytes(b"\xef\xbb\xbf" + LEGACY.read_bytes())
    assert LEGACY.read_text().splitlines()[0].endswith(",")
    for path in (LEGACY, with_bom):
        result = detect(path).read(path, NAMED)
        assert result.rejected == []
        assert result.nps_responses.to_dicts() == [SAMPLE_RESPONSE]


def test_an_nps_export_maps_row_by_row_in_the_time_zone_it_declares():
    # No zone configured: the export's ImportId row declares America/Denver (MST, UTC-7).
    result = detect(NPS_EXPORT).read(NPS_EXPORT, ReadContext(hash_key="k"))
    got = result.nps_responses.drop("updated_at").to_dicts()
    assert got == [
        {
            "response_id": "R_1aBcDeFgHiJkLmN",
            "customer_id": "CRM-1",  # ExternalReference before the email
            "responded_at": dt.datetime(2024, 3, 1, 17, 0),
            "score": 9,
            "comment": None,  # no comment question configured
            "row_number": 1,
        },
        {
            "response_id": "R_2bCdEfGhIjKlMnO",
            "customer_id": _email_id("lee@example.com", "k"),
            "responded_at": dt.datetime(2024, 3, 3, 0, 12, 30),
            "score": 3,
            "comment": None,
            "row_number": 2,
        },
        {
            "response_id": "R_3cDeFgHiJkLmNoP",
            "customer_id": "R_3cDeFgHiJkLmNoP",  # anonymous
            "responded_at": dt.datetime(2024, 3, 3, 15, 1),
            "score": 7,
            "comment": None,
            "row_number": 3,
        },
        {  # 11 is out of range: the contract check quarantines it at load
            "response_id": "R_6fGhIjKlMnOpQrS",
            "customer_id": "CRM-6",
            "responded_at": dt.datetime(2024, 3, 5, 19, 3),
            "score": 11,
            "comment": None,
            "row_number": 6,
        },
    ]
    assert result.skipped == {"survey preview responses": 1, "responses without an NPS answer": 1}


def test_a_configured_comment_question_is_read_with_its_emails_redacted():
    ctx = ReadContext(
        hash_key="k", sources={"qualtrics": SourceSettings(options={"comment_question": "Q6"})}
    )
    comments = detect(NPS_EXPORT).read(NPS_EXPORT, ctx).nps_responses["comment"].to_list()
    assert comments == [
        "Great support, write to <email> any time",
        "Waited a week for a reply",
        None,
        "eleven",
    ]


def test_loading_the_export_accounts_for_every_row_and_keeps_no_raw_email(any_engine):
    options = LoadOptions(
        quarantine_limit=0.5,  # the one bad row of four is more than the default 10%
        sources={"qualtrics": SourceSettings(options={"comment_question": "Q6"})},
    )
    report = load_paths(any_engine, [NPS_EXPORT], options)
    totals = report.totals()
    assert (totals["rows_read"], totals["rows_loaded"], totals["rows_quarantined"]) == (6, 3, 1)
    assert totals["rows_skipped"] == 2
    with any_engine.connect() as conn:
        ids = conn.execute(sa.text("select customer_id from nps_responses order by response_id"))
        assert ids.scalars().all()[1] == _email_id("lee@example.com", TEST_HASH_KEY)
        for table in sa.inspect(conn).get_table_names():
            text = " ".join(str(row) for row in conn.execute(sa.text(f"select * from {table}")))
            assert "example.com" not in text.lower(), table


def test_the_configured_question_is_used_where_the_file_has_it_else_the_companion():
    def question_of(path, named: str) -> int:
        ctx = ReadContext(
            hash_key="k",
            timezone=ZURICH,
            sources={"qualtrics": SourceSettings(options={"nps_question": named})},
        )
        return detect(path).read(path, ctx).nps_responses.height

    companion = detect(NPS_EXPORT).read(NPS_EXPORT, ReadContext(hash_key="k"))
    # another survey's question (Q1): this export keeps its own, found by its companion
    other = ReadContext(
        hash_key="k", sources={"qualtrics": SourceSettings(options={"nps_question": "Q1"})}
    )
    assert detect(NPS_EXPORT).read(NPS_EXPORT, other).nps_responses.to_dicts() == (
        companion.nps_responses.to_dicts()
    )
    assert question_of(CURRENT, "Q1") == 1  # the real sample has Q1 and no companion
    with pytest.raises(UnreadableFile, match="no column with an _NPS_GROUP companion and no "):
        question_of(CURRENT, "Q9")
