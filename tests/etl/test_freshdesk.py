"""Freshdesk ticket exports: the real contact-fields export row by row, its Excel re-save,
a full export built from Freshdesk's export columns, time zones and date orders."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import hmac
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from etl.pipeline.formats import detect
from etl.pipeline.frames import ReadContext, SourceSettings, UnreadableFile
from etl.pipeline.load import LoadOptions, load_paths
from tests.conftest import FIXTURES, TEST_HASH_KEY

REAL = FIXTURES / "real" / "freshdesk_tickets_export_contact_fields.csv"
KOLKATA = "Asia/Kolkata"
CTX = ReadContext(hash_key="k", timezone=KOLKATA)

# Written out by hand from Freshdesk's statuses and the sample's own values.
EXPECTED_STATUS = {
    "Open": "open",
    "Pending": "pending",
    "Waiting on Third Party": "hold",
    "OpenPending": "other",  # a malformed custom status: no canonical match
}
EXPECTED_PRIORITY = {"Low": "low", "Medium": "normal", "High": "high"}


def _email_id(email: str, key: str) -> str:
    digest = hmac.new(key.encode(), email.strip().lower().encode(), hashlib.sha256)
    return "email:" + digest.hexdigest()[:32]


def _utc(local: str, zone: str, shape: str = "%Y-%m-%d %H:%M:%S") -> dt.datetime:
    naive = dt.datetime.strptime(local, shape)
    return naive.replace(tzinfo=ZoneInfo(zone)).astimezone(dt.UTC).replace(tzinfo=None)


def _rows(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


def test_the_real_export_is_detected_as_freshdesk():
    assert detect(REAL).name == "freshdesk_tickets_csv"


def test_the_real_export_maps_row_by_row():
    result = detect(REAL).read(REAL, CTX)
    check_real_rows(result)
    assert result.tickets.height == 45


def check_real_rows(result) -> None:
    """The real export's 45 rows, each against values computed here from the CSV text."""
    source = _rows(REAL)
    got = result.tickets.sort("row_number").to_dicts()
    assert len(got) == len(source) == 45
    assert result.rejected == []
    for row, ticket in zip(source, got, strict=True):
        created = _utc(row["Created time"], KOLKATA)
        assert ticket["ticket_id"] == row["Ticket ID"]
        assert ticket["customer_id"] == _email_id(row["Contact ID"], "k")
        assert ticket["created_at"] == created
        assert ticket["status"] == EXPECTED_STATUS[row["Status"]]
        assert ticket["priority"] == EXPECTED_PRIORITY[row["Priority"]]
        assert ticket["type"] is None  # the sample's types are custom (Push Notifications...)
        assert ticket["channel"] == "other"  # the export has no Source column
        assert ticket["solved_at"] is None and ticket["first_reply_at"] is None
        assert ticket["updated_at"] == created  # no Last updated time: the latest time given
    first = got[0]
    assert (first["ticket_id"], first["created_at"]) == ("1", dt.datetime(2025, 12, 3, 10, 59, 8))


def test_the_real_export_names_what_it_cannot_feed_and_what_it_could_not_map():
    result = detect(REAL).read(REAL, CTX)
    assert "has no Source column: its new tickets get channel other" in result.notes
    assert "cannot feed TTA and TTA within target: the file has no first reply time column" in (
        result.notes
    )
    assert result.unmapped[("Status", "OpenPending", "other", "statuses")] == 1
    assert result.unmapped[("Type", "Push Notifications", None, "types")] == 10
    assert set(result.absent_columns["tickets"]) >= {"channel", "first_reply_at", "csat"}


def test_timestamps_without_an_offset_need_a_time_zone():
    with pytest.raises(UnreadableFile, match="--source-timezone") as refused:
        detect(REAL).read(REAL, ReadContext(hash_key="k"))
    assert "'Created time'" in str(refused.value) and "2025-12-03 16:29:08" in str(refused.value)


def test_a_per_source_time_zone_from_the_config_is_used():
    ctx = ReadContext(hash_key="k", sources={"freshdesk": SourceSettings(timezone="UTC")})
    result = detect(REAL).read(REAL, ctx)
    assert result.tickets.sort("row_number")["created_at"][0] == dt.datetime(2025, 12, 3, 16, 29, 8)


def _excel_resave(path: Path, rows: list[dict], extra: list[dict] = ()) -> Path:
    """The export as Excel writes it back: CRLF, day-first dates without seconds."""
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=list(rows[0]), lineterminator="\r\n")
        writer.writeheader()
        for row in [*rows, *extra]:
            created = dt.datetime.strptime(row["Created time"], "%Y-%m-%d %H:%M:%S")
            writer.writerow(
                {**row, "Created time": f"{created:%d/%m/%Y} {created.hour}:{created:%M}"}
            )
    return path


def test_an_excel_resave_whose_dates_show_day_first_maps_like_the_original(tmp_path):
    source = _rows(REAL)
    late_january = {**source[0], "Ticket ID": "900", "Created time": "2025-01-25 01:30:00"}
    path = _excel_resave(tmp_path / "resaved.csv", source, [late_january])
    assert path.read_bytes().count(b"\r\n") == 47
    result = detect(path).read(path, CTX)
    got = result.tickets.sort("row_number").to_dicts()
    assert result.rejected == []
    for row, ticket in zip([*source, late_january], got, strict=True):
        minute = _utc(row["Created time"][:16], KOLKATA, "%Y-%m-%d %H:%M")  # seconds are gone
        assert (ticket["ticket_id"], ticket["created_at"]) == (row["Ticket ID"], minute)
        assert ticket["status"] == EXPECTED_STATUS[row["Status"]]
    assert got[-1]["created_at"] == dt.datetime(2025, 1, 24, 20, 0)  # 25/01/2025 1:30 in Kolkata


def test_dates_that_read_either_way_are_refused_naming_the_option(tmp_path):
    path = _excel_resave(tmp_path / "resaved.csv", _rows(REAL))  # days 3 to 8 of month 12
    with pytest.raises(UnreadableFile, match="--date-order day-first\\|month-first"):
        detect(path).read(path, CTX)
    ctx = ReadContext(hash_key="k", timezone=KOLKATA, date_order="day-first")
    result = detect(path).read(path, ctx)
    assert result.tickets.sort("row_number")["created_at"][0] == dt.datetime(2025, 12, 3, 10, 59)
    month_first = ReadContext(hash_key="k", timezone=KOLKATA, date_order="month-first")
    # 03/12/2025 month-first is the 12th of March
    assert detect(path).read(path, month_first).tickets.sort("row_number")["created_at"][0] == (
        dt.datetime(2025, 3, 12, 10, 59)
    )


def test_a_file_whose_dates_contradict_the_configured_order_is_refused(tmp_path):
    row = {**_rows(REAL)[0], "Created time": "2025-01-25 01:30:00"}
    path = _excel_resave(tmp_path / "resaved.csv", [row])
    month_first = ReadContext(hash_key="k", timezone=KOLKATA, date_order="month-first")
    with pytest.raises(UnreadableFile, match="written day-first, but they are read month-first"):
        detect(path).read(path, month_first)


# A full ticket export, its columns as Freshdesk's ticket export names them.
FULL_HEADER = (
    "Ticket ID,Subject,Status,Priority,Source,Type,Agent,Group,Created time,Due by Time,"
    "Resolved time,Closed time,Last updated time,Initial response time,Time tracked,"
    "First response time (in hrs),Resolution time (in hrs),Agent interactions,"
    "Customer interactions,Resolution status,First response status,Tags,Survey results,"
    "Contact ID,Full name"
)
FULL_ROWS = [
    # first response known by its time; resolved and closed; a custom status from the config
    "101,Refund,Closed,Urgent,Email,Incident,Ana Agent,Billing,2025-03-01 09:00:00,,"
    "2025-03-01 12:00:00,2025-03-02 08:00:00,2025-03-02 08:00:05,2025-03-01 09:20:00,,"
    '00:20:00,03:00:00,2,1,Within SLA,Within SLA,"refund,outage",Awesome,'
    "pat@example.com,Pat Doe",
    # first response only as a duration longer than a day; no resolution
    "102,Login,Waiting on Engineering,Low,Portal,Question,,Tier 1,2025-03-02 10:00:00,,,,"
    "2025-03-04 11:00:00,,,26:15:30,,1,2,,,,Not Good,CRM-77,Lee",
    # a source and a status Turnaround does not know
    "103,Chat,Snoozed,Medium,Ecommerce,,,,2025-03-03 08:00:00,,,,2025-03-03 08:00:00,,,,,0,1,"
    ",,,,sam@example.com,Sam",
]


def _full_export(path: Path) -> Path:
    path.write_text("\n".join([FULL_HEADER, *FULL_ROWS]) + "\n", encoding="utf-8")
    return path


def test_a_full_export_maps_every_column_it_has(tmp_path):
    path = _full_export(tmp_path / "tickets.csv")
    ctx = ReadContext(
        hash_key="k",
        timezone="Europe/Berlin",
        sources={
            "freshdesk": SourceSettings(values={"statuses": {"Waiting on Engineering": "hold"}})
        },
    )
    result = detect(path).read(path, ctx)
    assert result.rejected == []
    got = {t["ticket_id"]: t for t in result.tickets.to_dicts()}
    berlin = "Europe/Berlin"
    assert got["101"] | {"row_number": 0} == got["101"] | {
        "customer_id": _email_id("pat@example.com", "k"),
        "created_at": _utc("2025-03-01 09:00:00", berlin),
        "first_reply_at": _utc("2025-03-01 09:20:00", berlin),
        "solved_at": _utc("2025-03-01 12:00:00", berlin),  # resolved before closed
        "status": "closed",
        "channel": "email",
        "type": "incident",
        "priority": "urgent",
        "tags": ["refund", "outage"],
        "group_name": "Billing",
        "assignee_id": "Ana Agent",
        "agent_replies": 2,
        "csat": "good",
        "updated_at": _utc("2025-03-02 08:00:05", berlin),
        "row_number": 0,
    }
    assert (got["102"]["status"], got["102"]["channel"], got["102"]["csat"]) == (
        "hold",
        "web",
        "bad",
    )
    assert got["102"]["customer_id"] == "CRM-77"
    # no Initial response time: its "First response time (in hrs)" is in business hours
    # (and 00:00:00 where no one replied), so it gives no calendar reply time
    assert got["102"]["first_reply_at"] is None
    assert got["102"]["solved_at"] is None
    assert (got["103"]["status"], got["103"]["channel"]) == ("other", "other")
    assert result.unmapped == {
        ("Status", "Snoozed", "other", "statuses"): 1,
        ("Source", "Ecommerce", "other", "channels"): 1,
    }
    cannot = [n for n in result.notes if n.startswith("cannot feed")]
    assert cannot == [
        "cannot feed handoff rate: the file has no assignee or group stations column",
        "cannot feed reopen rate and put-right recovery: the file has no reopen count column",
        "cannot feed recovery cost: the file has no compensation amount column",
    ]


def test_a_bad_time_or_date_rejects_its_row_by_name(tmp_path):
    path = _full_export(tmp_path / "tickets.csv")
    text = (
        path.read_text()
        .replace("2025-03-01 09:20:00", "soon")
        .replace("2025-03-03 08:00:00", "31/02/2025 8:00", 1)
    )
    path.write_text(text)
    ctx = ReadContext(hash_key="k", timezone="UTC", date_order="day-first")
    result = detect(path).read(path, ctx)
    reasons = {r.row_number: r.reason for r in result.rejected}
    assert set(reasons) == {1, 3}
    assert "first_reply_at: 'soon (unreadable date)'" in reasons[1]
    assert "created_at: '31/02/2025 8:00 (unreadable date)'" in reasons[3]
    assert result.tickets["ticket_id"].to_list() == ["102"]


def test_loading_a_freshdesk_export_keeps_no_raw_email(any_engine, tmp_path):
    path = _full_export(tmp_path / "tickets.csv")
    options = LoadOptions(source_timezone="Europe/Berlin")
    report = load_paths(any_engine, [path, REAL], options)
    assert report.totals()["rows_loaded"] == 48
    assert any("Status values with no canonical match, loaded as other" in n for n in report.notes)
    with any_engine.connect() as conn:
        stored = conn.execute(
            sa.text("select customer_id from tickets where ticket_id = '101'")
        ).scalar()
        assert stored == _email_id("pat@example.com", TEST_HASH_KEY)
        for table in sa.inspect(conn).get_table_names():
            text = " ".join(str(row) for row in conn.execute(sa.text(f"select * from {table}")))
            assert "@example.com" not in text and "@acme.com" not in text, table


def test_the_config_gives_a_source_its_time_zone_and_custom_statuses(tmp_path):
    from tests.processes import cli, json_out

    url = f"duckdb:///{tmp_path / 'w.duckdb'}"
    config = tmp_path / "turnaround.toml"
    config.write_text(
        '[sources.freshdesk]\ntimezone = "Asia/Kolkata"\n\n'
        '[sources.freshdesk.statuses]\n"OpenPending" = "pending"\n'
    )
    refused = cli("load", str(REAL), "--warehouse", url)
    assert refused.returncode == 1
    assert "--source-timezone" in refused.stderr and "Traceback" not in refused.stderr
    done = cli("load", str(REAL), "--warehouse", url, "--config", str(config), "--json")
    assert done.returncode == 0, done.stderr
    report = json_out(done)
    assert report["rows_loaded"] == 45
    assert not any("Status values" in note for note in report["notes"])
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        status, created = conn.execute(
            sa.text("select status, created_at from tickets where ticket_id = '11'")
        ).one()
    engine.dispose()
    assert status == "pending"  # OpenPending, by the config's map
    row = next(r for r in _rows(REAL) if r["Ticket ID"] == "11")
    assert created == _utc(row["Created time"], KOLKATA)


def test_a_status_mapped_onto_no_canonical_status_is_a_config_error(tmp_path):
    from tests.processes import cli

    config = tmp_path / "turnaround.toml"
    config.write_text('[sources.freshdesk.statuses]\n"Parked" = "parked"\n')
    url = f"duckdb:///{tmp_path / 'w.duckdb'}"
    done = cli("load", str(REAL), "--config", str(config), "--warehouse", url)
    assert done.returncode == 2
    assert "sources.freshdesk" in done.stderr and "'parked' is not one" in done.stderr
