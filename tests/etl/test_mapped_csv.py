"""The mapped-CSV engine itself: files read in many blocks, files without rows, which
setting decides a date order, per-row fallbacks, and the refusals a user sees."""

from __future__ import annotations

import datetime as dt

import pytest

from etl.pipeline.formats import detect
from etl.pipeline.frames import ReadContext, SourceSettings, UnreadableFile
from etl.pipeline.inspect import inspect_file
from etl.sources.freshdesk import TICKETS as FRESHDESK
from etl.sources.mapped_csv import read_batches, register
from etl.sources.mapping_file import parse_mapping
from tests.conftest import FIXTURES

FRESHDESK_HEADER = "Ticket ID,Status,Priority,Created time,Contact ID\n"


def _freshdesk(path, rows: list[str]):
    path.write_text(FRESHDESK_HEADER + "".join(r + "\n" for r in rows))
    return path


def test_a_file_read_in_many_blocks_gives_what_one_block_gives(tmp_path):
    rows = [f"{i},Open,Low,{i % 28 + 1:02d}/01/2025 10:00,c{i}" for i in range(1, 301)]
    path = _freshdesk(tmp_path / "t.csv", rows)
    ctx = ReadContext(hash_key="k", timezone="UTC")
    fmt = detect(path)
    whole = fmt.read(path, ctx).tickets
    mapping = FRESHDESK
    blocks = list(read_batches(path, ctx, mapping, batch_bytes=500))
    assert len(blocks) > 10
    joined = [r for b in blocks for r in b.tickets.to_dicts()]
    assert joined == whole.to_dicts()
    assert [r["row_number"] for r in joined] == list(range(1, 301))
    # the day above 12 (13/01) first shows in row 13: the order holds for the rows before
    assert joined[0]["created_at"] == dt.datetime(2025, 1, 2, 10, 0)


def test_a_later_block_that_contradicts_the_date_order_refuses_the_file(tmp_path):
    rows = [f"{i},Open,Low,25/01/2025 10:00,c{i}" for i in range(1, 10)]
    rows += [f"{i},Open,Low,05/01/2025 10:00,c{i}" for i in range(10, 50)]  # either way
    rows.append("99,Open,Low,01/25/2025 10:00,c99")  # month-first, far down the file
    path = _freshdesk(tmp_path / "t.csv", rows)
    mapping = FRESHDESK
    with pytest.raises(UnreadableFile, match="written month-first, but they are read day-first"):
        list(read_batches(path, ReadContext(hash_key="k", timezone="UTC"), mapping, 300))


def test_an_export_with_a_header_and_no_rows_reads_as_empty(tmp_path):
    path = _freshdesk(tmp_path / "t.csv", [])
    result = detect(path).read(path, ReadContext(hash_key="k", timezone="UTC"))
    assert result.tickets.height == 0 and result.rejected == []
    qualtrics = tmp_path / "q.csv"
    qualtrics.write_text(
        "\n".join((FIXTURES / "qualtrics" / "nps_export.csv").read_text().splitlines()[:3]) + "\n"
    )
    empty = detect(qualtrics).read(qualtrics, ReadContext(hash_key="k"))
    assert empty.nps_responses.height == 0 and empty.skipped == {}


def test_the_command_and_the_source_come_before_a_mapping_file_and_it_before_the_defaults(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("id,who,opened,state,via\nA,c1,01/02/2025 10:00,open,email\n")
    spec = {
        "table": "tickets",
        "source": "helpdesk",
        "timezone": "UTC",
        "date_order": "month-first",
        "columns": {
            "ticket_id": "id",
            "customer_id": "who",
            "created_at": "opened",
            "status": "state",
            "channel": "via",
        },
    }
    fmt = register([parse_mapping(spec, "m.yaml")])[0]
    day_first = SourceSettings(date_order="day-first")

    def created(ctx: ReadContext) -> dt.datetime:
        return fmt.read(path, ctx).tickets["created_at"][0]

    assert created(ReadContext(hash_key="k", default=day_first)) == dt.datetime(2025, 1, 2, 10)
    assert created(ReadContext(hash_key="k", sources={"helpdesk": day_first})) == dt.datetime(
        2025, 2, 1, 10
    )
    assert created(ReadContext(hash_key="k", date_order="day-first")) == dt.datetime(2025, 2, 1, 10)


def test_each_row_falls_back_to_its_own_next_id(tmp_path):
    path = tmp_path / "explore.csv"
    path.write_text(
        '"Ticket ID","Ticket status","Ticket created - Timestamp","Requester external ID",'
        '"Requester email"\n'
        '"1","Open","2024-03-01T09:00:00","CRM-1","a@example.com"\n'
        '"2","Open","2024-03-01T09:00:00","\u00a0","b@example.com"\n'
    )
    result = detect(path).read(path, ReadContext(hash_key="k", timezone="UTC"))
    ids = result.tickets.sort("ticket_id")["customer_id"].to_list()
    assert ids[0] == "CRM-1" and ids[1].startswith("email:")


def test_an_export_without_any_column_for_a_required_one_is_refused_naming_it(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("Ticket ID,Status,Created time\n1,Open,2025-01-01 10:00:00\n")
    with pytest.raises(UnreadableFile, match="has no column for the required customer_id"):
        detect(path).read(path, ReadContext(hash_key="k", timezone="UTC"))


def test_qualtrics_previews_written_as_labels_are_skipped(tmp_path):
    text = (FIXTURES / "qualtrics" / "nps_export.csv").read_text()
    lines = text.splitlines()
    lines[6] = lines[6].replace(",1,203.0.113.7", ",Survey Preview,203.0.113.7")  # the preview
    path = tmp_path / "labels.csv"
    path.write_text("\n".join(lines) + "\n")
    result = detect(path).read(path, ReadContext(hash_key="k"))
    assert result.skipped["survey preview responses"] == 1
    assert "R_4dEfGhIjKlMnOpQ" not in result.nps_responses["response_id"].to_list()


def test_a_declared_zone_turnaround_does_not_know_is_refused(tmp_path):
    path = tmp_path / "zone.csv"
    path.write_text(
        (FIXTURES / "qualtrics" / "nps_export.csv")
        .read_text()
        .replace("America/Denver", "UTC-07:00")
    )
    with pytest.raises(UnreadableFile, match="'UTC-07:00', which is not an IANA time zone"):
        detect(path).read(path, ReadContext(hash_key="k"))


def test_inspect_reads_a_file_with_a_field_longer_than_the_csv_default(tmp_path):
    path = tmp_path / "long.csv"
    path.write_text(FRESHDESK_HEADER + f'1,Open,Low,2025-01-01 10:00:00,"{"x" * 200_000}"\n')
    found = inspect_file(path)
    assert (found.format, found.rows) == ("freshdesk_tickets_csv", 1)


def test_a_slashed_date_with_an_offset_is_read_in_its_order_and_converted(tmp_path):
    rows = [
        "1,Open,Low,01/25/2025 10:00 -0500,c1",  # month-first: 25 cannot be a month
        "2,Open,Low,02/03/2025 1:30 +01:00,c2",
        "3,Open,Low,02/03/2025 23:15:09Z,c3",
    ]
    path = _freshdesk(tmp_path / "t.csv", rows)
    result = detect(path).read(path, ReadContext(hash_key="k"))  # no zone: every row has one
    assert result.rejected == []
    assert result.tickets.get_column("created_at").to_list() == [
        dt.datetime(2025, 1, 25, 15, 0),
        dt.datetime(2025, 2, 3, 0, 30),
        dt.datetime(2025, 2, 3, 23, 15, 9),
    ]
