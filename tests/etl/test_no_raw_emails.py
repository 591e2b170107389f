"""Raw emails never reach the warehouse from any source: every export format Turnaround
reads, loaded into one warehouse, and every value of every table searched for an email."""

from __future__ import annotations

import sqlalchemy as sa
import yaml

from etl.identity import EMAIL_PATTERN
from etl.pipeline.frames import SourceSettings
from etl.pipeline.load import LoadOptions, load_paths
from etl.pipeline.synced_load import load_synced
from etl.sources.mapping_file import load_mapping
from tests.conftest import FIXTURES
from tests.etl.test_mapping_file import CASES, MAPPING
from tests.etl.test_zendesk_synced import TABLES, _dump

EXPORTS = [
    FIXTURES / "real" / "zendesk_api_tickets_page_offset.json",
    FIXTURES / "real" / "zendesk_api_users_page.json",
    FIXTURES / "zendesk_airbyte" / "records.jsonl",
    FIXTURES / "real" / "delighted_api_records_airbyte.jsonl",
    FIXTURES / "delighted" / "responses.json",
    FIXTURES / "delighted" / "responses_export.csv",
    FIXTURES / "real" / "freshdesk_tickets_export_contact_fields.csv",
    FIXTURES / "zendesk_explore" / "tickets.csv",
    FIXTURES / "qualtrics" / "nps_export.csv",
    FIXTURES / "canonical" / "tickets.csv",
]


def test_no_table_holds_a_raw_email_after_every_source_loaded(any_engine, tmp_path):
    everything = LoadOptions(
        quarantine_limit=1.0,  # the fixtures' deliberately bad rows go to quarantine, kept
        source_timezone="UTC",
        sources={"qualtrics": SourceSettings(options={"comment_question": "Q6"})},
    )
    with_emails = [p.name for p in EXPORTS if EMAIL_PATTERN.search(p.read_text())]
    assert len(with_emails) >= 8, with_emails  # the exports do hold raw emails
    for path in EXPORTS:
        load_paths(any_engine, [path], everything)
    cases, spec = tmp_path / "cases.csv", tmp_path / "mapping.yaml"
    cases.write_text(CASES)
    spec.write_text(yaml.safe_dump(MAPPING))
    mapped = LoadOptions(quarantine_limit=1.0, mapping_format=load_mapping(spec))
    load_paths(any_engine, [cases], mapped)
    load_synced(any_engine, str(_dump(tmp_path / "dump", TABLES)), options=everything)
    found = []
    with any_engine.connect() as conn:
        names = sa.inspect(conn).get_table_names()
        counts = {}
        for table in names:
            rows = conn.execute(sa.text(f"select * from {table}")).all()
            counts[table] = len(rows)
            for row in rows:
                found += [(table, v) for v in row if v is not None and EMAIL_PATTERN.search(str(v))]
    assert counts["tickets"] > 150 and counts["nps_responses"] > 10 and counts["quarantine"] > 0
    assert found == []
